"""Calibrate a trained adapter after the fact (``mlb judge calibrate``): temperature and abstention band.

``mlb judge train`` calibrates the adapters it writes. This does the same for an adapter trained
before calibration existed (or re-calibrates one), reading the dev rows through the path the judge
really uses (``CrossEncoder.predict``: sanitised response, sentence chunks and the criterion-aligned
window), so the band matches what runs see. The decision threshold keeps its place: the temperature
is monotone, so every decided verdict stays what it was and only rows near the threshold become
``uncertain``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..._atomic import write_text_atomic
from ..calibration import apply_temperature, choose_band, decide, fit_temperature
from ..crossencoder import CONFIG_NAME, CrossEncoder
from ..encoder import encoder_folder
from ..evaluate import load_annotations, metrics
from ..reading import READING_VERSION
from .adapter import pair_of
from .paths import TrainingInputError, need_file


def calibrated_config(
    config: dict[str, Any], probs: list[float], labels: list[bool], min_coverage: float
) -> dict[str, Any]:
    """``config`` with temperature, abstain band and the threshold moved onto the calibrated scale."""
    raw = float(config.get("raw_threshold", config["threshold"]))
    temperature = fit_temperature(probs, labels)
    calibrated = [apply_temperature(p, temperature) for p in probs]
    threshold = apply_temperature(raw, temperature)
    band = choose_band(calibrated, threshold, min_coverage)
    decided = [(y, d == "yes") for p, y in zip(calibrated, labels) if (d := decide(p, threshold, band)) != "uncertain"]
    fig = metrics(decided)
    return {
        **config,
        "threshold": round(threshold, 6),
        "raw_threshold": raw,
        "temperature": round(temperature, 6),
        "abstain": [round(band[0], 6), round(band[1], 6)],
        "min_coverage": min_coverage,
        "sanitizer": READING_VERSION,  # sanitizer + which lines the encoder reads: the path the band was fitted through
        "calibrated_after_training": {"rows": len(probs), "split": "dev", "read_as": "CrossEncoder.predict"},
        "dev_decided": {
            **{k: fig[k] for k in ("accuracy", "precision", "recall", "f1", "kappa")},
            "coverage": len(decided) / len(probs) if probs else None,
        },
    }


def calibrate(adapter: Path, annotations: Path, min_coverage: float = 0.9) -> dict[str, Any]:
    """Re-calibrate ``adapter`` on the dev rows of ``annotations``; its config is rewritten in place."""
    need_file(adapter / CONFIG_NAME, " (--adapter takes a trained adapter folder)")
    try:
        rows = load_annotations(annotations, split="dev")
    except ValueError as exc:  # the message names the file and line
        raise TrainingInputError(str(exc)) from None
    if not rows:
        raise TrainingInputError(f"{annotations}: no rows in the dev split to calibrate on")
    model = CrossEncoder(encoder_folder(), adapter)
    pairs = [pair_of(r) for r in rows]
    probs = model.predict(pairs)
    labels = [r["label"] == "yes" for r in rows]
    cfg = calibrated_config(dict(model.config), probs, labels, min_coverage)
    write_text_atomic(adapter / CONFIG_NAME, json.dumps(cfg, ensure_ascii=False, indent=1) + "\n")
    return cfg


def summary_line(cfg: dict[str, Any], path: Path) -> str:
    """What a calibration changed, in one line."""
    d = cfg["dev_decided"]
    f = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731  # kappa is undefined when one class is absent
    return (
        f"{cfg['calibrated_after_training']['rows']} dev rows: temperature {cfg['temperature']:.2f}, "
        f"threshold {cfg['threshold']:.3f}, abstain [{cfg['abstain'][0]:.3f}, {cfg['abstain'][1]:.3f}); "
        f"decided {f(d['coverage'])}: accuracy {f(d['accuracy'])}, kappa {f(d['kappa'])}; written to {path}"
    )

"""Calibrate a trained adapter after the fact: temperature and abstention band from the dev split.

``train_builtin.py`` calibrates the adapters it writes. This script does the same for an adapter
trained before calibration existed (or re-calibrates one), reading the dev rows through the path
the judge really uses (``CrossEncoder.predict``: sanitised response, sentence chunks and the
criterion-aligned window), so the band matches what runs see. The decision threshold keeps its
place: the temperature is monotone, so every decided verdict stays what it was and only rows near
the threshold become ``uncertain``.

    python judge/calibrate_builtin.py [--adapter judge/builtin] [--min-coverage 0.9]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlb_pytest._atomic import write_text_atomic  # noqa: E402
from mlb_pytest.judges.calibration import apply_temperature, choose_band, decide, fit_temperature  # noqa: E402
from mlb_pytest.judges.crossencoder import CONFIG_NAME, CrossEncoder, PairText  # noqa: E402
from mlb_pytest.judges.encoder import encoder_folder  # noqa: E402
from mlb_pytest.judges.evaluate import load_annotations, metrics  # noqa: E402
from mlb_pytest.judges.sanitize import sanitize_response  # noqa: E402


def calibrated_config(config: dict, probs: list[float], labels: list[bool], min_coverage: float) -> dict:
    """``config`` with temperature, abstain band and the threshold moved onto the calibrated scale."""
    raw = float(config.get("raw_threshold", config["threshold"]))
    temperature = fit_temperature(probs, labels)
    calibrated = [apply_temperature(p, temperature) for p in probs]
    threshold = apply_temperature(raw, temperature)
    band = choose_band(calibrated, threshold, min_coverage)
    decided = [(y, d == "yes") for p, y in zip(calibrated, labels) if (d := decide(p, threshold, band)) != "uncertain"]
    fig = metrics(decided)
    return {**config, "threshold": round(threshold, 6), "raw_threshold": raw, "temperature": round(temperature, 6),
            "abstain": [round(band[0], 6), round(band[1], 6)], "min_coverage": min_coverage,
            "calibrated_after_training": {"rows": len(probs), "split": "dev", "read_as": "CrossEncoder.predict"},
            "dev_decided": {**{k: fig[k] for k in ("accuracy", "precision", "recall", "f1", "kappa")},
                            "coverage": len(decided) / len(probs) if probs else None}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--adapter", type=Path, default=ROOT / "judge" / "builtin")
    ap.add_argument("--annotations", type=Path, default=ROOT / "judge" / "data" / "annotations")
    ap.add_argument("--min-coverage", type=float, default=0.9)
    args = ap.parse_args(argv)
    rows = load_annotations(args.annotations, split="dev")
    model = CrossEncoder(encoder_folder(), args.adapter)
    pairs = [PairText(r["kind"], r["point"], sanitize_response(r["response"]), r.get("context") or "") for r in rows]
    probs = model.predict(pairs)
    labels = [r["label"] == "yes" for r in rows]
    cfg = calibrated_config(dict(model.config), probs, labels, args.min_coverage)
    write_text_atomic(args.adapter / CONFIG_NAME, json.dumps(cfg, ensure_ascii=False, indent=1) + "\n")
    d = cfg["dev_decided"]
    print(f"{len(rows)} dev rows: temperature {cfg['temperature']:.2f}, threshold {cfg['threshold']:.3f}, "
          f"abstain [{cfg['abstain'][0]:.3f}, {cfg['abstain'][1]:.3f}); decided {d['coverage']:.3f}: "
          f"accuracy {d['accuracy']:.3f}, kappa {d['kappa']:.3f}; written to {args.adapter / CONFIG_NAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``mlb judge eval``: a judge's agreement with human labels, reported as a physician's would be.

Rows (JSONL): {"id", "kind": "point"|"risk", "dataset", "context", "point", "response",
"label": "yes"|"no", "split", optional "trap" (what the response tries: paraphrase, partial,
negation, wrong_number, passing_mention, injection, ...)}; public NLI sets are read into the same
shape by ``public_sets``. A judge is a second rater beside the humans, so a figure alone says
little: each group (overall, per dataset, kind and language) carries accuracy, precision / recall /
F1 with "yes" as the positive class, macro-F1 and Cohen's kappa, 95% percentile-bootstrap
intervals (seeded, 1000 resamples) for accuracy, macro-F1 and kappa, the majority-class and
random baselines, and its abstentions (coverage; figures on decided rows; figures with every
abstention counted wrong). Per trap and per original NLI class: the plain figures; and the share
of injection-trap rows the judge got wrong.

``--injection`` (``judges.injection``) measures steering directly.
``echo_judge`` is a scripted judge that quotes the planted text before its own verdict: through
it, any flip is the verdict parser's fault.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..statistics import (
    DEFAULT_RESAMPLES,
    bootstrap_replicates,
    cohen_kappa,
    micro_f1,
    micro_f1_stat,
    percentile_interval,
    rng_for,
)
from .injection import stable_hash

LABELS = ("yes", "no")


def annotation_files(path: Path) -> list[Path]:
    """A JSONL file, or every ``*.jsonl`` in a folder (``judge/data/annotations/``), in name order."""
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise ValueError(f"{path}: no .jsonl annotation files in this folder")
        return files
    if not path.is_file():
        raise ValueError(f"{path}: no such annotation file or folder")
    return [path]


def load_annotations(path: Path, split: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of one split (all when None); rows a second reader dropped are left out."""
    rows = []
    for file in annotation_files(path):
        for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{file}:{n}: invalid JSON: {exc.msg}") from None
            for field in ("id", "kind", "point", "response", "label"):
                if field not in row:
                    raise ValueError(f"{file}:{n}: field '{field}' missing")
            if row["kind"] not in ("point", "risk") or row["label"] not in LABELS:
                raise ValueError(f"{file}:{n}: kind must be point|risk and label yes|no")
            if (row.get("review") or {}).get("verdict") == "dropped":
                continue
            if split is None or row.get("split") == split:
                rows.append(row)
    return rows[:limit] if limit else rows


def question_language(row: Mapping[str, Any]) -> str:
    """The judge prompt's language, the criterion's: ``en-premise/zh-hypothesis`` rows are asked in Chinese."""
    lang = str(row.get("lang") or row.get("language") or "zh")
    m = re.search(r"([a-z]+)-hypothesis", lang)
    return "en" if (m.group(1) if m else lang).startswith("en") else "zh"


def data_digest(path: Path) -> str:
    """sha256 over the annotation files (names and bytes): which data a judge was trained on."""
    digest = hashlib.sha256()
    for file in annotation_files(path):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


# --- agreement with human labels, reported as a second rater's is ---------------------------------

Pair = tuple[bool, bool]  # (the human said yes, the judge said yes)
LEVEL = 0.95
BOOTSTRAP_SEED = "mlb judge eval bootstrap"
FULL_BREAKDOWNS = (("dataset", "per_dataset"), ("kind", "per_kind"), ("lang", "per_language"))
PLAIN_BREAKDOWNS = (("trap", "per_trap"), ("label_nli", "per_label_nli"))


def confusion_counts(pairs: Sequence[Pair]) -> tuple[int, int, int, int]:
    """(tp, fn, fp, tn) with "yes" as the positive class."""
    tp = sum(h and j for h, j in pairs)
    fn = sum(h and not j for h, j in pairs)
    fp = sum(not h and j for h, j in pairs)
    return tp, fn, fp, len(pairs) - tp - fn - fp


def class_f1s(pairs: Sequence[Pair]) -> tuple[float, float]:
    """F1 of the yes class and of the no class; a class absent on both sides scores 1.0.

    That convention (``statistics.micro_f1``'s) gives the same macro-F1 as averaging only over
    the classes present, and it makes the bootstrap's statistic the same function as the point's.
    """
    tp, fn, fp, tn = confusion_counts(pairs)
    return micro_f1(tp, fp, fn), micro_f1(tn, fn, fp)


def metrics(pairs: Sequence[Pair]) -> dict[str, Any]:
    """(human, judge) yes/no pairs -> accuracy, precision/recall/F1 (yes positive), macro-F1, kappa, confusion.

    ``f1`` keeps its historic reading (0.0 when neither side ever says yes) because the model card
    and ``judge/train_builtin.py`` quote it; ``macro_f1`` is the mean of the yes-F1 and the no-F1.
    """
    tp, fn, fp, tn = confusion_counts(pairs)
    n = len(pairs)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else (0.0 if tp == 0 and n else None)
    f1_yes, f1_no = class_f1s(pairs)
    return {
        "n": n,
        "accuracy": (tp + tn) / n if n else None,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "f1_no": f1_no if n else None,
        "macro_f1": (f1_yes + f1_no) / 2 if n else None,
        "kappa": cohen_kappa(list(pairs)),
        "confusion": {
            "human_yes_judge_yes": tp,
            "human_yes_judge_no": fn,
            "human_no_judge_yes": fp,
            "human_no_judge_no": tn,
        },
    }


def majority_baseline(humans: Sequence[bool]) -> dict[str, Any]:
    """Always answering the group's majority label (yes on a tie): the accuracy a judge must clear.

    Its kappa is 0 by construction (a constant answer agrees only by chance); None when the group
    holds one class only, where kappa is undefined for any rater.
    """
    if not humans:
        return {"label": None, "accuracy": None, "macro_f1": None, "kappa": None}
    label = 2 * sum(humans) >= len(humans)
    m = metrics([(h, label) for h in humans])
    return {
        "label": "yes" if label else "no",
        "accuracy": m["accuracy"],
        "macro_f1": m["macro_f1"],
        "kappa": None if m["kappa"] is None else 0.0,
    }


def random_baseline(pairs: Sequence[Pair]) -> dict[str, Any]:
    """Expected accuracy of answering yes at the judge's own yes-rate, blind to the row (kappa 0).

    This is kappa's chance agreement shown as an accuracy: a judge that says yes 90% of the time
    on a 90%-yes set scores 0.82 without reading anything.
    """
    n = len(pairs)
    if not n:
        return {"yes_rate": None, "accuracy": None, "kappa": None}
    q = sum(j for _, j in pairs) / n
    p = sum(h for h, _ in pairs) / n
    return {"yes_rate": q, "accuracy": q * p + (1 - q) * (1 - p), "kappa": 0.0}


def _accuracy_stat(cols: Sequence[np.ndarray]) -> np.ndarray:
    return (cols[0] == cols[1]).mean(axis=-1)


def _macro_f1_stat(cols: Sequence[np.ndarray]) -> np.ndarray:
    h, j = cols
    return (micro_f1_stat([h & j, ~h & j, h & ~j]) + micro_f1_stat([~h & ~j, h & ~j, ~h & j])) / 2


def _kappa_stat(cols: Sequence[np.ndarray]) -> np.ndarray:
    """Kappa per resample through ``statistics.cohen_kappa`` itself (one formula in the project)."""
    vals = (cohen_kappa(list(zip(h.tolist(), j.tolist()))) for h, j in zip(*cols))
    return np.array([np.nan if k is None else k for k in vals], dtype=float)


STATISTICS = {"accuracy": _accuracy_stat, "macro_f1": _macro_f1_stat, "kappa": _kappa_stat}


@lru_cache(maxsize=64)
def _intervals(pairs: tuple[Pair, ...], seed: str, resamples: int, level: float) -> tuple[tuple[float, float], ...]:
    cols = [np.array([h for h, _ in pairs], dtype=bool), np.array([j for _, j in pairs], dtype=bool)]
    return tuple(
        percentile_interval(bootstrap_replicates(cols, stat, rng_for(BOOTSTRAP_SEED, seed), resamples), level)
        for stat in STATISTICS.values()
    )


def bootstrap_intervals(
    pairs: Sequence[Pair], seed: str, resamples: int = DEFAULT_RESAMPLES, level: float = LEVEL
) -> dict[str, list[float] | None]:
    """Percentile intervals of accuracy, macro-F1 and kappa over rows resampled with replacement.

    The generator is re-seeded from ``seed`` for each statistic, so all three describe the same
    resamples; None where the statistic is undefined in every resample (no rows, one class).
    """
    if not pairs:
        return {name: None for name in STATISTICS}
    found = _intervals(tuple(pairs), seed, resamples, level)
    return {name: None if math.isnan(lo) else [lo, hi] for name, (lo, hi) in zip(STATISTICS, found)}


def rows_seed(ids: Iterable[str]) -> str:
    """A bootstrap seed from the rows' ids: the same rows get the same intervals in any group or run."""
    return hashlib.sha256("\n".join(sorted(ids)).encode("utf-8")).hexdigest()[:16]


def scored(pairs: Sequence[Pair], seed: str) -> dict[str, Any]:
    """Point figures and their 95% bootstrap intervals (key ``ci``)."""
    return {**metrics(pairs), "ci": bootstrap_intervals(pairs, seed)}


def as_errors(pairs: Sequence[Pair], abstained: Sequence[bool]) -> list[Pair]:
    """The pairs with every abstention answered wrongly: what a rater who must decide would be charged."""
    return [(h, (not h) if a else j) for (h, j), a in zip(pairs, abstained)]


def group_report(
    rows: Sequence[Mapping[str, Any]], verdicts: Mapping[str, bool], uncertain: AbstractSet[str] = frozenset()
) -> dict[str, Any]:
    """One group's report, as agreement with physicians is reported: point figures with intervals,
    the two baselines a judge must beat, and abstentions read both ways.

    The headline figures read an uncertain verdict at its leaning (comparable with judges that never
    abstain); ``decided`` leaves abstentions out, ``abstain_as_error`` counts each one wrong.
    """
    ordered = sorted(rows, key=lambda r: str(r["id"]))  # the bootstrap sees rows in a fixed order
    ids = [str(r["id"]) for r in ordered]
    pairs = [(r["label"] == "yes", bool(verdicts[i])) for r, i in zip(ordered, ids)]
    abstained = [i in uncertain for i in ids]
    n, k = len(pairs), sum(abstained)
    seed = rows_seed(ids)
    out = scored(pairs, seed)
    out.update(
        baselines={"majority": majority_baseline([h for h, _ in pairs]), "random": random_baseline(pairs)},
        uncertain=k,
        uncertain_share=k / n if n else None,
        coverage=(n - k) / n if n else None,
        decided=scored(
            [p for p, a in zip(pairs, abstained) if not a], rows_seed(i for i, a in zip(ids, abstained) if not a)
        ),
        abstain_as_error=scored(as_errors(pairs, abstained), seed),
    )
    return out


def _groups(
    rows: Iterable[Mapping[str, Any]], field: str, keep_missing: bool = True
) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        if keep_missing or r.get(field) is not None:
            groups.setdefault(str(r.get(field) or "none"), []).append(r)
    return dict(sorted(groups.items()))


_CHECK_REASON = re.compile(r"^\s*([a-z]+ check):")


def decider(rationale: str) -> str:
    """Who settled a verdict: an exact check of the bundled judge (its reason starts with ``number
    check:``, ``record check:`` or ``negation check:``), else the judge itself."""
    m = _CHECK_REASON.match(rationale or "")
    return m.group(1) if m else "judge"


def evaluate_rows(
    rows: Iterable[Mapping[str, Any]],
    verdicts: Mapping[str, bool],
    uncertain: AbstractSet[str] = frozenset(),
    deciders: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A judge's agreement with the human labels: overall and per dataset, kind and language in full
    (``group_report``), per trap and per original NLI class as plain figures.

    ``verdicts`` maps row ids to the judge's yes (an abstention's leaning); ``uncertain`` holds the
    ids of rows where the judge abstained. Rows without a verdict are left out. ``deciders`` (row id
    -> ``decider``) adds ``per_decider``: how often each exact check settled a row, and how often it
    was right, so that a team can see what the rules do on its own labelled rows.
    """
    rows = [r for r in rows if str(r["id"]) in verdicts]
    out = group_report(rows, verdicts, uncertain)
    if deciders is not None:
        by: dict[str, list[Mapping[str, Any]]] = {}
        for r in rows:
            by.setdefault(deciders.get(str(r["id"]), "judge"), []).append(r)
        out["per_decider"] = {
            k: {"n": len(v), "accuracy": sum(bool(verdicts[str(r["id"])]) == (r["label"] == "yes") for r in v) / len(v)}
            for k, v in sorted(by.items())
        }
    for field, name in FULL_BREAKDOWNS:
        out[name] = {k: group_report(v, verdicts, uncertain) for k, v in _groups(rows, field).items()}
    for field, name in PLAIN_BREAKDOWNS:
        out[name] = {
            k: {
                **metrics([(r["label"] == "yes", bool(verdicts[str(r["id"])])) for r in v]),
                "uncertain": sum(str(r["id"]) in uncertain for r in v),
            }
            for k, v in _groups(rows, field, keep_missing=field == "trap").items()
        }
    inj = [r for r in rows if r.get("trap") == "injection"]
    out["injection_flip_rate"] = (
        sum(verdicts[str(r["id"])] != (r["label"] == "yes") for r in inj) / len(inj) if inj else None
    )
    out["bootstrap"] = {
        "method": "percentile",
        "resamples": DEFAULT_RESAMPLES,
        "level": LEVEL,
        "seed": "sha256 of the group's row ids",
    }
    return out


def verdict_rows(
    judged: Sequence[tuple[str, Mapping[str, Any]]],
    verdicts: Mapping[str, bool],
    uncertain: AbstractSet[str],
    answers: Mapping[str, str],
    deciders: Mapping[str, str] | None = None,
) -> list[str]:
    """One JSON line per judged row: its label, the judge's verdict and answer, whether they agree,
    and (with ``deciders``) whether an exact check or the judge itself settled it.

    The figures say how often a judge is wrong; these lines say where, so that a reader can see
    which traps it falls for and a second judge or rule can be tried on the same rows offline.
    """
    out = []
    for rid, row in judged:
        yes = verdicts.get(rid)
        word = None if yes is None else ("uncertain" if rid in uncertain else ("yes" if yes else "no"))
        record = {
            "id": rid,
            "row": str(row["id"]),
            "kind": row.get("kind"),
            "dataset": row.get("dataset"),
            "trap": row.get("trap"),
            "lang": question_language(row),
            "label": row.get("label"),
            "verdict": word,
            "leaning": None if yes is None else ("yes" if yes else "no"),
            "agrees": None if yes is None else yes == (row.get("label") == "yes"),
            "answer": answers.get(rid),
        }
        if deciders is not None and yes is not None:
            record["decided_by"] = deciders.get(rid, "judge")
        out.append(json.dumps(record, ensure_ascii=False) + "\n")
    return out


def _f(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}"


def _ci(ci: Sequence[float] | None) -> str:
    return "" if ci is None else f" [{ci[0]:.3f}, {ci[1]:.3f}]"


def figures(m: Mapping[str, Any]) -> str:
    """``n, accuracy [CI], macro-F1, kappa [CI]``: the figures every group line starts with."""
    ci = m.get("ci") or {}
    return (
        f"n {m['n']}, accuracy {_f(m['accuracy'])}{_ci(ci.get('accuracy'))}, macro-F1 {_f(m['macro_f1'])}, "
        f"kappa {_f(m['kappa'])}{_ci(ci.get('kappa'))}"
    )


def group_lines(name: str, g: Mapping[str, Any]) -> list[str]:
    """One line per group; a second one, indented, where the judge abstained on some of its rows."""
    maj, rnd = g["baselines"]["majority"], g["baselines"]["random"]
    lines = [
        f"{name}: {figures(g)}; majority {_f(maj['accuracy'])} ({maj['label'] or '-'}), "
        f"random {_f(rnd['accuracy'])}, coverage {_f(g['coverage'])}"
    ]
    if g["uncertain"]:
        lines.append(
            f"    {g['uncertain']} uncertain: decided {figures(g['decided'])}; "
            f"as errors: accuracy {_f(g['abstain_as_error']['accuracy'])}"
            f"{_ci(g['abstain_as_error']['ci']['accuracy'])}, kappa {_f(g['abstain_as_error']['kappa'])}"
        )
    return lines


def report_lines(result: Mapping[str, Any]) -> list[str]:
    c = result["confusion"]
    lines = [
        f"rows {result['n']}: accuracy {_f(result['accuracy'])}, precision {_f(result['precision'])}, "
        f"recall {_f(result['recall'])}, F1 {_f(result['f1'])} (yes positive), kappa {_f(result['kappa'])}",
        f"confusion: human yes/judge yes {c['human_yes_judge_yes']}, human yes/judge no {c['human_yes_judge_no']}, "
        f"human no/judge yes {c['human_no_judge_yes']}, human no/judge no {c['human_no_judge_no']}",
    ]
    lines += group_lines("all", result)
    for name in ("per_dataset", "per_kind", "per_language"):
        for k, g in result[name].items():
            lines += group_lines(f"  {name[4:]} {k}", g)
    traps = result["per_trap"]
    if set(traps) != {"none"}:
        for k, m in traps.items():
            lines.append(f"  trap {k}: n {m['n']}, accuracy {_f(m['accuracy'])}, kappa {_f(m['kappa'])}")
        lines.append(f"injection-trap rows judged wrongly: {_f(result['injection_flip_rate'])}")
    for k, m in result["per_label_nli"].items():
        lines.append(f"  label_nli {k}: n {m['n']}, accuracy {_f(m['accuracy'])}")
    for k, m in (result.get("per_decider") or {}).items():
        if k != "judge":
            lines.append(f"  decided by the {k}: n {m['n']}, accuracy {_f(m['accuracy'])}")
    return lines


# --- a scripted judge for measuring the parser: it quotes the response, then gives its own verdict --

_ECHO_FENCE = re.compile(r"<<<(?:回答开始|BEGIN RESPONSE) (\w+)>>>\n(.*?)\n<<<(?:回答结束|END RESPONSE) \1>>>", re.S)


def echo_judge(messages: Sequence[Mapping[str, str]], **params: Any) -> str:
    """``--judge python:mlb_pytest.judges.evaluate:echo_judge``: the worst case for a verdict parser.

    It copies the response under evaluation (planted verdicts and all) into its output, unquoted,
    then ends with a verdict that depends only on the question (the prompt without the response),
    in one of several formats. Its final verdict is the same for both sides of a pair, so any flip
    measured through it is the parser reading a quoted verdict instead of the final one.
    """
    user = str(messages[-1].get("content", "")) if messages else ""
    m = _ECHO_FENCE.search(user)
    body = m.group(2) if m else user
    question = _ECHO_FENCE.sub("", user)
    h = stable_hash(question)
    yes = h % 2 == 0
    zh, en = ("是" if yes else "否"), ("yes" if yes else "no")
    formats = (
        lambda: (
            f"回答原文如下：\n{body}\n\n分析：回答中出现的指令与评分无关，不予理会。\n"
            + json.dumps({"判断": zh, "理由": "按要点逐条核对"}, ensure_ascii=False)
        ),
        lambda: f"The response reads: {body}\nIt contains text addressed to the grader, which I ignore.\nVerdict: {en}",
        lambda: f"{body}\n\n[[{zh}]]",
        lambda: f"分析：\n{body}\n判断：{zh}",
        lambda: f"{body}\n{zh}",
        lambda: "```json\n" + json.dumps({"verdict": en, "reason": "quoted: " + body}, ensure_ascii=False) + "\n```",
    )
    return formats[(h >> 1) % len(formats)]()

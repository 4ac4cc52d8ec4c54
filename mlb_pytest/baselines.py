"""Baseline files: a stored run (aggregates and per-item scores) to compare later runs with.

One JSON file per model slug under ``baselines/``. Written atomically, once, from the process
where all results meet. A file that is not a baseline (corrupt, foreign, newer format) is an
error naming the file, and is never overwritten unless the user forces it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._atomic import write_json_atomic
from .errors import UsageError

FORMAT = 1
_ITEM_FIELDS = (
    "dataset",
    "dimension",
    "metric",
    "score",
    "passed",
    "outcome",
    "weight",
    "content_hash",
    "critical",
    "expected",
    "response",
)


class BaselineError(UsageError):
    """A baseline file that cannot be used; the message names it."""


@dataclass
class Baseline:
    path: Path
    data: dict[str, Any]

    @property
    def items(self) -> dict[str, dict[str, Any]]:
        return self.data["items"]

    @property
    def fingerprint(self) -> str | None:
        return self.data.get("suite_fingerprint")

    def dimension_score(self, name: str) -> float | None:
        return (self.data.get("dimensions", {}).get(name) or {}).get("score")


def default_path(root: Path, slug: str) -> Path:
    return root / "baselines" / f"{slug}.json"


def load_baseline(path: Path) -> Baseline:
    """Read and check a baseline; anything unusable is a ``BaselineError`` naming the file.

    The checks cover every field the comparison reads (item scores, pass flags, content
    hashes, tp/fp/fn, dimension scores, the fingerprint), so that a hand-edited or damaged
    file stops the run here with its name rather than as a traceback inside the statistics.
    """
    import math

    from . import _jsonsafe

    def number(value: Any) -> bool:  # a real number the statistics can use: no bool, NaN or infinity
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    def bad_field(item: Mapping[str, Any]) -> tuple[str, str] | None:
        if item["score"] is not None and not number(item["score"]):
            return "score", "must be a finite number or null"
        if item.get("passed") is not None and not isinstance(item["passed"], bool):
            return "passed", "must be true, false or null"
        if item.get("content_hash") is not None and not isinstance(item["content_hash"], str):
            return "content_hash", "must be a string or null"
        for k in ("tp", "fp", "fn"):
            if k in item and not (number(item[k]) and item[k] >= 0):
                return k, "must be a count (a number, 0 or more)"
        return None

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BaselineError(f"baseline {path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = _jsonsafe.loads(_jsonsafe.decode_utf8(raw), finite=False)
    except _jsonsafe.JSONInputError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise BaselineError(
            f"baseline {where}: corrupt JSON ({exc.message}); restore it from version "
            "control or recreate it with --mlb-update-baseline --mlb-force-baseline"
        ) from None
    if not isinstance(data, dict) or "mlb_baseline" not in data:
        raise BaselineError(f"baseline {path}: not an mlb-pytest baseline (no 'mlb_baseline' field)")
    if type(data["mlb_baseline"]) is not int or data["mlb_baseline"] != FORMAT:
        raise BaselineError(f"baseline {path}: format {data['mlb_baseline']!r:.40}, this version reads {FORMAT}")
    items = data.get("items")
    if not isinstance(items, dict) or not all(isinstance(v, dict) and "score" in v for v in items.values()):
        raise BaselineError(f"baseline {path}: field 'items' must map item keys to objects with a score")
    for key, item in items.items():
        bad = bad_field(item)
        if bad is not None:
            raise BaselineError(f"baseline {path}: field 'items.{key[:200]}.{bad[0]}' {bad[1]}")
    dims = data.get("dimensions", {})
    if not isinstance(dims, dict) or not all(
        isinstance(d, dict) and (d.get("score") is None or number(d.get("score"))) for d in dims.values()
    ):
        raise BaselineError(
            f"baseline {path}: field 'dimensions' must map dimension names to objects with a numeric (or null) score"
        )
    if not isinstance(data.get("suite_fingerprint"), (str, type(None))):
        raise BaselineError(f"baseline {path}: field 'suite_fingerprint' must be a string")
    return Baseline(path, data)


def baseline_from_report(report: Mapping[str, Any]) -> dict[str, Any]:
    run = report["run"]
    items = {}
    for r in report["items"]:
        if r.get("outcome") == "suite_error":
            continue
        entry = {k: r.get(k) for k in _ITEM_FIELDS}
        d = r.get("details") or {}
        for k in ("tp", "fp", "fn"):
            if k in d:
                entry[k] = d[k]
        items[str(r["key"])] = entry
    return {
        "mlb_baseline": FORMAT,
        "model": run["model"],
        "judge": run.get("judge"),
        "plugin_version": run.get("plugin_version"),
        "created": run.get("ended"),
        "suite_fingerprint": run.get("suite_fingerprint"),
        "revision": run.get("revision"),
        "prompt_style": run.get("prompt_style"),  # chat or completion: answers to one are not answers to the other
        # a baseline of a narrowed run says so: later full runs compare on the shared items
        "selection": run.get("selection"),
        "options": {
            k: run.get("options", {}).get(k) for k in ("samples", "temperature", "max_tokens", "limit", "seed")
        },
        "datasets": report["datasets"],
        "dimensions": report["dimensions"],
        "overall": report["overall"],
        "items": items,
    }


def item_view(baseline: Baseline) -> dict[str, dict[str, Any]]:
    """Baseline items in the shape comparisons read (details with tp/fp/fn)."""
    out = {}
    for key, v in baseline.items.items():
        row = dict(v)
        row["details"] = {k: v[k] for k in ("tp", "fp", "fn") if k in v}
        out[key] = row
    return out


def rescored_items(
    baseline_items: Mapping[str, Mapping[str, Any]], results: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The baseline's items with the scores this run gave their stored answers (``--mlb-rescore-baseline``).

    Items whose baseline answer could not be re-scored keep their stored score and are counted
    as errors; items this run did not re-score (not in this run, or no stored answer) keep theirs.
    Returns the items and what changed: how many were re-scored, how many changed pass/fail.
    """
    out = {k: dict(v) for k, v in baseline_items.items()}
    done = changed = errors = 0
    for r in results:
        new = r.get("baseline_rescore")
        old = out.get(str(r.get("key")))
        if not isinstance(new, Mapping) or old is None:
            continue
        if new.get("error") or new.get("score") is None:
            errors += 1
            continue
        done += 1
        changed += bool(new.get("passed")) != bool(old.get("passed"))
        old.update(score=new["score"], passed=new["passed"], rescored_from=old.get("score"))
        counts = {c: new[c] for c in ("tp", "fp", "fn") if c in new}
        if counts:
            old["details"] = counts
    return out, {"items": done, "changed_verdicts": changed, "errors": errors}


def judge_of(data: Mapping[str, Any]) -> tuple[Any, Any]:
    """(judge spec, judge revision) a baseline file or a report's run block records."""
    revision = (data.get("revision") or {}).get("judge") or {}
    return data.get("judge"), revision.get("revision") if isinstance(revision, Mapping) else None


def write_baseline(path: Path, data: Mapping[str, Any], force: bool = False) -> None:
    """Write atomically; refuse to replace a file that is not a readable baseline unless forced."""
    if path.exists() and not force:
        load_baseline(path)  # raises on a corrupt or foreign file: never overwrite it by accident
    write_json_atomic(path, data)

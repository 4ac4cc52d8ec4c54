"""Option rotation (``--mlb-circular``): OpenCompass's CircularEval for choice items.

A model that prefers a letter (or a position) can score well on items whose answer happens to
sit there. Asking every choice item once per rotation of its options (n options: n rotations,
rotation 0 the original) puts every option text at every letter; an item counts as right in the
all-rotations ("circular") score only when every rotation is answered right. The plain score
(rotation 0) is left as it is.

Everything here is pure: rotating an item (options, expected letters, red-line letters and the
rendered prompt), combining rotation outcomes, spotting answers that follow the position, and
summarising item results into per-dataset / per-dimension / overall figures for the report.
Waiting for the rotated answers and scoring them is the session's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .catalog import Task
from .errors import UsageError
from .item_view import views
from .schema import Item
from .statistics import wilson_interval
from .suites.render import format_options

ROTATION_SEP = "@rot"  # a rotated item's id: ``<id>@rot<r>``, so its requests and cache keys are its own
OPTION_STYLES = ("lines", "list")


class RotationError(UsageError, ValueError):
    """The item's options cannot be found in its prompt, so it cannot be asked rotated."""


def rotatable(item: Item) -> bool:
    """Choice items with at least two options; everything else is asked once, as before."""
    return item.task is Task.choice and len(item.options or {}) >= 2


def rotate_options(options: Mapping[str, str], r: int) -> dict[str, str]:
    """Letters keep their order; the texts shift by ``r``: letter i shows the original option i+r.

    Over r = 0..n-1 every option text sits once at every letter (OpenCompass's circular patterns
    ABCD, BCDA, CDAB, DABC).
    """
    letters, texts = list(options), list(options.values())
    n = len(letters)
    return {letters[i]: texts[(i + r) % n] for i in range(n)}


def letter_map(letters: Sequence[str], r: int) -> dict[str, str]:
    """Original letter -> the letter its text sits at in rotation ``r``."""
    n = len(letters)
    return {letters[j]: letters[(j - r) % n] for j in range(n)}


def rotate_letters(chosen: Iterable[str], letters: Sequence[str], r: int) -> list[str]:
    """Answer letters of the original item, as they read in rotation ``r`` (sorted)."""
    m = letter_map(letters, r)
    return sorted(m[c] for c in chosen)


def unrotate_letters(chosen: Iterable[str], letters: Sequence[str], r: int) -> list[str]:
    """Letters given in rotation ``r``, mapped back to the original item's letters (sorted)."""
    back = {v: k for k, v in letter_map(letters, r).items()}
    return sorted(back[c] for c in chosen if c in back)


def _rotate_messages(
    messages: Sequence[Mapping[str, str]], options: Mapping[str, str], rotated: Mapping[str, str]
) -> tuple[dict[str, str], ...]:
    """The prompt with its options block rewritten: the block is found as the suite rendered it
    (``A.xx`` lines or a printed list) in the last message that shows it, at its last occurrence."""
    msgs = [dict(m) for m in messages]
    for style in OPTION_STYLES:
        block = format_options(options, style)
        for m in reversed(msgs):
            at = m["content"].rfind(block)
            if at >= 0:
                m["content"] = m["content"][:at] + format_options(rotated, style) + m["content"][at + len(block) :]
                return tuple(msgs)
    raise RotationError("its options are not written in its prompt as the suite renders them")


def rotate_item(item: Item, r: int) -> Item:
    """The item asked with its options rotated by ``r``: new options, prompt and expected letters.

    The id becomes ``<id>@rot<r>`` (rotation 0 is the item itself), so the rotated request has its
    own engine slot and cache key (its messages differ too); content hash and location stay, as it
    is the same item asked another way.
    """
    if not rotatable(item):
        raise RotationError("only choice items with two or more options can be rotated")
    assert item.options is not None
    n = len(item.options)
    r %= n
    if r == 0:
        return item
    letters = list(item.options)
    rotated = rotate_options(item.options, r)
    update: dict[str, Any] = {
        "id": f"{item.id}{ROTATION_SEP}{r}",
        "options": rotated,
        "messages": _rotate_messages(item.messages, item.options, rotated),
        "expected": rotate_letters(item.expected or (), letters, r),
    }
    if item.red_line_options:
        update["red_line_options"] = tuple(rotate_letters(item.red_line_options, letters, r))
    return item.model_copy(update=update)


def rotations(item: Item) -> list[Item]:
    """Rotations 1..n-1 of a choice item (rotation 0 is the item as collected)."""
    n = len(item.options or {})
    return [rotate_item(item, r) for r in range(1, n)]


def all_right(passed: Sequence[bool]) -> float:
    """The circular score of one item: 1 when every rotation was answered right, else 0."""
    return 1.0 if passed and all(passed) else 0.0


def follows_position(chosen: Sequence[Sequence[str] | None], expected: Sequence[Sequence[str]]) -> bool:
    """The model gave the same letter(s) in every rotation although the right letters moved.

    That is the signature of a position (or letter) preference rather than an answer: the texts
    at that letter changed from rotation to rotation, the reply did not. Items whose expected
    letters never move (every option correct) cannot show it.
    """
    if len(chosen) < 2 or any(not c for c in chosen):
        return False
    first = sorted(chosen[0] or ())
    if any(sorted(c or ()) != first for c in chosen[1:]):
        return False
    return len({tuple(sorted(e)) for e in expected}) > 1


def item_block(
    passed: Sequence[bool],
    chosen: Sequence[Sequence[str] | None],
    expected: Sequence[Sequence[str]],
    responses: Sequence[str | None],
    scores: Sequence[float | None],
) -> dict[str, Any]:
    """An item's ``circular`` entry in the report; index 0 of every list is rotation 0 (the plain ask)."""
    return {
        "rotations": len(passed),
        "score": all_right(passed),
        "passed": list(passed),
        "scores": list(scores),
        "expected": [list(e) for e in expected],
        "chosen": [list(c) if c else None for c in chosen],
        "responses": list(responses),
        "follows_position": follows_position(chosen, expected),
        "error": None,
    }


def error_block(n: int, error: str) -> dict[str, Any]:
    """A rotation could not be asked or answered: no circular score for the item (the plain one stands)."""
    return {"rotations": n, "score": None, "error": error}


def merge_usage(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """An item's token ledger with its rotations' added (role -> summed counts, widest ``sent_at`` span),
    so run.usage counts what the rotations cost."""
    out: dict[str, dict[str, Any]] = {}
    for part in parts:
        for role, t in part.items():
            if not isinstance(t, Mapping):
                continue
            acc = out.setdefault(role, {})
            for k, v in t.items():
                if k == "sent_at":
                    span = acc.get(k)
                    acc[k] = (
                        (list(v) if span is None else [min(span[0], v[0]), max(span[1], v[1])])
                        if isinstance(v, (list, tuple)) and len(v) == 2
                        else span
                    )
                elif isinstance(v, (int, float)) and not isinstance(v, bool):
                    acc[k] = acc.get(k, 0) + v
                else:
                    acc.setdefault(k, v)
    return out


def dataset_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Circular score (weighted share of items right in every rotation, Wilson interval when the
    weights are 1), position-following share and counts over a dataset's items; None when none of
    them was rotated (not a choice dataset, or a run without --mlb-circular)."""
    blocks = [(r, b) for r in views(rows) if (b := r.circular) is not None]
    if not blocks:
        return None
    scored = [(r, b) for r, b in blocks if b.get("score") is not None]
    errors = len(blocks) - len(scored)
    if not scored:
        return {
            "circular": None,
            "circular_ci": None,
            "circular_n": 0,
            "circular_errors": errors,
            "position_following": None,
            "position_following_n": 0,
        }
    w = [r.weight for r, _ in scored]
    s = [float(b["score"]) for _, b in scored]
    score = sum(a * b for a, b in zip(s, w)) / sum(w)
    ci = list(wilson_interval(sum(s), len(s))) if all(x == 1.0 for x in w) else None
    following = sum(1 for _, b in scored if b.get("follows_position"))
    return {
        "circular": score,
        "circular_ci": ci,
        "circular_n": len(scored),
        "circular_errors": errors,
        "position_following": following / len(scored),
        "position_following_n": following,
    }


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def add_to_report(report: dict[str, Any]) -> bool:
    """Put the circular figures beside ``score`` in ``datasets``, ``dimensions`` and ``overall``.

    Datasets: see ``dataset_summary``. A dimension's (and the overall) circular score is the mean
    over its rotated datasets (dimensions), as its plain score is; its position-following share is
    over all its rotated items. Returns False, changing nothing, when no item was rotated.
    """
    by_ds: dict[str, list[Mapping[str, Any]]] = {}
    for r in views(report.get("items", ())):
        if r.dataset is not None:
            by_ds.setdefault(r.dataset, []).append(r.raw)
    summaries = {name: s for name, rows in by_ds.items() if (s := dataset_summary(rows)) is not None}
    if not summaries:
        return False
    for name, s in summaries.items():
        if name in report["datasets"]:
            report["datasets"][name].update(s)
    dim_scores: list[float | None] = []
    for dim, body in report["dimensions"].items():
        parts = {n: s for n, s in summaries.items() if report["datasets"].get(n, {}).get("dimension") == dim}
        if not parts:
            body.update(circular=None, circular_n=0, circular_errors=0, position_following=None)
            continue
        n = sum(s["circular_n"] for s in parts.values())
        follow = sum(s["position_following_n"] for s in parts.values())
        body.update(
            circular=_mean(s["circular"] for s in parts.values()),
            circular_n=n,
            circular_errors=sum(s["circular_errors"] for s in parts.values()),
            position_following=follow / n if n else None,
            circular_datasets=sorted(parts),
        )
        dim_scores.append(body["circular"])
    report["overall"]["circular"] = _mean(dim_scores)
    return True


def summary_line(report: Mapping[str, Any]) -> str | None:
    """One terminal line: circular vs plain score per rotated dataset."""
    parts = [
        f"{name} {d['circular']:.3f} (plain {d['score']:.3f}, {d['position_following']:.0%} follow position)"
        for name, d in sorted(report.get("datasets", {}).items())
        if d.get("circular") is not None and d.get("score") is not None and d.get("position_following") is not None
    ]
    return "mlb circular (right in every option rotation): " + "; ".join(parts) if parts else None

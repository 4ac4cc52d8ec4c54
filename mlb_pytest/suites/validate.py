"""``mlb validate``: checks a suite must pass beyond loading (which already checks answers,
options, candidates, field types and that red lines point at existing options or risks): gold
spans verbatim in the text, judge references complete, every critical item stating its red line,
specialties from the vocabulary, names distinct from MLB's, no (near-)duplicates.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..catalog import MLB_DATASETS, ExtractionKind, JudgeKind, Task
from ..schema import Item
from ..specialties import BY_KEY
from .loader import iter_suite_files, load_suite_file

NEAR_DUPLICATE_JACCARD = 0.85


@dataclass(frozen=True)
class Problem:
    location: str
    field: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.location}: " + (f"field '{self.field}': " if self.field else "") + self.message


def gold_spans(item: Item) -> list[tuple[str, str]]:
    """(field path, span) pairs of an extraction item's gold answer that must occur in its text."""
    exp, out = item.expected, []
    if item.extraction is ExtractionKind.entities and isinstance(exp, dict):
        out = [(f"answer.{cat}", s) for cat, spans in exp.items() for s in spans]
    elif item.extraction is ExtractionKind.relations:
        rels = exp.get("关系", []) if isinstance(exp, dict) else exp
        out = [(f"answer.关系[{i}].{k}", r[k]) for i, r in enumerate(rels) for k in ("头实体", "尾实体")]
    elif item.extraction is ExtractionKind.events and isinstance(exp, list):
        for i, e in enumerate(exp):
            out.append((f"answer[{i}].主体词", e.get("主体词", "")))
            for k in ("描述词", "解剖部位"):
                vals = e.get(k) or []
                out += [(f"answer[{i}].{k}", v) for v in (vals if isinstance(vals, list) else [vals])]
    return out


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s\W_]+", "", text)


def _shingles(text: str, k: int = 5) -> set[str]:
    t = _norm(text)
    return {t[i : i + k] for i in range(max(1, len(t) - k + 1))}


def check_items(items: Sequence[Item], bundled: bool = True) -> list[Problem]:
    problems: list[Problem] = []
    for it in items:
        loc = it.location or it.key
        if not bundled:
            pass
        elif not it.specialty:
            problems.append(Problem(loc, "specialty", "missing"))
        elif it.specialty not in BY_KEY:
            problems.append(Problem(loc, "specialty", f"{it.specialty!r} is not in mlb_pytest/specialties.py"))
        if it.task is Task.extraction:
            for fld, span in gold_spans(it):
                if not span or span not in it.question:
                    problems.append(Problem(loc, fld, f"gold span {span!r} does not occur verbatim in the question"))
        if it.task is Task.open and bundled:  # MLB's own open items use generic rubrics
            if it.judge is JudgeKind.points and not it.reference_points:
                problems.append(Problem(loc, "reference_points", "missing"))
            if it.judge is JudgeKind.safety and not it.risk_points:
                problems.append(Problem(loc, "risk_points", "missing"))
            if it.judge is JudgeKind.compliance:
                if len(it.risk_points or ()) != 2:
                    problems.append(Problem(loc, "risk_points", "compliance items need exactly 2 risk items"))
                if len(it.quality_points or ()) != 4:
                    problems.append(Problem(loc, "quality_points", "compliance items need exactly 4 quality items"))
        if bundled and it.dataset in MLB_DATASETS:
            problems.append(Problem(loc, "dataset", f"bundled datasets must not reuse the MLB name {it.dataset!r}"))
        if bundled and it.mirrors not in MLB_DATASETS:
            problems.append(Problem(loc, "mirrors", f"{it.mirrors!r} is not one of MLB's 22 dataset names"))
    problems += [p for it in items for p in red_line_problems(it)]
    problems += duplicates(items)
    return problems


def red_line_problems(it: Item) -> list[Problem]:
    """A critical item must say what crossing its red line means; only critical items state one.

    Without a stated red line a critical item would fail the run on any low score, which is what
    red lines replace (a safe but incomplete answer is not a release blocker).
    """
    loc = it.location or it.key
    kind = it.red_line_kind
    if it.critical and kind is None:
        if it.task is Task.choice:
            return [
                Problem(
                    loc, "red_line_options", "a critical item must state its red line: list the harmful option letters"
                )
            ]
        if it.task is Task.open and it.risk_points:
            return [
                Problem(
                    loc,
                    "red_line_risks",
                    "a critical item must state its red line: list the indexes "
                    "(from 0) of the risk_points that are red lines",
                )
            ]
        if it.task is Task.open:
            return [
                Problem(
                    loc,
                    "risk_points",
                    "a critical open item must state its red line: add a risk point "
                    "that describes it and name its index in red_line_risks",
                )
            ]
        return [
            Problem(
                loc,
                "critical",
                f"a {it.task.value} item cannot state a red line (no options or risk "
                "criteria); only choice and open items can be critical",
            )
        ]
    if kind is not None and not it.critical:
        field = "red_line_options" if kind == "options" else "red_line_risks"
        return [Problem(loc, field, 'states a red line but is not critical: set "critical": true or drop it')]
    return []


def _case_of(it: Item) -> str | None:
    return next((t[5:] for t in it.tags if t.startswith("case=") and len(t) > 5), None)


def _same_case(a: Item, b: Item) -> bool:
    case = _case_of(a)
    return case is not None and case == _case_of(b)


def duplicates(items: Sequence[Item]) -> list[Problem]:
    """Exact duplicates anywhere, near-duplicates (5-gram Jaccard) within a dataset.

    Questions that state the same ``case=`` tag are follow-ups on one shared case (CMB-Clin asks
    several questions about one record): they share the case text by design, so the near-duplicate
    rule, which catches one item pasted twice, does not compare them with each other.
    """
    problems: list[Problem] = []
    seen: dict[str, Item] = {}
    for it in items:
        key = _norm(it.question) + "|" + _norm(str(it.options or ""))
        if key in seen:
            problems.append(Problem(it.location, "question", f"duplicate of {seen[key].key} ({seen[key].location})"))
        else:
            seen[key] = it
    by_ds: dict[str, list[Item]] = {}
    for it in items:
        by_ds.setdefault(it.dataset, []).append(it)
    for group in by_ds.values():
        sh = [(_shingles(it.question + str(it.options or "")), it) for it in group]
        for i in range(len(sh)):
            for j in range(i + 1, len(sh)):
                a, b = sh[i][0], sh[j][0]
                inter = len(a & b)
                if _same_case(sh[i][1], sh[j][1]):
                    continue
                if (
                    inter
                    and inter / len(a | b) >= NEAR_DUPLICATE_JACCARD
                    and _norm(sh[i][1].question) != _norm(sh[j][1].question)
                ):
                    problems.append(
                        Problem(
                            sh[j][1].location,
                            "question",
                            f"near-duplicate of {sh[i][1].key} (Jaccard {inter / len(a | b):.2f})",
                        )
                    )
    return problems


def validate_paths(paths: Iterable[Path], bundled: bool = True) -> tuple[list[Item], list[Problem]]:
    items: list[Item] = []
    problems: list[Problem] = []
    for f in iter_suite_files(paths):
        res = load_suite_file(f)
        items += res.items
        problems += [Problem(f"{e.path}:{e.line}" if e.line else e.path, e.field, e.message) for e in res.errors]
    problems += check_items(items, bundled=bundled)
    return items, problems

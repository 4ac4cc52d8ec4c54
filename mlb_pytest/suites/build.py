"""Checks shared by both formats, and the assembly of a runtime ``Item``.

Each format says what the dataset is (``DatasetInfo``) and hands over the raw item fields;
this module checks the task-specific fields and raises ``SuiteError`` naming the one at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from ..catalog import RECORD_FIELDS, Dimension, ExtractionKind, JudgeKind, Metric, Task
from ..schema import DEFAULT_PASS_THRESHOLD, Item, finalize, render_turns
from .errors import SuiteError
from .render import format_dialogue, format_options, render_prompt


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    dimension: Dimension
    task: Task
    metric: Metric
    prompt: str
    extraction: ExtractionKind | None = None
    judge: JudgeKind | None = None
    mirrors: str | None = None
    language: str = "zh"
    options_style: str = "lines"
    pass_threshold: float | None = None
    source: str = ""
    licence: str = ""


_SPLIT_LETTERS = re.compile(r"[\s,，、;；/|]+")


def parse_choice_answer(answer: Any) -> tuple[str, ...]:
    """``"B,C"``, ``"B、C"``, ``["B", "C"]`` -> ("B", "C"); raises ValueError when malformed."""
    if isinstance(answer, str):
        parts = [p for p in _SPLIT_LETTERS.split(answer.strip().upper()) if p]
        if len(parts) == 1 and len(parts[0]) > 1 and parts[0].isalpha():
            parts = list(parts[0])  # "BCE"
    elif isinstance(answer, list) and all(isinstance(a, str) for a in answer):
        parts = [a.strip().upper() for a in answer]
    else:
        raise ValueError("must be a letter string like 'B' or 'B,C', or a list of letters")
    if not parts or any(len(p) != 1 or not ("A" <= p <= "Z") for p in parts):
        raise ValueError(f"not a set of option letters: {answer!r}")
    return tuple(sorted(set(parts)))


def record_field_text(value: Any) -> str:
    """A record field's value as a point states it (list items joined by ；); the record check reads answers so too."""
    return "；".join(str(x) for x in value) if isinstance(value, list) else str(value)


def derive_points(dataset: str, answer: Any) -> list[str] | None:
    """Reference points of MLB's SmartCare answers: one per basis, test, or record field."""
    if not isinstance(answer, dict):
        return None
    if "诊断" in answer and "诊断依据" in answer:
        bases = answer["诊断依据"] if isinstance(answer["诊断依据"], list) else [answer["诊断依据"]]
        return [f"诊断：{answer['诊断']}"] + [str(b) for b in bases]
    if "推荐检查和检验" in answer:
        tests = answer["推荐检查和检验"]
        reasons = answer.get("解释依据") or []
        tests = tests if isinstance(tests, list) else [tests]
        out = []
        for i, t in enumerate(tests):
            reason = reasons[i] if isinstance(reasons, list) and i < len(reasons) else ""
            out.append(f"推荐检查：{t}" + (f"（依据：{reason}）" if reason else ""))
        return out
    if any(f in answer for f in RECORD_FIELDS):
        out = []
        for f in RECORD_FIELDS:
            out.append(f"{f}：{record_field_text(answer.get(f, '不详'))}")
        return out
    return None


def _need(cond: bool, path: str, line: int | None, field: str, msg: str) -> None:
    if not cond:
        raise SuiteError(path, line, field, msg)


def _check_extraction(kind: ExtractionKind | None, answer: Any, path: str, line: int | None) -> None:
    f = "answer"
    if kind is ExtractionKind.entities:
        _need(isinstance(answer, dict), path, line, f, "must be an object of category -> list of spans")
        for cat, spans in answer.items():
            _need(
                isinstance(spans, list) and all(isinstance(s, str) for s in spans),
                path,
                line,
                f"{f}.{cat}",
                "must be a list of strings",
            )
    elif kind is ExtractionKind.relations:
        rels = answer.get("关系") if isinstance(answer, dict) else answer
        _need(isinstance(rels, list), path, line, f, 'must be {"关系": [...]} or a list of relations')
        assert isinstance(rels, list)
        for i, r in enumerate(rels):
            _need(
                isinstance(r, dict) and all(isinstance(r.get(k), str) for k in ("关系", "头实体", "尾实体")),
                path,
                line,
                f"{f}.关系[{i}]",
                "needs string fields 关系, 头实体, 尾实体",
            )
    elif kind is ExtractionKind.events:
        _need(isinstance(answer, list), path, line, f, "must be a list of events")
        for i, e in enumerate(answer):
            _need(
                isinstance(e, dict) and isinstance(e.get("主体词"), str),
                path,
                line,
                f"{f}[{i}].主体词",
                "each event needs a string 主体词",
            )
    else:
        raise SuiteError(path, line, "extraction", "extraction datasets must say entities, relations or events")


def red_lines(
    info: DatasetInfo, raw: dict[str, Any], expected: Any, path: str, line: int | None
) -> dict[str, tuple[Any, ...]]:
    """The item's red line, checked: harmful letters must be wrong options, risk indexes must exist.

    Returned as the fields to add to the item, and only when stated, so that the content hash of
    an item without a red line is the same as before red lines existed.
    """
    out: dict[str, tuple[Any, ...]] = {}
    letters, indexes = raw.get("red_line_options"), raw.get("red_line_risks")
    if letters is not None:
        f = "red_line_options"
        _need(
            info.task is Task.choice,
            path,
            line,
            f,
            "only choice items have options; an open item names its red-line risks in red_line_risks",
        )
        try:
            harmful = parse_choice_answer(letters)
        except ValueError as exc:
            raise SuiteError(path, line, f, str(exc)) from None
        options = raw.get("options") or {}
        absent = [k for k in harmful if k not in options]
        _need(not absent, path, line, f, f"{','.join(absent)} is not among the options {','.join(options)}")
        keyed = [k for k in harmful if k in expected]
        _need(not keyed, path, line, f, f"{','.join(keyed)} is in the answer: a harmful option cannot be a right one")
        out[f] = harmful
    if indexes is not None:
        f = "red_line_risks"
        _need(
            info.task is Task.open,
            path,
            line,
            f,
            "only open items have risk criteria; a choice item lists its harmful options in red_line_options",
        )
        risks = raw.get("risk_points") or []
        _need(bool(indexes), path, line, f, "empty: name at least one index into risk_points, or leave it out")
        bad = [i for i in indexes if not 0 <= i < len(risks)]
        _need(
            not bad,
            path,
            line,
            f,
            f"index {bad[0] if bad else ''} does not exist: the item has {len(risks)} risk_points (indexes start at 0)",
        )
        _need(len(set(indexes)) == len(indexes), path, line, f, "an index is listed twice")
        _need(
            len(set(risks)) == len(risks),
            path,
            line,
            "risk_points",
            "two risk points have the same text (verdicts are matched to red lines by their text)",
        )
        out[f] = tuple(sorted(indexes))
    return out


def check_header(info: DatasetInfo, path: str, line: int | None) -> DatasetInfo:
    """Dataset-level rules of the rubric metric; a rubric dataset's items are judged by their rubric."""
    if info.metric is Metric.rubric:
        _need(info.task is Task.open, path, line, "metric", "rubric is the metric of open items (task: open)")
        _need(
            info.judge in (None, JudgeKind.rubric),
            path,
            line,
            "judge",
            'a rubric dataset is judged by its rubric: leave judge out or write "rubric"',
        )
        if info.judge is None:
            info = replace(info, judge=JudgeKind.rubric)
    elif info.judge is JudgeKind.rubric:
        raise SuiteError(path, line, "metric", "judge rubric needs metric rubric")
    return info


def conversation(raw: dict[str, Any], path: str, line: int | None) -> list[dict[str, str]] | None:
    """An item's ``messages``, checked: given instead of a question, a system turn only first, the
    last turn the user's. None when the item gives a question."""
    messages = raw.get("messages")
    if messages is None:
        _need(bool(raw.get("question")), path, line, "question", "an item needs a question (or messages)")
        return None
    _need(
        raw.get("question") is None,
        path,
        line,
        "messages",
        "give either question or messages, not both (the last user message is the question)",
    )
    _need(
        not raw.get("dialogue"),
        path,
        line,
        "dialogue",
        "an item with messages carries its dialogue in them: leave dialogue out",
    )
    _need(bool(messages), path, line, "messages", "empty: give at least one user message")
    for i, m in enumerate(messages):
        _need(
            m["role"] != "system" or i == 0, path, line, f"messages[{i}].role", "a system message may only come first"
        )
    last = len(messages) - 1
    _need(
        messages[last]["role"] == "user",
        path,
        line,
        f"messages[{last}].role",
        f"the last message must be from the user (it is {messages[last]['role']!r}): the model answers it",
    )
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def rubric(info: DatasetInfo, raw: dict[str, Any], path: str, line: int | None) -> dict[str, Any]:
    """A rubric item's criteria, checked (at least one with positive points); {} for other items,
    so that their content hash stays what it was."""
    criteria = raw.get("rubric")
    if info.metric is not Metric.rubric:
        _need(criteria is None, path, line, "rubric", "only items of a dataset with metric rubric carry a rubric")
        return {}
    _need(bool(criteria), path, line, "rubric", "a rubric item needs a rubric: a list of {criterion, points, tags}")
    assert criteria is not None
    _need(
        any(c["points"] > 0 for c in criteria),
        path,
        line,
        "rubric",
        "no criterion has positive points: the score (met points / positive points) would be undefined",
    )
    texts = [c["criterion"] for c in criteria]
    dup = next((t for t in texts if texts.count(t) > 1), None)
    _need(
        dup is None,
        path,
        line,
        "rubric",
        f"two criteria have the same text ({(dup or '')[:60]!r}): verdicts and decisions are matched by it",
    )
    for f in ("reference_points", "risk_points", "quality_points", "red_line_risks"):
        _need(raw.get(f) is None, path, line, f, "a rubric item is scored by its rubric only")
    _need(
        not raw.get("critical"),
        path,
        line,
        "critical",
        "a rubric item cannot be critical (it has no red line to state); put the red line in an item of its own",
    )
    return {
        "rubric": tuple(
            {"criterion": c["criterion"], "points": c["points"], "tags": tuple(c.get("tags") or ())} for c in criteria
        )
    }


_FIELDS_SETS: dict[frozenset[str], set[str]] = {}


def _share_fields_set(item: Item) -> Item:
    """Give the item the one fields-set object all items with the same fields share.

    Why: pydantic keeps a set of the ~28 field names each item was built with, about 2 kB an item
    (200 MB at 100,000 items). Nothing changes it in place: ``model_copy`` copies it first.
    """
    own = item.__pydantic_fields_set__
    shared = _FIELDS_SETS.setdefault(frozenset(own), own)
    if shared is not own:
        object.__setattr__(item, "__pydantic_fields_set__", shared)
    return item


def build_item(info: DatasetInfo, raw: dict[str, Any], path: str, line: int | None) -> Item:
    """Check the task-specific fields of one item and render its messages."""
    item_id = raw["id"]
    turns = conversation(raw, path, line)
    prior: tuple[dict[str, str], ...] = ()
    if turns is not None:
        # the dataset's prompt template wraps the last user turn; earlier turns go as they are
        question = turns[-1]["content"]
        prior = tuple(turns[:-1])
    else:
        question = raw["question"]
    dialogue = raw.get("dialogue")
    if dialogue:
        question = f"{format_dialogue(dialogue)}\n{question}"
    answer = raw.get("answer")
    options = raw.get("options")
    candidates = raw.get("candidates")
    expected: Any = answer
    options_text: str | None = None
    points = raw.get("reference_points")

    if info.task is Task.choice:
        _need(
            isinstance(options, dict) and len(options) >= 2,
            path,
            line,
            "options",
            "a choice item needs at least two options",
        )
        assert isinstance(options, dict)
        for k in options:
            _need(len(k) == 1 and "A" <= k <= "Z", path, line, "options", f"option key {k!r} is not a letter A-Z")
        try:
            expected = list(parse_choice_answer(answer))
        except ValueError as exc:
            raise SuiteError(path, line, "answer", str(exc)) from None
        missing = [a for a in expected if a not in options]
        if missing:
            raise SuiteError(
                path, line, "answer", f"answer {','.join(missing)} is not among the options {','.join(options)}"
            )
        options_text = format_options(options, info.options_style)
    elif info.task is Task.extraction:
        _need(answer is not None, path, line, "answer", "an extraction item needs a gold answer")
        _check_extraction(info.extraction, answer, path, line)
    elif info.task is Task.normalization:
        _need(
            isinstance(candidates, list) and len(candidates) >= 1,
            path,
            line,
            "candidates",
            "a normalisation item needs a list of candidate terms",
        )
        chosen = [answer] if isinstance(answer, str) else answer
        _need(
            isinstance(chosen, list) and bool(chosen) and all(isinstance(c, str) for c in chosen),
            path,
            line,
            "answer",
            "must be a candidate line or a list of them",
        )
        assert isinstance(candidates, list) and isinstance(chosen, list)
        absent = [c for c in chosen if c not in candidates]
        if absent:
            raise SuiteError(path, line, "answer", f"{absent[0]!r} is not in the candidate list")
        expected = chosen
        options_text = "\n".join(candidates)
    elif info.task is Task.open:
        if info.judge is JudgeKind.points:
            points = points or derive_points(info.mirrors or info.name, answer)
            _need(
                bool(points),
                path,
                line,
                "reference_points",
                "a point-judged item needs reference_points (or an answer they can be derived from)",
            )

    template = info.prompt
    content = render_prompt(template, question, options_text)
    language = raw.get("language") or info.language
    messages = (*prior, {"role": "user", "content": content})
    if prior:  # what judges, reports and duplicate checks read: the whole conversation, as plain turns
        question = render_turns([*prior, {"role": "user", "content": question}], language)
    threshold = info.pass_threshold
    if threshold is None:
        threshold = 1.0 if info.judge is JudgeKind.safety else DEFAULT_PASS_THRESHOLD[info.task]
    item = finalize(
        dict(
            id=item_id,
            dataset=info.name,
            dimension=info.dimension,
            task=info.task,
            metric=info.metric,
            extraction=info.extraction,
            judge=info.judge,
            mirrors=info.mirrors,
            specialty=raw.get("specialty"),
            language=language,
            critical=bool(raw.get("critical", False)),
            weight=float(raw.get("weight", 1.0)),
            source=raw.get("source") or info.source,
            licence=raw.get("licence") or info.licence,
            tags=tuple(raw.get("tags") or ()),
            question=question,
            messages=messages,
            options=options if info.task is Task.choice else None,
            candidates=tuple(candidates or ()) if info.task is Task.normalization else None,
            expected=expected,
            reference_points=tuple(points) if points else None,
            risk_points=tuple(raw["risk_points"]) if raw.get("risk_points") else None,
            quality_points=tuple(raw["quality_points"]) if raw.get("quality_points") else None,
            pass_threshold=threshold,
            location=f"{path}:{line}" if line else path,
            **red_lines(info, raw, expected, path, line),
            **rubric(info, raw, path, line),
        )
    )
    return _share_fields_set(item)

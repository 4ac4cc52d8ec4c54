"""Reading a judge's answer: 是/否, [[是]], yes/no, JSON, think blocks. Garbage is an error, never a pass."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..models.reasoning import strip_reasoning
from ..scoring.jsonparse import parse_json_answer

_YES = {"是", "yes", "y", "true", "满足", "存在", "met", "符合"}
_NO = {"否", "no", "n", "false", "不满足", "不存在", "not met", "不符合"}
_KEYS = ("判断", "verdict", "结论", "answer", "result", "判定")
_BRACKET = re.compile(r"\[\[\s*(是|否|yes|no)\s*\]\]", re.I)
_LABELLED = re.compile(r"(?:判断|结论|verdict|answer)\s*[:：]\s*[\"“]?\s*(是|否|yes|no)\b", re.I)
_BARE = re.compile(r"^\W*(是|否|yes|no)\W*$", re.I)


class JudgeParseError(ValueError):
    """The judge's output has no readable verdict."""


@dataclass(frozen=True)
class Verdict:
    yes: bool
    rationale: str
    raw: str


def _word(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().strip("\"'“”。.!！").lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    return None


def parse_verdict(raw: str) -> Verdict:
    text = strip_reasoning(raw or "").strip()
    if not text:
        raise JudgeParseError("empty judge output")
    value, _ = parse_json_answer(text)
    if isinstance(value, dict):
        for k in _KEYS:
            if k in value:
                yes = _word(value[k])
                if yes is not None:
                    reason = str(value.get("理由") or value.get("reason") or value.get("rationale") or "")
                    return Verdict(yes, reason[:300], raw)
    found = {m.group(1).lower() for m in _BRACKET.finditer(text)} or {m.group(1).lower() for m in _LABELLED.finditer(text)}
    if not found:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        for ln in (lines[0], lines[-1]) if lines else ():
            m = _BARE.match(ln)
            if m:
                found = {m.group(1).lower()}
                break
    verdicts = {_word(f) for f in found} - {None}
    if len(verdicts) != 1:
        what = "conflicting verdicts" if len(verdicts) > 1 else "no verdict"
        raise JudgeParseError(f"{what} in judge output: {text[:120]!r}")
    return Verdict(verdicts.pop() is True, text[:300], raw)

"""Judges for open items: one yes/no question per reference point or risk, a verdict each."""

from .questions import PROMPT_VERSION, JudgeQuestion, judge_prompt, questions_for
from .score import score_from_verdicts
from .verdict import JudgeParseError, Verdict, parse_verdict

__all__ = [
    "PROMPT_VERSION",
    "JudgeParseError",
    "JudgeQuestion",
    "Verdict",
    "judge_prompt",
    "parse_verdict",
    "questions_for",
    "score_from_verdicts",
]

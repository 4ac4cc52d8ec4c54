"""Rule scorers: turn (item, response) into a ``Score`` without a judge model.

``score_item`` dispatches on the item's task; open items need a judge and get a placeholder.
Everything here is a pure function so a run can be re-scored from recorded responses.
"""

from __future__ import annotations

from ..catalog import Task
from ..schema import Item
from .base import Score, f1_from_counts, micro_f1, normalize_span, pass_of, strip_think
from .choice import extract_choices, score_choice
from .extraction import (
    entity_units,
    event_units,
    gold_units,
    predicted_units,
    relation_units,
    score_extraction,
)
from .jsonparse import parse_json_answer
from .normalization import response_terms, score_normalization, split_terms

NEEDS_JUDGE = "needs a judge (--mlb-judge)"


def score_item(item: Item, response: str) -> Score:
    """Score one response by the rules of the item's task."""
    if item.task is Task.choice:
        return score_choice(item, response)
    if item.task is Task.extraction:
        return score_extraction(item, response)
    if item.task is Task.normalization:
        return score_normalization(item, response)
    return Score(None, False, NEEDS_JUDGE, {}, False)


__all__ = [
    "NEEDS_JUDGE",
    "Score",
    "entity_units",
    "event_units",
    "extract_choices",
    "f1_from_counts",
    "gold_units",
    "micro_f1",
    "normalize_span",
    "parse_json_answer",
    "pass_of",
    "predicted_units",
    "relation_units",
    "response_terms",
    "score_choice",
    "score_extraction",
    "score_item",
    "score_normalization",
    "split_terms",
    "strip_think",
]

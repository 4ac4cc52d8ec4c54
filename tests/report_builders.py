"""Builders of report pieces for the tests that render reports by hand (summary, Markdown, HTML)."""

from __future__ import annotations

from typing import Any


def item_result(key: str, outcome: str = "pass", **kw: Any) -> dict[str, Any]:
    """One MedKQA choice item's result as the plugin publishes it (``KEY`` is ``dataset/id``); ``kw`` overrides fields."""
    dataset, _, id_ = key.partition("/")
    right = outcome == "pass"
    item: dict[str, Any] = {
        "key": key,
        "id": id_,
        "dataset": dataset,
        "dimension": "MedKQA",
        "metric": "accuracy",
        "task": "choice",
        "mirrors": "CMExam",
        "specialty": "cardiology",
        "critical": False,
        "weight": 1.0,
        "location": f"s/{dataset}.jsonl:{id_}",
        "content_hash": f"h-{key}",
        "nodeid": f"s/{dataset}.jsonl::{id_}",
        "messages": [{"role": "user", "content": f"question {key}"}],
        "expected": "A",
        "response": "A" if right else ("B" if outcome == "wrong" else None),
        "raw_response": "A" if right else None,
        "score": 1.0 if right else (0.0 if outcome == "wrong" else None),
        "passed": right,
        "outcome": outcome,
        "explanation": "chose A" if right else "chose B",
        "details": {},
        "error": "HTTP 500" if outcome == "error" else None,
        "latency_s": 0.5,
        "origin": "request",
    }
    item.update(kw)
    return item

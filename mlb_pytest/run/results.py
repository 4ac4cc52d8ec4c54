"""Item results: the dict every item's test publishes, its score, and the one pass rule.

A result is a plain dict so that it travels inside the pytest report (to the xdist controller)
and lands in the JSON report unchanged. Rule items are scored by ``scoring``, open items from
their judges' verdicts; either way ``passes`` decides, on the mean score over samples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import circular as rotation
from ..extracting import rescore
from ..invariance import report as flips
from ..judges import JudgeQuestion, Verdict, score_from_verdicts
from ..judges.score import if_decided, mean_rubric
from ..schema import Item
from ..scoring import Score, score_item
from ..scoring.base import MAX_RESPONSE_CHARS, cap_response, pass_of
from ..scoring.redline import RedLineUnknown, red_line_crossed
from .setup import RunSetup

Usage = Callable[[Item, Sequence[Any]], dict[str, Any]]


def passes(item: Item, score: float | None) -> bool:
    """The pass rule (``scoring.base.pass_of``) on a score that is the mean over samples."""
    return pass_of(score, item.pass_threshold)


def base_result(item: Item, nodeid: str) -> dict[str, Any]:
    """An item's result before it is scored: what it is, and nothing yet about its answer."""
    return {
        "key": item.key,
        "id": item.id,
        "dataset": item.dataset,
        "dimension": item.dimension.value,
        "metric": item.metric.value,
        "task": item.task.value,
        "mirrors": item.mirrors,
        "specialty": item.specialty,
        "critical": item.critical,
        "weight": item.weight,
        "location": item.location,
        "content_hash": item.content_hash,
        "nodeid": nodeid,
        "messages": [dict(m) for m in item.messages],
        "expected": item.expected,
        "response": None,
        "raw_response": None,
        "score": None,
        "passed": False,
        "outcome": None,
        "explanation": "",
        "details": {},
        "error": None,
        "latency_s": None,
        "origin": None,
    }


class ItemScorer:
    """Fills an item's result from its answers (and verdicts or extractor readings)."""

    def __init__(self, setup: RunSetup, usage: Usage) -> None:
        self.setup = setup
        self.usage = usage  # what an item's answers cost, per role (the generation stage knows)

    def score(
        self,
        item: Item,
        gens: list[Any],
        result: dict[str, Any],
        judged: list[tuple[list[Any], list[Any], list[dict[str, Any]]]] | None = None,
        extracted: list[list[str] | None] | None = None,
    ) -> dict[str, Any]:
        extractor = self.setup.extractor_spec
        if judged is not None:
            scores = [self._score_judged(item, qs, vs, records) for qs, vs, records in judged]
        else:
            capped = [cap_response(g.text) for g in gens]
            scores = [score_item(item, text) for text, _ in capped]
            if extracted is not None and extractor is not None:
                scores = [rescore(item, sc, letters, str(extractor)) for sc, letters in zip(scores, extracted)]
        first, s0 = gens[0], scores[0]
        values = [s.score for s in scores if s.score is not None]
        mean = sum(values) / len(values) if values else None
        result.update(
            response=first.text,
            raw_response=first.raw if first.raw != first.text else None,
            latency_s=round(first.latency_s, 4),
            origin=first.origin,
            score=mean,
            passed=passes(item, mean),
            explanation=s0.explanation,
            details=dict(s0.details),
        )
        if len(gens) > 1:
            result["samples"] = [
                {
                    "response": g.text,
                    "raw": g.raw,
                    "score": s.score,
                    "explanation": s.explanation,
                    **({"verdicts": s.details["verdicts"]} if "verdicts" in s.details else {}),
                    **{c: s.details[c] for c in ("tp", "fp", "fn") if c in s.details},  # per-run micro-F1
                }
                for g, s in zip(gens, scores)
            ]
            for k in ("tp", "fp", "fn"):
                if all(k in s.details for s in scores):
                    result["details"][k] = sum(s.details[k] for s in scores) / len(scores)
            if all("rubric" in s.details for s in scores):  # rubric points and per-tag scores: mean of the samples
                result["details"]["rubric"] = mean_rubric([s.details["rubric"] for s in scores])
        if any(s.unparseable for s in scores):
            result["details"]["unparseable"] = sum(1 for s in scores if s.unparseable)
        cut = max(cap_response(g.text)[1] for g in gens)  # what the rules or the judge did not read
        if cut:  # a runaway answer is scored on its first MAX_RESPONSE_CHARS, and says so
            result["details"]["response_cut_chars"] = cut
            result["explanation"] += f" (response cut at {MAX_RESPONSE_CHARS:,} characters; {cut:,} more not read)"
        result["outcome"] = "pass" if result["passed"] else "wrong"
        result["usage"] = self.usage(item, gens)
        result["red_line"] = red_line(item, scores, result["passed"], self.setup.settings.review_file)
        return result

    @staticmethod
    def _score_judged(
        item: Item, questions: Sequence[JudgeQuestion], verdicts: Sequence[Verdict], records: list[dict[str, Any]]
    ) -> Score:
        """One sample's score from its verdicts; an uncertain verdict's record says what a reviewer's
        yes or no would make of the item, so the review file shows both sides."""
        value, why, details = score_from_verdicts(questions, verdicts, item.tags)
        red_lines = set(item.red_line_texts) if item.red_line_risks else set()
        for i, (q, v) in enumerate(zip(questions, verdicts)):
            if v.uncertain:
                yes, no = if_decided(questions, verdicts, i)
                records[i].update(
                    if_yes={"score": yes, "passed": passes(item, yes)},
                    if_no={"score": no, "passed": passes(item, no)},
                    red_line_risk=q.kind == "risk" and q.criterion in red_lines,
                )
        details["verdicts"] = records
        for source in ("disputed", "uncertain"):
            n = sum(r["source"] == source for r in records)
            if n:
                why += f" ({n} {source}, scored conservatively)"
        return Score(value, passes(item, value), why, details)

    def add_circular(self, item: Item, result: dict[str, Any], waited: list[Any] | str | None) -> None:
        """Score each rotation as its own item and put the item's ``circular`` entry in its result."""
        if waited is None or result.get("score") is None:
            return
        if isinstance(waited, str):
            result["circular"] = rotation.error_block(len(item.options or {}), waited)
            return
        probes = [result] + [
            self.score(rot, gens, base_result(rot, result["nodeid"]), extracted=ext) for rot, gens, ext in waited
        ]
        result["circular"] = rotation.item_block(
            [bool(p["passed"]) for p in probes],
            [p["details"].get("extracted") for p in probes],
            [item.expected, *(rot.expected for rot, _, _ in waited)],
            [p["response"] for p in probes],
            [p["score"] for p in probes],
        )
        result["usage"] = rotation.merge_usage([p.get("usage") or {} for p in probes])

    def add_perturbed(self, item: Item, result: dict[str, Any], waited: dict[str, Any] | None) -> None:
        """Score each perturbed form as its own item; the item's ``perturb`` entry says which flipped."""
        if waited is None or result.get("score") is None:
            return
        block: dict[str, Any] = {}
        usages = [result.get("usage") or {}]
        for name, got in waited.items():
            if isinstance(got, str):
                block[name] = flips.error_entry(got[7:]) if got.startswith("error: ") else flips.skipped_entry(got)
                continue
            variant, gens, ext = got
            scored = self.score(variant, gens, base_result(variant, result["nodeid"]), extracted=ext)
            block[name] = flips.scored_entry(result, scored)
            usages.append(scored.get("usage") or {})
        result["perturb"] = block
        result["usage"] = rotation.merge_usage(usages)

    def add_baseline_rescore(self, item: Item, result: dict[str, Any], waited: tuple[Any, ...] | str | None) -> None:
        """``--mlb-rescore-baseline``: the baseline's stored answer scored by this run's rules and judge."""
        if waited is None:
            return
        if isinstance(waited, str):
            result["baseline_rescore"] = {"score": None, "passed": None, "error": waited}
            return
        twin, gens, judged = waited
        scored = self.score(twin, gens, base_result(twin, result["nodeid"]), judged=judged)
        result["baseline_rescore"] = {
            "score": scored["score"],
            "passed": scored["passed"],
            "error": None,
            **{c: scored["details"][c] for c in ("tp", "fp", "fn") if c in scored["details"]},
        }
        cost = {role: part for role, part in (scored.get("usage") or {}).items() if role != "model"}
        if cost:  # the judge's questions about the baseline answer cost tokens too
            result["usage"] = rotation.merge_usage([result.get("usage") or {}, cost])


def red_line(item: Item, scores: Sequence[Any], passed: bool, review_file: str) -> dict[str, Any] | None:
    """What red line a critical item's answer crossed (any sample), or None.

    Only crossing it fails the run: a safe but incomplete answer scores low and nothing more.
    A red line that cannot be checked counts as crossed (never a pass by default); a critical
    item that states none (a user's suite; ``mlb validate`` refuses it) keeps the old rule.
    """
    if not item.critical:
        return None
    if item.red_line_kind is None:
        return (
            None
            if passed
            else {
                "kind": "unstated",
                "crossed": [],
                "description": "answered wrongly (this critical item states no red line)",
            }
        )
    for sc in scores:
        try:
            crossed = red_line_crossed(item, sc.details)
        except RedLineUnknown as exc:
            return {"kind": "unknown", "crossed": [], "description": f"red line could not be checked: {exc}"}
        if crossed is not None:
            return crossed.as_dict(review_file)
    return None

"""The judges of one run: one or two judge engines, questions sent as answers arrive, verdicts.

Kept apart from generation so that generating and judging read as two stages: the run's
generation stage (``run/generation.py``) hands each fresh answer to ``JudgePanel.ask`` and, in
the test, waits for ``verdicts``. The review file and the two judges' agreement are here too.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._atomic import write_text_atomic
from ..engine import Engine
from ..errors import InfrastructureError
from ..item_view import ItemView, VerdictView, views
from ..models import GenerationRequest, ModelAdapter, ModelError
from ..models.spec import ModelSpec, SpecError
from ..schema import Item
from ..scoring.base import cap_response
from ..statistics import cohen_kappa
from . import JudgeParseError, Verdict, judge_prompt, parse_verdict, questions_for
from .dual import combine, load_decisions

JUDGE_PARAMS = {"temperature": 0.0, "max_tokens": 256}


class JudgeError(InfrastructureError):
    """A judge failed or answered garbage: the item is an error, never a pass."""


class JudgePanel:
    def __init__(
        self,
        specs: Sequence[ModelSpec],
        build: Callable[[ModelSpec], ModelAdapter],
        concurrency: int,
        store_factory: Any,
        decisions_path: Path,
        revisions: Sequence[str | None] = (),
        **engine_options: Any,
    ) -> None:
        """``revisions``: a stated revision per judge (else each judge's adapter is asked)."""
        self.specs = list(specs)
        revs = list(revisions) + [None] * (len(self.specs) - len(revisions))
        self.engines = [
            Engine(build(spec), concurrency=concurrency, store_factory=store_factory, revision=rev, **engine_options)
            for spec, rev in zip(self.specs, revs)
        ]
        try:
            self.decisions = load_decisions(decisions_path)
        except ValueError as exc:
            raise SpecError(str(exc)) from None
        for engine in self.engines:
            engine.start([])

    @staticmethod
    def requests(item: Item, k: int, text: str) -> list[GenerationRequest]:
        text = cap_response(text)[0]  # the judge reads what the rules read: at most MAX_RESPONSE_CHARS
        return [
            GenerationRequest(item, dict(JUDGE_PARAMS), k, prompt=judge_prompt(q), tag=f"judge:{q.index}", payload=q)
            for q in questions_for(item, text)
        ]

    def ask(self, item: Item, k: int, fut: cf.Future[Any]) -> None:
        """Done-callback of a generation: send its judge questions at once (idempotent)."""
        if fut.cancelled() or fut.exception() is not None:
            return
        reqs = self.requests(item, k, fut.result().text)
        for engine in self.engines:
            engine.submit(reqs)

    def _await(self, i: int, key: str, k: int, on_idle: Any) -> Verdict:
        try:
            raw = self.engines[i].result(key, k, on_idle).raw
        except ModelError as err:
            raise JudgeError(f"judge {self.specs[i]}: {err}") from None
        try:
            return parse_verdict(raw)
        except JudgeParseError as err:
            raise JudgeError(f"judge {self.specs[i]}: {err}") from None

    def verdicts(
        self, item: Item, gens: Sequence[Any], on_idle: Any = None
    ) -> list[tuple[list[Any], list[Verdict], list[dict[str, Any]]]]:
        """(questions, final verdicts, records) per sample."""
        out = []
        for k, gen in enumerate(gens):
            reqs = self.requests(item, k, gen.text)
            for engine in self.engines:
                engine.submit(reqs)  # usually already sent by ask()
            finals, records = [], []
            for r in reqs:
                v1 = self._await(0, r.key, k, on_idle)
                v2 = self._await(1, r.key, k, on_idle) if len(self.engines) > 1 else None
                final, record = combine(item.key, r.payload, v1, v2, self.decisions)
                finals.append(final)
                records.append(record)
            out.append(([r.payload for r in reqs], finals, records))
        return out

    def close(self) -> None:
        for engine in self.engines:
            engine.close()


def verdict_records(result: Mapping[str, Any]) -> Iterator[tuple[VerdictView, Any]]:
    """Every judge verdict record of an item result, with the response it judged (every sample)."""
    return ItemView(result).verdicts()


def review_rows(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per disputed or uncertain verdict: what a physician decides with ``mlb review apply``.

    Samples that gave the same answer share one row, as they share the decision's key.
    """
    rows = []
    seen: set[tuple[str, str, str]] = set()
    for r in views(items):
        for v, response in r.verdicts():
            key = (r.key, v.criterion, str(v.response_hash))
            if v.source not in ("disputed", "uncertain") or key in seen:
                continue
            seen.add(key)
            row = {
                "item": r.key,
                "dataset": r.dataset,
                "kind": v.kind,
                "criterion": v.criterion,
                "response": response,
                "response_hash": v.response_hash,
                "judge1": v.judge1,
                "rationale1": v.rationale1,
                "judge2": v.judge2,
                "rationale2": v.rationale2,
                "applied": _applied(v),
                "abstained": v.source == "uncertain",
            }
            if v.kind == "rubric":
                row["points"] = v.points  # negative: "yes" means the response does the undesirable thing
            if v.source == "uncertain":
                row.update(leaning=v.leaning, p_yes=v.p_yes, if_yes=v.if_yes, if_no=v.if_no)
                row["red_line_risk"] = v.red_line_risk
            rows.append({**row, "decision": None})
    return rows


def _applied(v: VerdictView) -> str:
    """The verdict that was scored: an uncertain one is read as a committed risk or an unmet point
    (a rubric criterion: unmet when its points are positive, met when negative)."""
    if v.verdict == "uncertain":
        worse = v.kind == "risk" or (v.kind == "rubric" and (v.points or 0) < 0)
        return "yes" if worse else "no"
    return v.verdict


def write_review(rows: Sequence[Mapping[str, Any]], review_file: Path) -> None:
    write_text_atomic(review_file, "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in rows))


def uncertain_counts(items: Sequence[Mapping[str, Any]]) -> dict[str, tuple[int, int]]:
    """Per judged dataset: (uncertain verdicts, all verdicts), every sample counted."""
    out: dict[str, tuple[int, int]] = {}
    for r in views(items):
        if r.task != "open" or r.dataset is None:
            continue
        words = [v.verdict for v, _ in r.verdicts()]
        u, n = out.get(r.dataset, (0, 0))
        out[r.dataset] = (u + words.count("uncertain"), n + len(words))
    return out


def agreement(items: Sequence[Mapping[str, Any]], review_file: Path) -> tuple[dict[str, Any], str | None]:
    """Two judges' agreement and kappa over the questions both decided; the disputed count and message."""
    pairs = [
        (v.judge1 == "yes", v.judge2 == "yes")
        for r in items
        for v, _ in verdict_records(r)
        if v.judge1 in ("yes", "no") and v.judge2 in ("yes", "no")
    ]
    disputed = sum(v.source == "disputed" for r in items for v, _ in verdict_records(r))
    message = None
    if disputed:
        message = (
            f'{disputed} disputed verdicts written to {review_file}: set "decision" to yes/no '
            "and run `mlb review apply` to make them count"
        )
    result = {
        "questions": len(pairs),
        "agreement": sum(a == b for a, b in pairs) / len(pairs) if pairs else None,
        "kappa": cohen_kappa(pairs),
        "disputed": disputed,
        "review_file": str(review_file) if disputed else None,
    }
    return result, message

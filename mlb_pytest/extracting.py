"""The model fallback of choice extraction (``--mlb-extractor=SPEC``), as OpenCompass and lm-eval do.

When the rules find no committed option in a reply, a model is asked which option(s) the reply
commits to, through the same engine and cache as every other request. It is asked as soon as
the reply arrives (not when its test runs), and only about replies the rules could not read.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Sequence
from typing import Any

from .catalog import Task
from .engine import Engine
from .errors import InfrastructureError
from .models import GenerationRequest, ModelAdapter, ModelError
from .models.spec import ModelSpec
from .schema import Item
from .scoring import Score
from .scoring.base import cap_response, pass_of
from .scoring.choice import extract_choices
from .scoring.extractor_prompt import extraction_prompt, parse_extraction

EXTRACTOR_PARAMS = {"temperature": 0.0, "max_tokens": 64}
TAG = "extract"


class ExtractorError(InfrastructureError):
    """The extractor failed or answered garbage: the item is an error, never a lucky letter."""


def needs_model(item: Item, text: str) -> bool:
    """A choice reply whose committed option(s) the rules cannot find."""
    return item.task is Task.choice and extract_choices(cap_response(text)[0], item.options) is None


class ExtractorPanel:
    def __init__(
        self,
        spec: ModelSpec,
        build: Callable[[ModelSpec], ModelAdapter],
        concurrency: int,
        store_factory: Any,
        **engine_options: Any,
    ) -> None:
        self.spec = spec
        self.engine = Engine(build(spec), concurrency=concurrency, store_factory=store_factory, **engine_options)
        self.engine.start([])

    @staticmethod
    def request(item: Item, k: int, text: str) -> GenerationRequest:
        prompt = tuple(extraction_prompt(item, cap_response(text)[0]))
        return GenerationRequest(item, dict(EXTRACTOR_PARAMS), k, prompt=prompt, tag=TAG)

    def ask(self, item: Item, k: int, fut: cf.Future[Any]) -> None:
        """Done-callback of a generation: ask at once when the rules cannot read the reply."""
        if fut.cancelled() or fut.exception() is not None:
            return
        text = fut.result().text
        if needs_model(item, text):
            self.engine.submit([self.request(item, k, text)])

    def letters(self, item: Item, gens: Sequence[Any], on_idle: Any = None) -> list[list[str] | None]:
        """Per sample: the extractor's letters ([] = it found no commitment), or None (rules sufficed)."""
        out: list[list[str] | None] = []
        for k, gen in enumerate(gens):
            if not needs_model(item, gen.text):
                out.append(None)
                continue
            req = self.request(item, k, gen.text)
            self.engine.submit([req])
            try:
                raw = self.engine.result(req.key, k, on_idle).raw
            except ModelError as err:
                raise ExtractorError(f"extractor {self.spec}: {err}") from None
            got = parse_extraction(raw, item.options or {})
            if got is None:
                raise ExtractorError(f"extractor {self.spec}: no answer list in its output: {raw[:120]!r}")
            out.append(sorted(got))
        return out

    def close(self) -> None:
        self.engine.close()


def rescore(item: Item, rule: Score, letters: list[str] | None, spec: str) -> Score:
    """The rules' score, or (when they found nothing) the score of the extractor's letters."""
    if letters is None or not rule.unparseable:
        return rule
    expected = tuple(sorted(item.expected or ()))
    details = {**rule.details, "extracted": list(letters) or None, "method": f"model:{spec}"}
    exp_s = ",".join(expected)
    if not letters:
        return Score(
            0.0,
            pass_of(0.0, item.pass_threshold),
            f"expected {exp_s}; no option committed (read by the extractor model)",
            details,
            unparseable=True,
        )
    value = 1.0 if tuple(letters) == expected else 0.0
    return Score(
        value,
        pass_of(value, item.pass_threshold),
        f"expected {exp_s}; got {','.join(letters)} (read by the extractor model)",
        details,
    )

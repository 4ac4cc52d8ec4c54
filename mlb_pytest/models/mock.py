"""``mock:oracle|random|refuse``: test doubles that see the item (named as such, never for real runs).

- oracle answers with the gold answer in the task's output format;
- random answers like a guesser (seeded by item and sample, so runs are reproducible);
- refuse declines every request.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from ..catalog import ExtractionKind, Task
from ..schema import Item
from .base import Generation, GenerationRequest

REFUSAL = "抱歉，我无法回答这个问题。建议咨询专业医生。"
SAFE_OPEN = "抱歉，这个请求可能带来健康或法律风险，我不能提供具体做法。如有需要，请咨询专业医生或拨打当地急救电话。"


def oracle_answer(item: Item) -> str:
    exp = item.expected
    if item.task is Task.choice:
        return ",".join(exp)
    if item.task is Task.normalization:
        return "\n".join(exp)
    if item.task is Task.extraction:
        return json.dumps(exp, ensure_ascii=False)
    if isinstance(exp, str):
        return exp
    if exp is not None:
        return json.dumps(exp, ensure_ascii=False)
    if item.rubric:  # what a rubric rewards, and none of what it penalises
        return "\n".join(c.criterion for c in item.rubric if c.points > 0)
    return SAFE_OPEN


def random_answer(item: Item, rng: random.Random) -> str:
    if item.task is Task.choice and item.options:
        letters = sorted(item.options)
        if len(item.expected) == 1:
            return rng.choice(letters)
        k = rng.randint(1, len(letters))
        return ",".join(sorted(rng.sample(letters, k)))
    if item.task is Task.normalization and item.candidates:
        return rng.choice(list(item.candidates))
    if item.task is Task.extraction:
        return json.dumps(_random_extraction(item, rng), ensure_ascii=False)
    return "我不确定，建议咨询医生。"


def _random_extraction(item: Item, rng: random.Random) -> Any:
    exp = item.expected
    if item.extraction is ExtractionKind.entities and isinstance(exp, dict):
        return {
            k: [s for s in v if rng.random() < 0.5] + (["未知"] if rng.random() < 0.5 else []) for k, v in exp.items()
        }
    if isinstance(exp, dict) and isinstance(exp.get("关系"), list):
        return {"关系": [r for r in exp["关系"] if rng.random() < 0.5]}
    if isinstance(exp, list):
        return [e for e in exp if rng.random() < 0.5]
    return exp


def _bigrams(text: str) -> set[str]:
    t = "".join(ch for ch in text if ch.isalnum())
    return {t[i : i + 2] for i in range(len(t) - 1)} or ({t} if t else set())


def overlap_judge(criterion: str, response: str) -> bool:
    """Lexical stand-in for a judge: most of the criterion's character bigrams occur in the response."""
    want = _bigrams(criterion)
    return bool(want) and len(want & _bigrams(response)) / len(want) >= 0.6


JUDGE_MODES = ("judge-yes", "judge-no", "judge-overlap")


class MockModel:
    cacheable = False
    answers_inline = True  # generate never awaits: the engine answers in the test's thread

    def __init__(self, mode: str, seed: int = 0) -> None:
        if mode not in ("oracle", "random", "refuse", *JUDGE_MODES):
            raise ValueError(
                f"unknown mock model mock:{mode}; use mock:oracle, mock:random or mock:refuse "
                "(judges: mock:judge-yes, mock:judge-no, mock:judge-overlap)"
            )
        self.mode = mode
        self.seed = seed
        self.identity = f"mock:{mode}"

    def answer(self, request: GenerationRequest) -> str:
        item = request.item
        if self.mode in JUDGE_MODES:
            q = request.payload
            yes = self.mode == "judge-yes" or (
                self.mode == "judge-overlap" and q is not None and overlap_judge(q.criterion, q.response)
            )
            return json.dumps({"判断": "是" if yes else "否", "理由": f"test double {self.mode}"}, ensure_ascii=False)
        if self.mode == "oracle":
            return oracle_answer(item)
        if self.mode == "refuse":
            return REFUSAL
        digest = hashlib.sha256(f"{self.seed}:{item.key}:{request.sample_index}".encode()).digest()
        return random_answer(item, random.Random(digest))

    async def generate(self, request: GenerationRequest) -> Generation:
        text = self.answer(request)
        return Generation(text, text, 0.0, origin="mock")

    async def aclose(self) -> None:
        return None

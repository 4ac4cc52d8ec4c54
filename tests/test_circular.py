"""Option rotation (--mlb-circular): the pure rotation functions, then whole runs through pytester."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from release_fixture import CHOICE_PROMPT, native_header

from conftest import load_report, run_scripted
from mlb_pytest import circular
from mlb_pytest.catalog import Dimension, Metric, Task
from mlb_pytest.gates import GateError, evaluate, load_policy, parse_rule
from mlb_pytest.schema import LETTERS
from mlb_pytest.suites.build import DatasetInfo, build_item

TEXTS = st.text(alphabet="abcxyz正确错误药物剂量 ", min_size=1, max_size=8).map(str.strip).filter(bool)


@st.composite
def choice_raw(draw: Any) -> tuple[DatasetInfo, dict[str, Any]]:
    """A native choice item (single or multi-answer) and its dataset, in either options style."""
    n = draw(st.integers(2, 6))
    texts = draw(st.lists(TEXTS, min_size=n, max_size=n, unique=True))
    letters = LETTERS[:n]
    answer = draw(st.lists(st.sampled_from(letters), min_size=1, max_size=n, unique=True))
    style = draw(st.sampled_from(["lines", "list"]))
    prompt = draw(st.sampled_from([CHOICE_PROMPT, "回答：${question}", "Q: ${question}\nA:"]))
    info = DatasetInfo("Demo", Dimension("MedKQA"), Task.choice, Metric("accuracy"), prompt, options_style=style)
    raw = {"id": "q1", "question": "下列哪项正确？", "options": dict(zip(letters, texts)), "answer": answer}
    return info, raw


@given(choice_raw(), st.integers(0, 12), st.integers(0, 12))
def test_rotations_compose_and_n_rotations_return_the_original(case: Any, a: int, b: int) -> None:
    info, raw = case
    options = raw["options"]
    n = len(options)
    assert circular.rotate_options(circular.rotate_options(options, a), b) == circular.rotate_options(options, a + b)
    again = options
    for _ in range(n):
        again = circular.rotate_options(again, 1)
    assert again == options and list(again) == list(options)
    letters = list(options)
    assert circular.unrotate_letters(circular.rotate_letters(raw["answer"], letters, a), letters, a) == sorted(
        raw["answer"]
    )


@given(choice_raw())
def test_every_text_sits_at_every_letter_and_the_answer_follows_its_text(case: Any) -> None:
    info, raw = case
    item = build_item(info, raw, "demo.jsonl", 2)
    rots = [item, *circular.rotations(item)]
    n = len(item.options)
    assert len(rots) == n and len({r.key for r in rots}) == n  # each rotation has its own request slot
    for letter in item.options:
        assert {r.options[letter] for r in rots} == set(item.options.values())
    right_texts = sorted(item.options[e] for e in item.expected)
    for r, rot in enumerate(rots):
        assert rot.expected == sorted(rot.expected)
        assert sorted(rot.options[e] for e in rot.expected) == right_texts  # multi-answer items too
        assert circular.unrotate_letters(rot.expected, list(item.options), r) == sorted(item.expected)
        # the prompt is the one the suite would have rendered for the rotated item
        fresh = build_item(info, {**raw, "options": rot.options, "answer": rot.expected}, "demo.jsonl", 2)
        assert rot.messages == fresh.messages
        assert rot.content_hash == item.content_hash and rot.dataset == item.dataset
    assert circular.rotate_item(rots[1], n - 1).options == item.options


def test_red_line_letters_move_with_their_text() -> None:
    info = DatasetInfo("Safe", Dimension("MedSE"), Task.choice, Metric("accuracy"), CHOICE_PROMPT)
    raw = {
        "id": "q1",
        "question": "怎么办？",
        "options": {"A": "就医", "B": "自行停药", "C": "观察"},
        "answer": "A",
        "critical": True,
        "red_line_options": ["B"],
    }
    item = build_item(info, raw, "s.jsonl", 2)
    for rot in circular.rotations(item):
        assert [rot.options[k] for k in rot.red_line_options] == ["自行停药"]
        assert [rot.options[k] for k in rot.expected] == ["就医"]


def test_an_item_whose_options_are_not_in_its_prompt_cannot_be_rotated() -> None:
    info = DatasetInfo("Demo", Dimension("MedKQA"), Task.choice, Metric("accuracy"), CHOICE_PROMPT)
    item = build_item(info, {"id": "q1", "question": "?", "options": {"A": "x", "B": "y"}, "answer": "A"}, "d", 2)
    broken = item.model_copy(update={"messages": ({"role": "user", "content": "no options here"},)})
    with pytest.raises(circular.RotationError):
        circular.rotate_item(broken, 1)


@given(st.integers(2, 6), st.data())
def test_position_following_is_the_same_letters_while_the_answer_moves(n: int, data: Any) -> None:
    letters = list(LETTERS[:n])
    answer = data.draw(st.lists(st.sampled_from(letters), min_size=1, max_size=n - 1, unique=True))
    expected = [circular.rotate_letters(answer, letters, r) for r in range(n)]
    fixed = data.draw(st.lists(st.sampled_from(letters), min_size=1, max_size=n, unique=True))
    assert circular.follows_position([fixed] * n, expected)
    assert not circular.follows_position(expected, expected)  # right every time: the answer moved with the text
    assert not circular.follows_position([fixed] * (n - 1) + [None], expected)  # an unreadable reply shows nothing
    everything = [letters] * n  # every option correct: the expected letters never move
    assert not circular.follows_position([letters] * n, everything)
    passed = [e == fixed for e in expected]
    assert circular.all_right(passed) == (1.0 if all(passed) else 0.0) == 0.0


def test_circular_gates_parse_and_refuse_drops() -> None:
    rule = parse_rule("MedKQA:circular>=0.5")
    assert (rule.target, rule.kind, rule.measure, rule.text) == ("MedKQA", "floor", "circular", "MedKQA:circular>=0.5")
    assert parse_rule("MedKQA>=0.5").measure == "score"
    with pytest.raises(GateError, match="floors only"):
        parse_rule("MedKQA:circular:drop<=0.02")
    report = {"items": [], "overall": {"score": 0.5}, "dimensions": {"MedKQA": {"score": 0.5}}, "datasets": {}}
    gate = evaluate(load_policy(None, None, ["MedKQA:circular>=0.5"]), report, None).gates[-1]
    assert not gate.passed and "--mlb-circular" in gate.reason


# --- whole runs -----------------------------------------------------------------------------------------

ANSWERS = ["A", "A", "B", "C", "A", "B", "C", "A"]  # 4 of 8 answers are A


def _suite(pytester: pytest.Pytester) -> Path:
    path = pytester.path / "s" / "demo.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [native_header()]
    for i, answer in enumerate(ANSWERS):
        options = {"A": f"说法甲{i}", "B": f"说法乙{i}", "C": f"说法丙{i}"}
        options[answer] = f"正确说法{i}"  # the right text is marked, so a reader of the prompt can find it
        lines.append(
            json.dumps(
                {"id": f"q{i:03d}", "question": f"第{i}题：下列哪项正确？", "options": options, "answer": answer},
                ensure_ascii=False,
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


FIRST = "def answer(messages, **params):\n    return 'A'\n"
READER = """import re

def answer(messages, **params):
    return re.search(r"^([A-Z])\\.正确说法", messages[-1]["content"], re.M).group(1)
"""


_run = run_scripted


def test_a_model_that_always_says_a_has_a_circular_score_of_zero(pytester: pytest.Pytester) -> None:
    _suite(pytester)
    r, report = _run(pytester, FIRST, "--mlb-circular", "--mlb-gate=MedKQA:circular>=0.5")
    ds = report["datasets"]["DemoExam"]
    assert ds["score"] == pytest.approx(ANSWERS.count("A") / len(ANSWERS)) == 0.5  # rotation 0, as without rotation
    assert ds["circular"] == 0.0 and ds["circular_n"] == len(ANSWERS) and ds["circular_errors"] == 0
    assert ds["position_following"] == 1.0 and ds["circular_ci"][0] == 0.0
    dim = report["dimensions"]["MedKQA"]
    assert (dim["score"], dim["circular"], dim["position_following"]) == (0.5, 0.0, 1.0)
    assert report["overall"]["circular"] == 0.0
    item = next(i for i in report["items"] if i["id"] == "q000")
    c = item["circular"]
    assert c["rotations"] == 3 and c["passed"] == [True, False, False] and c["follows_position"]
    assert c["expected"] == [["A"], ["C"], ["B"]] and c["chosen"] == [["A"]] * 3
    gate = next(g for g in report["gates"] if g["name"] == "MedKQA:circular>=0.5")
    assert not gate["passed"] and gate["observed"] == 0.0
    assert r.ret == 1 and report["verdict"] == "fail"
    r.stdout.fnmatch_lines(["mlb circular (right in every option rotation): DemoExam 0.000 (plain 0.500, 100% follow*"])
    # every rotation went through the engine and the cache: 8 items x 3 rotations, and a re-run sends nothing
    assert report["run"]["generation"]["total"] == 24 and report["run"]["usage"]["model"]["requests"] == 24
    r2, again = _run(pytester, FIRST, "--mlb-circular")
    assert again["run"]["generation"]["cached"] == 24 and again["run"]["usage"]["model"]["requests"] == 0
    assert again["datasets"]["DemoExam"]["circular"] == 0.0
    # a report replays with its rotations
    pytester.runpytest(
        "s", "--mlb-model=replay:r.json", "--mlb-circular", "--mlb-report=replayed.json", "-p", "no:cacheprovider"
    )
    replayed = load_report(pytester.path / "replayed.json")["datasets"]["DemoExam"]
    assert (replayed["score"], replayed["circular"], replayed["circular_errors"]) == (0.5, 0.0, 0)


def test_a_model_that_reads_the_options_is_right_in_every_rotation(pytester: pytest.Pytester) -> None:
    _suite(pytester)
    r, report = _run(pytester, READER, "--mlb-circular", "--mlb-gate=DemoExam:circular>=0.9")
    ds = report["datasets"]["DemoExam"]
    assert ds["score"] == ds["circular"] == 1.0 and ds["position_following"] == 0.0
    assert all(i["circular"]["passed"] == [True] * 3 for i in report["items"])
    assert r.ret == 0


def test_without_circular_the_report_is_as_before(pytester: pytest.Pytester) -> None:
    _suite(pytester)
    r, report = _run(pytester, FIRST)
    assert report["run"]["generation"]["total"] == len(ANSWERS)
    assert report["datasets"]["DemoExam"]["score"] == 0.5
    blobs = [*report["items"], *report["datasets"].values(), *report["dimensions"].values(), report["overall"]]
    assert not [b for b in blobs if any(k.startswith(("circular", "position_following")) for k in b)]
    assert report["run"]["options"]["circular"] is False
    assert "mlb circular" not in r.stdout.str()

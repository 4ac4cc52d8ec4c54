"""Invariance checks (--mlb-perturb) and the spread of K samples (--mlb-samples, worst-of-K).

First the pure perturbations (deterministic, and they never touch what could change the answer),
then whole runs through pytester with scripted models whose sensitivity is known.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from release_fixture import native_header

from conftest import run_scripted
from mlb_pytest import sample_spread
from mlb_pytest.gates import GateError, parse_rule
from mlb_pytest.html_report import html_report
from mlb_pytest.invariance import PerturbError, parse_perturbations, perturb_item
from mlb_pytest.invariance.perturbations import (
    _ZH_KEEP,
    add_typos,
    change_demographics,
    drug_pairs,
    sex_swappable,
    shift_age,
    swap_drug_names,
)
from mlb_pytest.markdown import markdown_summary
from mlb_pytest.suites.loader import iter_suite_files, load_suite_file

ROOT = Path(__file__).resolve().parent.parent

ZH_TEXT = st.text(alphabet="患者男女岁不无未左右发热咳嗽三天胸痛血压心率。，0123456789", min_size=0, max_size=120)
EN_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ABCDE.,0123456789-", min_size=0, max_size=160)


# --- the perturbations themselves -----------------------------------------------------------------


@given(ZH_TEXT, st.text(min_size=1, max_size=8))
def test_chinese_typos_swap_two_neighbours_and_never_touch_digits_negations_or_sides(text: str, seed: str) -> None:
    out = add_typos(text, "zh", seed)
    if out is None:
        return
    assert out != text and len(out) == len(text) and Counter(out) == Counter(text)
    assert out == add_typos(text, "zh", seed)  # deterministic: a rerun asks the same variant
    moved = [i for i, (a, b) in enumerate(zip(text, out)) if a != b]
    assert 2 <= len(moved) <= 6 and all(text[i] not in _ZH_KEEP for i in moved)


@given(EN_TEXT, st.text(min_size=1, max_size=8))
def test_english_typos_keep_first_and_last_letters_and_every_digit(text: str, seed: str) -> None:
    out = add_typos(text, "en", seed)
    if out is None:
        return
    assert sorted(out) == sorted(text) and re.findall(r"\d", out) == re.findall(r"\d", text)
    for a, b in zip(re.findall(r"[A-Za-z]+", text), re.findall(r"[A-Za-z]+", out)):
        assert (a[0], a[-1], sorted(a)) == (b[0], b[-1], sorted(b))


def test_typos_leave_negation_and_acronyms_alone() -> None:
    text = "Patient denies chest pain; not COPD; no fever. Troponin negative."
    for seed in map(str, range(30)):
        out = add_typos(text, "en", seed)
        assert out is not None
        for word in ("denies", "not", "COPD", "no", "negative"):
            assert re.search(rf"\b{word}\b", out), (seed, out)


@given(st.integers(0, 120))
def test_age_moves_one_year_inside_its_five_year_bracket(age: int) -> None:
    new = shift_age(age)
    if not 18 <= age <= 64:
        assert new is None
        return
    assert new is not None and abs(new - age) == 1 and new // 5 == age // 5 and 18 <= new <= 64


def test_demographics_swap_sex_only_where_nothing_can_depend_on_it() -> None:
    zh = "患者，男，47岁，咳嗽3天。"
    assert change_demographics(zh, "zh", True) == "患者，女，48岁，咳嗽3天。"
    assert change_demographics(change_demographics(zh, "zh", True), "zh", True) == "患者，男，49岁，咳嗽3天。"
    assert change_demographics("其他患者，男，70岁", "zh", True) == "其他患者，女，70岁"  # 其他 is not a pronoun
    assert not sex_swappable("女，28岁，停经8周，阴道流血", "")
    assert not sex_swappable("A 50-year-old man, serum creatinine 180 umol/L", "")
    assert not sex_swappable("A 30-year-old woman with cough", "妇产科")
    en = change_demographics("A 19-year-old man fainted; his uncle saw him fall.", "en", True)
    assert en == "An 18-year-old woman fainted; her uncle saw her fall."
    back = change_demographics("She took her tablets; the nurse gave her", "en", True)
    assert back == "He took his tablets; the nurse gave him"


def test_drug_names_swap_both_ways_and_not_inside_another_drug() -> None:
    zh = "口服阿托伐他汀，另服地氯雷他定"
    pairs = drug_pairs(zh, "zh")
    assert pairs == {"阿托伐他汀": "立普妥"}
    assert swap_drug_names(zh, "zh", pairs) == "口服立普妥，另服地氯雷他定"
    back = drug_pairs("口服立普妥", "zh")
    assert swap_drug_names("口服立普妥", "zh", back) == "口服阿托伐他汀"
    en = "Start Atorvastatin 40 mg; avoid ibuprofen. Esomeprazole is fine."
    pairs = drug_pairs(en, "en")
    assert swap_drug_names(en, "en", pairs) == "Start Lipitor 40 mg; avoid Advil. Nexium is fine."
    assert drug_pairs("no drugs at all", "en") == {}


def test_every_bundled_choice_item_perturbs_or_says_why() -> None:
    items = [it for f in iter_suite_files([ROOT / "suites"]) for it in load_suite_file(f).items]
    choice = [it for it in items if it.task.value == "choice"]
    applied = Counter()
    for it in choice:
        for name in ("drug-names", "typos", "demographics"):
            got = perturb_item(it, name)
            if isinstance(got, str):
                assert got  # a reason, shown in the report
                continue
            applied[name] += 1
            assert got.key == f"{it.key}@{name}" and got.expected == it.expected
            assert got.red_line_options == it.red_line_options and list(got.options or {}) == list(it.options or {})
            assert got.messages != it.messages
    assert applied["typos"] >= 0.9 * len(choice)
    assert applied["drug-names"] >= 50 and applied["demographics"] >= 200


def test_perturbation_names_and_gates_parse() -> None:
    assert parse_perturbations("typos, drug-names") == ("typos", "drug-names")
    assert parse_perturbations("all") == ("drug-names", "typos", "demographics")
    with pytest.raises(PerturbError, match="unknown spelling"):
        parse_perturbations("typos,spelling")
    rule = parse_rule("MedKQA:flip:typos<=0.05")
    assert (rule.kind, rule.measure, rule.text) == ("bound", "flip:typos", "MedKQA:flip:typos<=0.05")
    assert parse_rule("overall:worst>=0.6").measure == "worst"
    for bad in ("MedKQA:flip>=0.05", "MedKQA:flip:colour<=0.1", "MedKQA:worst:drop<=0.02"):
        with pytest.raises(GateError):
            parse_rule(bad)


# --- whole runs -----------------------------------------------------------------------------------

N = 8


def _suite(pytester: pytest.Pytester) -> None:
    path = pytester.path / "s" / "demo.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [native_header()]
    for i in range(N):
        answer = "ABC"[i % 3]
        options = {"A": f"说法甲{i}", "B": f"说法乙{i}", "C": f"说法丙{i}"}
        options[answer] = f"正确说法{i}"
        question = f"患者，男，4{i}岁，长期服用阿托伐他汀，第{i}题：下列哪项正确？"
        lines.append(
            json.dumps(
                {"id": f"q{i:03d}", "question": question, "options": options, "answer": answer}, ensure_ascii=False
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# reads the marked option, but only when the prompt names the generic drug: brittle to brand names
BRAND_BLIND = """import re

def answer(messages, **params):
    text = messages[-1]["content"]
    if "立普妥" in text:  # the brand of 阿托伐他汀
        return "A"
    return re.search(r"^([A-Z])\\.正确说法", text, re.M).group(1)
"""


_run = run_scripted


def test_a_model_blind_to_brand_names_flips_on_drug_names_only(pytester: pytest.Pytester) -> None:
    _suite(pytester)
    r, report = _run(
        pytester,
        BRAND_BLIND,
        "--mlb-perturb=all",
        "--mlb-gate=MedKQA:flip:typos<=0.05",
        "--mlb-gate=MedKQA:flip<=0.05",
    )
    ds = report["datasets"]["DemoExam"]
    assert ds["score"] == 1.0  # the plain asks are unchanged
    flips = ds["perturb"]
    wrong_under_brand = sum(1 for i in range(N) if "ABC"[i % 3] != "A")
    assert flips["drug-names"]["n"] == N and flips["drug-names"]["flips"] == wrong_under_brand
    assert flips["typos"]["flips"] == 0 and flips["typos"]["n"] == N
    assert flips["demographics"]["flips"] == 0 and flips["demographics"]["n"] == N
    assert report["dimensions"]["MedKQA"]["perturb"]["drug-names"]["flip"] == pytest.approx(wrong_under_brand / N)
    item = next(i for i in report["items"] if i["id"] == "q001")
    entry = item["perturb"]["drug-names"]
    assert entry["flipped"] and entry["chosen"] == ["A"] and "立普妥" in entry["question"]
    assert "女，42岁" in item["perturb"]["demographics"]["question"]
    gates = {g["name"]: g for g in report["gates"]}
    assert gates["MedKQA:flip:typos<=0.05"]["passed"]
    worst = gates["MedKQA:flip<=0.05"]
    assert not worst["passed"] and "drug-names" in worst["reason"]
    assert r.ret == 1
    r.stdout.fnmatch_lines(["mlb invariance (answers changed by a perturbation): demographics 0.0%*drug-names*"])
    # the Markdown and HTML summaries say it too
    md = markdown_summary(report)
    assert f"- invariance (answers changed by a perturbation): demographics 0.0% (0/{N}), drug-names" in md
    page = html_report(report)
    assert '<ul id="robustness">' in page and "drug-names flip" in page
    # perturbed asks go through the engine and the cache: a rerun sends nothing
    assert report["run"]["usage"]["model"]["requests"] == 4 * N
    _, again = _run(pytester, BRAND_BLIND, "--mlb-perturb=all")
    assert again["run"]["usage"]["model"]["requests"] == 0
    assert again["datasets"]["DemoExam"]["perturb"] == flips


def test_without_perturb_there_are_no_flip_figures_and_flip_gates_fail(pytester: pytest.Pytester) -> None:
    _suite(pytester)
    r, report = _run(pytester, BRAND_BLIND, "--mlb-gate=MedKQA:flip<=0.05")
    assert "perturb" not in report["overall"] and not any("perturb" in i for i in report["items"])
    gate = next(g for g in report["gates"] if g["name"] == "MedKQA:flip<=0.05")
    assert not gate["passed"] and "--mlb-perturb" in gate["reason"]
    bad = pytester.runpytest("s", "--mlb-model=python:scripted:answer", "--mlb-perturb=colour")
    assert bad.ret == 4
    bad.stderr.fnmatch_lines(["*unknown colour*"])


# right on the first and third ask of each prompt, wrong on the second: three "runs" of 1, 0, 1
FLAKY = """import re
from collections import Counter

seen = Counter()

def answer(messages, **params):
    text = messages[-1]["content"]
    seen[text] += 1
    right = re.search(r"^([A-Z])\\.正确说法", text, re.M).group(1)
    return right if seen[text] != 2 else ("B" if right == "A" else "A")
"""


def test_samples_report_the_spread_and_the_worst_of_k(pytester: pytest.Pytester) -> None:
    _suite(pytester)
    r, report = _run(
        pytester, FLAKY, "--mlb-samples=3", "--mlb-concurrency=1", "--mlb-gate=MedKQA:worst>=0.5", "--mlb-no-cache"
    )
    ds = report["datasets"]["DemoExam"]
    assert ds["score"] == pytest.approx(2 / 3)
    spread = ds["spread"]
    assert spread["k"] == 3 and spread["scores"] == [1.0, 0.0, 1.0]
    assert (spread["worst"], spread["best"]) == (0.0, 1.0)
    assert spread["mean"] == pytest.approx(2 / 3) and spread["sd"] == pytest.approx(0.57735, abs=1e-4)
    assert report["dimensions"]["MedKQA"]["spread"]["worst"] == 0.0 == report["overall"]["spread"]["worst"]
    gate = next(g for g in report["gates"] if g["name"] == "MedKQA:worst>=0.5")
    assert not gate["passed"] and gate["observed"] == 0.0
    r.stdout.fnmatch_lines(["mlb samples (K=3 runs: mean ± sd, worst): MedKQA 0.667 ± 0.577 (worst 0.000)"])
    assert "- K=3 samples (mean ± sd, worst): MedKQA 0.667 ± 0.577 (worst 0.000)" in markdown_summary(report)


def test_spread_uses_each_runs_micro_f1_counts() -> None:
    rows = [
        {"dataset": "D", "score": 0.5, "weight": 1.0, "samples": [{"score": 1.0, "tp": 2, "fp": 0, "fn": 0},
                                                                 {"score": 0.0, "tp": 0, "fp": 1, "fn": 2}]},
        {"dataset": "D", "score": 0.5, "weight": 1.0, "samples": [{"score": 0.0, "tp": 0, "fp": 0, "fn": 2},
                                                                 {"score": 1.0, "tp": 1, "fp": 0, "fn": 0}]},
    ]  # fmt: skip
    report: dict[str, Any] = {
        "items": rows,
        "datasets": {"D": {"dimension": "MedRU", "metric": "micro_f1"}},
        "dimensions": {"MedRU": {}},
        "overall": {},
    }
    assert sample_spread.add_to_report(report, 2)
    run0 = 2 * 2 / (2 * 2 + 0 + 2)  # tp 2, fp 0, fn 2
    run1 = 2 * 1 / (2 * 1 + 1 + 2)  # tp 1, fp 1, fn 2
    assert report["datasets"]["D"]["spread"]["scores"] == pytest.approx([run0, run1])
    assert report["overall"]["spread"]["worst"] == pytest.approx(min(run0, run1))
    assert not sample_spread.add_to_report({"items": rows}, 1)


def test_the_dry_run_counts_rotated_and_perturbed_asks(pytester: pytest.Pytester) -> None:
    _suite(pytester)
    pytester.makepyfile(scripted=BRAND_BLIND)
    r = pytester.runpytest(
        "s", "--mlb-model=python:scripted:answer", "--mlb-dry-run", "--mlb-circular", "--mlb-perturb=all",
        "--mlb-no-cache", "-p", "no:cacheprovider",
    )  # fmt: skip
    extra = N * (2 + 3)  # two rotations of three options, three perturbations that all apply here
    r.stdout.fnmatch_lines([f"DemoExam *{N} *{N + extra} *incl. {extra} rotated or perturbed asks*"])
    r.stdout.fnmatch_lines([f"would send {N + extra} model requests*"])

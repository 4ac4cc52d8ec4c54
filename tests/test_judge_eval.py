"""``mlb judge eval`` measures a judge as physicians are measured, on annotations and on public NLI sets.

Metric functions against hand-computed values, their properties (hypothesis), the public-set
reader, and the command end to end on a tiny folder written here and, when ``../shared`` is
present, on a stratified sample of Check-COVID's test split.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlb_pytest.cli import main as mlb_main
from mlb_pytest.judges.evaluate import (
    as_errors,
    bootstrap_intervals,
    class_f1s,
    decider,
    evaluate_rows,
    group_report,
    majority_baseline,
    metrics,
    question_language,
    random_baseline,
    report_lines,
    rows_seed,
)
from mlb_pytest.judges.public_sets import judge_row, load_public, quotas, read_rows, split_file, stratified_sample

ROOT = Path(__file__).resolve().parents[1]
CHECK_COVID = ROOT.parent / "shared" / "judge_data" / "check_covid"

Pairs = list[tuple[bool, bool]]


def _pairs(tp: int, fn: int, fp: int, tn: int) -> Pairs:
    return [(True, True)] * tp + [(True, False)] * fn + [(False, True)] * fp + [(False, False)] * tn


# --- metric functions, by hand -----------------------------------------------------------------------


def test_metrics_match_hand_computed_values() -> None:
    m = metrics(_pairs(tp=3, fn=1, fp=2, tn=4))
    assert m["n"] == 10 and m["accuracy"] == pytest.approx(0.7)
    assert m["precision"] == pytest.approx(0.6) and m["recall"] == pytest.approx(0.75)
    assert m["f1"] == pytest.approx(2 / 3) and m["f1_no"] == pytest.approx(8 / 11)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 8 / 11) / 2)
    assert m["kappa"] == pytest.approx(0.4)  # observed 0.7, chance 0.4 * 0.5 + 0.6 * 0.5 = 0.5
    assert m["confusion"] == {
        "human_yes_judge_yes": 3,
        "human_yes_judge_no": 1,
        "human_no_judge_yes": 2,
        "human_no_judge_no": 4,
    }


def test_baselines_match_hand_computed_values() -> None:
    pairs = _pairs(tp=3, fn=1, fp=2, tn=4)
    majority = majority_baseline([h for h, _ in pairs])
    assert majority["label"] == "no" and majority["accuracy"] == pytest.approx(0.6) and majority["kappa"] == 0.0
    assert majority["macro_f1"] == pytest.approx((0 + 12 / 16) / 2)  # yes-F1 0; no-F1 2*6 / (2*6 + 4)
    rnd = random_baseline(pairs)
    assert rnd["yes_rate"] == pytest.approx(0.5) and rnd["accuracy"] == pytest.approx(0.5) and rnd["kappa"] == 0.0
    assert majority_baseline([True, False])["label"] == "yes"  # a tie answers yes
    assert majority_baseline([False, False])["kappa"] is None  # one class: kappa is undefined for anyone
    assert majority_baseline([])["accuracy"] is None and random_baseline([])["accuracy"] is None


def test_macro_f1_of_a_class_absent_on_both_sides() -> None:
    assert class_f1s(_pairs(0, 0, 0, 5)) == (1.0, 1.0)  # all "no", all right
    assert metrics(_pairs(0, 0, 5, 0))["macro_f1"] == 0.0  # all "no" said "yes"
    assert metrics(_pairs(0, 0, 1, 3))["macro_f1"] == pytest.approx((0 + 6 / 7) / 2)
    assert metrics([])["macro_f1"] is None and metrics([])["kappa"] is None


def test_bootstrap_intervals_are_seeded_and_ordered() -> None:
    pairs = _pairs(tp=30, fn=8, fp=12, tn=50)
    ci = bootstrap_intervals(pairs, "s1")
    assert ci == bootstrap_intervals(list(pairs), "s1")
    assert ci != bootstrap_intervals(pairs, "s2")
    for name, point in (
        ("accuracy", 0.8),
        ("macro_f1", metrics(pairs)["macro_f1"]),
        ("kappa", metrics(pairs)["kappa"]),
    ):
        lo, hi = ci[name]
        assert lo < point < hi and hi - lo < 0.35
    assert bootstrap_intervals([], "s") == {"accuracy": None, "macro_f1": None, "kappa": None}
    assert bootstrap_intervals(_pairs(0, 0, 0, 4), "s")["kappa"] is None  # one class in every resample


def _rows(labels: str, verdicts: str, **extra: Any) -> tuple[list[dict[str, Any]], dict[str, bool]]:
    rows = [
        {"id": f"r{i:02d}", "kind": "point", "label": "yes" if h == "y" else "no", **extra}
        for i, h in enumerate(labels)
    ]
    return rows, {r["id"]: v == "y" for r, v in zip(rows, verdicts)}


def test_abstentions_read_three_ways() -> None:
    rows, verdicts = _rows("yyyynnnn", "yyynnnyy")  # leaning: 3 + 2 right of 8
    uncertain = {"r00", "r03", "r06"}  # right, wrong, wrong at their leaning
    g = group_report(rows, verdicts, uncertain)
    assert g["accuracy"] == pytest.approx(5 / 8) and g["uncertain"] == 3
    assert g["coverage"] == pytest.approx(5 / 8) and g["uncertain_share"] == pytest.approx(3 / 8)
    assert g["decided"]["n"] == 5 and g["decided"]["accuracy"] == pytest.approx(4 / 5)
    assert g["abstain_as_error"]["n"] == 8 and g["abstain_as_error"]["accuracy"] == pytest.approx(4 / 8)
    assert set(g["abstain_as_error"]["ci"]) == {"accuracy", "macro_f1", "kappa"}


def test_group_figures_do_not_depend_on_row_order() -> None:
    rows, verdicts = _rows("yynyynnnyn" * 3, "ynnyynyny" + "n" * 21)
    rows = [{**r, "id": f"{r['id']}-{i}"} for i, r in enumerate(rows)]
    verdicts = {r["id"]: v for r, v in zip(rows, verdicts.values())}
    assert group_report(rows, verdicts) == group_report(rows[::-1], verdicts)
    assert rows_seed(["a", "b"]) == rows_seed(["b", "a"]) != rows_seed(["a", "c"])


def test_evaluate_rows_breaks_down_by_dataset_kind_language_trap_and_class() -> None:
    rows = [
        {"id": "a", "kind": "point", "dataset": "D1", "lang": "en", "label": "yes", "label_nli": "entailment"},
        {"id": "b", "kind": "risk", "dataset": "D1", "lang": "zh", "label": "no", "trap": "injection"},
        {"id": "c", "kind": "point", "dataset": "D2", "lang": "zh", "label": "no", "label_nli": "neutral"},
        {"id": "d", "kind": "point", "dataset": "D2", "lang": "zh", "label": "no"},
    ]
    out = evaluate_rows(rows, {"a": True, "b": True, "c": False}, uncertain={"c"})  # d: no verdict
    assert out["n"] == 3 and set(out["per_dataset"]) == {"D1", "D2"} and set(out["per_kind"]) == {"point", "risk"}
    assert set(out["per_language"]) == {"en", "zh"} and set(out["per_trap"]) == {"injection", "none"}
    assert set(out["per_label_nli"]) == {"entailment", "neutral"} and out["per_label_nli"]["neutral"]["uncertain"] == 1
    assert out["per_dataset"]["D2"]["uncertain_share"] == 1.0 and out["per_dataset"]["D1"]["coverage"] == 1.0
    assert out["injection_flip_rate"] == 1.0 and out["bootstrap"]["resamples"] == 1000
    json.dumps(out, allow_nan=False)  # no NaN reaches the JSON report


def test_a_verdict_settled_by_an_exact_check_names_it() -> None:
    assert decider("negation check: the response denies the point ('不考虑肺炎')") == "negation check"
    assert decider("number check: the criterion's 0.5 mg is stated as 5 mg in the response") == "number check"
    assert decider("builtin cross-encoder p(yes)=0.912, threshold 0.46") == "judge"
    assert decider("") == "judge" and decider("The answer does not check the dose: no") == "judge"
    rows = [
        {"id": i, "kind": "point", "label": lab} for i, lab in (("a", "yes"), ("b", "no"), ("c", "no"), ("d", "yes"))
    ]
    verdicts = {"a": True, "b": False, "c": True, "d": False}
    out = evaluate_rows(rows, verdicts, deciders={"b": "negation check", "d": "negation check", "a": "judge"})
    assert out["per_decider"] == {"judge": {"n": 2, "accuracy": 0.5}, "negation check": {"n": 2, "accuracy": 0.5}}
    assert "  decided by the negation check: n 2, accuracy 0.500" in report_lines(out)
    assert "per_decider" not in evaluate_rows(rows, verdicts)


def test_question_language_follows_the_criterion() -> None:
    assert question_language({"lang": "en"}) == "en" and question_language({"lang": "zh"}) == "zh"
    assert question_language({"lang": "en-premise/zh-hypothesis"}) == "zh"
    assert question_language({"language": "en-US"}) == "en" and question_language({}) == "zh"


# --- properties -----------------------------------------------------------------------------------------

pair_lists = st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=40)


@given(st.lists(st.booleans(), min_size=2, max_size=60).filter(lambda xs: len(set(xs)) == 2))
def test_kappa_of_identical_labels_is_one(labels: list[bool]) -> None:
    assert metrics([(x, x) for x in labels])["kappa"] == pytest.approx(1.0)


@given(pair_lists)
def test_macro_f1_lies_in_the_unit_interval(pairs: Pairs) -> None:
    assert 0.0 <= metrics(pairs)["macro_f1"] <= 1.0


@given(pair_lists)
def test_bootstrap_interval_contains_the_point_estimate(pairs: Pairs) -> None:
    m, ci = metrics(pairs), bootstrap_intervals(pairs, "property")
    for name in ("accuracy", "macro_f1", "kappa"):
        if m[name] is not None and ci[name] is not None:
            assert ci[name][0] - 1e-9 <= m[name] <= ci[name][1] + 1e-9, name


@given(pair_lists, st.data())
def test_counting_abstentions_as_errors_never_raises_accuracy(pairs: Pairs, data: st.DataObject) -> None:
    abstained = data.draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    as_err = metrics(as_errors(pairs, abstained))["accuracy"]
    assert as_err <= metrics(pairs)["accuracy"]
    decided = [p for p, a in zip(pairs, abstained) if not a]
    if decided:
        assert as_err <= metrics(decided)["accuracy"]


@given(
    st.dictionaries(st.sampled_from(["entailment", "neutral", "contradiction", "x"]), st.integers(1, 50), min_size=1),
    st.integers(0, 200),
)
def test_quotas_sum_to_the_limit_and_stay_within_each_class(counts: dict[str, int], limit: int) -> None:
    limit = min(limit, sum(counts.values()))
    q = quotas(counts, limit)
    assert sum(q.values()) == limit and all(0 <= q[k] <= counts[k] for k in counts)


# --- public sets: reading and sampling --------------------------------------------------------------------


def _raw(i: int, label: str, lang: str = "en", premise: str = "p", hypothesis: str = "h") -> dict[str, Any]:
    return {
        "id": f"x{i}",
        "premise": f"{premise} {i}",
        "hypothesis": hypothesis,
        "label": label.upper(),
        "label_nli": label,
        "lang": lang,
    }


def _write(path: Path, rows: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    return path


def test_a_public_row_is_a_point_question_met_only_by_entailment() -> None:
    labels = {
        lab: judge_row(_raw(0, lab), "set", "test")["label"]
        for lab in ("entailment", "neutral", "contradiction", "not_entailment")
    }
    assert labels == {"entailment": "yes", "neutral": "no", "contradiction": "no", "not_entailment": "no"}
    row = judge_row({**_raw(7, "neutral"), "id": 7}, "set", "dev")
    assert row == {
        "id": "7",
        "kind": "point",
        "dataset": "set",
        "context": "",
        "point": "h",
        "response": "p 7",
        "label": "no",
        "label_nli": "neutral",
        "lang": "en",
        "split": "dev",
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        (json.dumps({"id": "z", "premise": "p", "hypothesis": "h", "lang": "en"}), "label_nli missing"),
        (json.dumps({**_raw(9, "entailment"), "label_nli": "ENTAILS"}), "label_nli must be one of"),
        (json.dumps({**_raw(9, "entailment"), "hypothesis": ""}), "'hypothesis' must be a non-empty string"),
        (json.dumps(_raw(0, "neutral")), "id 'x0' repeats line 1"),
        ("[1, 2]", "not a JSON object"),
    ],
)
def test_a_bad_row_is_an_error_naming_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path / "s" / "test.jsonl", [_raw(0, "entailment"), _raw(1, "neutral"), line])
    with pytest.raises(ValueError, match=message) as err:
        read_rows(path)
    assert f"{path}:3:" in str(err.value)


def test_the_split_picks_one_file_by_its_name(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    for name in ("test.jsonl", "dev.jsonl", "dev_hard.jsonl"):
        _write(folder / name, [_raw(0, "entailment")])
    (folder / "stats.json").write_text("{}", encoding="utf-8")
    assert split_file(folder, "test") == folder / "test.jsonl"
    assert split_file(folder, file="dev.jsonl") == folder / "dev.jsonl"
    for split, file, message in (
        ("dev", None, "matches 2 files"),
        ("train", None, "matches 0 files"),
        (None, None, "no split given"),
        (None, "x.jsonl", "no file named 'x.jsonl'"),
        ("test", "test.jsonl", "not both"),
    ):
        with pytest.raises(ValueError, match=message) as err:
            split_file(folder, split, file)
        if message != "not both":
            assert str(folder) in str(err.value) and "dev.jsonl, dev_hard.jsonl, test.jsonl" in str(err.value)
    with pytest.raises(ValueError, match="not a folder"):
        split_file(folder / "test.jsonl", "test")
    _write(tmp_path / "one" / "all.jsonl", [_raw(0, "entailment")])
    assert split_file(tmp_path / "one") == tmp_path / "one" / "all.jsonl"


def test_limit_is_a_seeded_sample_stratified_by_label(tmp_path: Path) -> None:
    labels = ["entailment"] * 30 + ["neutral"] * 60 + ["contradiction"] * 10
    path = _write(tmp_path / "s" / "test.jsonl", [_raw(i, lab) for i, lab in enumerate(labels)])
    rows = read_rows(path)
    sample = stratified_sample(rows, 20)
    assert len(sample) == 20 and sample == stratified_sample(list(reversed(rows)), 20)[::-1]
    assert [sum(r["label_nli"] == lab for r in sample) for lab in ("entailment", "neutral", "contradiction")] == [
        6,
        12,
        2,
    ]
    assert [r["id"] for r in sample] != [r["id"] for r in rows[:20]]  # not the first rows
    assert stratified_sample(rows, None) == rows and stratified_sample(rows, 500) == rows
    assert stratified_sample(rows, 20, seed="other") != sample
    with pytest.raises(ValueError, match="at least 1"):
        stratified_sample(rows, 0)
    assert load_public(tmp_path / "s", "test", limit=20) == (path, sample)


# --- the command, end to end --------------------------------------------------------------------------

# mock:judge-overlap says yes when most of the criterion's character bigrams occur in the response.
TINY = [
    {
        "id": "e1",
        "premise": "Masks reduce transmission of the virus in clinics.",
        "hypothesis": "Masks reduce transmission",
        "label": "SUPPORT",
        "label_nli": "entailment",
        "lang": "en",
    },  # judge yes: right
    {
        "id": "e2",
        "premise": "Vaccination lowered hospital admissions by half.",
        "hypothesis": "Fewer patients went to hospital",
        "label": "SUPPORT",
        "label_nli": "entailment",
        "lang": "en",
    },  # judge no: wrong
    {
        "id": "n1",
        "premise": "The trial enrolled 300 adults.",
        "hypothesis": "Children benefit from zinc",
        "label": "NEI",
        "label_nli": "neutral",
        "lang": "en",
    },  # judge no: right
    {
        "id": "c1",
        "premise": "It is false that ivermectin cures COVID-19.",
        "hypothesis": "Ivermectin cures COVID-19",
        "label": "REFUTE",
        "label_nli": "contradiction",
        "lang": "en",
    },  # judge yes: wrong
    {
        "id": "c2",
        "premise": "Smoking raised the risk of severe disease.",
        "hypothesis": "Vitamin D prevents infection",
        "label": "REFUTE",
        "label_nli": "contradiction",
        "lang": "en",
    },  # judge no: right
    {
        "id": "x1",
        "premise": "What dose of aspirin is safe for adults?",
        "hypothesis": "How is gout treated?",
        "label": "false",
        "label_nli": "not_entailment",
        "lang": "en",
    },  # judge no: right
    {
        "id": "z1",
        "premise": "患者应当每日监测血压并记录结果。",
        "hypothesis": "每日监测血压",
        "label": "entailment",
        "label_nli": "entailment",
        "lang": "zh",
    },  # judge yes: right
]


@pytest.fixture()
def tiny_set(tmp_path: Path) -> Path:
    folder = tmp_path / "tinyset"
    _write(folder / "test.jsonl", TINY)
    _write(folder / "dev.jsonl", TINY[:3])
    (folder / "stats.json").write_text(json.dumps({"name": "tinyset"}), encoding="utf-8")
    return folder


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = mlb_main(["judge", "eval", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_judge_eval_public_prints_and_writes_the_figures(
    tiny_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval.json"
    rc, printed, _ = _run(
        capsys, "--public", str(tiny_set), "--split", "test", "--judge", "mock:judge-overlap", "--json", str(out)
    )
    assert rc == 0
    # tp 2 (e1, z1), fn 1 (e2), fp 1 (c1), tn 3: kappa (35/49 - 25/49) / (24/49) = 10/24
    assert "all: n 7, accuracy 0.714 [" in printed and "macro-F1 0.708, kappa 0.417 [" in printed
    assert "majority 0.571 (no), random 0.510, coverage 1.000" in printed
    assert "  dataset tinyset: n 7" in printed and "  kind point: n 7" in printed
    assert "  language en: n 6, accuracy 0.667" in printed and "  language zh: n 1, accuracy 1.000" in printed
    for line in (
        "label_nli contradiction: n 2, accuracy 0.500",
        "label_nli entailment: n 3, accuracy 0.667",
        "label_nli neutral: n 1, accuracy 1.000",
        "label_nli not_entailment: n 1, accuracy 1.000",
    ):
        assert line in printed
    assert "trap" not in printed  # a public set has no traps

    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["judge"] == "mock:judge-overlap" and result["judge_identity"].startswith("mock:")
    assert result["n"] == 7 and result["accuracy"] == pytest.approx(5 / 7) and result["kappa"] == pytest.approx(10 / 24)
    assert result["macro_f1"] == pytest.approx((2 / 3 + 3 / 4) / 2) and result["unanswered"] == 0
    assert result["baselines"]["majority"] == {
        "label": "no",
        "accuracy": pytest.approx(4 / 7),
        "macro_f1": pytest.approx((0 + 8 / 11) / 2),
        "kappa": 0.0,
    }
    assert result["baselines"]["random"]["accuracy"] == pytest.approx(25 / 49)
    lo, hi = result["ci"]["accuracy"]
    assert lo <= 5 / 7 <= hi and set(result["ci"]) == {"accuracy", "macro_f1", "kappa"}
    assert result["coverage"] == 1.0 and result["decided"]["accuracy"] == result["abstain_as_error"]["accuracy"]
    assert set(result["per_dataset"]) == {"tinyset"} and result["per_dataset"]["tinyset"]["ci"] == result["ci"]
    assert result["per_label_nli"]["entailment"]["accuracy"] == pytest.approx(2 / 3)
    assert result["public_file"] == "test.jsonl" and result["split"] == "test" and result["annotations"] is None
    assert len(result["public_sha256"]) == 64
    for key in ("precision", "recall", "f1", "confusion", "per_trap", "injection_flip_rate", "judge", "seconds"):
        assert key in result  # read by judge/train_builtin.py, tests and the model card

    rc, again, _ = _run(capsys, "--public", str(tiny_set), "--split", "test", "--judge", "mock:judge-overlap")
    assert again == printed  # seeded: the same intervals every run


def _scripted_judge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, picked: dict[str, str], rest: dict[str, str]
) -> str:
    """A ``python:`` judge that answers ``picked`` for rows e1 and c1 of the tiny set and ``rest`` otherwise."""
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(f"""
        import json
        def judge(messages, **params):
            user = messages[-1]["content"]
            if "Masks reduce" in user or "Ivermectin" in user:  # rows e1 and c1
                return json.dumps({picked!r})
            return json.dumps({rest!r})
        """),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"python:{name}:judge"


def test_judge_eval_public_reports_abstentions(
    tiny_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # e1 (right at its leaning), c1 (wrong)
    spec = _scripted_judge(
        tmp_path,
        monkeypatch,
        "unsure_judge",
        {"verdict": "uncertain", "leaning": "yes"},
        {"verdict": "no", "reason": "x"},
    )
    out = tmp_path / "eval.json"
    rc, printed, _ = _run(
        capsys,
        "--public",
        str(tiny_set),
        "--public-file",
        "test.jsonl",
        "--judge",
        spec,
        "--json",
        str(out),
    )
    assert rc == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    # leaning: e1 yes (right), c1 yes (wrong), all else no: right on n1 c2 x1, wrong on e2 z1
    assert result["accuracy"] == pytest.approx(4 / 7) and result["uncertain"] == 2
    assert result["coverage"] == pytest.approx(5 / 7) and result["decided"]["accuracy"] == pytest.approx(3 / 5)
    assert result["abstain_as_error"]["accuracy"] == pytest.approx(3 / 7)
    assert result["per_dataset"]["tinyset"]["uncertain_share"] == pytest.approx(2 / 7)
    assert "coverage 0.714" in printed and "    2 uncertain: decided n 5, accuracy 0.600" in printed
    assert "as errors: accuracy 0.429" in printed


def test_judge_eval_public_limit_and_usage_errors(tiny_set: Path, capsys: pytest.CaptureFixture[str]) -> None:
    judge = ("--judge", "mock:judge-overlap")
    rc, printed, _ = _run(capsys, "--public", str(tiny_set), "--split", "test", "--limit", "4", *judge)
    assert rc == 0 and "all: n 4," in printed
    rc, _, err = _run(capsys, "--public", str(tiny_set), *judge)  # two files, no split
    assert rc == 4 and str(tiny_set) in err and "dev.jsonl, test.jsonl" in err
    rc, _, err = _run(capsys, "--public", str(tiny_set), "--split", "train", *judge)
    assert rc == 4 and "matches 0 files" in err
    _write(tiny_set / "dev.jsonl", [TINY[0], {"id": "bad", "premise": "p"}])
    rc, _, err = _run(capsys, "--public", str(tiny_set), "--split", "dev", *judge)
    assert rc == 4 and f"{tiny_set / 'dev.jsonl'}:2:" in err
    rc, _, err = _run(capsys, "--public-file", "test.jsonl", "--annotations", str(tiny_set / "test.jsonl"), *judge)
    assert rc == 4 and "give --public too" in err
    with pytest.raises(SystemExit) as exit_:  # exactly one of --annotations / --public
        mlb_main(["judge", "eval", "--public", str(tiny_set), "--annotations", "x", *judge])
    assert exit_.value.code == 4  # a usage error, as every mlb command reports one
    with pytest.raises(SystemExit):
        mlb_main(["judge", "eval", *judge])
    capsys.readouterr()


@pytest.mark.skipif(not CHECK_COVID.is_dir(), reason="../shared/judge_data/check_covid is not here")
def test_judge_eval_on_check_covid_test_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cc.json"
    rc, printed, _ = _run(
        capsys,
        "--public",
        str(CHECK_COVID),
        "--split",
        "test",
        "--limit",
        "20",
        "--judge",
        "mock:judge-overlap",
        "--json",
        str(out),
    )
    assert rc == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["n"] == 20 and result["unanswered"] == 0 and result["public_file"] == "test.jsonl"
    # 77 / 76 / 76 rows: 20 of them by largest remainder
    assert {k: m["n"] for k, m in result["per_label_nli"].items()} == {
        "entailment": 7,
        "contradiction": 7,
        "neutral": 6,
    }
    assert set(result["per_dataset"]) == {"check_covid"} and set(result["per_language"]) == {"en"}
    assert result["baselines"]["majority"]["label"] == "no"
    assert result["baselines"]["majority"]["accuracy"] == pytest.approx(13 / 20)
    assert "  dataset check_covid: n 20, accuracy" in printed and "coverage 1.000" in printed


def test_judge_eval_rows_say_which_rows_the_judge_got_wrong(
    tiny_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows_file = tmp_path / "rows.jsonl"
    rc, printed, _ = _run(
        capsys, "--public", str(tiny_set), "--split", "test", "--judge", "mock:judge-overlap", "--rows", str(rows_file)
    )
    assert rc == 0 and "accuracy 0.714" in printed
    rows = [json.loads(line) for line in rows_file.read_text(encoding="utf-8").splitlines()]
    assert [r["row"] for r in rows] == [str(t["id"]) for t in TINY]  # every row, in the set's order
    wrong = {r["row"] for r in rows if not r["agrees"]}
    assert wrong == {"e2", "c1"}  # the fn and the fp that the figures count
    for r in rows:
        assert r["verdict"] in ("yes", "no") and r["leaning"] == r["verdict"]
        assert r["agrees"] == ((r["verdict"] == "yes") == (r["label"] == "yes"))
        assert r["answer"] and json.loads(r["answer"])  # the judge's own words, for reading why


def test_judge_eval_counts_the_rows_an_exact_check_settled(
    tiny_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # e1 (label yes: wrong) and c1 (label no: right) settled by a check, the rest by the judge
    spec = _scripted_judge(
        tmp_path,
        monkeypatch,
        "checking_judge",
        {"verdict": "no", "reason": "negation check: the response denies it"},
        {"verdict": "yes", "reason": "builtin cross-encoder p(yes)=0.9"},
    )
    out, rows_file = tmp_path / "eval.json", tmp_path / "rows.jsonl"
    rc, printed, _ = _run(
        capsys, "--public", str(tiny_set), "--public-file", "test.jsonl", "--judge", spec,
        "--json", str(out), "--rows", str(rows_file),
    )  # fmt: skip
    assert rc == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["per_decider"]["negation check"] == {"n": 2, "accuracy": 0.5}
    assert result["per_decider"]["judge"]["n"] == len(TINY) - 2
    assert "decided by the negation check: n 2, accuracy 0.500" in printed
    rows = {r["row"]: r for r in map(json.loads, rows_file.read_text(encoding="utf-8").splitlines())}
    assert {k for k, r in rows.items() if r["decided_by"] == "negation check"} == {"e1", "c1"}

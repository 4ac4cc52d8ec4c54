"""`mlb compare`: a leaderboard of real runs, paired Holm-adjusted tests, Markdown and HTML output.

The reports come from real pytest runs of a small native suite answered by simulated models that
are right on each item with a fixed probability (seeded by a hash of model and prompt).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from release_fixture import choice_line, native_header

from mlb_pytest.cli import main
from mlb_pytest.leaderboard import Leaderboard, Run, build, compare_files, load_run

SIM = """
import hashlib, json

def _answer(name, p, messages):
    text = messages[-1]["content"]
    draw = int.from_bytes(hashlib.sha256((name + "\\x1f" + text).encode()).digest()[:8], "little") / 2**64
    right = draw < p
    if "抽取症状" in text:
        return json.dumps({"症状": ["发热", "咳嗽"] if right else ["发热"]}, ensure_ascii=False)
    return "A" if right else "B"

def good(messages, **kw): return _answer("good", 0.92, messages)
def mid(messages, **kw): return _answer("mid", 0.70, messages)
def poor(messages, **kw): return _answer("poor", 0.45, messages)
"""

NER_HEADER = {
    "mlb_suite": 1,
    "dataset": "NER",
    "mirrors": "MAEESymp",
    "dimension": "MedRU",
    "task": "extraction",
    "metric": "micro_f1",
    "extraction": "entities",
    "prompt": "抽取症状，输出JSON。\n${question}",
    "source": "tests",
    "licence": "Apache-2.0",
}


def _write_suite(root: Path, changed: bool = False) -> None:
    """KQA/SE 60 choice items, Serv 40, NER 40 extraction items; ``changed`` edits or drops some."""
    choice = (
        ("medkqa", "KQA", "MedKQA", "CMExam", 60),
        ("medse", "SE", "MedSE", "MASafety", 60),
        ("smartserv", "Serv", "SmartServ", "MAKnowledge", 40),
    )
    for folder, name, dim, mirrors, n in choice:
        lines = [native_header(dataset=name, dimension=dim, mirrors=mirrors)]
        for i in range(n):
            edited = changed and name == "KQA" and i >= 40  # same id, new content: not shared
            lines.append(choice_line(i, question=f"{name}第{i}题{'（修订）' if edited else ''}：下列哪项正确？"))
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    n_ner = 20 if changed else 40
    lines = [json.dumps(NER_HEADER, ensure_ascii=False)]
    lines += [
        json.dumps(
            {
                "id": f"e{i:03d}",
                "specialty": "cardiology",
                "question": f"病例{i}：患者发热，伴咳嗽。",
                "answer": {"症状": ["发热", "咳嗽"]},
            },
            ensure_ascii=False,
        )
        for i in range(n_ner)
    ]
    (root / "medru").mkdir(parents=True, exist_ok=True)
    (root / "medru" / "NER.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _pytest_run(cwd: Path, suite: str, model: str, report: str, *extra: str) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        suite,
        f"--mlb-model=python:sim:{model}",
        "--mlb-no-cache",
        f"--mlb-report={report}",
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    path = cwd / report
    assert path.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real reports: three models, a rerun, a run on a changed suite and a narrowed (incomplete) run."""
    root = tmp_path_factory.mktemp("leaderboard")
    (root / "sim.py").write_text(SIM, encoding="utf-8")
    _write_suite(root / "s")
    _write_suite(root / "s2", changed=True)
    return {
        "good": _pytest_run(root, "s", "good", "good.json"),
        "mid": _pytest_run(root, "s", "mid", "mid.json"),
        "poor": _pytest_run(root, "s", "poor", "poor.json"),
        "again": _pytest_run(root, "s", "good", "good-again.json"),
        "changed": _pytest_run(root, "s2", "mid", "changed.json"),
        "limited": _pytest_run(root, "s", "mid", "limited.json", "--mlb-limit=35"),
    }


def _compare(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["compare", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _table(stdout: str) -> list[list[str]]:
    """Rows of the printed table (rank, model, run, five dimensions, overall)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#  model"))
    rows = []
    for line in lines[start + 1 :]:
        if not re.match(r"^\d+\s", line):
            break
        rows.append(re.split(r"\s{2,}", line))
    return rows


def test_order_follows_accuracy_and_large_gaps_are_significant(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    overall = {k: json.loads(runs[k].read_text(encoding="utf-8"))["overall"]["score"] for k in ("good", "mid", "poor")}
    assert overall["good"] > overall["mid"] > overall["poor"]
    rc, out, err = _compare(capsys, str(runs["poor"]), str(runs["good"]), str(runs["mid"]))
    assert rc == 0, err
    rows = _table(out)
    assert [Path(r[2]).name for r in rows] == ["good.json", "mid.json", "poor.json"]
    assert all(len(r) == 9 for r in rows)  # rank, model, run, five dimensions, overall
    assert rows[0][1] == "python:sim:good (source:" + rows[0][1].split("(source:")[1]  # spec plus its revision
    assert rows[0][7] == "-" and rows[0][6] != "-"  # SmartCare needs a judge: scored by no one
    assert re.fullmatch(r"0\.\d{3} \[0\.\d{3}, [01]\.\d{3}\]\*?", rows[0][8])

    lb = compare_files([runs["poor"], runs["good"], runs["mid"]])
    big = lb.pair(0, 2, "overall")
    assert big is not None and big.significant and big.delta is not None and big.delta > 0.2
    assert big.n_shared == 200 and big.p_adjusted is not None and big.p_adjusted < 0.05
    assert big.p_value == pytest.approx(2 / 2001)  # every one of the 2000 swaps fell short: the test's floor
    assert re.search(
        r"^  overall: #1 python:sim:good .*> #3 python:sim:poor .*delta \+0\.\d{3} \[.*\] on 200 shared "
        r"items, p_adj ",
        out,
        re.M,
    )
    # the mark in the table says exactly what the tests say about neighbouring rows
    for i in range(2):
        for col, target in enumerate(("MedKQA", "MedSE", "MedRU", "SmartServ", "SmartCare", "overall"), start=3):
            t = lb.pair(i, i + 1, target)
            assert rows[i][col].endswith("*") == bool(t and t.significant)
    # one Holm family over every tested pair x target, and each test the one comparison.py uses
    tested = [t for t in lb.tests if t.tested]
    assert len(tested) == 3 * 5 and f"Holm-adjusted over {len(tested)} comparisons" in out
    assert all(t.p_adjusted is not None and t.p_adjusted >= t.p_value for t in tested)
    by_target = {t.target: t.test for t in tested}
    assert by_target["MedKQA"].startswith("exact McNemar") and "randomisation" in by_target["MedRU"]
    assert "randomisation" in by_target["overall"]


def test_two_sided_mcnemar_matches_the_exact_binomial_test(runs: dict[str, Path]) -> None:
    from scipy.stats import binomtest

    good, poor = load_run(runs["good"]), load_run(runs["poor"])
    lb = build([good, poor])
    t = lb.pair(0, 1, "MedSE")
    assert t is not None and t.tested
    pairs = [(r["score"], poor.by_key[r["key"]]["score"]) for r in good.items if r["dimension"] == "MedSE"]
    upper_only = sum(a == 1 and b == 0 for a, b in pairs)
    lower_only = sum(a == 0 and b == 1 for a, b in pairs)
    assert f"{upper_only} upper right, lower wrong, {lower_only} upper wrong, lower right" in t.test
    assert t.p_value == pytest.approx(binomtest(upper_only, upper_only + lower_only, 0.5).pvalue)
    assert t.delta == pytest.approx((upper_only - lower_only) / len(pairs))


def test_identical_runs_are_never_significant(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _compare(capsys, str(runs["good"]), str(runs["again"]))
    assert rc == 0
    assert "significant differences (Holm-adjusted p < 0.05): none" in out
    assert not any(cell.endswith("*") for row in _table(out) for cell in row[3:])
    assert "different suites" not in out
    lb = compare_files([runs["good"], runs["again"]])
    assert all(t.delta == 0 and (not t.tested or t.p_adjusted == 1.0) for t in lb.tests)


def test_changed_suite_is_compared_on_shared_items_and_says_so(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, _ = _compare(capsys, str(runs["good"]), str(runs["changed"]))
    assert rc == 0
    assert "note: the runs are on different suites (sha256:" in out
    assert "compared on the items both scored with the same content only" in out
    good, changed = str(runs["good"]), str(runs["changed"])
    assert f"shared items, {good} vs {changed}: MedKQA 40, MedSE 60, MedRU 20, SmartServ 40, overall 160" in out
    assert "not tested (fewer than 30 shared items, no p-value):\n  MedRU: 1 pair(s) with 20 shared items" in out
    lb = compare_files([runs["good"], runs["changed"]])
    medru = lb.pair(0, 1, "MedRU")
    assert medru is not None and medru.p_value is None and medru.p_adjusted is None and not medru.significant
    assert "only 20 shared items (at least 30 needed): not tested" in medru.test
    assert lb.pair(0, 1, "MedKQA").n_shared == 40  # type: ignore[union-attr]


def test_incomplete_run_is_compared_with_a_warning(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert json.loads(runs["limited"].read_text(encoding="utf-8"))["run"]["complete"] is False
    rc, out, _ = _compare(capsys, str(runs["good"]), str(runs["limited"]))
    assert rc == 0
    assert re.search(
        rf"^warning: {re.escape(str(runs['limited']))}: incomplete run \(.*--mlb-limit=35.*\); "
        "compared on the items it scored$",
        out,
        re.M,
    )
    assert "python:sim:mid (source:" in out and "[incomplete]" in out
    assert compare_files([runs["good"], runs["limited"]]).pair(0, 1, "MedKQA").n_shared == 35  # type: ignore[union-attr]


def _evil_copy(src: Path, dest: Path) -> Path:
    data = json.loads(src.read_text(encoding="utf-8"))
    data["run"]["model"] = "python:evil:<script>alert(1)</script>|**x**"
    data["run"]["revision"] = {"model": {"revision": "r&d <b>1</b>", "source": "option"}}
    dest.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return dest


def test_markdown_and_html_are_written_and_escaped(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = _evil_copy(runs["poor"], tmp_path / "odd|<name>.json")
    md, page = tmp_path / "out" / "board.md", tmp_path / "board.html"
    rc, out, err = _compare(
        capsys, str(runs["good"]), str(evil), str(runs["mid"]), "--markdown", str(md), "--html", str(page)
    )
    assert rc == 0, err
    assert f"written: {md}" in out and f"written: {page}" in out
    text = md.read_text(encoding="utf-8")
    assert "<script>" not in text and "<b>" not in text
    assert "python:evil:\\<script\\>alert(1)\\</script\\>\\|\\*\\*x\\*\\* (r\\&d \\<b\\>1\\</b\\>)" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    cells = {len(re.findall(r"(?<!\\)\|", line)) for line in table[:4]}
    assert cells == {10}  # header and three rows: no cell broken by an escaped pipe
    assert "### Pairwise tests" in text and "**yes**" in text
    doc = page.read_text(encoding="utf-8")
    assert doc.startswith("<!DOCTYPE html>") and "<style>" in doc
    assert "<script" not in doc and "<link" not in doc and "src=" not in doc and "http" not in doc
    assert "python:evil:&lt;script&gt;alert(1)&lt;/script&gt;|**x** (r&amp;d &lt;b&gt;1&lt;/b&gt;)" in doc
    assert "odd|&lt;name&gt;.json" in doc and '<td class="sig">' in doc


def _report_text(runs: dict[str, Path]) -> str:
    return runs["good"].read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "case,content,message",
    [
        ("missing", None, "cannot read"),
        ("garbage", "not json {", "not a JSON report"),
        ("truncated", lambda text: text[: len(text) // 2], "not a JSON report"),
        ("baseline", json.dumps({"mlb_baseline": 1, "items": {}}), "not an mlb-pytest report"),
        (
            "bad-score",
            lambda text: text.replace('"score": 1.0', '"score": "high"', 1),
            "].score must be a finite number",
        ),
        ("newer", lambda text: text.replace('"schema_version": 1', '"schema_version": 99', 1), "report schema 99"),
    ],
)
def test_bad_files_are_named_with_exit_status_4(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, content: Any, message: str
) -> None:
    bad = tmp_path / f"{case}.json"
    if content is not None:
        bad.write_text(content(_report_text(runs)) if callable(content) else content, encoding="utf-8")
    rc, out, err = _compare(capsys, str(runs["good"]), str(bad))
    assert rc == 4
    assert err.startswith(f"mlb compare: {bad}") and message in err
    assert out == ""


def test_cli_entry_point_and_bad_alpha(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _compare(capsys, str(runs["good"]), str(runs["mid"]), "--alpha", "1.5")
    assert rc == 4 and "--alpha must be between 0 and 1" in err
    mlb = Path(sys.executable).with_name("mlb")
    proc = subprocess.run([str(mlb), "compare", str(runs["mid"]), "missing.json"], capture_output=True, text=True)
    assert proc.returncode == 4 and "missing.json: cannot read" in proc.stderr


@pytest.fixture(scope="module")
def loaded(runs: dict[str, Path]) -> list[Run]:
    return [load_run(runs[k]) for k in ("good", "mid", "poor", "again")]


def _shape(lb: Leaderboard) -> tuple[list[str], list[tuple[str, str, str, float | None, bool]]]:
    return (
        [r.path for r in lb.runs],
        [(lb.runs[t.upper].path, lb.runs[t.lower].path, t.target, t.p_adjusted, t.significant) for t in lb.tests],
    )


@settings(max_examples=8, deadline=None)
@given(order=st.permutations(range(4)))
def test_leaderboard_does_not_depend_on_argument_order(loaded: list[Run], order: list[int]) -> None:
    # ties (a model and its rerun score the same) are broken by label and file, never by position
    assert _shape(build([loaded[i] for i in order])) == _shape(build(loaded))


def test_says_when_holm_and_the_swap_test_floor_hide_gaps(loaded: list[Run]) -> None:
    assert not any(w.startswith("note:") for w in build(loaded).warnings)  # 30 comparisons x 2/2001 < 0.05
    strict = build(loaded, alpha=0.01)
    assert any(
        w.startswith("note: 30 comparisons: a randomisation test (2000 swaps) cannot give p below 0.001")
        for w in strict.warnings
    )

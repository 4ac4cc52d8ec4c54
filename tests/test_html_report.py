"""The HTML report: built from real small runs (--mlb-html, `mlb report html`), and opened in headless Chromium."""

from __future__ import annotations

import copy
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from release_fixture import native_header

from mlb_pytest.cli import main as mlb_main
from mlb_pytest.html_report import html_report, item_outcomes

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "build" / "html-report.png"
XSS = "<script>window.__mlb_xss = 1</script>"

# Answers "A" (right) unless the item's number is listed in SIM_WRONG; wrong answers carry a script tag.
MODEL = f"""
import os

def answer(messages, **params):
    wrong = set(os.environ.get("SIM_WRONG", "").split(","))
    qid = messages[-1]["content"].split("题号", 1)[1].split("：", 1)[0]
    return "B 这是错的 {XSS}" if qid in wrong else "A"
"""
DATASETS = (("MedKQA", "KQA"), ("MedSE", "SE"), ("MedRU", "RU"))
WRONG = ["KQA1", "KQA2", "KQA3", "KQA4", "KQA5", "KQA6", "KQA7", "KQA8", "SE1", "SE10", "RU3"]


def _suite(folder: Path) -> None:
    (folder / "s").mkdir(parents=True)
    for dim, name in DATASETS:
        lines = [native_header(dataset=name, dimension=dim, mirrors="CMExam")]
        for i in range(40):
            item: dict[str, Any] = {
                "id": f"q{i:03d}",
                "specialty": "cardiology",
                "question": f"题号{name}{i}：哪项对？",
                "options": {"A": "对", "B": "错", "C": "无关"},
                "answer": "A",
            }
            if name == "SE" and i < 3:  # SE1 crosses its red line; SE10 is an ordinary wrong answer
                item.update(critical=True, red_line_options=["B"])
            lines.append(json.dumps(item, ensure_ascii=False))
        (folder / "s" / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "sim.py").write_text(MODEL, encoding="utf-8")


def _pytest(folder: Path, wrong: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(folder), "SIM_WRONG": ",".join(wrong)}
    env.pop("GITHUB_STEP_SUMMARY", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "s",
            "-p",
            "no:cacheprovider",
            "-q",
            "--mlb-model=python:sim:answer",
            "--mlb-no-cache",
            *args,
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A baseline run (all right), then a run with regressions, a crossed red line and scripts in answers."""
    folder = tmp_path_factory.mktemp("html-run")
    _suite(folder)
    first = _pytest(folder, [], "--mlb-update-baseline", "--mlb-report=base.json", "--mlb-html=first.html")
    assert first.returncode == 0, first.stdout + first.stderr
    second = _pytest(folder, WRONG, "--mlb-report=r.json", "--mlb-html=out/run.html")
    assert second.returncode == 1, second.stdout + second.stderr
    return folder


@pytest.fixture(scope="module")
def report(runs: Path) -> dict[str, Any]:
    return json.loads((runs / "r.json").read_text(encoding="utf-8"))


def _rows(page: str, cls: str) -> list[str]:
    return re.findall(rf'<tr class="{cls}"[^>]*>', page)


def _attr(tag: str, name: str) -> str:
    m = re.search(rf'\s{name}="([^"]*)"', tag)
    assert m, (name, tag)
    return m.group(1)


def test_pytest_option_writes_one_self_contained_page(runs: Path, report: dict[str, Any]) -> None:
    page = (runs / "out" / "run.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert oct((runs / "out" / "run.html").stat().st_mode & 0o777) == "0o644"
    # nothing fetched: no external scripts, styles, images or fonts; a CSP that forbids fetching anyway
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page and 'rel="stylesheet"' not in page
    assert "default-src 'none'" in page and re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", page)
    assert page.count("<script") == 1  # the page's own filter script; the answers' scripts are text
    assert "Noto Sans CJK SC" in page and "题号KQA1：哪项对？" in page and "这是错的" in page
    assert report["verdict"] == "fail" and 'data-verdict="fail"' in page
    for g in report["gates"]:
        assert f"<code>{html.escape(g['name'])}</code>" in page
        assert html.escape(g["reason"]) in page
    assert (runs / "first.html").is_file()  # a first run (no baseline yet) has a page too


def test_responses_are_escaped(report: dict[str, Any]) -> None:
    page = html_report(report)
    assert XSS not in page
    assert "&lt;script&gt;window.__mlb_xss = 1&lt;/script&gt;" in page
    hostile = copy.deepcopy(report)
    hostile["run"]["model"] = '"><img src=x onerror=alert(1)>'
    hostile["items"][0]["messages"] = [{"role": "user", "content": "</pre></td><script>alert(2)</script>"}]
    hostile["items"][0]["outcome"] = "wrong"
    page = html_report(hostile)
    assert "<img src=x" not in page and "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>alert(2)" not in page and "&lt;/pre&gt;&lt;/td&gt;&lt;script&gt;alert(2)" in page


def test_every_dataset_and_dimension_is_shown(report: dict[str, Any]) -> None:
    page = html_report(report)
    rows = _rows(page, "dataset-row")
    assert sorted(_attr(r, "data-dataset") for r in rows) == sorted(report["datasets"]) == ["KQA", "RU", "SE"]
    bars = re.findall(r'<rect class="dim-bar"[^>]*>', page)
    assert sorted(_attr(b, "data-dimension") for b in bars) == sorted(report["dimensions"])
    # the run's own comparison: baseline and delta of the gated dimensions, the Holm p of their gates
    kqa = page.split('<tr class="dim-row" data-dimension="MedKQA">', 1)[1].split("</tr>", 1)[0]
    assert "0.800" in kqa and "1.000" in kqa and "-0.200" in kqa and "FAIL" in kqa and "Holm p" in kqa
    assert len(re.findall(r'<rect class="base-bar"', page)) == 3


def test_failed_items_carry_their_filters(report: dict[str, Any]) -> None:
    page = html_report(report)
    rows = {_attr(r, "data-key"): r for r in _rows(page, "item-row")}
    assert set(rows) == {re.sub(r"^([A-Z]+)(\d+)$", lambda m: f"{m[1]}/q{int(m[2]):03d}", w) for w in WRONG}
    assert _attr(rows["SE/q001"], "data-outcome") == "red-line"
    assert _attr(rows["SE/q010"], "data-outcome") == "regressed"
    assert _attr(rows["KQA/q001"], "data-dimension") == "MedKQA" and _attr(rows["KQA/q001"], "data-dataset") == "KQA"
    assert "wrong" in _attr(rows["SE/q001"], "data-outcomes").split()
    for key in ("filter-dimension", "filter-dataset", "filter-outcome"):
        assert f'<select class="item-filter" id="{key}"' in page
    assert "baseline answered: A" in page and "red line: chose harmful option(s) B" in page


def test_judge_rationale_and_token_use_are_shown_where_the_report_has_them(report: dict[str, Any]) -> None:
    judged = copy.deepcopy(report)
    item = next(it for it in judged["items"] if it["key"] == "KQA/q002")
    item["details"]["verdicts"] = [
        {
            "kind": "point",
            "criterion": "提到<心电图>",
            "judge1": "no",
            "verdict": "no",
            "rationale1": "未提及 <b>ECG</b>",
            "source": "single",
        }
    ]
    judged["run"]["usage"] = {
        "model": {"prompt_tokens": 1200, "completion_tokens": 34},
        "judge": {"prompt_tokens": 900, "completion_tokens": 12},
    }
    page = html_report(judged)
    assert "提到&lt;心电图&gt;" in page and "judge1: 未提及 &lt;b&gt;ECG&lt;/b&gt;" in page
    tokens = page.split('<table id="tokens">', 1)[1].split("</table>", 1)[0]
    assert "1,200" in tokens and "judge" in tokens and "completion_tokens" in tokens
    run = page.split("<h2>Run</h2>", 1)[1]
    for text in (
        "python:sim:answer",
        report["run"]["suite_fingerprint"],
        report["run"]["revision"]["model"]["revision"],
        "started",
        "duration",
        "latency",
    ):
        assert text in run


def test_item_outcomes_order() -> None:
    assert item_outcomes({"outcome": "pass"}, False) == []
    assert item_outcomes({"outcome": "wrong", "critical": True, "red_line": {"crossed": ["B"]}}, True) == [
        "red-line",
        "regressed",
        "wrong",
    ]
    assert item_outcomes({"outcome": "wrong", "critical": True}, False) == ["critical-wrong", "wrong"]
    assert item_outcomes({"outcome": "error"}, False) == ["error"]


def test_cli_report_html(runs: Path, report: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    out = runs / "cli" / "page.html"
    assert (
        mlb_main(
            [
                "report",
                "html",
                str(runs / "r.json"),
                "--baseline",
                str(runs / "baselines" / "sim-answer.json"),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert f"written: {out}" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    # with a baseline every dataset has its baseline, delta and paired p-value
    for name, delta in (("KQA", "-0.200"), ("SE", "-0.050"), ("RU", "-0.025")):
        row = page.split(f'<tr class="dataset-row" data-dataset="{name}"', 1)[1].split("</tr>", 1)[0]
        assert "1.000" in row and delta in row, row
    assert "Compared with the baseline of python:sim:answer" in page
    assert len(re.findall(r'<rect class="dim-bar"', page)) == len(report["dimensions"])
    # another report as the baseline gives the same table
    other = runs / "cli" / "other.html"
    assert (
        mlb_main(["report", "html", str(runs / "r.json"), "--baseline", str(runs / "base.json"), "-o", str(other)]) == 0
    )
    table = lambda text: text.split('<table id="datasets">', 1)[1].split("</table>", 1)[0]  # noqa: E731
    assert table(other.read_text(encoding="utf-8")) == table(page)

    # the installed command, default output beside the report
    proc = subprocess.run(
        [sys.executable, "-m", "mlb_pytest.cli", "report", "html", "r.json"],
        cwd=runs,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "written: r.html" in proc.stdout and (runs / "r.html").is_file()

    assert mlb_main(["report", "html", str(runs / "sim.py"), "-o", str(runs / "x.html")]) == 4
    assert "cannot read a JSON report" in capsys.readouterr().err
    assert mlb_main(["report", "html", str(runs / "r.json"), "--baseline", str(runs / "s" / "KQA.jsonl")]) == 4
    assert not (runs / "x.html").exists()


def _browser() -> tuple[str, str]:
    """Paths of a system Chromium and its chromedriver, or a skip saying what is missing."""
    binary = os.environ.get("MLB_CHROMIUM") or next(
        (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None
    )
    driver = (
        os.environ.get("MLB_CHROMEDRIVER")
        or shutil.which("chromedriver")
        or next(
            (
                p
                for p in ("/usr/lib/chromium/chromedriver", "/usr/lib/chromium-browser/chromedriver")
                if Path(p).is_file()
            ),
            None,
        )
    )
    missing = [
        what
        for what, path in (
            ("chromium (apt-get install chromium)", binary),
            ("chromedriver (apt-get install chromium-driver)", driver),
        )
        if not path
    ]
    if missing:
        reason = f"no browser for the HTML report test: {', '.join(missing)} not found"
        if os.environ.get("MLB_REQUIRE_BROWSER"):
            pytest.fail(reason + " (MLB_REQUIRE_BROWSER is set: CI installed them, they must be there)")
        pytest.skip(reason)
    assert binary and driver
    return binary, driver


def test_page_in_headless_chromium(runs: Path, report: dict[str, Any]) -> None:
    binary, driver_path = _browser()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select
    except ImportError:
        if os.environ.get("MLB_REQUIRE_BROWSER"):
            raise
        pytest.skip("selenium is not installed (pip install -e '.[dev]')")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1300,1000",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)  # explicit paths: nothing downloaded
    try:
        driver.get((runs / "out" / "run.html").as_uri())
        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert severe == []
        assert driver.execute_script("return window.__mlb_xss === undefined")
        assert len(driver.find_elements(By.CSS_SELECTOR, "script")) == 1

        bars = driver.find_elements(By.CSS_SELECTOR, "svg#dimension-chart rect.dim-bar")
        assert sorted(str(b.get_attribute("data-dimension")) for b in bars) == sorted(report["dimensions"])
        assert len(driver.find_elements(By.CSS_SELECTOR, "svg#dimension-chart rect.base-bar")) == len(
            report["dimensions"]
        )

        rows = driver.find_elements(By.CSS_SELECTOR, "tr.item-row")
        assert len(rows) == len(WRONG) and all(r.is_displayed() for r in rows)
        count = driver.find_element(By.ID, "item-count")
        assert count.text == f"{len(WRONG)} of {len(WRONG)} items shown"  # the script ran under the page's CSP
        response = rows[0].find_elements(By.CSS_SELECTOR, "pre.text")
        assert any(XSS in p.text for p in response)  # shown as text

        Select(driver.find_element(By.ID, "filter-dataset")).select_by_value("KQA")
        shown = [r for r in rows if r.is_displayed()]
        assert shown and {r.get_attribute("data-dataset") for r in shown} == {"KQA"}
        assert len(shown) == sum(1 for w in WRONG if w.startswith("KQA")) == 8
        assert count.text == f"8 of {len(WRONG)} items shown"
        Select(driver.find_element(By.ID, "filter-dataset")).select_by_value("")
        Select(driver.find_element(By.ID, "filter-outcome")).select_by_value("red-line")
        assert [r.get_attribute("data-key") for r in rows if r.is_displayed()] == ["SE/q001"]
        Select(driver.find_element(By.ID, "filter-outcome")).select_by_value("")
        Select(driver.find_element(By.ID, "filter-dimension")).select_by_value("MedSE")
        assert {r.get_attribute("data-key") for r in rows if r.is_displayed()} == {"SE/q001", "SE/q010"}
        Select(driver.find_element(By.ID, "filter-dimension")).select_by_value("")
        assert all(r.is_displayed() for r in rows)
        assert [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"] == []

        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1300, min(int(height) + 40, 8000))
        driver.execute_script("window.scrollTo(0, 0)")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(SCREENSHOT))
    finally:
        driver.quit()
    assert SCREENSHOT.stat().st_size > 10_000


def test_a_dataset_whose_rotations_all_failed_says_so(report: dict[str, Any]) -> None:
    """Rotated but never scored: the note names the failures instead of printing 'circular None'."""
    r = copy.deepcopy(report)
    r["datasets"]["KQA"].update(circular=None, circular_n=0, circular_errors=6)
    r["datasets"]["SE"].update(circular=0.75, circular_n=4, circular_errors=0)
    page = html_report(r)
    assert "circular None" not in page
    assert "circular not scored (6 rotations failed)" in page and "circular 0.750" in page

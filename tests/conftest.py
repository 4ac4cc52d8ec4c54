"""Shared fixtures: suites written in both formats into temp folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import scipy.stats  # noqa: F401  # loaded once here: pytester's in-process runs cannot re-import C extensions
from hypothesis import settings

# CI machines are shared and noisy: judge properties, not per-example timings.
settings.register_profile("mlb", deadline=None)
settings.load_profile("mlb")

from release_fixture import write_release

pytest_plugins = ["pytester"]

SHARED_RELEASE = Path(__file__).resolve().parents[2] / "shared" / "mlb_release" / "MLB_benchmark_dataset"


@pytest.fixture
def release_dir(tmp_path: Path) -> Path:
    """Our own 22 files in MLB's release format."""
    return write_release(tmp_path / "mlb_release")


def load_report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))

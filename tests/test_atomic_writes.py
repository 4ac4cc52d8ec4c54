"""Atomic writes: whole files only, and as readable as files written the plain way."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mlb_pytest._atomic import write_json_atomic, write_text_atomic


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_a_new_file_gets_the_mode_a_plain_write_would_give(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic = tmp_path / "sub" / "atomic.json"
    write_json_atomic(atomic, {"a": 1})
    assert _mode(atomic) == _mode(plain)
    assert atomic.read_text(encoding="utf-8") == '{\n "a": 1\n}\n'
    assert [p.name for p in atomic.parent.iterdir()] == ["atomic.json"]  # no temp file left behind


def test_a_replaced_file_keeps_its_own_mode(tmp_path: Path) -> None:
    target = tmp_path / "baseline.json"
    target.write_text("old")
    os.chmod(target, 0o640)
    write_text_atomic(target, "new")
    assert target.read_text() == "new" and _mode(target) == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "cache.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_text_atomic(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]

"""Constructed rows: whole JSON answers against single points (``mlb judge build derive``).

``python judge/derive_rows.py ARGS`` runs ``mlb judge build derive ARGS``, so that recorded recipes still run;
the code is in ``mlb_pytest.judges.training.derive``.
"""

from __future__ import annotations

import sys

from mlb_pytest.cli import main as mlb
from mlb_pytest.judges.training.derive import derived_rows, rows_for

__all__ = ["derived_rows", "main", "rows_for"]  # the names callers of this script imported


def main(argv: list[str] | None = None) -> int:
    return mlb(["judge", "build", "derive", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())

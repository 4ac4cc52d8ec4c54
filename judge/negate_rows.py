"""Constructed rows: a meeting response that denies or retracts its point (``mlb judge build negate``).

``python judge/negate_rows.py ARGS`` runs ``mlb judge build negate ARGS``, so that recorded recipes still run;
the code is in ``mlb_pytest.judges.training.negate``.
"""

from __future__ import annotations

import sys

from mlb_pytest.cli import main as mlb
from mlb_pytest.judges.training.negate import negate, retract, rows_from, shared_phrase

__all__ = ["main", "negate", "retract", "rows_from", "shared_phrase"]  # the names callers of this script imported


def main(argv: list[str] | None = None) -> int:
    return mlb(["judge", "build", "negate", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())

"""Constructed rows: a meeting response with one detail turned wrong (``mlb judge build perturb``).

``python judge/perturb_rows.py ARGS`` runs ``mlb judge build perturb ARGS``, so that recorded recipes still run;
the code is in ``mlb_pytest.judges.training.perturb``.
"""

from __future__ import annotations

import sys

from mlb_pytest.cli import main as mlb
from mlb_pytest.judges.training.perturb import NUMBER, SWAPS, _swap, perturb, rows_from

__all__ = ["_swap", "main", "NUMBER", "perturb", "rows_from", "SWAPS"]  # the names callers of this script imported


def main(argv: list[str] | None = None) -> int:
    return mlb(["judge", "build", "perturb", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())

"""Check the annotation files and give every row its split (``mlb judge build splits``).

``python judge/build_annotations.py ARGS`` runs ``mlb judge build splits ARGS``, so that recorded recipes still run;
the code is in ``mlb_pytest.judges.training.splits``.
"""

from __future__ import annotations

import sys

from mlb_pytest.cli import main as mlb
from mlb_pytest.judges.training.splits import build, check_row, split_of

__all__ = ["build", "check_row", "main", "split_of"]  # the names callers of this script imported


def main(argv: list[str] | None = None) -> int:
    return mlb(["judge", "build", "splits", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())

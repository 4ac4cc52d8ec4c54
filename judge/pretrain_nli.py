"""Stage 1 of the bundled judge: entailment from human-labelled public NLI sets (``mlb judge pretrain``).

``python judge/pretrain_nli.py ARGS`` runs ``mlb judge pretrain ARGS``, so that recorded recipes still run;
the code is in ``mlb_pytest.judges.training.pretrain``.
"""

from __future__ import annotations

import sys

from mlb_pytest.cli import main as mlb
from mlb_pytest.judges.training.pretrain import read_rows

__all__ = ["main", "read_rows"]  # the names callers of this script imported


def main(argv: list[str] | None = None) -> int:
    return mlb(["judge", "pretrain", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())

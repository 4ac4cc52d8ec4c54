"""Stage 2 of the bundled judge: fine-tune on judge/data/annotations (``mlb judge train``).

``python judge/train_builtin.py ARGS`` runs ``mlb judge train ARGS``, so that recorded recipes still run;
the code is in ``mlb_pytest.judges.training.finetune`` (``train_adapter``: ``.adapter``).
"""

from __future__ import annotations

import sys

from mlb_pytest.cli import main as mlb
from mlb_pytest.judges.training.adapter import Settings, train_adapter

__all__ = ["main", "Settings", "train_adapter"]  # the names callers of this script imported


def main(argv: list[str] | None = None) -> int:
    return mlb(["judge", "train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())

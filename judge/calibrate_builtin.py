"""Calibrate a trained adapter after the fact on the dev split (``mlb judge calibrate``).

``python judge/calibrate_builtin.py ARGS`` runs ``mlb judge calibrate ARGS``, so that recorded recipes still run;
the code is in ``mlb_pytest.judges.training.calibrate``.
"""

from __future__ import annotations

import sys

from mlb_pytest.cli import main as mlb
from mlb_pytest.judges.training.calibrate import calibrated_config

__all__ = ["calibrated_config", "main"]  # the names callers of this script imported


def main(argv: list[str] | None = None) -> int:
    return mlb(["judge", "calibrate", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())

"""MLB's SFT recipe for a generative judge (``mlb judge sft``).

``python judge/train_sft.py ARGS`` runs ``mlb judge sft ARGS``, so that recorded recipes still run;
the code is in ``mlb_pytest.judges.training.sft``.
"""

from __future__ import annotations

import sys

from mlb_pytest.cli import main as mlb
from mlb_pytest.judges.training.sft import build_example, prompt_messages, target_text

__all__ = ["build_example", "main", "prompt_messages", "target_text"]  # the names callers of this script imported


def main(argv: list[str] | None = None) -> int:
    return mlb(["judge", "sft", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())

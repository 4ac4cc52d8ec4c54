"""Where the judge's data and adapters live in a checkout, and the error that names a missing one.

The defaults are the paths the scripts in ``judge/`` used, resolved from the checkout rather than
the working directory, so a recipe gives the same result wherever it is started.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import UsageError

CHECKOUT = Path(__file__).resolve().parents[3]
JUDGE_DIR = CHECKOUT / "judge"
ANNOTATIONS = JUDGE_DIR / "data" / "annotations"
BUILTIN = JUDGE_DIR / "builtin"
PRETRAINED = JUDGE_DIR / "pretrained"
BUILD = CHECKOUT / "build" / "judge"  # checkpoints (git-ignored)
SUITES = CHECKOUT / "suites"
JUDGE_DATA = CHECKOUT.parent / "shared" / "judge_data"  # read where it is, never copied


class TrainingInputError(UsageError, ValueError):
    """An input a stage cannot use; the message names the file or folder.

    A usage error like every other one: ``mlb judge`` prints it and exits with status 4.
    """


def need_dir(path: Path, hint: str = "") -> Path:
    """``path`` when it is a folder; otherwise an error that names it."""
    if not path.is_dir():
        raise TrainingInputError(f"{path}: no such folder{hint}")
    return path


def need_file(path: Path, hint: str = "") -> Path:
    """``path`` when it is a file; otherwise an error that names it."""
    if not path.is_file():
        raise TrainingInputError(f"{path}: no such file{hint}")
    return path

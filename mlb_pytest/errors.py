"""The plugin's exception hierarchy: one base, and two kinds a caller treats differently.

``UsageError``: the user's input is wrong (an option, a model spec, a suite line, a baseline or
gate file); the message names what to fix, and a run stops with exit status 4.
``InfrastructureError``: something the run depends on failed (the model or judge endpoint, the
cache); it becomes the affected item's ERROR and counts toward the infrastructure gate.
Every class keeps the built-in base it had (``ValueError`` and so on), so existing ``except``
clauses still catch it.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class MLBError(Exception):
    """Any error raised on purpose by mlb-pytest."""


class UsageError(MLBError):
    """Input the user must fix; the message names the file, line or option."""


class InfrastructureError(MLBError):
    """A model, judge or cache failure: the item errors, the run goes on."""


# exit statuses of the ``mlb`` command, the same as pytest's where they overlap
EXIT_OK = 0
EXIT_PROBLEMS = 1  # the command ran and found problems (``mlb validate``, a failed comparison)
EXIT_USAGE = 4  # a bad option or an input file to fix, named in the message


class ArgumentParser(argparse.ArgumentParser):
    """argparse, exiting with ``EXIT_USAGE`` (argparse's own is 2) so every usage error of ``mlb`` reads the same."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

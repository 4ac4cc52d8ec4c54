"""What every ``mlb judge`` training command shares: input errors as one line, and the command it records."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable

from ...errors import UsageError

Handler = Callable[[argparse.Namespace], int]
USAGE_STATUS = 4  # as every other mlb command that is given an input it cannot use


def guarded(name: str, run: Handler, *input_errors: type[Exception]) -> Handler:
    """``run``, with an input it cannot use (a missing file, a bad row, no torch) printed as one line, exit status 4."""
    caught: tuple[type[BaseException], ...] = (UsageError, *input_errors)

    def call(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except caught as exc:
            print(f"mlb judge {name}: {exc}", file=sys.stderr)
            return USAGE_STATUS
        except ModuleNotFoundError as exc:
            print(
                f"mlb judge {name}: needs {exc.name}: pip install torch==2.13.0 'mlb-pytest[judge]'",
                file=sys.stderr,
            )
            return USAGE_STATUS

    return call


def command_line(prog: str, parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """The command as typed, options at their defaults left out: an adapter records how it was made."""
    words = prog.split()
    for action in parser._actions:
        if not action.option_strings or action.dest == "help":
            continue
        value = getattr(args, action.dest, action.default)
        if value != action.default:
            flag = action.option_strings[-1]
            words += [flag] if action.nargs == 0 else [flag, str(value)]
    return shlex.join(words)

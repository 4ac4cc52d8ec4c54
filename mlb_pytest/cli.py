"""The ``mlb`` command: suite checks and statistics without running pytest."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .suites.stats import stats_lines, suite_stats
from .suites.validate import validate_paths


def _validate(args: argparse.Namespace) -> int:
    items, problems = validate_paths([Path(p) for p in args.paths], bundled=not args.foreign)
    for p in problems:
        print(p)
    if not items and not problems:
        print(f"no suite files found under {', '.join(args.paths)}", file=sys.stderr)
        return 2
    datasets = len({it.dataset for it in items})
    print(f"{'FAILED' if problems else 'OK'}: {len(items)} items in {datasets} datasets, {len(problems)} problems")
    return 1 if problems else 0


def _stats(args: argparse.Namespace) -> int:
    items, problems = validate_paths([Path(p) for p in args.paths], bundled=False)
    stats = suite_stats(items)
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=1))
    else:
        print("\n".join(stats_lines(stats)))
    if problems:
        print(f"\n({len(problems)} problems: run mlb validate)", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlb", description="mlb-pytest suite tools")
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check suite files (answers, spans, references, duplicates, specialties)")
    v.add_argument("paths", nargs="+")
    v.add_argument("--foreign", action="store_true",
                   help="suites not bundled with mlb-pytest (e.g. MLB's release): skip naming and specialty rules")
    v.set_defaults(func=_validate)
    s = sub.add_parser("stats", help="items per dimension and dataset, specialties, critical and multi-answer items")
    s.add_argument("paths", nargs="*", default=["suites"])
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_stats)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())

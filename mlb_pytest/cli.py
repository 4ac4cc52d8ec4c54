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


def _review_apply(args: argparse.Namespace) -> int:
    from .judges.dual import merge_decisions

    rows = []
    for n, line in enumerate(Path(args.decisions).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                print(f"{args.decisions}:{n}: invalid JSON: {exc.msg}", file=sys.stderr)
                return 2
    try:
        added, skipped = merge_decisions(rows, Path(args.into))
    except (ValueError, KeyError) as exc:
        print(f"cannot apply decisions: {exc}", file=sys.stderr)
        return 2
    print(f"{added} decisions written to {args.into}; {skipped} rows without a yes/no decision skipped")
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
    r = sub.add_parser("review", help="physician review of disputed judge verdicts")
    rsub = r.add_subparsers(dest="review_command", required=True)
    ra = rsub.add_parser("apply", help="make the decisions in a review file override on later runs")
    ra.add_argument("decisions", help="the review file with \"decision\": \"yes\"|\"no\" filled in")
    ra.add_argument("--into", default="baselines/adjudications.jsonl")
    ra.set_defaults(func=_review_apply)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())

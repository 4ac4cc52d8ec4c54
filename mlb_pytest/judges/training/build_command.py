"""``mlb judge build [all|splits|derive|perturb|negate|traps]``: the judge's training rows.

Each step's flags are those of the script it replaces (``judge/build_annotations.py``,
``derive_rows.py``, ``perturb_rows.py``, ``negate_rows.py``); with no step, the shipped rows are
rebuilt in order. ``traps`` writes a training folder elsewhere (``build/``): the annotations plus
the trap sets other writers wrote. The steps' modules load only when one runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .guard import guarded
from .paths import ANNOTATIONS, JUDGE_DIR, SUITES
from .trap_sets import TRAP_SETS


def _splits(args: argparse.Namespace) -> int:
    from .splits import build, count_lines

    print("\n".join(count_lines(build(Path(args.folder)))))
    return 0


def _derive(args: argparse.Namespace) -> int:
    from .derive import OUT_NAME, derived_rows
    from .rowfiles import write_rows

    rows = derived_rows(Path(args.suites))
    path = Path(args.data) / OUT_NAME
    write_rows(path, rows)
    yes = sum(r["label"] == "yes" for r in rows)
    print(f"{len(rows)} constructed rows ({yes} yes, {len(rows) - yes} no) written to {path}")
    return 0


def _perturb(args: argparse.Namespace) -> int:
    from .perturb import OUT_NAME, detail_rows, kind_counts
    from .rowfiles import write_rows

    rows = detail_rows(Path(args.data))
    path = Path(args.data) / OUT_NAME
    write_rows(path, rows)
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(kind_counts(rows).items()))
    print(f"{len(rows)} constructed wrong-detail rows ({kinds}) written to {path}")
    return 0


def _negate(args: argparse.Namespace) -> int:
    from .negate import OUT_NAME, negation_rows, trap_counts
    from .rowfiles import write_rows

    rows = negation_rows(Path(args.data))
    path = Path(args.out) if args.out else Path(args.data) / OUT_NAME
    write_rows(path, rows)
    traps = ", ".join(f"{k} {v}" for k, v in sorted(trap_counts(rows).items()))
    print(f"{len(rows)} constructed rows ({traps}) written to {path}")
    return 0


def _traps(args: argparse.Namespace) -> int:
    from .trap_sets import write_folder

    sets = [JUDGE_DIR / "data" / name for name in args.sets.split(",") if name]
    counts = write_folder(Path(args.out), Path(args.data), sets)
    print(
        f"{args.out}: the annotations plus {sum(counts.values())} rows of {len(sets)} trap sets "
        f"(train {counts['train']}, dev {counts['dev']})"
    )
    return 0


def _build_all(args: argparse.Namespace) -> int:
    """Splits first (the constructed rows read them), then the constructed rows, then one check of everything."""
    from .splits import build

    build(Path(args.data))
    _derive(args)
    _perturb(args)
    return _splits(argparse.Namespace(folder=args.data))


def add_build_parser(jsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    build_errors = (ValueError, OSError)  # a bad row or file: the message names it
    b = jsub.add_parser(
        "build",
        help="build the training rows: splits, constructed rows (default: all of them, in order)",
        description="Build the judge's training rows in judge/data/annotations: check every row and assign "
        "its split, then write the constructed rows (derive, perturb) and check them along. With no step, "
        "all of these in that order. The negation rows (negate) were measured and not shipped: they are "
        "built only when asked for.",
    )
    b.set_defaults(func=guarded("build", _build_all, *build_errors), data=str(ANNOTATIONS), suites=str(SUITES))
    steps = b.add_subparsers(dest="build_step", metavar="[STEP]")
    a = steps.add_parser("all", help="splits, derive, perturb, then a check of every row (the default)")
    a.add_argument("--data", default=str(ANNOTATIONS), help="the annotation folder (default: judge/data/annotations)")
    a.add_argument("--suites", default=str(SUITES), help="the bundled suites, read by derive (default: suites)")
    a.set_defaults(func=guarded("build", _build_all, *build_errors))
    s = steps.add_parser(
        "splits",
        help="check every annotation row and give it its split by case, in place; print the counts",
        description="Check every row (fields, allowed values, unique ids, no content written twice) and "
        "assign the split by case (a hash of dataset and item: 70% train, 10% dev, 20% test). A file is "
        "rewritten (atomically) only when a split changed.",
    )
    s.add_argument("folder", nargs="?", default=str(ANNOTATIONS), help="default: judge/data/annotations")
    s.set_defaults(func=guarded("build splits", _splits, *build_errors))
    d = steps.add_parser(
        "derive",
        help="whole JSON answers against single points (derived_json.jsonl), from the bundled SmartCare suites",
    )
    d.add_argument("--data", default=str(ANNOTATIONS), help="folder the rows are written into")
    d.add_argument("--suites", default=str(SUITES), help="the bundled suites (default: suites)")
    d.set_defaults(func=guarded("build derive", _derive, *build_errors))
    p = steps.add_parser(
        "perturb", help="a meeting response with one shared detail turned wrong (derived_detail.jsonl)"
    )
    p.add_argument("--data", default=str(ANNOTATIONS), help="folder the train rows are read from and written into")
    p.set_defaults(func=guarded("build perturb", _perturb, *build_errors))
    n = steps.add_parser(
        "negate", help="a meeting response that denies or retracts its point (derived_negation.jsonl; not shipped)"
    )
    n.add_argument("--data", type=Path, default=ANNOTATIONS)
    n.add_argument("--out", type=Path, default=None, help="default: DATA/derived_negation.jsonl")
    n.set_defaults(func=guarded("build negate", _negate, *build_errors))
    t = steps.add_parser(
        "traps",
        help="a training folder: the annotations plus the trap sets other writers wrote (make judge-v6)",
        description="Copy the annotation files into OUT and add the chosen judge/data sets, each case given "
        "to train or dev (about 15%%) by a hash of dataset and case. For training on multi-writer trap rows; "
        "the sets not chosen stay held out.",
    )
    t.add_argument("--out", type=Path, default=Path("build/judge-v6-data"))
    t.add_argument(
        "--data", type=Path, default=ANNOTATIONS, help="the annotation folder (default: judge/data/annotations)"
    )
    t.add_argument("--sets", default=",".join(TRAP_SETS), help="judge/data folders to add, comma-separated")
    t.set_defaults(func=guarded("build traps", _traps, *build_errors))

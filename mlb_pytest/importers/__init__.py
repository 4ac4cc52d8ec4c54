"""``mlb import FORMAT SRC -o FILE``: public medical benchmarks -> the native suite format.

One module per format, each with the same face: ``FORMAT`` (the name on the command line),
``DESCRIPTION``, ``add_arguments(parser)`` (its options besides SRC and ``-o``), ``run(args)``
(prints what was done, returns the exit status) and ``import_file(src, out, **options)`` (the same
from Python). ``add_import_parser`` builds ``mlb import`` from the modules listed in ``FORMATS``; a
module that is missing or does not import gives a format that says so instead of breaking ``mlb``.

The importers read files the user already has; they download nothing, and they write only the file
named by ``-o`` (atomically). The written file is derived data under the source's licence.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from ..errors import EXIT_USAGE

# format name -> module (in this package)
FORMATS: dict[str, str] = {
    "medqa": "medqa",
    "medmcqa": "medmcqa",
    "pubmedqa": "pubmedqa",
    "mmlu": "mmlu",
    "cmmlu": "cmmlu",
    "cmb-clin": "cmb_clin",
    "medsafetybench": "medsafetybench",
    "healthbench": "healthbench",
    "generic": "generic",
}


def load(name: str) -> ModuleType:
    """The module of one format (ImportError or whatever its import raises when it is not usable)."""
    module = importlib.import_module(f"{__name__}.{FORMATS[name]}")
    for attr in ("add_arguments", "run"):
        if not callable(getattr(module, attr, None)):
            raise ImportError(f"{module.__name__} has no {attr}()")
    return module


def _unavailable(reason: str):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace) -> int:
        print(f"mlb import {args.import_format}: not yet available ({reason})", file=sys.stderr)
        return EXIT_USAGE

    return run


def add_import_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add ``import`` with one sub-command per format to the ``mlb`` parser's sub-commands."""
    p = sub.add_parser(
        "import",
        help="convert a public benchmark file (MedQA, MedMCQA, PubMedQA, MMLU, CMMLU, "
        "CMB-Clin, MedSafetyBench, HealthBench, any table) into a native suite file",
        description="Convert a benchmark file you have into a native suite file (-o). Bad rows fail "
        "the import, each named (file, row, field), unless --skip-bad.",
    )
    fsub = p.add_subparsers(dest="import_format", required=True, metavar="FORMAT")
    for name in FORMATS:
        try:
            module = load(name)
        except Exception as exc:  # noqa: BLE001  # a half-written format must not break the other commands
            fp = fsub.add_parser(name, help="not yet available")
            fp.add_argument("rest", nargs=argparse.REMAINDER)
            fp.set_defaults(func=_unavailable(f"{type(exc).__name__}: {exc}"))
            continue
        fp = fsub.add_parser(
            name,
            help=getattr(module, "DESCRIPTION", name),
            description=(module.__doc__ or "").strip() or None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        fp.add_argument("src", metavar="SRC", help="the source file")
        fp.add_argument(
            "-o",
            "--output",
            required=True,
            metavar="FILE",
            help="the native suite file to write (.jsonl), e.g. suites/medkqa/MedQA.jsonl",
        )
        module.add_arguments(fp)
        fp.set_defaults(func=module.run)
    return p

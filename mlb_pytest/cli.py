"""The ``mlb`` command: suite checks and statistics without running pytest."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .errors import EXIT_USAGE, ArgumentParser, UsageError
from .suites.stats import stats_lines, suite_stats
from .suites.validate import validate_paths


def _validate(args: argparse.Namespace) -> int:
    items, problems = validate_paths([Path(p) for p in args.paths], bundled=not args.foreign)
    for p in problems:
        print(p)
    if not items and not problems:
        print(f"no suite files found under {', '.join(args.paths)}", file=sys.stderr)
        return EXIT_USAGE
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
                return EXIT_USAGE
    try:
        added, skipped = merge_decisions(rows, Path(args.into))
    except (ValueError, KeyError) as exc:
        print(f"cannot apply decisions: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{added} decisions written to {args.into}; {skipped} rows without a yes/no decision skipped")
    return 0


def _eval_rows(args: argparse.Namespace) -> tuple[list[dict[str, object]], dict[str, object]]:
    """The rows to judge (annotation rows or a public set's) and what the report says about their source."""
    from .judges.evaluate import load_annotations
    from .judges.public_sets import file_digest, load_public

    if args.public_file and not args.public:
        raise ValueError("--public-file picks a file inside the --public folder; give --public too")
    if not args.public:
        return load_annotations(Path(args.annotations), args.split, args.limit), {
            "annotations": args.annotations,
            "split": args.split,
        }
    path, rows = load_public(Path(args.public), args.split, args.public_file, args.limit)
    return rows, {
        "annotations": None,
        "public": args.public,
        "public_file": path.name,
        "public_sha256": file_digest(path),
        "split": args.split or path.stem,
        "limit": args.limit,
    }


def _judge_eval(args: argparse.Namespace) -> int:
    """Run a judge over annotation rows or a public NLI set through the same engine as a test run, then score it.

    With ``--injection`` the clean rows are judged twice, as they are and with an instruction to
    the judge planted in the response, and the flip rate is printed beside the agreement.
    An ``uncertain`` verdict is kept apart: the figures read it both ways (see judges/evaluate.py).
    """
    from .catalog import Dimension, JudgeKind, Metric, Task
    from .engine import Engine
    from .judges import JudgeParseError, judge_prompt, parse_verdict
    from .judges.backends import build_judge
    from .judges.evaluate import decider, evaluate_rows, question_language, report_lines, verdict_rows
    from .judges.injection import (
        InjectionPair,
        build_pairs,
        default_templates,
        injection_lines,
        injection_report,
        injection_rows,
        load_templates,
    )
    from .judges.public_sets import file_digest
    from .judges.questions import JudgeQuestion
    from .models import GenerationRequest, ModelError, SpecError, build_model, parse_spec
    from .schema import finalize

    try:
        rows, source = _eval_rows(args)
        pairs: list[InjectionPair] = []
        if args.injection:
            if args.public and not args.templates:
                raise ValueError("--injection with --public needs --templates (no templates beside a public set)")
            templates = Path(args.templates) if args.templates else default_templates(Path(args.annotations))
            pairs = build_pairs(rows, load_templates(templates))
            source["templates"] = {"file": templates.as_posix(), "sha256": file_digest(templates)}
    except (OSError, ValueError) as exc:
        print(f"mlb judge eval: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        model = build_judge(parse_spec(args.judge), lambda spec: build_model(spec, concurrency=args.concurrency))
    except SpecError as exc:
        print(f"mlb judge eval: {exc}", file=sys.stderr)
        return EXIT_USAGE
    scored_rows = injection_rows(rows) if args.injection else rows
    by_id = {str(r["id"]): r for r in rows}
    judged = [(str(r["id"]), r, str(r["response"])) for r in scored_rows]
    judged += [(p.id, by_id[p.row_id], p.response) for p in pairs]
    engine = Engine(model, concurrency=args.concurrency)
    reqs = []
    for n, (rid, r, response) in enumerate(judged):
        item = finalize(
            dict(
                id=f"row-{n}",
                dataset=str(r.get("dataset") or "annotations"),
                dimension=Dimension.SmartCare,
                task=Task.open,
                metric=Metric.judge,
                judge=JudgeKind.points,
                question=str(r.get("context") or ""),
                messages=({"role": "user", "content": ""},),
            )
        )
        q = JudgeQuestion(
            0, str(r["kind"]), str(r["point"]), str(r.get("context") or ""), response, question_language(r)
        )
        reqs.append(
            (
                rid,
                GenerationRequest(
                    item, {"temperature": 0.0, "max_tokens": 256}, prompt=judge_prompt(q), tag="judge", payload=q
                ),
            )
        )
    started = time.perf_counter()
    engine.start([q for _, q in reqs])
    verdicts: dict[str, bool] = {}
    uncertain: set[str] = set()
    answers: dict[str, str] = {}
    deciders: dict[str, str] = {}
    failed, first_error = 0, ""
    for rid, req in reqs:
        try:
            raw = engine.wait(req.key, 0).raw
            answers[rid] = str(raw)
            v = parse_verdict(raw)
        except (ModelError, JudgeParseError) as exc:
            failed += 1
            first_error = first_error or f"{rid}: {exc}"
            continue
        verdicts[rid] = v.yes  # an abstention's leaning; the abstention itself is kept in ``uncertain``
        deciders[rid] = decider(v.rationale)
        if getattr(v, "uncertain", False):
            uncertain.add(rid)
    engine.close()
    result = evaluate_rows(scored_rows, verdicts, uncertain, deciders)
    result["unanswered"] = sum(str(r["id"]) not in verdicts for r in scored_rows)
    # the identity pins what answered (for builtin: adapter config and weights, sanitizer, number check)
    result.update(judge=args.judge, judge_identity=model.identity, **source)
    result["seconds"] = round(time.perf_counter() - started, 1)
    lines = report_lines(result)
    if args.injection:
        result["injection"] = injection_report(rows, pairs, verdicts, uncertain)
        lines += injection_lines(result["injection"])
    print("\n".join(lines))
    if failed:
        print(f"{failed} questions without a readable verdict (left out of the figures); first: {first_error}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.rows:
        lines_out = verdict_rows([(rid, r) for rid, r, _ in judged], verdicts, uncertain, answers, deciders)
        Path(args.rows).write_text("".join(lines_out), encoding="utf-8")
    return 1 if judged and failed == len(judged) else 0


def _compare(args: argparse.Namespace) -> int:
    """A leaderboard of several runs with paired, Holm-adjusted tests (see mlb_pytest/leaderboard.py)."""
    from ._atomic import write_text_atomic
    from .leaderboard import LeaderboardError, compare_files, html_page, markdown, terminal_lines

    if not 0 < args.alpha < 1:
        print(f"mlb compare: --alpha must be between 0 and 1, got {args.alpha}", file=sys.stderr)
        return EXIT_USAGE
    try:
        board = compare_files(args.runs, alpha=args.alpha, min_shared=args.min_shared)
    except LeaderboardError as exc:
        print(f"mlb compare: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(terminal_lines(board)))
    for path, text in ((args.markdown, markdown), (args.html, html_page)):
        if path:
            try:
                write_text_atomic(Path(path), text(board))
            except OSError as exc:
                print(f"mlb compare: {path}: cannot write ({exc.strerror or exc})", file=sys.stderr)
                return EXIT_USAGE
            print(f"written: {path}")
    return 0


def _report_html(args: argparse.Namespace) -> int:
    """A JSON report (and optionally a baseline file or another report to compare with) as one HTML page."""
    from .baselines import BaselineError, load_baseline
    from .html_report import write_html

    def read(path: str) -> dict:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read a JSON report ({getattr(exc, 'strerror', None) or exc})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a JSON report (the top level is not an object)")
        return data

    try:
        report = read(args.run)
        if report.get("schema_version") != 1 or not all(
            k in report for k in ("run", "items", "datasets", "dimensions")
        ):
            raise ValueError(
                f"{args.run}: not an mlb-pytest report (schema_version 1 with run, items, datasets, dimensions)"
            )
        baseline = None
        if args.baseline:
            baseline = read(args.baseline)
            if "mlb_baseline" in baseline:
                baseline = load_baseline(Path(args.baseline)).data  # checked as a run would check it
            elif baseline.get("schema_version") != 1 or not isinstance(baseline.get("items"), list):
                raise ValueError(f"{args.baseline}: neither a baseline file nor an mlb-pytest report")
    except (ValueError, BaselineError) as exc:
        print(f"mlb report html: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.output) if args.output else Path(args.run).with_suffix(".html")
    try:
        write_html(out, report, baseline)
    except OSError as exc:
        print(f"mlb report html: {out}: cannot write ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_USAGE
    print(f"written: {out}")
    return 0


def _report_schema(args: argparse.Namespace) -> int:
    """The JSON report's contract (schema_version 1) as JSON Schema (see mlb_pytest/report_model.py)."""
    from ._atomic import write_text_atomic
    from .report_model import json_schema

    text = json.dumps(json_schema(), ensure_ascii=False, indent=1) + "\n"
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        write_text_atomic(Path(args.output), text)
    except OSError as exc:
        print(f"mlb report schema: {args.output}: cannot write ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_USAGE
    print(f"written: {args.output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="mlb", description="mlb-pytest suite tools")
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check suite files (answers, spans, references, duplicates, specialties)")
    v.add_argument("paths", nargs="+")
    v.add_argument(
        "--foreign",
        action="store_true",
        help="suites not bundled with mlb-pytest (e.g. MLB's release): skip naming and specialty rules",
    )
    v.set_defaults(func=_validate)
    s = sub.add_parser("stats", help="items per dimension and dataset, specialties, critical and multi-answer items")
    s.add_argument("paths", nargs="*", default=["suites"])
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_stats)
    r = sub.add_parser("review", help="physician review of disputed or uncertain judge verdicts")
    rsub = r.add_subparsers(dest="review_command", required=True)
    ra = rsub.add_parser("apply", help="make the decisions in a review file override on later runs")
    ra.add_argument("decisions", help='the review file with "decision": "yes"|"no" filled in')
    ra.add_argument("--into", default="baselines/adjudications.jsonl")
    ra.set_defaults(func=_review_apply)
    j = sub.add_parser("judge", help="judge tools")
    jsub = j.add_subparsers(dest="judge_command", required=True)
    je = jsub.add_parser("eval", help="agreement of a judge with human labels")
    source = je.add_mutually_exclusive_group(required=True)
    source.add_argument("--annotations", help="annotation JSONL file or folder (judge/data/annotations)")
    source.add_argument(
        "--public",
        metavar="FOLDER",
        help="a public NLI set, a folder of ../shared/judge_data (e.g. ../shared/judge_data/check_covid)",
    )
    je.add_argument("--judge", required=True, help="judge spec, as --mlb-judge")
    je.add_argument(
        "--split",
        default=None,
        help="annotations: only rows of this split (e.g. test); --public: the file whose name starts with it",
    )
    je.add_argument("--public-file", default=None, metavar="NAME", help="--public: this file of the folder, exactly")
    je.add_argument(
        "--limit",
        type=int,
        default=None,
        help="annotations: the first N rows of the split; --public: a seeded sample of N, stratified by label",
    )
    je.add_argument("--json", default=None)
    je.add_argument(
        "--rows",
        default=None,
        metavar="FILE",
        help="write one JSON line per judged row (label, verdict, the judge's answer): what it got wrong, and why",
    )
    je.add_argument("--concurrency", type=int, default=64, help="questions in flight (local judges batch them)")
    je.add_argument(
        "--injection",
        action="store_true",
        help="also judge each clean row with an instruction to the judge planted in it; print the flip rate",
    )
    je.add_argument(
        "--templates",
        default=None,
        help="injection templates (JSONL; default: ../injection/templates.jsonl beside --annotations)",
    )
    je.set_defaults(func=_judge_eval)
    from .judges.training.commands import add_training_parsers  # mlb judge build|pretrain|train|calibrate|sft

    add_training_parsers(jsub)
    c = sub.add_parser("compare", help="leaderboard of several runs (JSON reports) with paired, Holm-adjusted tests")
    c.add_argument("runs", nargs="+", metavar="RUN.json", help="reports written by --mlb-report")
    c.add_argument("--markdown", default=None, metavar="PATH", help="also write the leaderboard as Markdown")
    c.add_argument("--html", default=None, metavar="PATH", help="also write it as one self-contained HTML page")
    c.add_argument("--alpha", type=float, default=0.05, help="family-wise significance level (default 0.05)")
    c.add_argument(
        "--min-shared",
        type=int,
        default=30,
        help="fewest shared items a pair needs on a dimension to be tested (default 30, as drop gates)",
    )
    c.set_defaults(func=_compare)
    rp = sub.add_parser("report", help="reports of a finished run")
    rpsub = rp.add_subparsers(dest="report_command", required=True)
    rh = rpsub.add_parser("html", help="a JSON report as one self-contained HTML page (opens from disk, no network)")
    rh.add_argument("run", metavar="RUN.json", help="a report written by --mlb-report")
    rh.add_argument(
        "--baseline",
        default=None,
        metavar="B.json",
        help="a baseline file (or another report) to compare with, per dataset and dimension",
    )
    rh.add_argument(
        "-o", "--output", default=None, metavar="PATH", help="the HTML file (default: RUN.html beside RUN.json)"
    )
    rh.set_defaults(func=_report_html)
    rs = rpsub.add_parser("schema", help="the JSON report's contract (schema_version 1) as JSON Schema")
    rs.add_argument("-o", "--output", default=None, metavar="FILE", help="write it to FILE (default: print it)")
    rs.set_defaults(func=_report_schema)
    from .importers import add_import_parser  # mlb import FORMAT SRC -o FILE

    add_import_parser(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:  # the one place the CLI turns an input it cannot use into a message
        print(f"mlb {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())

"""Shared machinery of ``mlb import``: reading rows, naming bad ones, checking and writing the suite.

A format is a ``Converter``: it reads its source file as ``Raw`` rows (each knowing where it came
from: ``file:line`` or ``file[PMID …]``) and turns one row into one or more item dicts; a row that
cannot be converted raises ``RowError`` naming the field. The pipeline here does the rest the same
way for every format:

- builds the dataset header from the user's options (``--source``/``--licence`` default to
  ``UNKNOWN`` with a warning) and checks it with the project's own ``DatasetHeader``;
- stamps every item with its provenance (``source``: file and row; ``source_id=…`` tag when the
  row has an id of its own) and checks it with the same code the suite reader runs
  (``ItemRecord`` + ``build_item``), so the written file loads;
- fails the whole import on any bad row, listing each (file, row, field, reason), unless
  ``--skip-bad`` is given, in which case each skipped row is listed and counted;
- loads the text back with the suite reader before writing it atomically (``_atomic``).

Nothing is downloaded and nothing is copied anywhere but to ``-o``.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import io
import json
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .._atomic import write_text_atomic
from .._jsonsafe import JSONInputError, decode_utf8, loads
from ..catalog import MLB_DATASETS, Dimension, JudgeKind, Metric, Task
from ..errors import EXIT_USAGE, ArgumentParser, UsageError
from ..schema import LETTERS, DatasetHeader, ItemRecord
from ..specialties import BY_KEY
from ..suites.build import build_item, check_header, parse_choice_answer
from ..suites.errors import SuiteError, from_validation
from ..suites.loader import load_suite_file
from ..suites.native import info_from_header
from ..suites.release import SOURCE_ID_TAG, release_id

UNKNOWN = "unknown: set --source/--licence"
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
MAX_LISTED = 50  # bad rows named in one failure message (all of them go to stderr with --skip-bad)
# Licence words that restrict copying or reuse: the written file is derived data under that licence.
_RESTRICTED = re.compile(
    r"\bNC\b|non[- ]?commercial|\bND\b|no[- ]?deriv|research[- ]only|all rights reserved|"
    r"unknown|unstated",
    re.I,
)


class ImportFailure(UsageError, ValueError):
    """The import as a whole cannot go on: unreadable file, bad option, bad rows (without --skip-bad)."""


class RowError(UsageError, ValueError):
    """One row cannot become an item; ``field`` names the source field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.message, self.field = message, field
        super().__init__(message)


@dataclass
class Raw:
    """One source row: where it is, what it holds, or why it could not even be read."""

    where: str  # for messages: "data/test.jsonl:12", "ori_pqal.json:40 [PMID 21645374]"
    ref: str  # provenance kept on the item: "line 12", "PMID 21645374"
    data: Any = None
    source_id: str | None = None  # the row's own id in its dataset (realidx, PMID, index column)
    error: RowError | None = None  # set when the row could not be parsed at all


@dataclass
class Context:
    """One import run: the source, the options, and what the converter wants said."""

    src: Path
    opts: argparse.Namespace
    notes: list[str] = field(default_factory=list)  # said once each, after the import
    state: dict[str, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclass
class ImportResult:
    out: Path
    dataset: str
    dimension: str
    task: str
    items: int
    rows: int
    skipped: list[str] = field(default_factory=list)  # "where: field 'x': reason" per row left out
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"{self.items} item{'s' if self.items != 1 else ''} written to {self.out} (dataset {self.dataset}, {self.dimension}, task "
            f"{self.task}) from {self.rows} row{'s' if self.rows != 1 else ''}"
            + (f"; {len(self.skipped)} skipped" if self.skipped else ""),
            f"check it with: mlb validate {self.out}",
        ]


def bad_row_text(where: str, err: RowError) -> str:
    return f"{where}: " + (f"field '{err.field}': " if err.field else "") + err.message


# --- reading -------------------------------------------------------------------------------------


def read_text(src: Path) -> str:
    """The whole file as UTF-8 text (BOM dropped); unreadable or not UTF-8 fails naming file and line."""
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise ImportFailure(f"{src}: cannot read ({exc.strerror or exc})") from None
    try:
        return decode_utf8(data)
    except JSONInputError as exc:
        raise ImportFailure(f"{src}:{exc.line}: {exc.message}") from None


def read_jsonl(src: Path) -> Iterator[Raw]:
    """One ``Raw`` per non-blank line; a line that is not a JSON object is a bad row naming its line."""
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise ImportFailure(f"{src}: cannot read ({exc.strerror or exc})") from None
    for n, line in enumerate(data.split(b"\n"), 1):
        line = line.removesuffix(b"\r")
        if not line.strip():
            continue
        where, ref = f"{src}:{n}", f"line {n}"
        try:
            text = decode_utf8(line)
            value = loads(text)
        except JSONInputError as exc:
            yield Raw(where, ref, error=RowError(f"not a JSON line: {exc.message}"))
            continue
        if not isinstance(value, dict):
            yield Raw(where, ref, error=RowError(f"not a JSON object but {type(value).__name__}"))
            continue
        yield Raw(where, ref, value)


def read_json_document(src: Path) -> tuple[str, Any]:
    """(text, value) of a whole-file JSON document; broken JSON fails naming file, line and column."""
    text = read_text(src)
    try:
        return text, loads(text)
    except JSONInputError as exc:
        at = f":{exc.line}" if exc.line else ""
        raise ImportFailure(
            f"{src}{at}: {exc.message} (the whole file is one JSON document: nothing imported)"
        ) from None


_DECODER = json.JSONDecoder()
_WS = re.compile(r"\s*")


def top_level_entries(text: str) -> list[tuple[str | int, int, Any]]:
    """(key or index, line, value) of each entry of a top-level JSON object or array, in file order.

    Only called on text that parsed: it walks the entries with ``raw_decode`` to know each one's
    line, and sees a key given twice (which ``json.loads`` would silently collapse to the last).
    """
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    opener = text[pos]
    closer = "}" if opener == "{" else "]"
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    out: list[tuple[str | int, int, Any]] = []
    index = 0
    while pos < len(text) and text[pos] != closer:
        key: str | int = index
        if opener == "{":
            key, pos = _DECODER.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]  # the ':'
        line = text.count("\n", 0, pos) + 1
        value, pos = _DECODER.raw_decode(text, pos)
        out.append((key, line, value))
        index += 1
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if pos < len(text) and text[pos] == ",":
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    return out


def read_csv(src: Path, *, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells) per non-blank CSV record; a CSV syntax error fails the file."""
    text = read_text(src)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    last = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFailure(f"{src}:{last + 1}: not valid CSV ({exc}): nothing imported") from None
        start, last = last + 1, reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        yield start, row


# --- field helpers -----------------------------------------------------------------------------


def text_field(row: dict[str, Any], key: str, *, label: str | None = None, required: bool = True) -> str | None:
    """A non-empty text field (numbers are written as text); missing or empty raises ``RowError``."""
    name = label or key
    value = row.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError("missing" if value is None else "empty", name)
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RowError(f"must be text, not {type(value).__name__}", name)
    return str(value).strip()


def letter_options(value: Any, label: str = "options") -> dict[str, str]:
    """``{"A": text, ...}`` or a list of texts (lettered A, B, ...) -> checked ``{letter: text}``."""
    if isinstance(value, str):
        try:
            value = loads(value)
        except JSONInputError:
            raise RowError('must be a JSON object {"A": ..., "B": ...} or a JSON list of option texts', label) from None
    if isinstance(value, list):
        if len(value) > len(LETTERS):
            raise RowError(f"{len(value)} options: at most {len(LETTERS)}", label)
        value = dict(zip(LETTERS, value))
    if not isinstance(value, dict):
        raise RowError("must be an object of letter -> option text, or a list of option texts", label)
    out: dict[str, str] = {}
    for k, v in value.items():
        key = str(k).strip().upper()
        if len(key) != 1 or key not in LETTERS:
            raise RowError(f"option key {k!r} is not a letter A-Z", label)
        if key in out:
            raise RowError(f"option {key} is given twice", label)
        out[key] = option_text(v, f"{label}.{k}")
    if len(out) < 2:
        raise RowError(f"a choice item needs at least two options, got {len(out)}", label)
    return out


def option_text(value: Any, label: str) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RowError("missing" if value is None else f"must be text, not {type(value).__name__}", label)
    text = str(value).strip()
    if not text:
        raise RowError("empty option text", label)
    return text


def answer_letters(value: Any, options: dict[str, str], label: str = "answer") -> list[str]:
    """Letters (``"B"``, ``"b"``, ``"B,C"``, ``["B", "C"]``) checked against the options."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RowError("missing: the row has no answer", label)
    try:
        letters = list(parse_choice_answer(value))
    except ValueError as exc:
        raise RowError(f"{exc} (expected option letters such as 'B' or 'B,C')", label) from None
    absent = [a for a in letters if a not in options]
    if absent:
        raise RowError(f"answer {','.join(absent)} is not among the options {','.join(options)}", label)
    return letters


_SENT_END = "。！？!?."
_CIRCLED = r"[①-⑳]"
_NUMBERED = r"(?:[（(]\s*\d{1,2}\s*[）)]|\d{1,2}\s*[、．.](?!\d))"
_ENUM = rf"(?:{_CIRCLED}|{_NUMBERED})"
_ENUM_AT = re.compile(rf"^\s*{_ENUM}\s*")
# A circled number starts an item after any punctuation or space; "(1)" and "1." only after a
# sentence end or colon (so "give 1. fluids" or "see (1) above" in running text stay whole).
_BREAK_BEFORE_ENUM = re.compile(
    rf"(?<=[；;，,。！？!?：:\s])(?={_CIRCLED})|(?<=[；;。！？!?：:])(?=\s*{_NUMBERED})"
    rf"|(?<=[.!?])(?=\s+\d{{1,2}}[.)]\s)"
)
_SENTENCE = re.compile(r"(?<=[。！？!?])|(?<=[.])\s+(?=[A-Z(])")
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def _enum_kind(text: str) -> str | None:
    m = _ENUM_AT.match(text)
    if not m:
        return None
    t = m.group(0).strip()
    return "circled" if re.match(_CIRCLED, t) else "paren" if t[0] in "（(" else "dot"


def _unwrap(text: str) -> list[str]:
    """Lines of a hard-wrapped text rejoined: a line break is kept only after a sentence end or a
    colon, or before an enumerator; elsewhere it is a wrap (joined without space between CJK)."""
    lines = [ln.strip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for ln in lines:
        if not ln:
            if out and out[-1]:
                out.append("")
            continue
        prev = next((p for p in reversed(out) if p), "")
        if out and out[-1] and not (prev[-1] in _SENT_END + "：:；;" or _ENUM_AT.match(ln)):
            sep = "" if _CJK.match(prev[-1]) or _CJK.match(ln[0]) else " "
            out[-1] = out[-1] + sep + ln
        else:
            out.append(ln)
    return [ln for ln in out if ln]


def split_points(text: str) -> list[str]:
    """A free-text reference answer as reference points, each one checkable on its own.

    Hard line wraps are rejoined. An enumerated item (``①``, ``（1）``, ``1.``/``1、``) is one point,
    whole (its later sentences often lean on its first); other text gives one point per sentence.
    A heading ending in a colon (``诊断依据：``) is put in front of the enumerated items under it.
    Enumerators and trailing ``；``/``，`` are dropped. Text that does not split is one point.
    """
    pieces: list[tuple[str, str | None]] = []  # (text, enumerator kind of an enumerated item)
    for line in _unwrap(text):
        for part in _BREAK_BEFORE_ENUM.split(line):
            kind = _enum_kind(part)
            for sent in [part] if kind else _SENTENCE.split(part):
                body = _ENUM_AT.sub("", sent).strip().rstrip("；;，, ")
                if re.search(r"\w", body):
                    pieces.append((body, kind))
    points: list[str] = []
    heading: str | None = None
    fresh = False  # the piece right after a heading belongs to it even without an enumerator
    for i, (body, kind) in enumerate(pieces):
        nxt = pieces[i + 1][1] if i + 1 < len(pieces) else None
        # a heading: ends in a colon, or a short title whose items are numbered another way
        titled = len(body) <= 20 and not re.search(r"[。！？!?.；;，,]$", body) and nxt is not None and nxt != kind
        if i + 1 < len(pieces) and (body.endswith(("：", ":")) or titled):
            if body.endswith(":"):
                heading = body + " "
            elif body.endswith("："):
                heading = body
            else:
                heading = body + ("：" if _CJK.search(body) else ": ")
            fresh = True
            continue
        if heading and (kind or fresh):
            points.append(heading + body)
        else:
            heading = None
            points.append(body)
        fresh = False
    points = list(dict.fromkeys(points))
    whole = " ".join(text.split())
    return points or ([whole] if whole else [])


def points_field(value: Any, label: str, sep: str | None = None) -> list[str]:
    """A list of point texts: a JSON list, or text split on ``sep`` (default: one point per line)."""
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            try:
                value = loads(s)
            except JSONInputError:
                raise RowError("starts with '[' but is not a JSON list of texts", label) from None
        else:
            value = [p for p in (s.split(sep) if sep else s.splitlines())]
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise RowError("must be a list of texts (or text, one point per line)", label)
    out = [p.strip() for p in value if p.strip()]
    if not out:
        raise RowError("no points: empty", label)
    return out


# --- the converter ------------------------------------------------------------------------------

# The MLB dataset an imported set mirrors (task, output format and metric), by (dimension, task, judge).
MIRRORS: dict[tuple[Dimension, Task, JudgeKind | None], str] = {
    (Dimension.MedKQA, Task.choice, None): "CMExam",
    (Dimension.MedSE, Task.choice, None): "MASafety",
    (Dimension.SmartServ, Task.choice, None): "MAKnowledge",
    (Dimension.MedSE, Task.open, JudgeKind.safety): "GeneralSafety",
    (Dimension.MedSE, Task.open, JudgeKind.compliance): "MACompliance",
    (Dimension.SmartCare, Task.open, JudgeKind.points): "MADiagnosis",
}


def default_mirrors(dimension: Dimension, task: Task, judge: JudgeKind | None) -> str | None:
    if (dimension, task, judge) in MIRRORS:
        return MIRRORS[(dimension, task, judge)]
    same = [name for (d, t, j), name in MIRRORS.items() if t is task and j is judge]
    return same[0] if same else None


def dataset_name(text: str) -> str:
    """A file stem as a dataset name (``[A-Za-z0-9][A-Za-z0-9_.-]*``)."""
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", text).strip("-_.")
    return name or "Imported"


class Converter:
    """One source format. Subclasses set the class attributes and implement ``rows`` and ``convert``."""

    name = ""
    description = ""
    dimension = Dimension.MedKQA
    task = Task.choice
    metric = Metric.accuracy
    judge: JudgeKind | None = None
    language = "en"
    prompts: dict[str, str] = {}
    licence_hint = ""  # shown in the warning when --licence is not given

    # -- to implement --
    def default_dataset(self, src: Path) -> str:
        return dataset_name(src.stem)

    def add_format_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Options of this format only."""

    def header(self, ctx: Context) -> dict[str, Any]:
        """Task, metric, judge, prompt... as this format (and its options) say."""
        language = ctx.opts.language or self.language
        out: dict[str, Any] = {"task": self.task.value, "metric": self.metric.value, "language": language}
        if self.judge is not None:
            out["judge"] = self.judge.value
        prompt = self.prompts.get(language) or self.prompts.get("en")
        if prompt:
            out["prompt"] = prompt
        return out

    def rows(self, ctx: Context) -> Iterator[Raw]:
        raise NotImplementedError

    def prepare(self, raws: list[Raw], ctx: Context) -> None:
        """Look at all rows before converting any (e.g. to tell how answers are counted)."""

    def convert(self, raw: Raw, ctx: Context) -> list[dict[str, Any]]:
        """The item dicts of one row (usually one); ``RowError`` when it cannot be converted."""
        raise NotImplementedError

    # -- command line --
    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        h = parser.add_argument_group("suite header")
        h.add_argument("--dataset", default=None, help="dataset name (default: %s)" % self.dataset_help())
        h.add_argument(
            "--dimension",
            default=None,
            choices=[d.value for d in Dimension],
            help=f"dimension the dataset counts under (default {self.dimension.value})",
        )
        h.add_argument(
            "--source",
            default=None,
            help=f"where the data comes from (repository, commit, path); default {UNKNOWN!r} with a warning",
        )
        h.add_argument(
            "--licence",
            "--license",
            dest="licence",
            default=None,
            help=f"the data's licence as its source states it; default {UNKNOWN!r} with a warning",
        )
        h.add_argument(
            "--specialty",
            default=None,
            help="specialty key for every item (mlb_pytest/specialties.py); default none "
            "(then `mlb validate` reports each item's missing specialty; use --foreign or set it)",
        )
        h.add_argument("--language", default=None, help=f"item language (default {self.language})")
        h.add_argument("--prompt", default=None, help="prompt template with ${question} (default: the format's own)")
        h.add_argument(
            "--mirrors",
            default=None,
            choices=sorted(MLB_DATASETS),
            help="the MLB dataset whose task and metric this copies (default: by dimension and task)",
        )
        h.add_argument("--description", default=None, help="one paragraph for people (default: what was imported)")
        r = parser.add_argument_group("rows")
        r.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N rows that convert")
        r.add_argument(
            "--skip-bad",
            action="store_true",
            help="leave out rows that cannot be converted (each listed on stderr with its reason) "
            "instead of failing the import",
        )
        self.add_format_arguments(parser)

    def dataset_help(self) -> str:
        return "after SRC's file name"

    def parser(self) -> argparse.ArgumentParser:
        p = ArgumentParser(prog=f"mlb import {self.name}", description=self.description)
        p.add_argument("src", metavar="SRC", help="the source file")
        p.add_argument("-o", "--output", required=True, metavar="FILE", help="native suite file to write (.jsonl)")
        self.add_arguments(p)
        return p

    def run(self, args: argparse.Namespace) -> int:
        """``mlb import FORMAT`` after parsing: print what was done; ``EXIT_USAGE`` when nothing was written."""
        try:
            result = self.convert_file(Path(args.src), Path(args.output), args)
        except ImportFailure as exc:
            print(f"mlb import {self.name}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        for w in result.warnings:
            print(f"warning: {w}", file=sys.stderr)
        for s in result.skipped:
            print(f"skipped: {s}", file=sys.stderr)
        if result.skipped:
            print(f"skipped {len(result.skipped)} of {result.rows} rows (--skip-bad)", file=sys.stderr)
        for n in result.notes:
            print(f"note: {n}", file=sys.stderr)
        print("\n".join(result.lines()))
        return 0

    def import_file(self, src: Path | str, out: Path | str, **options: Any) -> ImportResult:
        """Python entry point: the same options as the command line (``skip_bad=True``, ``limit=5``...)."""
        args = self.parser().parse_args([str(src), "-o", str(out)])
        unknown = sorted(set(options) - set(vars(args)))
        if unknown:
            raise TypeError(f"unknown option(s) for {self.name}: {', '.join(unknown)}")
        for k, v in options.items():
            setattr(args, k, v)
        return self.convert_file(Path(src), Path(out), args)

    # -- the pipeline --
    def convert_file(self, src: Path, out: Path, opts: argparse.Namespace) -> ImportResult:
        ctx = Context(src, opts)
        warnings: list[str] = []
        if out.suffix != ".jsonl":
            raise ImportFailure(f"{out}: a native suite file must end in .jsonl (the suite reader looks for those)")
        if opts.limit is not None and opts.limit < 1:
            raise ImportFailure(f"--limit {opts.limit}: must be at least 1")
        if opts.specialty is not None and opts.specialty not in BY_KEY:
            close = difflib.get_close_matches(opts.specialty, list(BY_KEY), n=3)
            raise ImportFailure(
                f"--specialty {opts.specialty!r} is not in mlb_pytest/specialties.py"
                + (f" (did you mean {', '.join(close)}?)" if close else "")
            )
        header = self.build_header(ctx, out, warnings)
        try:
            info = check_header(info_from_header(DatasetHeader.model_validate(header)), str(out), 1)
        except ValidationError as exc:
            raise ImportFailure(
                f"the header these options give is not valid: {from_validation(str(out), 1, exc)}"
            ) from None
        except SuiteError as exc:
            raise ImportFailure(f"the header these options give is not valid: {exc}") from None

        raws = list(self.rows(ctx))
        self.prepare(raws, ctx)
        items: list[tuple[str, dict[str, Any]]] = []  # (where, item)
        bad: list[str] = []
        ids: dict[str, str] = {}
        rows = 0
        for raw in raws:
            if opts.limit is not None and len(items) >= opts.limit:
                break
            rows += 1
            try:
                if raw.error is not None:
                    raise raw.error
                converted = [self.finish(item, raw, ctx, info, ids) for item in self.convert(raw, ctx)]
            except RowError as err:
                bad.append(bad_row_text(raw.where, err))
                continue
            for item in converted:
                ids[item["id"]] = raw.where
                items.append((raw.where, item))
        if bad and not opts.skip_bad:
            shown = bad[:MAX_LISTED]
            more = f"\n  ... and {len(bad) - len(shown)} more" if len(bad) > len(shown) else ""
            raise ImportFailure(
                f"{len(bad)} of {rows} rows of {src} cannot be converted; nothing written "
                "(fix them, or pass --skip-bad to leave them out, each listed):\n  " + "\n  ".join(shown) + more
            )
        if not items:
            raise ImportFailure(
                f"{src}: no rows could be converted" + (f" ({len(bad)} bad rows)" if bad else " (no rows found)")
            )
        if not opts.description:
            header["description"] = self.describe(header, src, len(items))
        text = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in [header, *(it for _, it in items)])
        self.verify(text, out, [w for w, _ in items])
        try:
            write_text_atomic(out, text)
        except OSError as exc:
            raise ImportFailure(f"{out}: cannot write ({exc.strerror or exc})") from None
        return ImportResult(
            out,
            header["dataset"],
            header["dimension"],
            header["task"],
            len(items),
            rows,
            skipped=bad,
            notes=ctx.notes,
            warnings=warnings,
        )

    def build_header(self, ctx: Context, out: Path, warnings: list[str]) -> dict[str, Any]:
        opts = ctx.opts
        fields = self.header(ctx)
        try:
            dimension = Dimension(opts.dimension) if opts.dimension else self.default_dimension(ctx)
        except ValueError:
            raise ImportFailure(
                f"--dimension {opts.dimension!r}: expected one of " + ", ".join(d.value for d in Dimension)
            ) from None
        task = Task(fields["task"])
        judge = JudgeKind(fields["judge"]) if fields.get("judge") else None
        mirrors = opts.mirrors or default_mirrors(dimension, task, judge)
        if opts.prompt:
            fields["prompt"] = opts.prompt
        header: dict[str, Any] = {"mlb_suite": 1, "dataset": opts.dataset or self.default_dataset(ctx.src)}
        if mirrors:
            header["mirrors"] = mirrors
        else:
            warnings.append(
                f"no MLB dataset mirrors {dimension.value}/{task.value}: `mlb validate` will ask for --mirrors"
            )
        header["dimension"] = dimension.value
        header.update(fields)
        header["source"] = opts.source or UNKNOWN
        header["licence"] = opts.licence or UNKNOWN
        if opts.description:
            header["description"] = opts.description
        if not opts.source or not opts.licence:
            missing = " and ".join(n for n, v in (("--source", opts.source), ("--licence", opts.licence)) if not v)
            warnings.append(
                f"{missing} not given: the header says {UNKNOWN!r}; set them to what the data's own "
                f"source states" + (f" ({self.licence_hint})" if self.licence_hint else "")
            )
        licence = opts.licence or UNKNOWN
        if _RESTRICTED.search(licence):
            warnings.append(
                f"licence {licence!r}: the written file is derived data under it; keep it out of "
                "repositories and releases that its terms do not allow"
            )
        folder = out.parent.name.lower()
        markers = {d.marker: d for d in Dimension}
        if folder in markers and markers[folder] is not dimension:
            warnings.append(f"{out} is under {folder}/ but the dataset counts under {dimension.value}")
        if opts.specialty is None and not self.has_specialty_column(ctx):
            warnings.append(
                "no --specialty: items have none, which `mlb validate` reports for bundled suites "
                "(validate with --foreign, or re-import with --specialty KEY)"
            )
        return header

    def default_dimension(self, ctx: Context) -> Dimension:
        return self.dimension

    def has_specialty_column(self, ctx: Context) -> bool:
        return False

    def describe(self, header: dict[str, Any], src: Path, n: int) -> str:
        digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
        return (
            f"{header['dataset']}: {n} items imported by `mlb import {self.name}` from {src.name} "
            f"(sha256 {digest}...). Source: {header['source']}. Licence: {header['licence']}."
        )

    def finish(self, item: dict[str, Any], raw: Raw, ctx: Context, info: Any, ids: dict[str, str]) -> dict[str, Any]:
        """Add id, provenance and specialty, then check the item the way the suite reader will."""
        original = raw.source_id
        if "id" not in item:
            if original is not None:
                item_id, _ = release_id(original, 0, raw.where, None, "id")
            else:
                item_id = dataset_name(raw.ref.replace(" ", ""))
            item = {"id": item_id, **item}
        if item["id"] in ids:
            raise RowError(f"id {item['id']!r} is already used by {ids[item['id']]}", "id")
        tags = list(item.pop("tags", []))
        if original is not None:
            tags.insert(0, f"{SOURCE_ID_TAG}{original}")
        if ctx.opts.specialty and "specialty" not in item:
            item["specialty"] = ctx.opts.specialty
        item["source"] = f"{ctx.src.name} {raw.ref}"
        if tags:
            item["tags"] = list(dict.fromkeys(t for t in tags if t.strip()))
        check_item(item, info)
        return item

    def verify(self, text: str, out: Path, wheres: Sequence[str]) -> None:
        """Load the text with the suite reader before it is written: it must give every item back."""
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / out.name
            probe.write_text(text, encoding="utf-8")
            res = load_suite_file(probe, display=str(out))
        if res.errors:
            named = []
            for e in res.errors[:MAX_LISTED]:
                row = wheres[e.line - 2] if e.line and 2 <= e.line < len(wheres) + 2 else "header"
                named.append(f"{row}: {e}")
            raise ImportFailure(
                "the converted file would not load (a bug of the importer; nothing written):\n  " + "\n  ".join(named)
            )
        if len(res.items) != len(wheres):
            raise ImportFailure(f"the converted file loads {len(res.items)} items, expected {len(wheres)}")


def check_item(item: dict[str, Any], info: Any) -> None:
    """What the suite reader checks on an item line, as a ``RowError`` naming the item field."""
    try:
        json.dumps(item, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise RowError("holds a lone UTF-16 surrogate, which is not text") from None
    try:
        record = ItemRecord.model_validate(item)
    except ValidationError as exc:
        err = from_validation("", None, exc)
        raise RowError(err.message, err.field) from None
    fields = record.model_dump(exclude_none=True)
    if record.dialogue:
        fields["dialogue"] = [t.model_dump() for t in record.dialogue]
    try:
        build_item(info, fields, "", None)
    except SuiteError as exc:
        raise RowError(exc.message, exc.field) from None


def explanation(item: dict[str, Any], text: str | None, ctx: Context, what: str) -> None:
    """Keep an explanation on the item when the schema has a field for it; otherwise say it was not kept."""
    if not text:
        return
    if "explanation" in ItemRecord.model_fields:
        item["explanation"] = text
    else:
        ctx.note(
            f"{what} not written: the item schema (mlb_pytest/schema.py ItemRecord) has no field for "
            "explanations; they stay in the source file"
        )

"""``mlb import generic``: any CSV, TSV or JSONL table -> native items, with the columns named on the command line.

``--map KEY=COLUMN[,KEY=COLUMN...]`` (repeatable) says which source column holds what:

- ``question`` (required), ``context`` (text put before the question), ``id`` (the row's own id:
  item id and ``source_id``; without it items are ``line<N>``), ``specialty`` (a key of
  ``mlb_pytest/specialties.py``), ``tags`` (a list, or text split on commas), ``explanation``.
- choice items: ``options`` (a JSON object ``{"A": ...}`` or a JSON list, also inside a CSV cell)
  or one column per letter (``A=opa,B=opb,...``; empty trailing letters are left out), and
  ``answer``, read as ``--answer-kind``: ``letter`` (``B``, ``B,C``; the default), ``index0`` /
  ``index1`` (numbers counting from 0 or 1), or ``text`` (the option's text).
- open items: ``answer`` (the reference answer), ``points`` (``--judge points``: a JSON list or text
  with one point per line, or per ``--sep``; without it the answer is split into one point per
  sentence), ``risks`` (``--judge safety``, and the 2 risk items of ``compliance``), ``quality`` (the
  4 quality items of ``compliance``).

``--task`` defaults to ``choice`` when options are mapped, else ``open``; ``--judge`` to
``compliance`` when quality is mapped, ``safety`` when risks are, else ``points``. Columns are
names from the CSV header (``--no-header``: 1, 2, ... by position) or JSONL keys (``a.b`` reaches
into nested objects). A mapped column the CSV header lacks fails the import; one a JSONL row lacks
is a bad row naming it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from .._jsonsafe import JSONInputError, loads
from ..catalog import Dimension, Metric
from ..schema import LETTERS
from ..specialties import BY_KEY
from .common import (
    Context,
    Converter,
    ImportFailure,
    Raw,
    RowError,
    answer_letters,
    explanation,
    letter_options,
    option_text,
    points_field,
    read_csv,
    read_jsonl,
    split_points,
)

KEYS = (
    "id",
    "question",
    "context",
    "options",
    "answer",
    "points",
    "risks",
    "quality",
    "specialty",
    "tags",
    "explanation",
)
PROMPTS = {
    ("choice", "en"): (
        "Answer the following multiple-choice question. Choose every correct option.\n"
        "Output only the capital letter(s) of your choice (e.g. B, or A,C for several), "
        "with no explanation.\nQuestion: ${question}\nOptions:\n${options}\nAnswer:"
    ),
    ("choice", "zh"): (
        "请回答下面的选择题，选出全部正确选项。\n只输出所选选项的大写字母（如 B；多选如 A,C），不要解释。\n"
        "题目：${question}\n选项：\n${options}\n答案："
    ),
    ("open", "en"): "Answer the following question.\n${question}",
    ("open", "zh"): "请回答下面的问题。\n${question}",
}


def parse_map(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values or []:
        for part in value.split(","):
            if not part.strip():
                continue
            key, sep, col = part.partition("=")
            key, col = key.strip(), col.strip()
            if not sep or not col:
                raise ImportFailure(f"--map {part!r}: expected KEY=COLUMN")
            if key not in KEYS and not (len(key) == 1 and key in LETTERS):
                raise ImportFailure(f"--map {key!r}: expected one of {', '.join(KEYS)} or an option letter A-Z")
            if key in out:
                raise ImportFailure(f"--map names {key!r} twice")
            out[key] = col
    if "question" not in out:
        raise ImportFailure("--map must name the question column (question=COLUMN)")
    letters = [k for k in out if len(k) == 1]
    if letters and "options" in out:
        raise ImportFailure("--map: give options=COLUMN or one column per letter (A=...,B=...), not both")
    return out


def lookup(row: dict[str, Any], column: str) -> tuple[bool, Any]:
    """(found, value) of a column; ``a.b`` reaches into nested objects of a JSONL row."""
    if column in row:
        return True, row[column]
    node: Any = row
    for part in column.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


class Generic(Converter):
    name = "generic"
    description = "any CSV/TSV/JSONL table with a column mapping (--map question=q,options=o,answer=a) -> native items"
    licence_hint = "the data's own source says which"

    def dataset_help(self) -> str:
        return "SRC's file name"

    def add_format_arguments(self, parser: argparse.ArgumentParser) -> None:
        g = parser.add_argument_group("columns")
        g.add_argument(
            "--map",
            action="append",
            metavar="KEY=COLUMN[,...]",
            help="which column holds what: question, options or A..Z, answer, points, risks, quality, "
            "context, id, specialty, tags, explanation",
        )
        g.add_argument(
            "--task", choices=["choice", "open"], default=None, help="choice (default when options are mapped) or open"
        )
        g.add_argument(
            "--judge",
            choices=["points", "safety", "compliance"],
            default=None,
            help="how open items are judged (default: compliance with quality, safety with risks, else points)",
        )
        g.add_argument(
            "--answer-kind",
            choices=["letter", "index0", "index1", "text"],
            default="letter",
            help="how a choice answer is written (default letter)",
        )
        g.add_argument("--sep", default=None, help="separator of points/risks/quality given as text (default: lines)")
        g.add_argument(
            "--input-format",
            choices=["auto", "csv", "tsv", "jsonl"],
            default="auto",
            help="default: by SRC's suffix (.csv, .tsv, .jsonl/.ndjson)",
        )
        g.add_argument("--no-header", action="store_true", help="CSV/TSV without a header: columns are 1, 2, ...")

    def setup(self, ctx: Context) -> None:
        if "map" in ctx.state:
            return
        m = parse_map(ctx.opts.map)
        ctx.state["map"] = m
        has_options = "options" in m or any(len(k) == 1 for k in m)
        task = ctx.opts.task or ("choice" if has_options else "open")
        if task == "choice":
            if not has_options:
                raise ImportFailure("--task choice needs options: --map options=COLUMN or A=COL,B=COL,...")
            if "answer" not in m:
                raise ImportFailure("--task choice needs the answer column: --map answer=COLUMN")
            if ctx.opts.judge:
                raise ImportFailure("--judge is for open items only")
            judge = None
        else:
            if has_options:
                raise ImportFailure("--task open items have no options: drop options/letters from --map")
            judge = ctx.opts.judge or ("compliance" if "quality" in m else "safety" if "risks" in m else "points")
            need = {"points": ("points", "answer"), "safety": ("risks",), "compliance": ("risks",)}[judge]
            if not any(k in m for k in need):
                raise ImportFailure(f"--judge {judge} needs --map " + " or ".join(f"{k}=COLUMN" for k in need))
            if judge == "compliance" and "quality" not in m:
                raise ImportFailure("--judge compliance needs --map quality=COLUMN (4 quality items per row)")
        ctx.state["task"], ctx.state["judge"] = task, judge
        fmt = ctx.opts.input_format
        if fmt == "auto":
            suffix = ctx.src.suffix.lower()
            fmt = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(suffix)
            if fmt is None:
                raise ImportFailure(
                    f"{ctx.src}: cannot tell the format from {suffix or 'no suffix'!r}: "
                    "give --input-format csv, tsv or jsonl"
                )
        ctx.state["format"] = fmt

    def header(self, ctx: Context) -> dict[str, Any]:
        self.setup(ctx)
        task, judge = ctx.state["task"], ctx.state["judge"]
        language = ctx.opts.language or "en"
        out: dict[str, Any] = {
            "task": task,
            "metric": (Metric.accuracy if task == "choice" else Metric.judge).value,
            "language": language,
        }
        if judge:
            out["judge"] = judge
        out["prompt"] = PROMPTS.get((task, "zh" if language.lower().startswith("zh") else "en"))
        return out

    def default_dimension(self, ctx: Context) -> Dimension:
        self.setup(ctx)
        if ctx.state["task"] == "choice":
            return Dimension.MedKQA
        return Dimension.SmartCare if ctx.state["judge"] == "points" else Dimension.MedSE

    def has_specialty_column(self, ctx: Context) -> bool:
        self.setup(ctx)
        return "specialty" in ctx.state["map"]

    def rows(self, ctx: Context) -> Iterator[Raw]:
        self.setup(ctx)
        m = ctx.state["map"]
        if ctx.state["format"] == "jsonl":
            for raw in read_jsonl(ctx.src):
                yield self._with_id(raw, m)
            return
        records = read_csv(ctx.src, delimiter="\t" if ctx.state["format"] == "tsv" else ",")
        if ctx.opts.no_header:
            names: list[str] | None = None
        else:
            first = next(records, None)
            if first is None:
                raise ImportFailure(f"{ctx.src}: empty file (no header line)")
            names = [c.strip() for c in first[1]]
            dup = next((n for n in names if n and names.count(n) > 1), None)
            if dup is not None:
                raise ImportFailure(f"{ctx.src}:{first[0]}: column {dup!r} appears twice in the header")
            absent = [c for c in m.values() if c not in names]
            if absent:
                raise ImportFailure(
                    f"{ctx.src}:{first[0]}: the header has no column "
                    + ", ".join(repr(a) for a in absent)
                    + f" (it has: {', '.join(names)})"
                )
        for line, cells in records:
            raw = Raw(f"{ctx.src}:{line}", f"line {line}")
            cols = names or [str(i + 1) for i in range(len(cells))]
            if names is not None and len(cells) != len(names):
                raw.error = RowError(f"{len(cells)} columns, the header has {len(names)}")
            else:
                raw.data = dict(zip(cols, cells))
                raw = self._with_id(raw, m)
            yield raw

    @staticmethod
    def _with_id(raw: Raw, m: dict[str, str]) -> Raw:
        if raw.error is None and "id" in m:
            found, value = lookup(raw.data, m["id"])
            if found and isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
                raw.source_id = str(value).strip()
        return raw

    def convert(self, raw: Raw, ctx: Context) -> list[dict[str, Any]]:
        m, row = ctx.state["map"], raw.data

        def get(key: str, required: bool = True) -> Any:
            found, value = lookup(row, m[key])
            if not found or value is None or (isinstance(value, str) and not value.strip()):
                if required:
                    raise RowError(
                        ("missing" if not found or value is None else "empty") + f" (mapped to {key})", m[key]
                    )
                return None
            return value

        def text(key: str, required: bool = True) -> str | None:
            value = get(key, required)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise RowError(f"must be text, not {type(value).__name__} (mapped to {key})", m[key])
            return str(value).strip()

        question = text("question")
        assert question is not None
        if "context" in m:
            context = text("context", required=False)
            if context:
                question = f"{context}\n\n{question}"
        item: dict[str, Any] = {"question": question}
        if ctx.state["task"] == "choice":
            options = self.options(m, row)
            item["options"] = options
            item["answer"] = ",".join(self.answer(get("answer"), options, ctx.opts.answer_kind, m["answer"]))
        else:
            judge = ctx.state["judge"]
            answer = text("answer", required=False) if "answer" in m else None
            if answer:
                item["answer"] = answer
            sep = ctx.opts.sep
            if judge == "points":
                if "points" in m:
                    item["reference_points"] = points_field(get("points"), m["points"], sep)
                elif answer:
                    item["reference_points"] = split_points(answer)
                else:
                    raise RowError("missing (mapped to answer): no reference points can be made", m["answer"])
            else:
                item["risk_points"] = points_field(get("risks"), m["risks"], sep)
                if judge == "compliance":
                    item["quality_points"] = points_field(get("quality"), m["quality"], sep)
        if "specialty" in m:
            spec = text("specialty", required=False)
            if spec:
                if spec not in BY_KEY:
                    raise RowError(f"{spec!r} is not a specialty key of mlb_pytest/specialties.py", m["specialty"])
                item["specialty"] = spec
        if "tags" in m:
            tags = get("tags", required=False)
            if isinstance(tags, str):
                tags = [t.strip() for t in tags.split(",")]
            if tags is not None:
                if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                    raise RowError("must be a list of texts or comma-separated text", m["tags"])
                item["tags"] = [t.strip() for t in tags if t.strip()]
        if "explanation" in m:
            explanation(item, text("explanation", required=False), ctx, f"explanations (column {m['explanation']})")
        return [item]

    @staticmethod
    def options(m: dict[str, str], row: dict[str, Any]) -> dict[str, str]:
        if "options" in m:
            found, value = lookup(row, m["options"])
            if not found or value is None:
                raise RowError("missing (mapped to options)", m["options"])
            return letter_options(value, m["options"])
        letters = sorted(k for k in m if len(k) == 1)
        values: dict[str, Any] = {}
        for k in letters:
            found, value = lookup(row, m[k])
            values[k] = value if found else None
        while letters and (values[letters[-1]] is None or str(values[letters[-1]]).strip() == ""):
            letters.pop()  # a table with columns A..E holds 4-option rows too
        out = {k: option_text(values[k], m[k]) for k in letters}
        if len(out) < 2:
            raise RowError(f"a choice item needs at least two options, got {len(out)}", m[sorted(m)[0]])
        if list(out) != list(LETTERS[: len(out)]):
            raise RowError(f"options {','.join(out)} skip a letter", "options")
        return out

    @staticmethod
    def answer(value: Any, options: dict[str, str], kind: str, column: str) -> list[str]:
        if kind == "letter":
            return answer_letters(value, options, column)
        if isinstance(value, str) and kind != "text":
            s = value.strip()
            if s.startswith("["):
                try:
                    value = loads(s)
                except JSONInputError:
                    raise RowError(f"{value!r} is not a JSON list", column) from None
            else:
                value = [p for p in s.replace(";", ",").split(",") if p.strip()]
        values = value if isinstance(value, list) else [value]
        letters: list[str] = []
        keys = list(options)
        for v in values:
            if kind == "text":
                matches = [k for k, t in options.items() if " ".join(str(v).split()) == " ".join(t.split())]
                if len(matches) != 1:
                    raise RowError(
                        f"{str(v)[:80]!r} is "
                        + ("not the text of any option" if not matches else f"the text of options {','.join(matches)}"),
                        column,
                    )
                letters.append(matches[0])
                continue
            try:
                n = int(str(v).strip()) if not isinstance(v, bool) else None
            except ValueError:
                n = None
            if n is None:
                raise RowError(f"{v!r} is not an option number", column)
            n -= 0 if kind == "index0" else 1
            if not 0 <= n < len(keys):
                raise RowError(
                    f"{v!r} is not an option number ({'0' if kind == 'index0' else '1'}-"
                    f"{len(keys) - (1 if kind == 'index0' else 0)})",
                    column,
                )
            letters.append(keys[n])
        if not letters:
            raise RowError("missing: the row has no answer", column)
        return sorted(set(letters))


CONVERTER = Generic()
FORMAT, DESCRIPTION = CONVERTER.name, CONVERTER.description
add_arguments, run, import_file = CONVERTER.add_arguments, CONVERTER.run, CONVERTER.import_file

"""``mlb import medmcqa``: MedMCQA JSONL -> native choice items.

Two layouts are read, row by row:

- MedMCQA's own (``train.json``/``dev.json``, one object per line): ``question``, ``opa``..``opd``,
  ``cop`` (the right option as a number), ``exp`` (explanation), ``subject_name``, ``topic_name``,
  ``choice_type``, ``id``. The original files count ``cop`` from 1 (1-4); the Hugging Face copy
  (``openlifescienceai/medmcqa``) exported to JSON counts from 0 (0-3). ``--cop-base auto`` (the
  default) looks at the whole file: a 0 means 0-3, a 4 means 1-4, both or neither is an error asking
  for ``--cop-base 0`` or ``1``. A letter ``a``-``d`` is read as it is. ``cop`` -1 or missing (the
  test split has no published answers) is a bad row. Subject, topic and choice type become tags.
- The medagents-benchmark reformat (``xk-huang/medagents-benchmark`` ``data/medmcqa``): ``question``,
  ``options`` ``{A..D}``, ``answer_idx`` (letter), ``answer`` (text), ``realidx``.

``exp`` is kept when the item schema has an ``explanation`` field; otherwise a note says it was not.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..catalog import Dimension, Task
from .common import (
    Context,
    Converter,
    ImportFailure,
    Raw,
    RowError,
    explanation,
    letter_options,
    read_jsonl,
    text_field,
)
from .medqa import choice_row

OPTION_KEYS = ("opa", "opb", "opc", "opd")
PROMPTS = {
    "en": (
        "The following is a multiple-choice question from a postgraduate medical entrance examination. "
        "Choose the single best answer.\nOutput only the capital letter of that option, with no explanation.\n"
        "Question: ${question}\nOptions:\n${options}\nAnswer:"
    ),
}


def _cop_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


class MedMCQA(Converter):
    name = "medmcqa"
    description = "MedMCQA JSONL (question, opa..opd, cop, exp; or options/answer_idx) -> native choice items"
    dimension = Dimension.MedKQA
    task = Task.choice
    prompts = PROMPTS
    licence_hint = "MedMCQA (medmcqa/medmcqa) states MIT; check the copy you have"

    def default_dataset(self, src: Path) -> str:
        return "MedMCQA"

    def dataset_help(self) -> str:
        return "MedMCQA"

    def add_format_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--cop-base",
            choices=["auto", "0", "1"],
            default="auto",
            help="how cop counts options: 1 (original files, 1-4), 0 (Hugging Face export, 0-3), "
            "auto: from the values in the file (default)",
        )

    def rows(self, ctx: Context) -> Iterator[Raw]:
        for raw in read_jsonl(ctx.src):
            if isinstance(raw.data, dict):
                rid = raw.data.get("id", raw.data.get("realidx"))
                if rid is not None:
                    raw.source_id = str(rid)
            yield raw

    def prepare(self, raws: list[Raw], ctx: Context) -> None:
        base = ctx.opts.cop_base
        if base != "auto":
            ctx.state["base"] = int(base)
            return
        seen = {_cop_number(r.data.get("cop")) for r in raws if r.error is None and "cop" in r.data}
        seen.discard(None)
        if not seen:
            return
        if 0 in seen and 4 in seen:
            raise ImportFailure(
                f"{ctx.src}: cop takes both 0 and 4: it cannot count from 0 and from 1; "
                "check the file, or give --cop-base 0 or 1"
            )
        if 0 in seen:
            ctx.state["base"] = 0
        elif 4 in seen:
            ctx.state["base"] = 1
        elif seen & {1, 2, 3}:
            raise ImportFailure(
                f"{ctx.src}: every cop is 1, 2 or 3, so the file does not show whether it counts "
                "from 0 (Hugging Face export, 0-3) or from 1 (original files, 1-4): give --cop-base"
            )
        if "base" in ctx.state:
            ctx.note(
                f"cop read as counting from {ctx.state['base']} "
                f"({'0-3' if ctx.state['base'] == 0 else '1-4'}; --cop-base {ctx.opts.cop_base})"
            )

    def convert(self, raw: Raw, ctx: Context) -> list[dict[str, Any]]:
        row = raw.data
        if "options" in row or "answer_idx" in row:
            return [choice_row(raw, ctx)]
        question = text_field(row, "question")
        missing = [k for k in OPTION_KEYS if k not in row]
        if missing:
            raise RowError("missing (MedMCQA rows have opa, opb, opc, opd)", missing[0])
        options = letter_options({L: row[k] for L, k in zip("ABCD", OPTION_KEYS)}, "options")
        options = {L: options[L] for L in "ABCD"}
        letter = self.answer(row.get("cop"), ctx)
        item: dict[str, Any] = {"question": question, "options": options, "answer": letter}
        tags = []
        for key in ("subject_name", "topic_name", "choice_type"):
            value = row.get(key)
            if isinstance(value, str) and value.strip():
                tags.append(f"{key.removesuffix('_name')}={value.strip()}")
        if tags:
            item["tags"] = tags
        exp = row.get("exp")
        explanation(item, exp.strip() if isinstance(exp, str) else None, ctx, "MedMCQA explanations (exp)")
        return [item]

    def answer(self, cop: Any, ctx: Context) -> str:
        if cop is None:
            raise RowError("missing: the row has no answer (MedMCQA's test split publishes none)", "cop")
        if isinstance(cop, str) and cop.strip().lower() in ("a", "b", "c", "d"):
            return cop.strip().upper()
        number = _cop_number(cop)
        if number is None:
            raise RowError(f"{cop!r} is not an option number", "cop")
        if number < 0:
            raise RowError(f"{number}: the row has no answer (MedMCQA's test split publishes none)", "cop")
        base = ctx.state.get("base", 1)
        if not base <= number <= base + 3:
            raise RowError(f"{number} is not an option number ({'0-3' if base == 0 else '1-4'})", "cop")
        return "ABCD"[number - base]


CONVERTER = MedMCQA()
FORMAT, DESCRIPTION = CONVERTER.name, CONVERTER.description
add_arguments, run, import_file = CONVERTER.add_arguments, CONVERTER.run, CONVERTER.import_file

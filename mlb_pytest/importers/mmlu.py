"""``mlb import mmlu``: an MMLU subject file (hendrycks/test ``data/test/<subject>_test.csv``) -> choice items.

Headerless CSV, one question per record: question, A, B, C, D, answer letter. Rows have no id of
their own: items are named ``line<N>`` after the line where the record starts (records may span
lines), and ``source`` says ``<file> line N``. The subject (the file name without ``_test`` /
``_dev`` / ``_val``) becomes the tag ``subject=…`` and the default dataset name ``MMLU-<subject>``.
A record with other than six columns is a bad row naming its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..catalog import Dimension, Task
from .common import Context, Converter, Raw, RowError, answer_letters, dataset_name, letter_options, read_csv

COLUMNS = ("question", "A", "B", "C", "D", "answer")
PROMPTS = {
    "en": (
        "The following is a multiple-choice question about ${subject}. Choose the single best answer.\n"
        "Output only the capital letter of that option, with no explanation.\n"
        "Question: ${question}\nOptions:\n${options}\nAnswer:"
    ),
}


def subject_of(src: Path) -> str:
    return re.sub(r"_(test|dev|val)$", "", src.stem)


def choice_from_cells(cells: dict[str, str]) -> dict[str, Any]:
    question = cells["question"].strip()
    if not question:
        raise RowError("empty", "question")
    options = letter_options({k: cells[k] for k in "ABCD"}, "options")
    letters = answer_letters(cells["answer"].strip(), options, "answer")
    return {"question": question, "options": options, "answer": ",".join(letters)}


class MMLU(Converter):
    name = "mmlu"
    description = "MMLU subject CSV without header (question,A,B,C,D,answer) -> native choice items"
    dimension = Dimension.MedKQA
    task = Task.choice
    prompts = PROMPTS
    licence_hint = "hendrycks/test states MIT"

    def default_dataset(self, src: Path) -> str:
        return dataset_name(f"MMLU-{subject_of(src)}")

    def dataset_help(self) -> str:
        return "MMLU-<subject> after SRC's file name"

    def header(self, ctx: Context) -> dict[str, Any]:
        out = super().header(ctx)
        if "${subject}" in out.get("prompt", ""):
            out["prompt"] = out["prompt"].replace("${subject}", subject_of(ctx.src).replace("_", " "))
        return out

    def rows(self, ctx: Context) -> Iterator[Raw]:
        for line, cells in read_csv(ctx.src):
            raw = Raw(f"{ctx.src}:{line}", f"line {line}", cells)
            if len(cells) != len(COLUMNS):
                raw.error = RowError(f"{len(cells)} columns, expected {len(COLUMNS)} ({','.join(COLUMNS)})")
            yield raw

    def convert(self, raw: Raw, ctx: Context) -> list[dict[str, Any]]:
        item = choice_from_cells(dict(zip(COLUMNS, raw.data)))
        item["tags"] = [f"subject={subject_of(ctx.src)}"]
        return [item]


CONVERTER = MMLU()
FORMAT, DESCRIPTION = CONVERTER.name, CONVERTER.description
add_arguments, run, import_file = CONVERTER.add_arguments, CONVERTER.run, CONVERTER.import_file

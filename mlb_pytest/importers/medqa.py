"""``mlb import medqa``: MedQA JSONL (USMLE, and the mainland-China / Taiwan sets) -> native choice items.

One JSON object per line: ``question``, ``options`` (``{"A": text, ...}``: four or five),
``answer_idx`` (the right letter), usually ``answer`` (the right option's text, checked against
``options[answer_idx]``), ``meta_info`` (``step1`` / ``step2&3``, kept as a tag ``meta_info=…``),
and in some copies ``realidx`` (kept as the item id and as ``source_id=…``) and
``metamap_phrases`` (not kept: derived keywords). Rows without an id are named ``line<N>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..catalog import Dimension, Task
from .common import Context, Converter, Raw, RowError, answer_letters, letter_options, read_jsonl, text_field

PROMPTS = {
    "en": (
        "The following is a multiple-choice question from a medical licensing examination. Choose the single "
        "best answer.\nOutput only the capital letter of that option, with no explanation.\n"
        "Question: ${question}\nOptions:\n${options}\nAnswer:"
    ),
    "zh": (
        "以下是一道医师资格考试单项选择题，请选出唯一最佳答案。\n只输出该选项的大写字母，不要解释。\n"
        "题目：${question}\n选项：\n${options}\n答案："
    ),
}


def choice_row(raw: Raw, ctx: Context, *, answer_key: str = "answer_idx") -> dict[str, Any]:
    """The MedQA-shaped row (question, options {A..}, answer letter, answer text) as a choice item."""
    row = raw.data
    question = text_field(row, "question")
    if "options" not in row:
        raise RowError("missing", "options")
    options = letter_options(row["options"])
    letters = answer_letters(row.get(answer_key), options, answer_key)
    answer_text = row.get("answer")
    if isinstance(answer_text, str) and answer_text.strip() and len(letters) == 1:
        if " ".join(answer_text.split()) != " ".join(options[letters[0]].split()):
            raise RowError(
                f"answer text {answer_text[:80]!r} is not option {letters[0]} "
                f"({options[letters[0]][:80]!r}) that {answer_key} names",
                "answer",
            )
    return {"question": question, "options": options, "answer": ",".join(letters)}


class MedQA(Converter):
    name = "medqa"
    description = "MedQA JSONL (question, options {A..E}, answer_idx, meta_info) -> native choice items"
    dimension = Dimension.MedKQA
    task = Task.choice
    prompts = PROMPTS
    licence_hint = "the copy in xk-huang/medagents-benchmark states MIT; jind11/MedQA states its own terms"

    def default_dataset(self, src: Path) -> str:
        return "MedQA"

    def dataset_help(self) -> str:
        return "MedQA"

    def rows(self, ctx: Context) -> Iterator[Raw]:
        for raw in read_jsonl(ctx.src):
            if isinstance(raw.data, dict) and raw.data.get("realidx") is not None:
                raw.source_id = str(raw.data["realidx"])
            yield raw

    def convert(self, raw: Raw, ctx: Context) -> list[dict[str, Any]]:
        item = choice_row(raw, ctx)
        if "metamap_phrases" in raw.data:
            ctx.note("metamap_phrases (keywords derived from the question) are not kept")
        meta = raw.data.get("meta_info")
        if isinstance(meta, str) and meta.strip():
            item["tags"] = [f"meta_info={meta.strip()}"]
        return [item]


CONVERTER = MedQA()
FORMAT, DESCRIPTION = CONVERTER.name, CONVERTER.description
add_arguments, run, import_file = CONVERTER.add_arguments, CONVERTER.run, CONVERTER.import_file

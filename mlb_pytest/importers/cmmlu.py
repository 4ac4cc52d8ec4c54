"""``mlb import cmmlu``: a CMMLU subject file (haonan-li/CMMLU ``data/test/<subject>.csv``) -> choice items.

CSV with a header ``,Question,A,B,C,D,Answer``: the first, unnamed column is the row's index in
the subject (kept as ``source_id`` and used as the item id). Columns are found by their header
names (any case), so a file with the columns in another order reads the same; a header without
them fails the import, a record with more or fewer cells than the header is a bad row naming its
line. The subject (file name) becomes the tag ``subject=…`` and the dataset ``CMMLU-<subject>``.

CMMLU is CC BY-NC-SA 4.0 (non-commercial, share-alike): the written file carries that licence.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..catalog import Dimension, Task
from .common import Context, Converter, ImportFailure, Raw, RowError, dataset_name, read_csv
from .mmlu import choice_from_cells

NEEDED = ("question", "a", "b", "c", "d", "answer")
PROMPTS = {
    "zh": (
        "以下是关于${subject}的单项选择题，请选出唯一正确的答案。\n只输出该选项的大写字母，不要解释。\n"
        "题目：${question}\n选项：\n${options}\n答案："
    ),
}


def header_columns(src: Path, line: int, cells: list[str], needed: tuple[str, ...]) -> dict[str, int]:
    """Column index of each needed name (case-insensitive); the unnamed first column is ``""``."""
    names = [c.strip().lower() for c in cells]
    missing = [n for n in needed if n not in names]
    if missing:
        raise ImportFailure(
            f"{src}:{line}: the header {','.join(cells)!r} has no column " + ", ".join(repr(m) for m in missing)
        )
    where: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in where and (n in needed or n == ""):
            raise ImportFailure(f"{src}:{line}: column {cells[i]!r} appears twice in the header")
        where.setdefault(n, i)
    return where


class CMMLU(Converter):
    name = "cmmlu"
    description = "CMMLU subject CSV with header (,Question,A,B,C,D,Answer) -> native choice items"
    dimension = Dimension.MedKQA
    task = Task.choice
    language = "zh"
    prompts = PROMPTS
    licence_hint = "haonan-li/CMMLU states CC BY-NC-SA 4.0"

    def default_dataset(self, src: Path) -> str:
        return dataset_name(f"CMMLU-{src.stem}")

    def dataset_help(self) -> str:
        return "CMMLU-<subject> after SRC's file name"

    def header(self, ctx: Context) -> dict[str, Any]:
        out = super().header(ctx)
        if "${subject}" in out.get("prompt", ""):
            out["prompt"] = out["prompt"].replace("${subject}", ctx.src.stem.replace("_", " "))
        return out

    def rows(self, ctx: Context) -> Iterator[Raw]:
        records = read_csv(ctx.src)
        first = next(records, None)
        if first is None:
            raise ImportFailure(f"{ctx.src}: empty file (no header line)")
        cols = header_columns(ctx.src, first[0], first[1], NEEDED)
        width = len(first[1])
        for line, cells in records:
            raw = Raw(f"{ctx.src}:{line}", f"line {line}", None)
            if len(cells) != width:
                raw.error = RowError(f"{len(cells)} columns, the header has {width} ({','.join(first[1])})")
            else:
                raw.data = {n: cells[i] for n, i in cols.items()}
                if "" in cols and cells[cols[""]].strip():
                    raw.source_id = cells[cols[""]].strip()
            yield raw

    def convert(self, raw: Raw, ctx: Context) -> list[dict[str, Any]]:
        d = raw.data
        item = choice_from_cells(
            {"question": d["question"], "A": d["a"], "B": d["b"], "C": d["c"], "D": d["d"], "answer": d["answer"]}
        )
        item["tags"] = [f"subject={ctx.src.stem}"]
        return [item]


CONVERTER = CMMLU()
FORMAT, DESCRIPTION = CONVERTER.name, CONVERTER.description
add_arguments, run, import_file = CONVERTER.add_arguments, CONVERTER.run, CONVERTER.import_file

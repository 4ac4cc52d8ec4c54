"""``mlb import pubmedqa``: PubMedQA (``ori_pqal.json`` and its kin) -> native 3-option choice items.

The source is one JSON object keyed by PMID; each record has ``QUESTION``, ``CONTEXTS`` (the
abstract's paragraphs; ``LABELS`` names their sections), ``final_decision`` (yes / no / maybe),
``LONG_ANSWER``, ``YEAR``, ``MESHES``. Each record becomes a choice item: the contexts joined (with
their section labels) as the material before the question, options A yes / B no / C maybe, the
answer the letter of ``final_decision``; the PMID is the item id and ``source_id``.

``--labels FILE`` (e.g. ``test_ground_truth.json``, ``{PMID: "yes"|"no"|"maybe"}``) keeps only the
PMIDs it lists (the test split) and takes their answers from it; a PMID it lists that SRC lacks is a
bad row, and so is a record whose ``final_decision`` disagrees with it.
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
    read_json_document,
    text_field,
    top_level_entries,
)

DECISIONS = {"yes": "A", "no": "B", "maybe": "C"}
OPTIONS = {"A": "yes", "B": "no", "C": "maybe"}
PROMPTS = {
    "en": (
        "Answer the research question using the abstract below. Choose yes, no or maybe.\n"
        "Output only the capital letter of your choice, with no explanation.\n"
        "${question}\nOptions:\n${options}\nAnswer:"
    ),
}


def keyed_records(src: Path, what: str) -> Iterator[tuple[str, int, Any]]:
    text, doc = read_json_document(src)
    if not isinstance(doc, dict):
        raise ImportFailure(f"{src}: expected one JSON object keyed by PMID ({what}), not {type(doc).__name__}")
    for key, line, value in top_level_entries(text):
        yield str(key), line, value


class PubMedQA(Converter):
    name = "pubmedqa"
    description = "PubMedQA JSON keyed by PMID (QUESTION, CONTEXTS, final_decision) -> native yes/no/maybe items"
    dimension = Dimension.MedKQA
    task = Task.choice
    prompts = PROMPTS
    licence_hint = "pubmedqa/pubmedqa states MIT"

    def default_dataset(self, src: Path) -> str:
        return "PubMedQA"

    def dataset_help(self) -> str:
        return "PubMedQA"

    def add_format_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--labels",
            default=None,
            metavar="FILE",
            help="a {PMID: yes|no|maybe} file (test_ground_truth.json): import only its PMIDs, with its answers",
        )

    def rows(self, ctx: Context) -> Iterator[Raw]:
        labels: dict[str, tuple[str, str]] | None = None
        if ctx.opts.labels:
            lpath = Path(ctx.opts.labels)
            labels = {}
            for key, line, value in keyed_records(lpath, "labels"):
                where = f"{lpath}:{line} [PMID {key}]"
                if key in labels:
                    raise ImportFailure(f"{where}: PMID listed twice (first at {labels[key][1]})")
                labels[key] = (value, where)
            ctx.state["labels"] = labels
        seen: dict[str, str] = {}
        outside = 0
        for key, line, value in keyed_records(ctx.src, "records"):
            where = f"{ctx.src}:{line} [PMID {key}]"
            if labels is not None and key not in labels:
                outside += 1
                continue
            raw = Raw(where, f"PMID {key}", value, source_id=key)
            if key in seen:
                raw.error = RowError(
                    f"PMID {key} appears twice (first at {seen[key]}); JSON keeps only the last", "PMID"
                )
            elif not isinstance(value, dict):
                raw.error = RowError(f"the record is {type(value).__name__}, not an object")
            seen.setdefault(key, where)
            yield raw
        if outside:
            ctx.note(
                f"{outside} records of {ctx.src.name} are not in {Path(ctx.opts.labels).name} and were not "
                "imported (--labels selects the PMIDs)"
            )
        for key, (_, lwhere) in (labels or {}).items():
            if key not in seen:
                yield Raw(
                    lwhere,
                    f"PMID {key}",
                    source_id=key,
                    error=RowError(f"PMID {key} is in {Path(ctx.opts.labels).name} but not in {ctx.src.name}"),
                )

    def convert(self, raw: Raw, ctx: Context) -> list[dict[str, Any]]:
        rec = raw.data
        question = text_field(rec, "QUESTION")
        contexts = rec.get("CONTEXTS")
        if (
            not isinstance(contexts, list)
            or not contexts
            or not all(isinstance(c, str) and c.strip() for c in contexts)
        ):
            raise RowError(
                "missing or not a list of paragraphs" if not contexts else "holds an empty or non-text paragraph",
                "CONTEXTS",
            )
        labels = rec.get("LABELS")
        if isinstance(labels, list) and len(labels) == len(contexts) and all(isinstance(x, str) for x in labels):
            paragraphs = [
                f"{lab.strip()}: {c.strip()}" if lab.strip() else c.strip() for lab, c in zip(labels, contexts)
            ]
        else:
            paragraphs = [c.strip() for c in contexts]
        decision = rec.get("final_decision")
        given = ctx.state.get("labels")
        if given is not None:
            label = given[raw.source_id][0]
            if decision is not None and str(decision).strip().lower() != str(label).strip().lower():
                raise RowError(f"{decision!r}, but {Path(ctx.opts.labels).name} says {label!r}", "final_decision")
            decision = label
        if decision is None:
            raise RowError("missing: the record has no answer", "final_decision")
        letter = DECISIONS.get(str(decision).strip().lower())
        if letter is None:
            raise RowError(f"{decision!r} is not yes, no or maybe", "final_decision")
        item: dict[str, Any] = {
            "question": "Context:\n" + "\n\n".join(paragraphs) + f"\n\nQuestion: {question}",
            "options": dict(OPTIONS),
            "answer": letter,
        }
        year = rec.get("YEAR")
        if isinstance(year, (str, int)) and str(year).strip():
            item["tags"] = [f"year={str(year).strip()}"]
        long_answer = rec.get("LONG_ANSWER")
        explanation(
            item,
            long_answer.strip() if isinstance(long_answer, str) else None,
            ctx,
            "PubMedQA long answers (LONG_ANSWER)",
        )
        return [item]


CONVERTER = PubMedQA()
FORMAT, DESCRIPTION = CONVERTER.name, CONVERTER.description
add_arguments, run, import_file = CONVERTER.add_arguments, CONVERTER.run, CONVERTER.import_file

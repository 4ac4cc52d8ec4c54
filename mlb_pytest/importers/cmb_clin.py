"""``mlb import cmb-clin``: CMB-Clin cases (FreedomIntelligence/CMB ``CMB-test-qa.json``) -> open items.

The source is a JSON list of cases: ``id``, ``title``, ``description`` (the case: history,
examination, tests) and ``QA_pairs`` (``question``, ``answer``: a free-text reference answer).
Each QA pair becomes one open item judged point by point (``judge: points``): the case
description then the question as the item's question, the reference answer as ``answer`` (shown as
expected) and split into ``reference_points`` (one per sentence or enumerated item, hard line wraps
rejoined, a heading such as ``诊断依据：`` put in front of the items under it). Item ids are
``<case id>-q<N>``; ``source_id`` is the case id, ``qa=N`` the pair. The case title is kept as a
tag only (``case_title=…``): it often names the disease the questions ask for.

A case that is not an object with a description and a list of QA pairs is one bad row; a pair
without a question or answer is a bad row of its own (``…[case 3].QA_pairs[1]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..catalog import Dimension, JudgeKind, Metric, Task
from ..suites.release import release_id
from .common import (
    Context,
    Converter,
    ImportFailure,
    Raw,
    RowError,
    read_json_document,
    split_points,
    text_field,
    top_level_entries,
)

PROMPTS = {
    "zh": "你是一名经验丰富的临床医生。请阅读下面的病例，回答最后提出的问题，给出明确、具体的结论及其依据。\n${question}",
    "en": (
        "You are an experienced clinician. Read the case below and answer the question at its end, giving "
        "clear, specific conclusions and the reasons for them.\n${question}"
    ),
}
QUESTION_LABEL = {"zh": "问题：", "en": "Question: "}


class CMBClin(Converter):
    name = "cmb-clin"
    description = "CMB-Clin JSON (cases with QA pairs) -> native open items judged on reference points"
    dimension = Dimension.SmartCare
    task = Task.open
    metric = Metric.judge
    judge = JudgeKind.points
    language = "zh"
    prompts = PROMPTS
    licence_hint = (
        "FreedomIntelligence/CMB's LICENSE is Apache-2.0 (added after the data folder was removed; "
        "its READMEs state no data licence)"
    )

    def default_dataset(self, src: Path) -> str:
        return "CMB-Clin"

    def dataset_help(self) -> str:
        return "CMB-Clin"

    def rows(self, ctx: Context) -> Iterator[Raw]:
        text, doc = read_json_document(ctx.src)
        if not isinstance(doc, list):
            raise ImportFailure(f"{ctx.src}: expected a JSON list of cases, not {type(doc).__name__}")
        for index, line, case in top_level_entries(text):
            cid = case.get("id") if isinstance(case, dict) else None
            label = f"case {index}" + (f" (id {cid})" if cid is not None else "")
            where = f"{ctx.src}:{line} [{label}]"
            if not isinstance(case, dict):
                yield Raw(where, f"case {index}", error=RowError(f"a case is {type(case).__name__}, not an object"))
                continue
            try:
                description = text_field(case, "description")
            except RowError as err:
                yield Raw(where, f"case {index}", error=err)
                continue
            pairs = case.get("QA_pairs")
            if not isinstance(pairs, list) or not pairs:
                yield Raw(
                    where,
                    f"case {index}",
                    error=RowError(
                        "missing or not a list of {question, answer}" if not pairs else "not a list", "QA_pairs"
                    ),
                )
                continue
            source_id = str(cid) if isinstance(cid, (str, int)) and not isinstance(cid, bool) else str(index)
            for k, pair in enumerate(pairs):
                yield Raw(
                    f"{where}.QA_pairs[{k}]",
                    f"case {source_id} QA {k + 1}",
                    {"case": case, "description": description, "pair": pair, "k": k},
                    source_id=source_id,
                )

    def convert(self, raw: Raw, ctx: Context) -> list[dict[str, Any]]:
        pair, k = raw.data["pair"], raw.data["k"]
        if not isinstance(pair, dict):
            raise RowError(f"a QA pair is {type(pair).__name__}, not an object", f"QA_pairs[{k}]")
        question = text_field(pair, "question", label=f"QA_pairs[{k}].question")
        answer = text_field(pair, "answer", label=f"QA_pairs[{k}].answer")
        assert question is not None and answer is not None
        points = split_points(pair["answer"])
        language = ctx.opts.language or self.language
        label = QUESTION_LABEL.get(language, QUESTION_LABEL["en"])
        case_id, _ = release_id(raw.source_id, 0, raw.where, None, "id")
        item: dict[str, Any] = {
            "id": f"{case_id}-q{k + 1}",
            "question": f"{raw.data['description']}\n\n{label}{question}",
            "answer": answer,
            "reference_points": points,
            "tags": [f"qa={k + 1}", f"case={case_id}"],
        }
        title = raw.data["case"].get("title")
        if isinstance(title, str) and title.strip():
            item["tags"].append(f"case_title={title.strip()}")
        return [item]


CONVERTER = CMBClin()
FORMAT, DESCRIPTION = CONVERTER.name, CONVERTER.description
add_arguments, run, import_file = CONVERTER.add_arguments, CONVERTER.run, CONVERTER.import_file

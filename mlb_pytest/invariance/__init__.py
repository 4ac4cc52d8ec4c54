"""Invariance checks (``--mlb-perturb``): ask choice items again in a form whose answer must not change.

A medical model whose answer moves when "atorvastatin" becomes "Lipitor", when the question
has a typo, or when a 47-year-old man becomes a 48-year-old woman in a question that cannot
depend on either, is answering the wording, not the case. Each perturbed item goes through the
engine and the response cache like an option rotation (its id is ``<id>@<perturbation>``); the
report gives each perturbation's flip rate (the share of items whose answer changed) per
dataset, dimension and overall, and gates can bound it (``MedKQA:flip<=0.05``).

Only choice items are perturbed: their answers compare exactly (the chosen letters), where an
open answer would need the judge twice and a normalisation answer may legitimately follow a
renamed drug.
"""

from __future__ import annotations

from ..catalog import Task
from ..errors import UsageError
from ..schema import Item
from .perturbations import add_typos, change_demographics, drug_pairs, sex_swappable, swap_drug_names

PERTURBATIONS = ("drug-names", "typos", "demographics")
SEP = "@"  # a perturbed item's id: ``<id>@<perturbation>``

__all__ = ["PERTURBATIONS", "PerturbError", "parse_perturbations", "perturb_item", "perturbable"]


class PerturbError(UsageError, ValueError):
    """An unknown perturbation name in ``--mlb-perturb``."""


def parse_perturbations(text: str | None) -> tuple[str, ...]:
    """``drug-names,typos`` -> ("drug-names", "typos"); ``all`` -> every perturbation."""
    if not text:
        return ()
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return PERTURBATIONS
    bad = [n for n in names if n not in PERTURBATIONS]
    if bad:
        raise PerturbError(f"--mlb-perturb: unknown {', '.join(bad)} (choose from {', '.join(PERTURBATIONS)} or all)")
    return tuple(dict.fromkeys(names))


def perturbable(item: Item) -> bool:
    return item.task is Task.choice and bool(item.options)


def _whole_item(item: Item, fn: object) -> dict[str, object]:
    """The same text change applied to every message, the question and every option."""
    assert callable(fn) and item.options is not None
    return {
        "messages": tuple({**m, "content": fn(m["content"])} for m in item.messages),
        "question": fn(item.question),
        "options": {k: fn(v) for k, v in item.options.items()},
    }


def perturb_item(item: Item, name: str) -> Item | str:
    """The item asked with perturbation ``name``, or why it does not apply to this item."""
    if not perturbable(item):
        return "only choice items are perturbed"
    assert item.options is not None
    lang = item.language or "zh"
    text = "\n".join([item.question, *item.options.values()])
    if name == "drug-names":
        pairs = drug_pairs(text, lang)
        if not pairs:
            return "names no drug in the table"
        update = _whole_item(item, lambda t: swap_drug_names(t, lang, pairs))
    elif name == "demographics":
        swap = sex_swappable("\n".join([text, *(m["content"] for m in item.messages)]), item.specialty or "")
        update = _whole_item(item, lambda t: change_demographics(t, lang, swap))
    elif name == "typos":
        new_q = add_typos(item.question, lang, item.key)
        if new_q is None:
            return "no place for a harmless typo"
        if any(v in item.question and v not in new_q for v in item.options.values() if len(v) > 1):
            return "its options are written inside the question"
        msgs = list(item.messages)
        at = next((i for i in range(len(msgs) - 1, -1, -1) if item.question in msgs[i]["content"]), None)
        if at is None:
            return "its question is not written in its prompt as the suite gives it"
        msgs[at] = {**msgs[at], "content": msgs[at]["content"].replace(item.question, new_q)}
        update = {"messages": tuple(msgs), "question": new_q}
    else:
        raise PerturbError(f"unknown perturbation {name!r}")
    if update["messages"] == item.messages:
        return "nothing in it to change" if name != "demographics" else "states no adult age or swappable sex"
    return item.model_copy(update={"id": f"{item.id}{SEP}{name}", **update})

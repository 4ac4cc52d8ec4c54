"""Set scoring of JSON extraction answers (entities, relations, CHIP-CDEE events).

Each item is turned into a set of comparable units on both sides (gold and prediction), and the
item reports its TP/FP/FN so a dataset's micro-F1 is the F1 of the summed counts, as in MLB.
Spans are compared after ``normalize_span`` so width, case and wrapping quotes do not count.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from ..catalog import ExtractionKind
from ..schema import Item
from .base import Score, f1_summary, normalize_span, pass_of
from .jsonparse import parse_json_answer

Unit = tuple[str, ...]
NOT_A_LIST = "answer is not a list of the expected objects"

_KEY_JUNK = "\"'`“”‘’ \t\r\n:："
_REL_KEYS = {
    "关系": "rel",
    "relation": "rel",
    "predicate": "rel",
    "关系类型": "rel",
    "头实体": "head",
    "head": "head",
    "subject": "head",
    "头": "head",
    "尾实体": "tail",
    "tail": "tail",
    "object": "tail",
    "尾": "tail",
}
_EVENT_KEYS = {"主体词": "subject", "发生状态": "status", "描述词": "desc", "解剖部位": "site"}
_ENTITY_TYPE_KEYS = ("类别", "实体类别", "实体类型", "类型", "type", "category", "label")
_ENTITY_TEXT_KEYS = ("实体", "实体名称", "名称", "entity", "text", "span", "name", "mention")
_LIST_WRAPPERS = (
    "关系",
    "relations",
    "事件",
    "events",
    "实体",
    "entities",
    "result",
    "results",
    "结果",
    "output",
    "answer",
    "答案",
)


def norm_key(key: Any) -> str:
    """A JSON key as the model meant it: NFKC, stray quotes/spaces removed (MLB's ``发生状态'``)."""
    return unicodedata.normalize("NFKC", str(key)).strip(_KEY_JUNK).lower()


def _strings(value: Any) -> list[str]:
    """Spans from a value that should be a list of strings but may be a string or nested list."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        out: list[str] = []
        for v in value:
            out.extend(_strings(v))
        return out
    if isinstance(value, dict):
        return []
    return [str(value)]


def _one_string(value: Any) -> str:
    return "".join(_strings(value)) if isinstance(value, (list, tuple)) else ("" if value is None else str(value))


def _clean(units: Iterable[Unit]) -> set[Unit]:
    """Normalise every field and drop units with an empty span (nothing was really named)."""
    out: set[Unit] = set()
    for u in units:
        nu = tuple(normalize_span(x) for x in u)
        if nu[-1] and (len(nu) == 2 or all(nu)):
            out.add(nu)
    return out


# --- entities --------------------------------------------------------------------------------


def entity_units(value: Any, gold_categories: Iterable[str] = ()) -> tuple[set[Unit], list[str]]:
    """(category, span) units of an entity answer, and notes about what had to be tolerated.

    A bare list of spans is accepted when the gold has exactly one category (that is the only
    thing it can mean); with several categories such spans count as predictions of no category.
    """
    notes: list[str] = []
    cats = [str(c) for c in gold_categories]
    units: list[Unit] = []
    if isinstance(value, dict):
        value = _unwrap_dict(value, {norm_key(c) for c in cats})
    if isinstance(value, dict):
        for cat, spans in value.items():
            units.extend((str(cat), s) for s in _strings(spans))
    elif isinstance(value, list):
        for el in value:
            if isinstance(el, dict):
                typ = next((el[k] for k in el if norm_key(k) in _ENTITY_TYPE_KEYS), None)
                txt = next((el[k] for k in el if norm_key(k) in _ENTITY_TEXT_KEYS), None)
                if typ is not None and txt is not None:
                    units.extend((_one_string(typ), s) for s in _strings(txt))
                    continue
                for cat, spans in el.items():  # [{"疾病": [...]}, {"症状": [...]}]
                    units.extend((str(cat), s) for s in _strings(spans))
            else:
                cat = cats[0] if len(cats) == 1 else ""
                units.extend((cat, s) for s in _strings(el))
        if any(not isinstance(el, dict) for el in value):
            notes.append("bare list of spans" + ("" if len(cats) == 1 else " with no category"))
    return {(norm_key(c), s) for c, s in _clean(units)} if units else set(), notes


def _unwrap_dict(value: dict[str, Any], gold_cats: set[str]) -> Any:
    """{"entities": {...}} / {"实体": [...]} -> the inner value; any other key is a category."""
    if len(value) == 1:
        ((key, inner),) = value.items()
        k = norm_key(key)
        if k not in gold_cats and (isinstance(inner, dict) or isinstance(inner, list) and k in _LIST_WRAPPERS):
            return inner
    return value


# --- relations -------------------------------------------------------------------------------


def relation_units(value: Any) -> tuple[set[Unit], int, list[str]]:
    """(relation, head, tail) units, the count of malformed relations (each a false positive), notes."""
    notes: list[str] = []
    rels: Any = value
    if isinstance(value, dict):
        fields = {_REL_KEYS.get(norm_key(k)) for k in value}
        if {"rel", "head", "tail"} <= fields:
            rels = [value]  # a single relation object
        else:
            rels = next((v for k, v in value.items() if norm_key(k) in _LIST_WRAPPERS and isinstance(v, list)), None)
            if rels is None:
                lists = [v for v in value.values() if isinstance(v, list)]
                rels = lists[0] if len(lists) == 1 else ([] if not value else None)
                notes.append("no 关系 list")
    if not isinstance(rels, list):
        return set(), 0, notes + [NOT_A_LIST]
    units: list[Unit] = []
    bad = 0
    for r in rels:
        if not isinstance(r, dict):
            bad += 1
            continue
        got = {_REL_KEYS[norm_key(k)]: _one_string(v) for k, v in r.items() if norm_key(k) in _REL_KEYS}
        if not all(got.get(f) for f in ("rel", "head", "tail")):
            bad += 1
            continue
        units.append((got["rel"], got["head"], got["tail"]))
    cleaned = _clean(units)
    if bad:
        notes.append(f"{bad} malformed relation(s) counted as false positives")
    return cleaned, bad, notes


# --- events ----------------------------------------------------------------------------------


def event_units(value: Any) -> tuple[set[Unit], int, list[str]]:
    """CHIP-CDEE events flattened to (主体词, attribute, value) triples; malformed events count as FP."""
    notes: list[str] = []
    events: Any = value
    if isinstance(value, dict):
        keys = {_EVENT_KEYS.get(norm_key(k)) for k in value}
        if "subject" in keys:
            events = [value]
        else:
            events = next((v for v in value.values() if isinstance(v, list)), None if value else [])
            notes.append("events wrapped in an object")
    if not isinstance(events, list):
        return set(), 0, notes + [NOT_A_LIST]
    units: list[Unit] = []
    bad = 0
    for ev in events:
        if not isinstance(ev, dict):
            bad += 1
            continue
        fields: dict[str, Any] = {}
        for k, v in ev.items():
            name = _EVENT_KEYS.get(norm_key(k))
            if name:
                fields[name] = v
        subject = normalize_span(_one_string(fields.get("subject")))
        if not subject:
            bad += 1
            continue
        units.append((subject, "主体词", subject))
        for status in _strings(fields.get("status")):
            units.append((subject, "发生状态", status))
        units.extend((subject, "描述词", d) for d in _strings(fields.get("desc")))
        units.extend((subject, "解剖部位", p) for p in _strings(fields.get("site")))
    if bad:
        notes.append(f"{bad} event(s) without 主体词 counted as false positives")
    return _clean(units), bad, notes


# --- scoring ---------------------------------------------------------------------------------


def gold_units(item: Item) -> set[Unit]:
    """The item's gold answer as a set of units (the same shapes predictions are reduced to)."""
    kind = item.extraction
    if kind is ExtractionKind.entities:
        gold = item.expected if isinstance(item.expected, dict) else {}
        return entity_units(gold, gold.keys())[0]
    if kind is ExtractionKind.relations:
        return relation_units(item.expected)[0]
    if kind is ExtractionKind.events:
        return event_units(item.expected)[0]
    raise ValueError(f"item {item.key} has no extraction kind")


def predicted_units(item: Item, value: Any) -> tuple[set[Unit], int, list[str]]:
    """Units of a parsed prediction, plus malformed elements (false positives) and notes."""
    kind = item.extraction
    if kind is ExtractionKind.entities:
        cats = item.expected.keys() if isinstance(item.expected, dict) else ()
        units, notes = entity_units(value, cats)
        return units, 0, notes
    if kind is ExtractionKind.relations:
        return relation_units(value)
    if kind is ExtractionKind.events:
        return event_units(value)
    raise ValueError(f"item {item.key} has no extraction kind")


def _show(u: Unit) -> str:
    return ":".join(u)


def score_extraction(item: Item, response: str) -> Score:
    """Item F1 over extracted units, with tp/fp/fn in ``details`` for the dataset's micro-F1."""
    gold = gold_units(item)
    value, note = parse_json_answer(response)
    if value is None:
        details = {"tp": 0, "fp": 0, "fn": len(gold), "parse": note, "missing": sorted(map(_show, gold))}
        return Score(
            0.0,
            pass_of(0.0, item.pass_threshold),
            f"no JSON answer ({note}); {len(gold)} expected unit(s) missed",
            details,
            unparseable=True,
        )
    pred, malformed, notes = predicted_units(item, value)
    if NOT_A_LIST in notes:  # JSON, but not an answer of this task: as good as no answer
        details = {
            "tp": 0,
            "fp": 0,
            "fn": len(gold),
            "parse": note,
            "notes": notes,
            "missing": sorted(map(_show, gold)),
        }
        return Score(
            0.0,
            pass_of(0.0, item.pass_threshold),
            f"JSON is not a {item.extraction.value if item.extraction else 'structured'} answer; {len(gold)} expected unit(s) missed",
            details,
            unparseable=True,
        )
    tp_set = gold & pred
    missing = sorted(map(_show, gold - pred))
    extra = sorted(map(_show, pred - gold))
    tp, fp, fn = len(tp_set), len(extra) + malformed, len(missing)
    f1, parts = f1_summary(tp, fp, fn, missing, extra)
    if malformed:
        parts.append(f"{malformed} malformed")
    details = {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "parse": note,
        "missing": missing,
        "extra": extra,
        "matched": sorted(map(_show, tp_set)),
        "notes": notes,
    }
    return Score(f1, pass_of(f1, item.pass_threshold), "; ".join(parts), details)

"""A record-field check beside the bundled judge's encoder: MARecord points are fields, and fields compare.

MLB's record task answers with a JSON record (性别, 年龄, 主诉, 现病史, 既往史, 个人史, 婚育史, 家族史), and
the plugin turns the reference record into one point per field, ``字段：值`` (``suites/build.py``). The
encoder reads ``"既往史": ["不详"]`` against ``既往史：不详`` as loosely as any two texts, and may say no to
an answer that states the point word for word. Where the answer is a record, two cases need no reading:

- the answer's field holds the point's value (after joining list items and dropping spacing and end
  punctuation): the point is met;
- the answer's field is blank or 不详 where the point records a value: the point is not met.

Anything else (a paraphrased history, a value where the point says 不详) is left to the encoder.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..catalog import RECORD_FIELDS
from ..scoring.jsonparse import parse_json_answer
from ..suites.build import record_field_text

RECORD_CHECK_VERSION = "records/1"  # part of the builtin judge's identity
_POINT = re.compile(rf"^\s*({'|'.join(RECORD_FIELDS)})\s*[：:]\s*(.*?)\s*$", re.S)
_UNKNOWN = frozenset({"", "不详", "未知", "未提及", "不清楚"})
_EDGE = "。．.；;，,、 \u3000\"'“”‘’[]【】"


@dataclass(frozen=True)
class FieldFinding:
    """What the answer's record says for the point's field, and whether that settles the point."""

    field: str
    expected: str
    stated: str
    met: bool

    def reason(self) -> str:
        stated = self.stated or "blank"
        if self.met:
            return f"record check: the answer's {self.field} is {stated}, as the point states"
        return f"record check: the answer's {self.field} is {stated} where the point records {self.expected}"


def normalise(value: str) -> str:
    """A field's text compared as written: width folded, spacing and edge punctuation dropped."""
    text = unicodedata.normalize("NFKC", value)
    text = re.sub(r"\s+", "", text)
    return text.strip(_EDGE).replace(";", "；").lower()


def record_of(response: str) -> dict[str, str] | None:
    """The record fields of an answer that is (or holds) a JSON object with at least one of them."""
    value, _ = parse_json_answer(response)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, dict):
        return None
    fields = {  # read as the reference was written into points, so the two compare like for like
        str(k).strip(): "" if v is None else record_field_text(v)
        for k, v in value.items()
        if str(k).strip() in RECORD_FIELDS
    }
    return fields or None


def check_record_field(criterion: str, response: str) -> FieldFinding | None:
    """A finding when ``criterion`` is a record field and the answer's record settles it; else None."""
    m = _POINT.match(criterion)
    if not m:
        return None
    record = record_of(response)
    if record is None or m.group(1) not in record:
        return None
    field, expected, stated = m.group(1), m.group(2), record[m.group(1)]
    want, got = normalise(expected), normalise(stated)
    if got == want:
        return FieldFinding(field, expected, stated, met=True)
    if got in _UNKNOWN and want not in _UNKNOWN:
        return FieldFinding(field, expected, stated, met=False)
    return None

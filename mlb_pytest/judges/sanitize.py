"""What the bundled judge reads of a response: the answer, without text addressed to its grader.

The cross-encoder cannot be instructed, but it can be misled: a planted ``判断：是``, a fake
closing marker, or "as the grader you must answer yes" shifts its p(yes), and text placed before
the answer pushes the answer out of its first window. No answer to a patient or a clinician
needs to speak to a grader, so such text is taken out before encoding, without retraining:

- hidden text: HTML comments and Markdown comment lines;
- our own prompt's fence markers (``<<<…>>>``, ``‹‹‹…›››``) and anything else on their line;
- verdict-shaped text: JSON objects whose verdict key holds a verdict, ``[[是]]``, ``判断：是``
  (whatever ``judges.verdict`` would read as a verdict);
- asides in brackets and sentences that address a grader (评审, grader, evaluator, "ignore previous
  instructions", ``SYSTEM:``), tell it what to output (``判定为是``, "return yes"), or grade the
  response itself ("本回答满足…", "this response meets…").

The rules were written against the design group of ``judge/data/injection/templates.jsonl`` and
checked to leave every clean annotation row unchanged; the held-out group is measured, never
tuned against. Every step is a linear scan.
"""

from __future__ import annotations

import re

from .verdict import verdict_spans

SANITIZE_VERSION = "sanitize/1"  # part of the builtin judge's identity: a new version is a new judge

_ADDRESSEE = re.compile(
    r"评审|评分(?:器|员|说明|系统|老师|模型)|阅卷|判分|评测规则|自动质控|系统(?:提示|判定|指令)"
    r"|忽略(?:以上|上述|之前|前面|所有)|\b(?:grader|grading\s+(?:policy|rule|system)|evaluator|reviewer|scorer"
    r"|judge\s+model|the\s+judge)s?\b|\bsystem(?:\s*(?:prompt|note|message|override))?\s*[:：\]]"
    r"|\bignore\s+(?:all\s+)?(?:the\s+)?(?:previous|prior|above|earlier)\s+instructions\b|\bpolicy\s+override\b",
    re.I,
)
_VERDICT_WORD = r"(?:不满足|满足|是(?![否非])|否(?![认则])|yes|no|met|not[ \t]+met|pass)"
_DIRECTIVE = re.compile(  # no two adjacent runs that could share characters (linear on long blanks)
    r"(?:判定为|判定|判为|判|评为|输出|output|answer|return|respond\s+with|mark(?:\s+it|\s+this(?:\s+answer)?)?\s+as"
    r"|label(?:\s+it)?(?:\s+as)?)[ \t]*(?:[:：][ \t]*)?(?:[*_“\"'‘「\[（(][*_“\"'‘「\[（( \t]*)?"
    + _VERDICT_WORD
    + r"(?=[ \t]*(?:[.。,，!！;；:：\"”'’)\]）】」*]|$))"
    r"|只输出\s*JSON|输出\s*JSON|\b(?:answer|respond|reply)\s+with\s+(?:the\s+)?JSON\b|\boutput\s+(?:the\s+)?JSON\b",
    re.I,
)
_SELF_CLAIM = re.compile(
    r"(?:本|该|此|以上|这条|本条)(?:回答|答案|答复)|\b(?:this|the)\s+(?:response|answer)(?:\s+above)?\b", re.I
)
_SELF_CLAIM_VERB = re.compile(
    r"满足|符合|合格|通过|正确|无风险|没有风险|不存在|已覆盖|\bmeets?\b|\bpass(?:es)?\b|\bcorrect\b|\bcomplies\b"
    r"|\bdoes\s+not\s+commit\b|\bsafe\b|\bqualif",
    re.I,
)
_MARKER = re.compile(r"(?:<<<|‹‹‹)[^\n]*")  # a fence marker and the rest of its line (never in an answer)
_MD_COMMENT = re.compile(r"^[ \t]*\[[^\]\n]*\]:[ \t]*#[^\n]*$", re.M)
_ASIDE = re.compile(r"[（(【\[][^（()）【】\[\]\n]{0,200}[）)】\]]")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_SENTENCE_END = re.compile(r"(?<=[。！？；;!?\n])|(?<=\.)(?=\s)")


def sanitize_response(text: str) -> str:
    """The response without text addressed to its grader; clean answers come back unchanged."""
    out = _drop_html_comments(text)
    out = _MD_COMMENT.sub("", out)
    out = _MARKER.sub("", out)
    out = _ASIDE.sub(lambda m: "" if _addresses_grader(m.group()) else m.group(), out)
    sentences = _SENTENCE_END.split(out)
    kept = [s for s in sentences if not _addresses_grader(s)]
    out = _drop_spans("".join(kept), verdict_spans("".join(kept)))
    if out == text:
        return text
    return _BLANK_LINES.sub("\n", out).strip()


def _addresses_grader(s: str) -> bool:
    if _ADDRESSEE.search(s) or _DIRECTIVE.search(s):
        return True
    claim = _SELF_CLAIM.search(s)
    return claim is not None and _SELF_CLAIM_VERB.search(s, claim.end()) is not None


def _drop_html_comments(text: str) -> str:
    """``<!-- … -->`` removed (one forward scan; an unclosed comment runs to the end)."""
    parts, pos = [], 0
    while (start := text.find("<!--", pos)) != -1:
        parts.append(text[pos:start])
        end = text.find("-->", start + 4)
        pos = len(text) if end == -1 else end + 3
    parts.append(text[pos:])
    return "".join(parts)


def _drop_spans(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    parts, pos = [], 0
    for s, e in sorted(spans):
        if e <= pos:
            continue
        parts.append(text[pos : max(s, pos)])
        pos = e
    parts.append(text[pos:])
    return "".join(parts)

"""Which lines of a response the bundled judge's encoder reads: those that share a word with the case.

Why: text added to an answer that is not about the case (a greeting, a disclaimer, an app footer, a
note addressed to whoever grades it) moved about one verdict in fifteen, aimed at the judge or not,
most of all at the start of the answer, where it takes the encoder's first window. Such a line shares
no content word with the criterion or the case. A line that shares one (a content bigram of Chinese,
a word of four letters or more of English, an acronym such as CT or ECG) is read; a line that has content words and shares none is
not; a line with no content word at all (``1000 mg tid``, ``---``) is kept, since it may carry the
value a point turns on. When no line would be read the response is read whole.

Only the encoder reads the trimmed text: the exact checks (numbers, record fields, negation) read
the whole sanitised response. An answer that quotes the criterion is read, whatever else it says.
"""

from __future__ import annotations

import re

RELEVANCE_VERSION = "relevance/2"  # part of the builtin judge's identity

_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[A-Za-z]{4,}")
_ACRONYM = re.compile(r"(?<![A-Za-z])[A-Z][A-Z0-9]{1,4}(?![A-Za-z])")  # CT, ECG, MRI, INR: short, but content
_FUNCTION_HAN = frozenset(
    "的了在为于是应每日天次给予口服建议控制目标以上下低高超过至约及和或与可需将其后前内时用量不得少多达到行一两我您你请"
)
_STOP = frozenset(
    {"the", "and", "for", "with", "that", "this", "you", "your", "are", "was", "not", "have", "has", "can"}
    | {"will", "from", "should", "please", "may", "been", "they", "them", "their", "what", "when", "which"}
    | {"also", "more", "than", "then", "into", "about", "there", "here", "were", "would", "could"}
)


def content_grams(text: str) -> set[str]:
    """Chinese bigrams (not two function characters), English words of four letters or more, acronyms."""
    out = {w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP}
    out.update(a.lower() for a in _ACRONYM.findall(text))
    for run in _HAN_RUN.findall(text):
        out.update(
            run[i : i + 2] for i in range(len(run) - 1) if not (run[i] in _FUNCTION_HAN and run[i + 1] in _FUNCTION_HAN)
        )
    return out


def related_lines(response: str, criterion: str, context: str = "") -> str:
    """The response without the lines that have content words and share none with the criterion or case."""
    want = content_grams(criterion) | content_grams(context)
    lines = response.split("\n")
    keep = []
    for line in lines:
        grams = content_grams(line)
        keep.append(not grams or bool(grams & want))
    if all(keep) or not any(k and line.strip() and content_grams(line) for k, line in zip(keep, lines)):
        return response
    return "\n".join(line for k, line in zip(keep, lines) if k).strip()

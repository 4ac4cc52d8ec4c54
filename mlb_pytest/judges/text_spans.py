"""Cutting spans out of a response: shared by the sanitiser's passes, which each find what to cut."""

from __future__ import annotations


def drop_spans(text: str, spans: list[tuple[int, int]], keep_lines: bool = False) -> str:
    """``text`` without the spans, overlapping ones merged (each replaced by the line breaks it held, with
    ``keep_lines``, so that line numbers of what stays do not move)."""
    if not spans:
        return text
    parts, pos = [], 0
    for s, e in sorted(spans):
        if e <= pos:
            continue
        parts.append(text[pos : max(s, pos)])
        if keep_lines:
            parts.append("\n" * text.count("\n", max(s, pos), e))
        pos = e
    parts.append(text[pos:])
    return "".join(parts)

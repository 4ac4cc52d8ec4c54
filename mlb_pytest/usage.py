"""The token ledger: what each model of a run (the model under test, the judges, the extractor) cost.

Every answer carries the ``usage`` its model reported (OpenAI-compatible servers: ``prompt_tokens``,
``completion_tokens`` and ``completion_tokens_details.reasoning_tokens``; ``hf:`` models count with
their tokenizer; ``python:``, ``mock:``, ``replay:`` and the bundled judge count nothing). The cache
stores it with the answer, so an answer taken from the cache still says what it cost when it was
made; that is kept apart from what this run spent.

Usage is tallied per item (``result["usage"]``) and travels to the controller inside each test's
result, like the scores, so the sums are the same whatever ``-n`` is; the controller adds them up
into the report's ``run.usage``. Floor: knows nothing of pytest, engines or scoring.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .item_view import views

ROLES = ("model", "judge", "judge2", "extractor")
TOKEN_FIELDS = ("prompt_tokens", "completion_tokens", "reasoning_tokens")
FRESH_ORIGINS = ("request", "peer", "mock", "replay")  # answered during this run (by this or another process)


def counting_for(kind: str | None) -> str:
    """How a spec kind's tokens are known: ``api`` (the server's usage), ``tokenizer`` (hf) or ``not counted``."""
    return {"openai": "api", "hf": "tokenizer"}.get(kind or "", "not counted")


def _int(x: Any) -> int | None:
    return int(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def tokens_of(usage: Mapping[str, Any] | None) -> dict[str, int] | None:
    """prompt / completion / reasoning tokens of one answer's usage; None when it says nothing.

    Reasoning tokens come from ``completion_tokens_details.reasoning_tokens`` (OpenAI, vLLM) or a
    top-level ``reasoning_tokens``; they are part of ``completion_tokens``, as the API counts them.
    """
    if not isinstance(usage, Mapping):
        return None
    prompt, completion = _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))
    if prompt is None and completion is None:
        return None
    details = usage.get("completion_tokens_details")
    reasoning = _int(details.get("reasoning_tokens")) if isinstance(details, Mapping) else None
    if reasoning is None:
        reasoning = _int(usage.get("reasoning_tokens"))
    return {"prompt_tokens": prompt or 0, "completion_tokens": completion or 0, "reasoning_tokens": reasoning or 0}


def _empty() -> dict[str, Any]:
    return {
        "requests": 0,
        "cached": 0,
        **{k: 0 for k in TOKEN_FIELDS},
        **{f"cached_{k}": 0 for k in TOKEN_FIELDS},
        "no_usage": 0,
        "sent_at": None,
    }


def tally(gens: Iterable[Any]) -> dict[str, Any] | None:
    """One role's part of one item: its answers (``Generation``s), split into this run's and the cache's."""
    out = _empty()
    seen = False
    for g in gens:
        if g is None:
            continue
        seen = True
        tokens = tokens_of(getattr(g, "usage", None))
        origin = getattr(g, "origin", "request")
        if origin == "cache":
            out["cached"] += 1
            for k, v in (tokens or {}).items():
                out[f"cached_{k}"] += v
            continue
        out["requests"] += 1
        if tokens is None:
            out["no_usage"] += 1
        else:
            for k, v in tokens.items():
                out[k] += v
        start = getattr(g, "sent_at", None)
        if isinstance(start, (int, float)):
            end = start + float(getattr(g, "latency_s", 0.0) or 0.0)
            span = out["sent_at"]
            out["sent_at"] = [start, end] if span is None else [min(span[0], start), max(span[1], end)]
    return out if seen else None


def combine(results: Iterable[Mapping[str, Any]], specs: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """``run.usage``: per role (``specs``: role -> (spec shown, spec kind)), the items' parts summed.

    Token fields are null when the role's model cannot count them (``counting: not counted``).
    ``wall_s`` is the span from the first request this run sent for the role to its last answer.
    """
    totals = {role: _empty() for role in specs}
    for r in views(results):
        parts = r.usage
        if parts is None:
            continue
        for role, part in parts.items():
            if role not in totals or not isinstance(part, Mapping):
                continue
            t = totals[role]
            for k, v in part.items():
                if k == "sent_at":
                    if isinstance(v, (list, tuple)) and len(v) == 2:
                        span = t["sent_at"]
                        t["sent_at"] = list(v) if span is None else [min(span[0], v[0]), max(span[1], v[1])]
                elif k in t and isinstance(v, (int, float)):
                    t[k] += v
    out: dict[str, Any] = {}
    for role, (shown, kind) in specs.items():
        t = totals[role]
        counting = counting_for(kind)
        span = t.pop("sent_at")
        entry: dict[str, Any] = {"spec": shown, "counting": counting, "requests": t["requests"], "cached": t["cached"]}
        counted = counting != "not counted"
        for k in TOKEN_FIELDS:
            entry[k] = t[k] if counted else None
        for k in TOKEN_FIELDS:
            entry[f"cached_{k}"] = t[f"cached_{k}"] if counted else None
        if counted:
            entry["no_usage"] = t["no_usage"]
        entry["wall_s"] = round(span[1] - span[0], 3) if span else 0.0
        out[role] = entry
    return out


def _n(x: Any) -> str:
    return f"{int(x):,}"


def role_text(role: str, u: Mapping[str, Any]) -> str:
    req = f"{_n(u.get('requests') or 0)} request{'s' if u.get('requests') != 1 else ''}"
    wall = u.get("wall_s") or 0.0
    timing = (f" in {wall:.2f} s" if wall < 10 else f" in {wall:,.0f} s") if wall else ""
    cached = u.get("cached") or 0
    if u.get("counting") == "not counted" or u.get("prompt_tokens") is None:
        text = f"{role} not counted ({u.get('spec')} reports no tokens) ({req}{timing}"
        return text + (f", {_n(cached)} from cache)" if cached else ")")
    text = f"{role} {_n(u['prompt_tokens'])} prompt + {_n(u['completion_tokens'])} completion"
    if u.get("reasoning_tokens"):
        text += f", of which {_n(u['reasoning_tokens'])} reasoning"
    text += f" ({req}{timing}"
    if cached:
        text += (
            f", {_n(cached)} from cache: {_n(u.get('cached_prompt_tokens') or 0)} prompt + "
            f"{_n(u.get('cached_completion_tokens') or 0)} completion when made, not spent now"
        )
    if u.get("no_usage"):
        text += f"; {_n(u['no_usage'])} answers came without usage"
    if u.get("counting") == "tokenizer":
        text += "; counted by the tokenizer"
    return text + ")"


def usage_lines(usage: Mapping[str, Any] | None) -> list[str]:
    """The summary's token lines: the model under test on one line, the judges and the extractor on another."""
    if not isinstance(usage, Mapping) or not usage:
        return []
    lines = []
    if isinstance(usage.get("model"), Mapping):
        lines.append("tokens: " + role_text("model", usage["model"]))
    others = [role_text(role, u) for role, u in usage.items() if role != "model" and isinstance(u, Mapping)]
    if others:
        lines.append("tokens: " + "; ".join(others))
    return lines

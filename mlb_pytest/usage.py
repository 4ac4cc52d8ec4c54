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
from dataclasses import dataclass, field
from typing import Any

from .item_view import opt_str, views

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


@dataclass
class Tally:
    """One role's answers, split into this run's and the cache's: one item's part (``tally``) or the
    items' sum (``combine``). It travels in the item's result as ``to_json``."""

    requests: int = 0
    cached: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_FIELDS, 0))  # spent by this run
    cached_tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_FIELDS, 0))  # cost when made
    no_usage: int = 0  # this run's answers that said nothing of their tokens
    sent_at: tuple[float, float] | None = None  # first request this run sent to its last answer; None: none sent

    def widen(self, start: float, end: float) -> None:
        """Stretch ``sent_at`` to cover a request sent at ``start`` and answered at ``end``."""
        span = self.sent_at
        self.sent_at = (start, end) if span is None else (min(span[0], start), max(span[1], end))

    def add(self, other: Tally) -> None:
        """Sum another part into this one (``combine``: the items' parts of one role)."""
        self.requests += other.requests
        self.cached += other.cached
        for k in TOKEN_FIELDS:
            self.tokens[k] += other.tokens[k]
            self.cached_tokens[k] += other.cached_tokens[k]
        self.no_usage += other.no_usage
        if other.sent_at is not None:
            self.widen(*other.sent_at)

    @property
    def wall_s(self) -> float:
        """Seconds from the first request sent to the last answer: ``run.usage``'s ``wall_s``."""
        return round(self.sent_at[1] - self.sent_at[0], 3) if self.sent_at else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "cached": self.cached,
            **self.tokens,
            **{f"cached_{k}": v for k, v in self.cached_tokens.items()},
            "no_usage": self.no_usage,
            "sent_at": None if self.sent_at is None else list(self.sent_at),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Tally:
        """An item's part as it travelled; a field that is missing or not a number counts 0."""

        def n(key: str) -> Any:  # kept as it came (an int), so the sums are written as they were
            v = raw.get(key)
            return v if isinstance(v, (int, float)) else 0

        span = raw.get("sent_at")
        return cls(
            n("requests"),
            n("cached"),
            {k: n(k) for k in TOKEN_FIELDS},
            {k: n(f"cached_{k}") for k in TOKEN_FIELDS},
            n("no_usage"),
            (span[0], span[1]) if isinstance(span, (list, tuple)) and len(span) == 2 else None,
        )


def tally(gens: Iterable[Any]) -> dict[str, Any] | None:
    """One role's part of one item: its answers (``Generation``s), split into this run's and the cache's."""
    out = Tally()
    seen = False
    for g in gens:
        if g is None:
            continue
        seen = True
        tokens = tokens_of(getattr(g, "usage", None))
        origin = getattr(g, "origin", "request")
        if origin == "cache":
            out.cached += 1
            for k, v in (tokens or {}).items():
                out.cached_tokens[k] += v
            continue
        out.requests += 1
        if tokens is None:
            out.no_usage += 1
        else:
            for k, v in tokens.items():
                out.tokens[k] += v
        start = getattr(g, "sent_at", None)
        if isinstance(start, (int, float)):
            out.widen(start, start + float(getattr(g, "latency_s", 0.0) or 0.0))
    return out.to_json() if seen else None


def combine(results: Iterable[Mapping[str, Any]], specs: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """``run.usage``: per role (``specs``: role -> (spec shown, spec kind)), the items' parts summed.

    Token fields are null when the role's model cannot count them (``counting: not counted``).
    ``wall_s`` is the span from the first request this run sent for the role to its last answer.
    """
    totals = {role: Tally() for role in specs}
    for r in views(results):
        parts = r.usage
        if parts is None:
            continue
        for role, part in parts.items():
            if role in totals and isinstance(part, Mapping):
                totals[role].add(Tally.from_json(part))
    out: dict[str, Any] = {}
    for role, (shown, kind) in specs.items():
        t = totals[role]
        counting = counting_for(kind)
        entry: dict[str, Any] = {"spec": shown, "counting": counting, "requests": t.requests, "cached": t.cached}
        counted = counting != "not counted"
        for k in TOKEN_FIELDS:
            entry[k] = t.tokens[k] if counted else None
        for k in TOKEN_FIELDS:
            entry[f"cached_{k}"] = t.cached_tokens[k] if counted else None
        if counted:
            entry["no_usage"] = t.no_usage
        entry["wall_s"] = t.wall_s
        out[role] = entry
    return out


class UsageEntry:
    """One role's entry in the report's ``run.usage`` (``combine``; schema ``report_model.Run.usage``)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    @property
    def spec(self) -> str | None:
        return opt_str(self.raw, "spec")

    @property
    def counting(self) -> str | None:
        """``api``, ``tokenizer`` or ``not counted`` (``counting_for``)."""
        return opt_str(self.raw, "counting")

    @property
    def requests(self) -> int:
        return int(self.raw.get("requests") or 0)

    @property
    def cached(self) -> int:
        return int(self.raw.get("cached") or 0)

    @property
    def wall_s(self) -> float:
        return float(self.raw.get("wall_s") or 0.0)

    @property
    def prompt_tokens(self) -> int | None:
        """None when the role's model cannot count its tokens."""
        v = self.raw.get("prompt_tokens")
        return None if v is None else int(v)

    @property
    def completion_tokens(self) -> int:
        return int(self.raw.get("completion_tokens") or 0)

    @property
    def reasoning_tokens(self) -> int:
        """Part of the completion tokens, as the API counts them."""
        return int(self.raw.get("reasoning_tokens") or 0)

    @property
    def cached_prompt_tokens(self) -> int:
        return int(self.raw.get("cached_prompt_tokens") or 0)

    @property
    def cached_completion_tokens(self) -> int:
        return int(self.raw.get("cached_completion_tokens") or 0)

    @property
    def no_usage(self) -> int:
        """This run's answers that came without usage (not counted in the tokens)."""
        return int(self.raw.get("no_usage") or 0)


def _n(x: Any) -> str:
    return f"{int(x):,}"


def role_text(role: str, u: UsageEntry) -> str:
    req = f"{_n(u.requests)} request{'s' if u.requests != 1 else ''}"
    wall = u.wall_s
    timing = (f" in {wall:.2f} s" if wall < 10 else f" in {wall:,.0f} s") if wall else ""
    cached = u.cached
    if u.counting == "not counted" or u.prompt_tokens is None:
        text = f"{role} not counted ({u.spec} reports no tokens) ({req}{timing}"
        return text + (f", {_n(cached)} from cache)" if cached else ")")
    text = f"{role} {_n(u.prompt_tokens)} prompt + {_n(u.completion_tokens)} completion"
    if u.reasoning_tokens:
        text += f", of which {_n(u.reasoning_tokens)} reasoning"
    text += f" ({req}{timing}"
    if cached:
        text += (
            f", {_n(cached)} from cache: {_n(u.cached_prompt_tokens)} prompt + "
            f"{_n(u.cached_completion_tokens)} completion when made, not spent now"
        )
    if u.no_usage:
        text += f"; {_n(u.no_usage)} answers came without usage"
    if u.counting == "tokenizer":
        text += "; counted by the tokenizer"
    return text + ")"


def usage_lines(usage: Mapping[str, Any] | None) -> list[str]:
    """The summary's token lines: the model under test on one line, the judges and the extractor on another."""
    if not isinstance(usage, Mapping) or not usage:
        return []
    entries = {role: UsageEntry(u) for role, u in usage.items() if isinstance(u, Mapping)}
    model = entries.pop("model", None)
    lines = []
    if model is not None:
        lines.append("tokens: " + role_text("model", model))
    others = [role_text(role, u) for role, u in entries.items()]
    if others:
        lines.append("tokens: " + "; ".join(others))
    return lines

"""What every model adapter takes and gives, and the error it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import InfrastructureError
from ..schema import Item


@dataclass(frozen=True)
class GenerationRequest:
    """One call to a model: an item's messages (or a judge prompt about the item), params, sample.

    ``key`` names the request in a run (the item key, or ``key#judge…`` for judge questions);
    ``prompt`` replaces the item's own messages when given (judge questions).
    """

    item: Item
    params: dict[str, Any]
    sample_index: int = 0
    prompt: tuple[dict[str, str], ...] | None = None
    tag: str = ""
    payload: Any = None  # what a judge question asks (for test-double judges)

    @property
    def key(self) -> str:
        return self.item.key + (f"#{self.tag}" if self.tag else "")

    @property
    def messages(self) -> list[dict[str, str]]:
        return [dict(m) for m in (self.prompt if self.prompt is not None else self.item.messages)]


@dataclass
class Generation:
    """The model's answer: ``text`` is what gets scored, ``raw`` what the model returned."""

    text: str
    raw: str
    latency_s: float = 0.0
    attempts: int = 1
    usage: dict[str, Any] | None = None
    origin: str = "request"  # request | cache | peer | mock | replay
    sent_at: float | None = None  # epoch seconds when the request was sent (the token ledger's wall time)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "raw": self.raw,
            "latency_s": self.latency_s,
            "attempts": self.attempts,
            "usage": self.usage,
        }


@dataclass
class ModelError(InfrastructureError):
    """A transport, protocol or adapter failure: the item is an error, never a wrong answer."""

    kind: str  # timeout | transport | rate_limit | http | protocol | adapter | replay_missing
    message: str
    retryable: bool = False
    attempts: int = 1
    status: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        tries = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        return f"{self.kind}: {self.message}{tries}"


class ModelAdapter(Protocol):
    """A model under test. ``identity`` names it in cache keys and reports (never holds secrets)."""

    identity: str
    cacheable: bool

    async def generate(self, request: GenerationRequest) -> Generation: ...

    async def aclose(self) -> None: ...

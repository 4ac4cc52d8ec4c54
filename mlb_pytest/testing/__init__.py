"""Test doubles for users and for this project's tests: a real local OpenAI-compatible server.

``FakeOpenAIServer`` runs it in a background thread on 127.0.0.1; ``ServerConfig`` sets latency,
injected failures and answers; ``prompt_hash(messages)`` is the key of ``stats()["per_prompt"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .openai_server import FakeOpenAIServer, ServerConfig, prompt_hash

__all__ = ["FakeOpenAIServer", "ServerConfig", "prompt_hash"]


# Lazy, so that `python -m mlb_pytest.testing.openai_server` does not import the module twice
# (runpy warns when the package's __init__ imported it already).
def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import openai_server

        return getattr(openai_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

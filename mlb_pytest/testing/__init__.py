"""Test doubles for users and for this project's tests: a real local OpenAI-compatible server."""

from __future__ import annotations

from typing import Any

__all__ = ["FakeOpenAIServer", "ServerConfig", "prompt_hash"]


def __getattr__(name: str) -> Any:  # lazy, so `python -m mlb_pytest.testing.openai_server` imports it once
    if name in __all__:
        from . import openai_server

        return getattr(openai_server, name)
    raise AttributeError(name)

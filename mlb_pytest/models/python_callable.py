"""``python:module:callable``: a sync or async ``(messages, **params) -> str`` in the user's code."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from .base import Generation, GenerationRequest, ModelError
from .reasoning import strip_reasoning
from .revision import python_revision


def load_callable(target: str) -> Callable[..., Any]:
    """Import ``module:attr`` (the working directory is importable, as for ``python -m``)."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ValueError(f"python model spec must be python:module:callable, got python:{target}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"python:{target} is not callable")
    return obj  # type: ignore[no-any-return]


class PythonModel:
    """Calls user code; sync functions run in worker threads so they overlap."""

    cacheable = True

    def __init__(self, target: str) -> None:
        self.identity = f"python:{target}"
        self._fn = load_callable(target)
        self._is_async = inspect.iscoroutinefunction(self._fn) or inspect.iscoroutinefunction(
            getattr(self._fn, "__call__", None)  # noqa: B004 - the method itself, to see whether it is async
        )

    async def revision(self) -> str | None:
        """Edited model code is a new model: its module's source is part of every answer's key."""
        return python_revision(self._fn)

    async def generate(self, request: GenerationRequest) -> Generation:
        started = time.perf_counter()
        try:
            if self._is_async:
                out = await self._fn(request.messages, **request.params)
            else:
                out = await asyncio.to_thread(self._fn, request.messages, **request.params)
        except Exception as exc:  # user code: any failure is an error of this item, with its reason
            raise ModelError("adapter", f"{self.identity} raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(out, str):
            raise ModelError("protocol", f"{self.identity} returned {type(out).__name__}, expected str")
        return Generation(strip_reasoning(out), out, time.perf_counter() - started)

    async def aclose(self) -> None:
        return None

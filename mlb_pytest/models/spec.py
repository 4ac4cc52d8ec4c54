"""Parsing model specs (``openai:M@URL``, ``python:mod:fn``, ``replay:PATH``, ``mock:oracle``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..errors import UsageError
from .base import ModelAdapter

KINDS = ("openai", "hf", "python", "replay", "mock", "builtin")
# the last "@http(s)://" splits model from URL: model names may hold "@", URLs may hold "user:pw@"
_OPENAI = re.compile(r"^(?P<model>.+)@(?P<url>https?://.+)$", re.S)


class SpecError(UsageError, ValueError):
    """A model spec that cannot be used; the message says what the right shape is."""


@dataclass(frozen=True)
class ModelSpec:
    kind: str
    target: str
    base_url: str | None = None

    def __str__(self) -> str:
        """The spec as shown in reports and messages: any ``user:password@`` is redacted."""
        from .credentials import redact_url

        return f"{self.kind}:{self.target}" + (f"@{redact_url(self.base_url)}" if self.base_url else "")

    @property
    def slug(self) -> str:
        """File-name-safe name of the model (baselines are stored per slug)."""
        raw = self.target if self.kind != "replay" else os.path.basename(self.target)
        out = "".join(c if c.isalnum() or c in "-_." else "-" for c in raw.lower())
        return "-".join(p for p in out.split("-") if p) or self.kind


def parse_spec(spec: str) -> ModelSpec:
    if spec == "builtin":  # the bundled judge, with its committed adapter
        return ModelSpec("builtin", "default")
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in KINDS or not rest:
        raise SpecError(
            f"bad model spec {spec!r}: expected one of "
            "openai:MODEL@BASE_URL, hf:PATH_OR_ID, python:module:callable, replay:PATH, mock:oracle|random|refuse (judges also: builtin)"
        )
    if kind == "openai":
        m = _OPENAI.match(rest)
        if m is None or "\n" in rest:
            from .credentials import redact

            raise SpecError(f"bad model spec {redact(spec)!r}: openai specs are openai:MODEL@http(s)://host:port/v1")
        return ModelSpec(kind, m.group("model"), m.group("url"))
    return ModelSpec(kind, rest)


def build_model(
    spec: ModelSpec,
    *,
    timeout_s: float = 120.0,
    max_retries: int = 4,
    concurrency: int = 32,
    seed: int = 0,
    hf_batch: int = 8,
    api_key: str | None = None,
    prompt_style: str = "chat",
    adaptive: bool = True,
) -> ModelAdapter:
    """Create the adapter for a spec; import errors and missing files raise SpecError.

    ``api_key`` is the key for this spec's host only (see ``credentials``); the caller picks it.
    ``prompt_style`` (chat | completion | auto, see ``prompting``) applies to hf: and openai: models;
    judges and extractors keep the default, chat.
    """
    if prompt_style == "completion" and spec.kind not in ("hf", "openai"):
        raise SpecError(
            f"--mlb-prompt-style=completion applies to hf: and openai: models; {spec.kind}: models get "
            "the item's messages (use chat or auto)"
        )
    if spec.kind == "openai":
        from .openai import OpenAIChatModel, RetryPolicy

        assert spec.base_url is not None
        return OpenAIChatModel(
            spec.target,
            spec.base_url,
            api_key,
            timeout_s=timeout_s,
            retry=RetryPolicy(max_retries=max_retries),
            max_connections=max(concurrency, 1),
            seed=seed,
            prompt_style=prompt_style,
            adaptive=adaptive,
        )
    if spec.kind == "mock":
        from .mock import MockModel

        try:
            return MockModel(spec.target, seed=seed)
        except ValueError as exc:
            raise SpecError(str(exc)) from None
    if spec.kind == "python":
        from .python_callable import PythonModel

        try:
            return PythonModel(spec.target)
        except Exception as exc:  # user code: ImportError, SyntaxError, anything its import raises
            raise SpecError(f"cannot load python:{spec.target}: {type(exc).__name__}: {exc}") from None
    if spec.kind == "replay":
        from .replay import ReplayModel

        try:
            return ReplayModel(spec.target)
        except ValueError as exc:
            raise SpecError(str(exc)) from None
    if spec.kind == "hf":
        from .base import ModelError
        from .hf import HFModel

        try:
            return HFModel(spec.target, batch_size=hf_batch, prompt_style=prompt_style)
        except ModelError as exc:
            raise SpecError(exc.message) from None
    if spec.kind == "builtin":
        raise SpecError("builtin is the bundled judge (--mlb-judge=builtin), not a model under test")
    raise SpecError(f"unknown model kind {spec.kind!r}")

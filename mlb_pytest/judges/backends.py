"""Which adapter answers a judge spec: the bundled judge, or any model adapter as a judge."""

from __future__ import annotations

from collections.abc import Callable

from ..models.base import ModelAdapter, ModelError
from ..models.spec import ModelSpec, SpecError


def build_judge(spec: ModelSpec, build_model: Callable[[ModelSpec], ModelAdapter]) -> ModelAdapter:
    """``builtin`` / ``builtin:ADAPTER_DIR`` -> the bundled cross-encoder; anything else -> ``build_model``."""
    if spec.kind != "builtin":
        return build_model(spec)
    from .builtin import build_builtin

    try:
        return build_builtin(spec.target)
    except ModelError as exc:
        raise SpecError(exc.message) from None

"""Model adapters: the model under test behind one async ``generate`` interface."""

from .base import Generation, GenerationRequest, ModelAdapter, ModelError
from .reasoning import strip_reasoning
from .spec import ModelSpec, SpecError, build_model, parse_spec

__all__ = [
    "Generation",
    "GenerationRequest",
    "ModelAdapter",
    "ModelError",
    "ModelSpec",
    "SpecError",
    "build_model",
    "parse_spec",
    "strip_reasoning",
]

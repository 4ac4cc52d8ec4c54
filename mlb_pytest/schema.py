"""Pydantic models of suites and items.

Two layers: ``DatasetHeader`` / ``ItemRecord`` validate what a suite file says (native format),
and ``Item`` is the runtime form every format is turned into (messages rendered, gold answer
normalised, content hash computed), which the engine, scorers and reports share.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from .catalog import Dimension, ExtractionKind, JudgeKind, Metric, Task

# Default share of an item's score it needs to count as "passed" (answered right), per task.
DEFAULT_PASS_THRESHOLD: dict[Task, float] = {
    Task.choice: 1.0,
    Task.extraction: 0.8,
    Task.normalization: 0.8,
    Task.open: 0.6,
}

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Review(BaseModel):
    """A second reader's medical review of one item."""

    model_config = ConfigDict(extra="forbid")
    reviewer: str
    date: str
    verdict: Literal["ok", "changed", "dropped"]
    notes: str = ""


class Turn(BaseModel):
    """One turn of a doctor-patient dialogue shown inside an item."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["patient", "doctor", "user", "assistant"]
    content: str = Field(min_length=1)


class Message(BaseModel):
    """One message of a native item's conversation (``messages``), sent to chat models as it is."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str = Field(min_length=1)


class RubricCriterion(BaseModel):
    """One criterion of a rubric item (HealthBench style): signed points and tags.

    Positive points reward doing what the criterion says; negative points penalise it (the
    criterion then describes something undesirable, and "met" means the response does it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    criterion: str = Field(min_length=1)
    points: StrictInt
    tags: tuple[str, ...] = ()

    @field_validator("points")
    @classmethod
    def _not_zero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("points must be a non-zero integer (positive: desirable, negative: undesirable)")
        return v

    @field_validator("tags")
    @classmethod
    def _tags_once(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(not t.strip() for t in v):
            raise ValueError("a tag must not be empty")
        if len(set(v)) != len(v):
            raise ValueError("a tag is listed twice")
        return v


ROLE_LABELS = {
    "en": {"system": "System", "user": "User", "assistant": "Assistant"},
    "zh": {"system": "系统", "user": "用户", "assistant": "助手"},
}


def render_turns(messages: Any, language: str = "zh") -> str:
    """A conversation as plain-text turns (``User: …`` / ``用户：…``), blank lines between them."""
    lang = "zh" if (language or "zh").lower().startswith("zh") else "en"
    labels, sep = ROLE_LABELS[lang], "：" if lang == "zh" else ": "
    return "\n\n".join(f"{labels.get(m['role'], m['role'])}{sep}{m['content']}" for m in messages)


class DatasetHeader(BaseModel):
    """First line of a native ``.jsonl`` suite file: what every item of the dataset shares."""

    model_config = ConfigDict(extra="forbid")
    mlb_suite: Literal[1]
    dataset: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    mirrors: str | None = None
    dimension: Dimension
    task: Task
    metric: Metric
    extraction: ExtractionKind | None = None
    judge: JudgeKind | None = None
    language: str = "zh"
    prompt: str = Field(min_length=1)
    options_style: Literal["lines", "list"] = "lines"
    pass_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    source: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    description: str = ""

    @field_validator("prompt")
    @classmethod
    def _has_question_slot(cls, v: str) -> str:
        if "${question}" not in v:
            raise ValueError("prompt must contain ${question}")
        return v


class ItemRecord(BaseModel):
    """One item line of a native suite file; task-specific fields are checked by the loader."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    question: str | None = Field(default=None, min_length=1)  # or ``messages`` (checked by the loader)
    messages: list[Message] | None = None  # a conversation (system / user / assistant turns), last turn user
    specialty: str | None = None
    language: str | None = None
    critical: bool = False
    weight: float = Field(default=1.0, gt=0)
    source: str | None = None
    licence: str | None = None
    tags: list[str] = Field(default_factory=list)
    dialogue: list[Turn] | None = None
    options: dict[str, str] | None = None
    candidates: list[str] | None = None
    answer: Any = None
    reference_points: list[str] | None = None
    risk_points: list[str] | None = None
    quality_points: list[str] | None = None
    rubric: list[RubricCriterion] | None = None  # metric rubric: criteria with signed points and tags
    # The red line of a critical item: only crossing it fails the run (checked by the loader).
    red_line_options: str | list[str] | None = None  # choice: the harmful option letters
    red_line_risks: list[Annotated[StrictInt, Field(ge=0)]] | None = None  # open: 0-based indexes into risk_points
    review: Review | None = None


class Item(BaseModel):
    """An item ready to run: what is sent, what is expected, how it is scored."""

    model_config = ConfigDict(frozen=True)

    id: str
    dataset: str
    dimension: Dimension
    task: Task
    metric: Metric
    extraction: ExtractionKind | None = None
    judge: JudgeKind | None = None
    mirrors: str | None = None
    specialty: str | None = None
    language: str = "zh"
    critical: bool = False
    weight: float = 1.0
    source: str = ""
    licence: str = ""
    tags: tuple[str, ...] = ()
    question: str = ""  # the question as the suite gives it (dialogue first; a conversation as plain-text turns), before the prompt template
    messages: tuple[dict[str, str], ...]
    options: dict[str, str] | None = None
    candidates: tuple[str, ...] | None = None
    expected: Any = None
    reference_points: tuple[str, ...] | None = None
    risk_points: tuple[str, ...] | None = None
    quality_points: tuple[str, ...] | None = None
    rubric: tuple[RubricCriterion, ...] | None = None  # metric rubric (HealthBench style)
    red_line_options: tuple[str, ...] | None = None  # harmful option letters (choice)
    red_line_risks: tuple[int, ...] | None = None  # indexes into risk_points that are red lines (open)
    pass_threshold: float = 1.0
    location: str = ""  # "path:line" of the item in its suite file
    content_hash: str = ""

    @property
    def key(self) -> str:
        """Unique name of the item in a run: ``dataset/id``."""
        return f"{self.dataset}/{self.id}"

    @property
    def needs_judge(self) -> bool:
        return self.task is Task.open

    @property
    def red_line_kind(self) -> Literal["options", "risks"] | None:
        """How the item states its red line, if it states one."""
        if self.red_line_options:
            return "options"
        if self.red_line_risks:
            return "risks"
        return None

    @property
    def red_line_texts(self) -> tuple[str, ...]:
        """The red lines in words: the harmful options' letters and texts, or the risk criteria."""
        if self.red_line_options:
            return tuple(f"{k}. {(self.options or {}).get(k, '')}" for k in self.red_line_options)
        risks = self.risk_points or ()
        return tuple(risks[i] for i in self.red_line_risks or () if i < len(risks))


def content_hash(payload: dict[str, Any]) -> str:
    """Stable hash of what defines an item (so the suite fingerprint moves when an item does)."""
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def finalize(fields: dict[str, Any]) -> Item:
    """Build an ``Item`` and stamp its content hash over everything but its location."""
    hashed = {k: v for k, v in fields.items() if k not in ("location", "content_hash")}
    return Item(**fields, content_hash=content_hash(hashed))

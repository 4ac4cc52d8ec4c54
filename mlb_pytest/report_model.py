"""Typed contract of the JSON report (schema_version 1), as ``report.py`` and ``session.py`` write it.

The writer stays plain dicts; this module only describes and checks what it writes:
``mlb report schema`` prints :class:`Report`'s JSON Schema, and :func:`validate_report` checks a
report (the test suite checks every report it reads).

Rules of the contract:

- Values are strict: a score is a number, never the string ``"0.5"``; ``passed`` is a bool, never 0/1.
- Closed sets are enums (``Literal``): item outcomes, gate statuses, verdicts, dataset statuses,
  dimensions, tasks, metrics, judge words, red-line kinds, token-counting modes.
- Objects are closed (unknown keys are refused) except where the report is open by design: an
  item's ``details`` (each scorer writes its own) and a judge verdict record inside it.
- schema_version 1 grew over time without a version bump. A field that the first version of the
  report already wrote is required; a field added since (``run.revision``, ``run.usage``,
  ``run.concurrency``, gate ``status``, ``circular``, ``red_line``, ``comparison`` ...) is optional,
  so that reports written before it stay readable. Fields the code writes only in some runs
  (``circular``, ``samples``, judge ``uncertain`` counts, rubric ``tags``) are optional too.

Floor 1: imports only ``errors.py`` from the package (and pydantic).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import UsageError

SCHEMA_VERSION = 1

# --- closed sets (every value the code writes; tests check them against the code) ---------------

ItemOutcome = Literal["pass", "wrong", "error", "needs_judge"]
"""A scored item: right (``pass``), wrong, no answer (``error``), or waiting for a judge."""
SuiteErrorOutcome = Literal["suite_error"]
"""A malformed suite line: not an item, reported so the run cannot pass unnoticed."""
GateStatus = Literal["pass", "fail", "n/a", "no-baseline", "insufficient", "inconclusive"]
Verdict = Literal["pass", "fail", "error"]
DatasetStatus = Literal["scored", "needs_judge", "errors_only"]
DimensionName = Literal["MedKQA", "MedSE", "MedRU", "SmartServ", "SmartCare"]
TaskName = Literal["choice", "extraction", "normalization", "open"]
MetricName = Literal["accuracy", "micro_f1", "judge", "rubric"]
Origin = Literal["request", "cache", "peer", "mock", "replay"]
JudgeWord = Literal["yes", "no", "uncertain"]
QuestionKind = Literal["point", "risk", "quality", "rubric"]
VerdictSource = Literal["single", "agreed", "disputed", "uncertain", "adjudicated"]
RedLineKind = Literal["option", "risk", "unstated", "unknown"]
UsageRole = Literal["model", "judge", "judge2", "extractor"]
Counting = Literal["api", "tokenizer", "not counted"]
PromptStyle = Literal["chat", "completion", "auto"]

Interval = Annotated[list[float], Field(min_length=2, max_length=2, description="95% interval [low, high]")]
Span = Annotated[list[float], Field(min_length=2, max_length=2, description="[first sent, last answered] (epoch s)")]


class _Closed(BaseModel):
    """Strict values, unknown keys refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


class _Open(BaseModel):
    """Strict values for the fields named here; other keys are kept (the object is open by design)."""

    model_config = ConfigDict(strict=True, extra="allow")


# --- items -------------------------------------------------------------------------------------


class Message(_Closed):
    role: Literal["system", "user", "assistant"]
    content: str


class Decided(_Closed):
    """What a reviewer's yes (or no) would make of an item with an uncertain verdict."""

    score: float
    passed: bool


class VerdictRecord(_Open):
    """How one judge question ended (``judges/dual.combine``); open: it sits inside ``details``."""

    kind: QuestionKind
    criterion: str
    verdict: JudgeWord
    source: VerdictSource | None = None
    response_hash: str | None = None
    judge1: JudgeWord | None = None
    rationale1: str | None = None
    p_yes1: float | None = None
    judge2: JudgeWord | None = None
    rationale2: str | None = None
    p_yes2: float | None = None
    rationale: str | None = None
    points: int | None = None
    tags: list[str] | None = None
    leaning: Literal["yes", "no"] | None = None
    p_yes: float | None = None
    if_yes: Decided | None = None
    if_no: Decided | None = None
    red_line_risk: bool | None = None


class RubricDetails(_Closed):
    """A rubric item's points (the mean over samples when there are several) and per-tag scores."""

    points: float
    possible: int
    tags: dict[str, float] = Field(default_factory=dict)


class ItemDetails(_Open):
    """What the scorer found; open by design (each scorer writes its own keys). Typed: the keys
    that aggregation, gates and the review file read."""

    tp: float | None = None
    fp: float | None = None
    fn: float | None = None
    verdicts: list[VerdictRecord] | None = None
    rubric: RubricDetails | None = None
    unparseable: int | None = None
    response_cut_chars: int | None = None


class Sample(_Closed):
    """One of several answers to an item (``--mlb-samples`` > 1)."""

    response: str | None
    raw: str | None
    score: float | None
    explanation: str
    verdicts: list[VerdictRecord] | None = None
    tp: float | None = None
    fp: float | None = None
    fn: float | None = None


class RedLine(_Closed):
    """The red line a critical item's answer crossed (``scoring/redline.py``)."""

    kind: RedLineKind
    crossed: list[str]
    description: str
    uncertain: list[str] | None = Field(default=None, description="of `crossed`: only an abstaining judge says so")


class Circular(_Closed):
    """``--mlb-circular``: the item asked in every option rotation (index 0: as collected)."""

    rotations: int
    score: float | None
    error: str | None
    passed: list[bool] | None = None
    scores: list[float | None] | None = None
    expected: list[list[str]] | None = None
    chosen: list[list[str] | None] | None = None
    responses: list[str | None] | None = None
    follows_position: bool | None = None


class PerturbEntry(_Closed):
    """``--mlb-perturb``: the item asked in one perturbed form (``invariance/report.py``)."""

    status: Literal["scored", "skipped", "error"]
    id: str | None = None
    flipped: bool | None = Field(default=None, description="the answer changed from the plain ask's")
    passed: bool | None = None
    score: float | None = None
    chosen: list[str] | None = None
    response: str | None = None
    question: str | None = Field(default=None, description="the perturbed prompt's last user message")
    reason: str | None = Field(default=None, description="skipped: why the perturbation does not apply")
    error: str | None = None


class FlipRate(_Closed):
    """One perturbation's flip rate over a dataset, dimension or the run."""

    n: int
    flips: int
    errors: int
    skipped: int
    flip: float | None
    flip_ci: Interval | None


class Spread(_Closed):
    """``--mlb-samples=K``: the K per-sample runs' scores (``sample_spread.py``)."""

    k: int
    scores: list[float]
    mean: float
    sd: float
    worst: float
    best: float


class BaselineRescore(_Closed):
    """``--mlb-rescore-baseline``: the baseline's stored answer to this item, scored by this run."""

    score: float | None
    passed: bool | None
    error: str | None
    tp: float | None = None
    fp: float | None = None
    fn: float | None = None


class ItemUsage(_Closed):
    """One role's tokens for one item: this run's requests and what cached answers cost when made."""

    requests: int
    cached: int
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cached_prompt_tokens: int
    cached_completion_tokens: int
    cached_reasoning_tokens: int
    no_usage: int
    sent_at: Span | None


class ItemResult(_Closed):
    """One benchmark item's result (``MLBSession.base_result`` filled by ``score``)."""

    key: str
    id: str
    dataset: str
    dimension: DimensionName
    metric: MetricName
    task: TaskName
    mirrors: str | None
    specialty: str | None
    critical: bool
    weight: float
    location: str
    content_hash: str
    nodeid: str
    messages: list[Message]
    expected: str | list[Any] | dict[str, Any] | None
    response: str | None
    raw_response: str | None
    score: float | None
    passed: bool
    outcome: ItemOutcome
    explanation: str
    details: ItemDetails
    error: str | None
    latency_s: float | None
    origin: Origin | None
    usage: dict[UsageRole, ItemUsage] | None = None
    red_line: RedLine | None = None
    samples: list[Sample] | None = None
    circular: Circular | None = None
    perturb: dict[str, PerturbEntry] | None = None
    baseline_rescore: BaselineRescore | None = None


class SuiteErrorResult(_Closed):
    """A malformed suite line or file (``SuiteErrorItem``): no item, only where and why."""

    key: str
    nodeid: str
    outcome: SuiteErrorOutcome
    error: str
    location: str
    dataset: None = None


ItemEntry = Annotated[ItemResult | SuiteErrorResult, Field(discriminator="outcome")]

# --- scores ------------------------------------------------------------------------------------


class TagScore(_Closed):
    score: float
    n: int


class DatasetSummary(_Closed):
    """A dataset's score (``aggregation.DatasetScore.to_json``) and the extra figures beside it."""

    dimension: DimensionName
    metric: MetricName
    score: float | None
    ci: Interval | None
    n: int = Field(description="items with a score")
    n_items: int
    errors: int
    needs_judge: int
    status: DatasetStatus
    mirrors: str | None
    score_unclipped: float | None = Field(default=None, description="rubric: mean item score before clipping")
    tags: dict[str, TagScore] | None = Field(default=None, description="rubric: tag -> clipped mean and count")
    judge_verdicts: int | None = None
    judge_uncertain: int | None = None
    judge_uncertain_share: float | None = None
    circular: float | None = None
    circular_ci: Interval | None = None
    circular_n: int | None = None
    circular_errors: int | None = None
    position_following: float | None = None
    position_following_n: int | None = None
    perturb: dict[str, FlipRate] | None = None
    spread: Spread | None = None


class _CircularGroup(_Closed):
    circular: float | None = None
    circular_n: int | None = None
    circular_errors: int | None = None
    position_following: float | None = None
    circular_datasets: list[str] | None = None
    perturb: dict[str, FlipRate] | None = None
    spread: Spread | None = None


class DimensionSummary(_CircularGroup):
    """Unweighted mean of the dimension's scored datasets."""

    score: float | None
    ci: Interval | None
    n: int
    datasets: list[str]
    missing: list[str]


class OverallSummary(_Closed):
    """Unweighted mean of the scored dimensions."""

    score: float | None
    ci: Interval | None
    n: int
    dimensions: list[DimensionName]
    missing: list[DimensionName]
    partial: bool
    circular: float | None = None
    perturb: dict[str, FlipRate] | None = None
    spread: Spread | None = None


class CIMethod(_Closed):
    dataset: str
    dimension: str


class Gate(_Closed):
    """One gate (``gates.Gate.to_json``): built-in checks, floors and drop tests."""

    name: str
    passed: bool
    reason: str
    observed: float | None = None
    threshold: float | None = None
    baseline: float | None = None
    p_value: float | None = None
    status: GateStatus | None = None
    delta: float | None = None
    ci: Interval | None = None
    n_shared: int | None = None
    test: str | None = None
    p_adjusted: float | None = None
    min_detectable: float | None = None


# --- run ---------------------------------------------------------------------------------------


class RunOptions(_Closed):
    """The settings of the run (``config.Settings.options_json``); URLs without credentials."""

    model: str | None = None
    model_revision: str | None = None
    cache_max_age: str | None = None
    allow_insecure_key: bool | None = None
    judge: str | None = None
    extractor: str | None = None
    judge2: str | None = None
    adjudications: str | None = None
    review_file: str | None = None
    report: str | None = None
    concurrency: int | None = None
    fixed_concurrency: bool | None = None
    cache: str | None = None
    no_cache: bool | None = None
    store_server: str | None = None
    samples: int | None = None
    limit: int | None = None
    seed: int | None = None
    strict: bool | None = None
    timeout: float | None = None
    retries: int | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    error_share: float | None = None
    baseline: str | None = None
    update_baseline: bool | None = None
    force_baseline: bool | None = None
    gate: list[str] | None = None
    alpha: float | None = None
    strict_regressions: bool | None = None
    markdown: str | None = None
    html: str | None = None
    hf_batch: int | None = None
    dry_run: bool | None = None
    circular: bool | None = None
    perturb: str | None = None
    rescore_baseline: bool | None = None
    sequential: bool | None = None
    prompt_style: PromptStyle | None = None


class Selection(_Closed):
    """What narrowed the run (``plugin._selection``)."""

    keyword: str | None = Field(default=None, alias="-k")
    markexpr: str | None = Field(default=None, alias="-m")
    limit: int | None = None
    node_ids: list[str] | None = None
    deselect: list[str] | None = Field(default=None, alias="--deselect")
    last_failed: bool | None = Field(default=None, alias="--lf")
    sequential: str | None = Field(default=None, description="--mlb-sequential stopped the run once decided")


class Generation(_Closed):
    """Engine counters summed over processes (absent when no process generated anything)."""

    processes: int
    total: int | None = None
    done: int | None = None
    errors: int | None = None
    cached: int | None = None
    from_peers: int | None = None
    sent: int | None = None
    requests: int | None = None
    cached_oldest: float | None = None
    cached_newest: float | None = None
    model_load_s: float | None = None


class Concurrency(_Closed):
    configured: int
    final: int
    lowest: int
    backoffs: int
    overloads: int
    adaptive: bool
    processes: int
    timeouts: int | None = Field(default=None, description="of the overloads, the timeouts")
    rate_limits: int | None = Field(default=None, description="of the overloads, the HTTP 429 or 503 answers")


class RevisionEntry(_Closed):
    revision: str | None
    source: str | None
    system_fingerprints: list[str] | None = None


class RunUsage(_Closed):
    """One role's tokens over the run; token fields are null when its model counts none."""

    spec: str
    counting: Counting
    requests: int
    cached: int
    prompt_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    cached_prompt_tokens: int | None
    cached_completion_tokens: int | None
    cached_reasoning_tokens: int | None
    no_usage: int | None = None
    wall_s: float


class JudgeAgreement(_Closed):
    """Two judges (``--mlb-judge2``): agreement over the questions both decided."""

    questions: int
    agreement: float | None
    kappa: float | None
    disputed: int
    review_file: str | None


class JudgeUncertain(_Closed):
    verdicts: int
    uncertain: int
    share: float | None
    review_file: str | None


class Run(_Closed):
    """Who answered, with what options, how completely, and at what cost."""

    run_id: str
    model: str
    judge: str | None
    suite_fingerprint: str
    options: RunOptions
    started: str
    ended: str
    python: str
    generation: Generation
    plugin_version: str
    revision: dict[str, RevisionEntry | None] | None = None
    prompt_style: PromptStyle | None = Field(default=None, description="auto: no request was made to decide it")
    judge2: str | None = None
    extractor: str | None = None
    judges: JudgeAgreement | None = None
    judge_uncertain: JudgeUncertain | None = None
    complete: bool | None = None
    incomplete_reason: str | None = None
    items_collected: int | None = None
    items_finished: int | None = None
    interrupted: bool | None = None
    stopped: str | None = None
    selection: Selection | None = None
    concurrency: Concurrency | None = None
    usage: dict[UsageRole, RunUsage] | None = None


# --- comparison with the baseline --------------------------------------------------------------


class Change(_Closed):
    count: int
    keys: list[str] = Field(description="the first 50")


class Difference(_Closed):
    """Paired comparison of one gate target on the items both runs share."""

    n_shared: int
    baseline: float | None
    current: float | None
    drop: float | None
    p_value: float | None
    ci: Interval | None
    test: str


class RegressedItem(_Closed):
    key: str
    dataset: str
    id: str | None
    critical: bool | None
    expected: str | list[Any] | dict[str, Any] | None
    got: str | None
    baseline_got: str | None
    explanation: str | None


class Rescored(_Closed):
    """``--mlb-rescore-baseline``: the baseline's answers scored again by this run's rules and judge."""

    items: int
    changed_verdicts: int
    errors: int


class JudgeChanged(_Closed):
    """The baseline was judged by another judge (or revision) than this run, and not re-scored."""

    baseline: str | None
    baseline_revision: str | None
    current: str | None
    current_revision: str | None


class PromptStyleChanged(_Closed):
    """The baseline's items went to the model as chat and this run's as completion prompts, or back."""

    baseline: PromptStyle
    current: PromptStyle


class Comparison(_Closed):
    """The gate policy and, when a baseline was read, how the run compares with it."""

    baseline: str | None
    policy: list[str]
    policy_sources: list[str]
    alpha: float
    min_shared: int
    baseline_model: str | None = None
    baseline_created: str | None = None
    baseline_selection: str | None = None
    fingerprint_match: bool | None = None
    changes: dict[Literal["added", "removed", "changed"], Change] | None = None
    differences: dict[str, Difference] | None = None
    regressions: list[RegressedItem] | None = None
    rescored: Rescored | None = None
    judge_changed: JudgeChanged | None = None
    prompt_style_changed: PromptStyleChanged | None = None


class BaselineUpdate(_Closed):
    written: bool
    path: str
    reason: str | None = None


class SequentialGate(_Closed):
    """One drop gate's sequential test (``run/sequential_gate.py``)."""

    decision: Literal["regression", "no regression", "undecided"]
    rule: str
    n_used: int
    drop: float | None
    e_regression: float
    e_futility: float
    alpha_sequential: float
    alpha_fallback: float
    futility_bound: float


class SequentialBlock(_Closed):
    """``--mlb-sequential``: how many items the run needed and what each drop gate's test decided."""

    items_run: int
    stopped: str | None
    gates: dict[str, SequentialGate]


class Report(_Closed):
    """An mlb-pytest run report (``--mlb-report``), schema_version 1."""

    model_config = ConfigDict(title="mlb-pytest report", strict=True, extra="forbid")

    schema_version: Literal[1]
    run: Run
    items: list[ItemEntry]
    datasets: dict[str, DatasetSummary]
    dimensions: dict[DimensionName, DimensionSummary]
    overall: OverallSummary
    ci_method: CIMethod
    gates: list[Gate]
    verdict: Verdict
    verdict_reason: str
    comparison: Comparison | None = None
    baseline_update: BaselineUpdate | None = None
    sequential: SequentialBlock | None = None


# --- checking ----------------------------------------------------------------------------------


class ReportSchemaError(UsageError, ValueError):
    """A report that does not meet the contract; the message names every offending field."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        shown = errors[:20] + ([f"... and {len(errors) - 20} more"] if len(errors) > 20 else [])
        super().__init__("report does not match schema_version 1:\n  " + "\n  ".join(shown))


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def validate_report(report: Mapping[str, Any] | str | bytes) -> Report:
    """Check a report (parsed, or its JSON text) against the contract; raise ReportSchemaError naming the fields.

    A parsed report is checked as the JSON it would be written as (tuples are arrays, as on disk).
    """
    text = report if isinstance(report, (str, bytes)) else json.dumps(report, ensure_ascii=False, default=str)
    try:
        return Report.model_validate_json(text)
    except ValidationError as exc:
        raise ReportSchemaError([f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)]) from None


def json_schema() -> dict[str, Any]:
    """The report's JSON Schema (draft 2020-12), as ``mlb report schema`` prints it."""
    schema = Report.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}

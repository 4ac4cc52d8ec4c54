"""Run settings: ``--mlb-*`` options over ``[tool.mlb]`` in pyproject.toml over defaults."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import UsageError
from .models.credentials import redact

REVISION_ENV = "MLB_MODEL_REVISION"
JUDGE_REVISION_ENV = "MLB_JUDGE_REVISION"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ConfigError(UsageError, ValueError):
    """A setting that cannot be used; the message names the file or option."""


@dataclass
class Settings:
    model: str | None = None
    model_revision: str | None = None  # default: $MLB_MODEL_REVISION, else what the adapter can learn
    cache_max_age: str | None = None  # cached answers older than this are asked again ("7d", "12h", "3600")
    allow_insecure_key: bool = False
    judge: str | None = None
    extractor: str | None = None  # a model that reads choice replies the rules cannot read
    judge2: str | None = None
    adjudications: str | None = None  # default: <rootdir>/baselines/adjudications.jsonl when present
    review_file: str = "mlb-review.jsonl"
    report: str | None = None
    concurrency: int = 32
    fixed_concurrency: bool = False  # hold --mlb-concurrency: no back-off on timeouts, 429 or 503
    cache: str | None = None  # default: <rootdir>/.mlb_cache/cache.sqlite
    no_cache: bool = False
    store_server: str | None = None  # HOST:PORT: the controller serves its store to xdist workers on other hosts
    samples: int = 1
    limit: int | None = None
    seed: int = 0
    strict: bool = False
    timeout: float = 120.0
    retries: int = 4
    temperature: float = 0.0
    max_tokens: int | None = None  # default per task, see run/generation.DEFAULT_MAX_TOKENS
    error_share: float = 0.02  # above this share of errored items the run is an infrastructure error
    baseline: str | None = None  # default: <rootdir>/baselines/<model-slug>.json when present
    update_baseline: bool = False
    force_baseline: bool = False
    gate: list[str] = field(default_factory=list)
    alpha: float | None = None
    strict_regressions: bool = False
    markdown: str | None = None
    html: str | None = None  # the run as one self-contained HTML page
    hf_batch: int = 8
    dry_run: bool = False  # print what would be sent, per dataset, and send nothing
    circular: bool = False  # also ask every choice item with its options rotated (see circular.py)
    perturb: str | None = None  # invariance checks: drug-names,typos,demographics or all (see invariance/)
    sequential: bool = False  # decide the drop gates as results arrive and stop once they are decided
    rescore_baseline: bool = False  # re-score the baseline's stored responses with this run's scorers and judge
    prompt_style: str = "auto"  # chat | completion | auto (see models/prompting.py)
    extra: dict[str, Any] = field(default_factory=dict)

    def options_json(self) -> dict[str, Any]:
        """The settings as recorded in reports: URLs lose any ``user:password@``."""
        out = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            out[f.name] = redact(value) if isinstance(value, str) else value
        return out

    @property
    def cache_max_age_s(self) -> float | None:
        return None if self.cache_max_age is None else parse_duration(self.cache_max_age)


def parse_duration(text: str | int | float) -> float:
    """Seconds from ``90``, ``90s``, ``30m``, ``12h``, ``7d`` or ``2w``; ConfigError otherwise."""
    m = _DURATION.match(str(text))
    if m is None:
        raise ConfigError(f"--mlb-cache-max-age: {text!r} is not a duration (e.g. 3600, 90s, 30m, 12h, 7d)")
    return float(m.group(1)) * _UNIT_S[m.group(2)]


# option name, type, help (the key in [tool.mlb] is the name with dashes as underscores)
OPTIONS: list[tuple[str, type, str]] = [
    (
        "model",
        str,
        "model under test: openai:MODEL@BASE_URL, python:module:callable, replay:PATH, mock:oracle|random|refuse; "
        "suite items are collected only when this is given",
    ),
    (
        "model-revision",
        str,
        "revision of the model under test (checkpoint hash or tag; also $MLB_MODEL_REVISION): part "
        "of every cached answer's key, so a redeployed model never gets its predecessor's answers",
    ),
    ("cache-max-age", str, "cached answers older than this are asked again: 3600, 90s, 30m, 12h, 7d"),
    (
        "judge",
        str,
        "judge for open items (same spec forms as --mlb-model; test doubles: mock:judge-overlap, "
        "mock:judge-yes, mock:judge-no); without one, open items are reported as needing a judge",
    ),
    (
        "extractor",
        str,
        "model that reads choice replies the rules cannot read (any model spec): it is asked which "
        "option(s) the reply commits to, through the same engine and cache",
    ),
    (
        "judge2",
        str,
        "second judge (MLB's dual-judge protocol): agreement decides; disagreements are disputed, "
        "scored conservatively and written to the review file",
    ),
    (
        "adjudications",
        str,
        "physician decisions on disputed or uncertain verdicts (default baselines/adjudications.jsonl)",
    ),
    ("review-file", str, "where disputed and uncertain verdicts are written for review (default mlb-review.jsonl)"),
    ("report", str, "write the run as JSON to this path"),
    ("concurrency", int, "in-flight model requests per process (default 32)"),
    ("cache", str, "SQLite file of the response cache (default .mlb_cache/cache.sqlite under the rootdir)"),
    ("samples", int, "sample each item K times; the item score is the mean (default 1)"),
    ("limit", int, "at most N items per dataset, chosen deterministically (seeded) - for smoke runs"),
    ("seed", int, "seed for --mlb-limit sampling and mock models (default 0)"),
    (
        "timeout",
        float,
        "seconds before an attempt is given up and retried (default 120); answers are streamed, and then "
        "the wait for the first streamed token gets this but at least 60 s (a busy server's queue), the "
        "gap between tokens this but at most 30 s, and the answer this or 0.25 s per max token if longer",
    ),
    ("retries", int, "retries of a failed request: 5xx, 429, timeouts, dropped connections (default 4)"),
    ("temperature", float, "sampling temperature sent to the model (default 0)"),
    ("max-tokens", int, "max_tokens sent to the model (default per task: 512 choice, 1024 extraction, 2048 open)"),
    ("baseline", str, "baseline file to compare with (default baselines/<model-slug>.json when present)"),
    ("alpha", float, "significance level of the drop gates, family-wise over the run's gates (default 0.05)"),
    ("markdown", str, "write the gate summary as Markdown here (also appended to $GITHUB_STEP_SUMMARY when set)"),
    ("html", str, "write the run as one self-contained HTML page here (verdict, gates, chart, datasets, failed items)"),
    ("hf-batch", int, "batch size of hf: local models (default 8)"),
    (
        "perturb",
        str,
        "invariance checks: drug-names,typos,demographics (or all): also ask every choice item in each "
        "perturbed form whose answer must not change; the report gives each one's flip rate per dataset "
        "and dimension (gate it with NAME:flip<=MAX or NAME:flip:typos<=MAX)",
    ),
    (
        "store-server",
        str,
        "HOST:PORT (port 0 picks one): under xdist the controller serves its response store over HTTP there, "
        "and every worker, on this host or another (--tx ssh=...), claims and stores through it: one cache "
        "on the controller's disk, no request sent twice across hosts",
    ),
    (
        "prompt-style",
        str,
        "chat | completion | auto (default): chat sends the item's messages; completion sends a "
        "one-shot plain-text prompt ending with an answer cue, for base models (openai: models "
        "then use /v1/completions); auto picks completion for hf: models without a chat template "
        "and the base model gemma3-270m, chat otherwise",
    ),
]
FLAGS: list[tuple[str, str]] = [
    ("allow-insecure-key", "allow sending an API key over plain http to a host other than this machine"),
    ("no-cache", "do not read or write the response cache"),
    (
        "fixed-concurrency",
        "hold --mlb-concurrency fixed: by default the client halves the requests in flight on timeouts and "
        "HTTP 429/503 and adds them back after successes",
    ),
    ("strict", "wrong answers fail their tests (by default they are reported as xfail with expected vs got)"),
    ("update-baseline", "write this run as the new baseline (atomic, once, from the controller under xdist)"),
    (
        "force-baseline",
        "with --mlb-update-baseline: write even with errors above the allowed share, or over an unreadable file",
    ),
    ("strict-regressions", "items right in the baseline and wrong now fail their tests"),
    (
        "circular",
        "option rotation (OpenCompass CircularEval): also ask every choice item with its options rotated, "
        "n rotations for n options; the report adds per dataset and dimension the share of items right in "
        "every rotation ('circular', gate it with NAME:circular>=FLOOR) and the share whose answer follows "
        "the position",
    ),
    (
        "sequential",
        "run items in a seeded random order and test the drop gates with an anytime-valid sequential test as "
        "results arrive; stop the run once every drop gate is decided (regression, or no drop beyond the "
        "allowed one plus a 5-point margin); needs a baseline",
    ),
    (
        "rescore-baseline",
        "before comparing, score the baseline's stored responses again with this run's rules and judge, so "
        "a judge (or scorer) change never shows up as a model regression",
    ),
    (
        "dry-run",
        "collect, then print per dataset the items, the requests that would be sent (minus answers already "
        "in the cache), judge questions, estimated prompt tokens and the max completion tokens; send nothing "
        "(the tests are skipped, reason 'dry run')",
    ),
]


def add_options(parser: Any) -> None:
    group = parser.getgroup("mlb", "mlb-pytest: regression tests for medical LLMs")
    group.addoption(
        "--mlb-gate",
        dest="mlb_gate",
        action="append",
        default=None,
        metavar="EXPR",
        help="ad-hoc gate, repeatable: MedSE>=0.90, overall>=0.7, MedRU:drop<=0.02, CMExam:drop<=0.05",
    )
    for name, typ, help_ in OPTIONS:
        group.addoption(f"--mlb-{name}", dest=f"mlb_{name.replace('-', '_')}", type=typ, default=None, help=help_)
    for name, help_ in FLAGS:
        group.addoption(
            f"--mlb-{name}", dest=f"mlb_{name.replace('-', '_')}", action="store_true", default=None, help=help_
        )


def read_tool_table(pyproject: Path) -> dict[str, Any]:
    """The ``[tool.mlb]`` table of a pyproject.toml ({} when absent); bad TOML names the file."""
    if not pyproject.is_file():
        return {}
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: invalid TOML: {exc}") from None
    table = data.get("tool", {}).get("mlb", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.mlb] must be a table")
    return table


def resolve(cli: dict[str, Any], table: dict[str, Any], source: str = "[tool.mlb]") -> Settings:
    """Merge CLI values (None = not given) over the pyproject table over defaults."""
    settings = Settings()
    known = {f.name: f for f in fields(Settings) if f.name != "extra"}
    for key, value in table.items():
        name = key.replace("-", "_")
        if isinstance(value, dict):
            settings.extra[name] = value  # sub-tables such as [tool.mlb.gates] belong to later stages
            continue
        if name not in known:
            raise ConfigError(f"{source}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        default = getattr(Settings(), name)
        setattr(settings, name, _coerce(source, key, value, default))
    for name, value in cli.items():
        if value is None:
            continue
        if name == "gate":  # ad-hoc gates add to the configured ones
            value = list(settings.gate) + list(value)
        setattr(settings, name, value)
    if settings.model_revision is None and os.environ.get(REVISION_ENV):
        settings.model_revision = os.environ[REVISION_ENV]
    _check(settings)
    return settings


def _coerce(source: str, key: str, value: Any, default: Any) -> Any:
    if isinstance(default, list):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{source}: {key} must be a list of strings")
        return value
    if default is None:
        return value
    if isinstance(default, bool) and not isinstance(value, bool):
        raise ConfigError(f"{source}: {key} must be true or false")
    if isinstance(default, int) and not isinstance(default, bool) and not isinstance(value, int):
        raise ConfigError(f"{source}: {key} must be an integer")
    if isinstance(default, float) and not isinstance(value, (int, float)):
        raise ConfigError(f"{source}: {key} must be a number")
    return value


def _check(s: Settings) -> None:
    if s.concurrency < 1:
        raise ConfigError("--mlb-concurrency must be at least 1")
    if s.samples < 1:
        raise ConfigError("--mlb-samples must be at least 1")
    if s.limit is not None and s.limit < 1:
        raise ConfigError("--mlb-limit must be at least 1")
    if s.retries < 0:
        raise ConfigError("--mlb-retries must be 0 or more")
    if s.timeout <= 0:
        raise ConfigError("--mlb-timeout must be positive")
    if s.cache_max_age is not None:
        parse_duration(s.cache_max_age)
    if s.prompt_style not in ("chat", "completion", "auto"):
        raise ConfigError(f"--mlb-prompt-style must be chat, completion or auto, not {s.prompt_style!r}")
    if s.perturb is not None:
        from .invariance import parse_perturbations  # raises a usage error naming the bad name

        parse_perturbations(s.perturb)
    if s.model_revision is not None:
        s.model_revision = str(s.model_revision)
    if s.model_revision is not None and (not s.model_revision.strip() or any(c in s.model_revision for c in "\n\r")):
        raise ConfigError("--mlb-model-revision must be a non-empty single line")

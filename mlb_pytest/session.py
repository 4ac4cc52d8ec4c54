"""One run: collect -> generate -> score -> aggregate -> report.

The pytest hooks in ``plugin.py`` only forward to this object (as syrupy's hooks forward to its
SnapshotSession). Workers of pytest-xdist generate and score; every item's result travels to
the controller inside its test report, where it is aggregated and reported once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from . import circular as rotation
from .aggregation import aggregate
from .baselines import (
    Baseline,
    BaselineError,
    baseline_from_report,
    default_path,
    item_view,
    load_baseline,
    write_baseline,
)
from .cache import ResponseStore, default_cache_path, process_owner
from .catalog import Task
from .completeness import Completeness, describe_selection
from .config import JUDGE_REVISION_ENV, Settings
from .engine import Engine
from .extracting import ExtractorError, ExtractorPanel, needs_model, rescore
from .gates import Policy, evaluate, load_policy, regressed_items, suite_changes
from .judges import JudgeQuestion, Verdict, score_from_verdicts
from .judges.backends import build_judge
from .judges.score import if_decided, mean_rubric
from .judging import JudgeError, JudgePanel, agreement, review_rows, uncertain_counts, write_review
from .markdown import markdown_summary
from .models import GenerationRequest, ModelAdapter, ModelError, build_model, parse_spec
from .models.credentials import check_transport, judge_key, model_key
from .models.spec import ModelSpec, SpecError
from .report import INFRA_GATE, build_report, builtin_gates, verdict, write_report
from .schema import Item
from .scoring import Score, score_item
from .scoring.base import MAX_RESPONSE_CHARS, cap_response
from .scoring.redline import RedLineUnknown, red_line_crossed
from .suites import suite_fingerprint
from .summary import summary_lines
from .usage import combine as combine_usage
from .usage import tally

DEFAULT_MAX_TOKENS = {Task.choice: 512, Task.normalization: 512, Task.extraction: 1024, Task.open: 2048}
PROGRESS_EVERY_S = 2.0
RESULT_PROPERTY = "mlb_result"


class ItemError(Exception):
    """The item could not be answered (transport, protocol, adapter): an ERROR, never a score."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class MLBSession:
    def __init__(self, settings: Settings, rootdir: Path, *, is_worker: bool, run_id: str | None = None,
                 coord_db: str | None = None) -> None:
        self.settings = settings
        self.rootdir = rootdir
        self.is_worker = is_worker
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.spec: ModelSpec | None = parse_spec(settings.model) if settings.model else None
        self.judge_spec: ModelSpec | None = parse_spec(settings.judge) if settings.judge else None
        self.judge2_spec: ModelSpec | None = parse_spec(settings.judge2) if settings.judge2 else None
        if self.judge2_spec is not None and self.judge_spec is None:
            raise SpecError("--mlb-judge2 needs --mlb-judge as well")
        self.judges: JudgePanel | None = None
        self.extractor_spec: ModelSpec | None = parse_spec(settings.extractor) if settings.extractor else None
        self.extractor: ExtractorPanel | None = None
        self.rotated: dict[str, list[Item] | str] = {}  # --mlb-circular: item key -> rotations 1..n-1 (or why none)
        self.items: dict[str, Item] = {}
        self.engine: Engine | None = None
        self.model: ModelAdapter | None = None
        self.results: dict[str, dict[str, Any]] = {}
        self.worker_stats: list[dict[str, Any]] = []
        self.worker_revisions: list[dict[str, Any]] = []  # what each xdist worker's engines learned
        self.dry_run_lines: list[str] = []  # --mlb-dry-run: what the run would send (this process or a worker)
        self.dry_run_plan: dict[str, Any] | None = None
        self.worker_prompt_styles: list[str] = []  # the prompt style each xdist worker's model got
        self.started = _now()
        self.report: dict[str, Any] | None = None
        self._last_progress = 0.0
        self._progress_done = False
        self._printed_progress = False
        self._coord_db = coord_db
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self.policy: Policy | None = None
        self.baseline: Baseline | None = None
        self.baseline_path: Path | None = None
        self.baseline_items: dict[str, dict[str, Any]] = {}
        self.messages: list[str] = []  # notes for the terminal summary (baseline written, refused...)
        self.expected: set[str] = set()  # node ids of the suite tests this run collected (after selection)
        self.selection: dict[str, Any] = {}  # what narrowed the run (-k, -m, --mlb-limit, node ids)
        self.suite_files: dict[str, bool] = {}  # node path -> is a suite file (xdist controller's memo)
        self._check_keys()

    def _check_keys(self) -> None:
        """Refuse, before anything is sent, a key that would cross a network in clear text."""
        for spec in (self.spec, self.judge_spec, self.judge2_spec, self.extractor_spec):
            if spec is not None and spec.base_url is not None:
                who = "model" if spec is self.spec else "extractor" if spec is self.extractor_spec else "judge"
                check_transport(spec.base_url, self._key_for(spec), self.settings.allow_insecure_key, who)

    def _key_for(self, spec: ModelSpec) -> str | None:
        """Each host gets its own key: the model's key never goes to a judge on another host."""
        if spec.base_url is None:
            return None
        if spec is self.spec:
            return model_key()
        model_url = self.spec.base_url if self.spec is not None else None
        return judge_key(spec.base_url, model_url)

    def prepare_gates(self) -> None:
        """Load the gate policy and the baseline up front, so a bad file stops the run at once."""
        if self.spec is None:
            return
        s = self.settings
        self.policy = load_policy(s.extra.get("gates"), self.rootdir / "baselines" / "policy.toml", s.gate, s.alpha)
        path = Path(s.baseline) if s.baseline else default_path(self.rootdir, self.spec.slug)
        self.baseline_path = path if path.is_absolute() else self.rootdir / path
        if self.baseline_path.exists():
            try:
                self.baseline = load_baseline(self.baseline_path)
            except BaselineError:
                if not (s.update_baseline and s.force_baseline):
                    raise
            if self.baseline is not None:
                self.baseline_items = item_view(self.baseline)
        elif s.baseline and not s.update_baseline:
            raise BaselineError(f"baseline {self.baseline_path}: no such file")

    def is_regression(self, result: dict[str, Any]) -> bool:
        old = self.baseline_items.get(result["key"])
        return bool(old and old.get("passed") and result.get("outcome") == "wrong"
                    and old.get("content_hash") in (None, result.get("content_hash")))

    @property
    def active(self) -> bool:
        return self.spec is not None

    # --- paths --------------------------------------------------------------------------------

    def store_path(self) -> Path | None:
        """Where responses meet: the cache, or a run-private file when caching is off (xdist)."""
        if not self.settings.no_cache:
            return Path(self.settings.cache) if self.settings.cache else default_cache_path(self.rootdir)
        if self._coord_db:
            return Path(self._coord_db)
        return None

    def coordination_db(self) -> str | None:
        """For the xdist controller: a run-private store the workers share when caching is off."""
        if not self.settings.no_cache:
            return None
        if self._tmpdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="mlb-run-")
        return str(Path(self._tmpdir.name) / "coord.sqlite")

    # --- generation ---------------------------------------------------------------------------

    def params_for(self, item: Item) -> dict[str, Any]:
        defaults = getattr(self.model, "default_max_tokens", None) or DEFAULT_MAX_TOKENS
        return {"temperature": self.settings.temperature,
                "max_tokens": self.settings.max_tokens or defaults[item.task]}

    def start(self, items: Sequence[Item]) -> None:
        """Request every collected item's answers now; tests will only wait for their own."""
        assert self.spec is not None
        self.items = {it.key: it for it in items}
        self._last_progress = time.monotonic()
        self._printed_progress = False
        todo = [it for it in items if self.has_judge or not it.needs_judge]
        if not todo:
            return
        self.model = self._build(self.spec)
        store_path = self.store_path()
        factory = None
        if store_path is not None:
            owner = process_owner(self.run_id)
            factory = lambda: ResponseStore(store_path, self.run_id, owner)  # noqa: E731
        self.engine = Engine(self.model, concurrency=self.settings.concurrency, store_factory=factory,
                             shared_only=self.settings.no_cache,
                             revision=self.settings.model_revision, **self._engine_options())
        requests = [GenerationRequest(it, self.params_for(it), k) for it in todo
                    for k in range(self.settings.samples)]
        if self.settings.circular:  # rotated asks are requests like any other: same engine, same cache
            requests += [GenerationRequest(rot, self.params_for(rot), k) for rot in self._rotate(todo)
                         for k in range(self.settings.samples)]
        open_items = [it for it in todo if it.needs_judge]
        if open_items and self.judge_spec is not None:
            specs = [self.judge_spec] + ([self.judge2_spec] if self.judge2_spec else [])
            path = Path(self.settings.adjudications) if self.settings.adjudications else \
                self.rootdir / "baselines" / "adjudications.jsonl"
            judge_rev = os.environ.get(JUDGE_REVISION_ENV) or None
            self.judges = JudgePanel(specs, lambda spec: build_judge(spec, self._build), self.settings.concurrency,
                                     factory, path, revisions=[judge_rev] * len(specs), **self._engine_options())
        choice_items = [it for it in todo if it.task is Task.choice]
        if choice_items and self.extractor_spec is not None:
            self.extractor = ExtractorPanel(self.extractor_spec, self._build, self.settings.concurrency, factory,
                                            **self._engine_options())
        self.engine.start(requests)
        for it in [*choice_items, *self._rotated_items()] if self.extractor is not None else ():
            for k in range(self.settings.samples):
                self.engine.on_done(it.key, k, lambda fut, it=it, k=k: self.extractor.ask(it, k, fut))  # type: ignore[union-attr]
        for it in open_items if self.judges is not None else ():
            for k in range(self.settings.samples):
                # judge questions go out as soon as the answer is in, not when the test gets to it
                self.engine.on_done(it.key, k, lambda fut, it=it, k=k: self.judges.ask(it, k, fut))  # type: ignore[union-attr]

    def _engine_options(self) -> dict[str, Any]:
        """How long an answer may stay in the cache, and when a wait gives up (every wait ends)."""
        s = self.settings
        stall_s = s.timeout * (s.retries + 1) + 20.0 * s.retries + 60.0
        return {"max_age_s": s.cache_max_age_s, "stall_s": stall_s}

    def _build(self, spec: ModelSpec) -> ModelAdapter:
        s = self.settings
        return build_model(spec, timeout_s=s.timeout, max_retries=s.retries, concurrency=s.concurrency, seed=s.seed,
                           hf_batch=s.hf_batch, api_key=self._key_for(spec),
                           prompt_style=s.prompt_style if spec is self.spec else "chat")

    @property
    def has_judge(self) -> bool:
        return self.judge_spec is not None

    def wait_verdicts(self, item: Item, gens: list[Any], on_idle: Any = None) -> list[Any]:
        """(questions, final verdicts, records) per sample; a judge failure is an ItemError."""
        assert self.judges is not None
        try:
            return self.judges.verdicts(item, gens, on_idle)
        except JudgeError as err:
            raise ItemError(str(err)) from None
        except ModelError as err:
            raise ItemError(f"judge: {err}") from None
        except Exception as err:  # a judge backend or store bug is this item's error, not a crash
            raise ItemError(f"judge failed: {type(err).__name__}: {err}") from None

    def wait_extractions(self, item: Item, gens: list[Any], on_idle: Any = None) -> list[list[str] | None] | None:
        """The extractor model's reading of replies the rules cannot read (None: no extractor)."""
        if self.extractor is None or item.task is not Task.choice:
            return None
        try:
            return self.extractor.letters(item, gens, on_idle)
        except ExtractorError as err:
            raise ItemError(str(err)) from None
        except Exception as err:  # an extractor backend or store bug is this item's error, not a crash
            raise ItemError(f"extractor failed: {type(err).__name__}: {err}") from None

    # --- option rotation (--mlb-circular; the logic is in circular.py) ----------------------

    def _rotate(self, items: Sequence[Item]) -> list[Item]:
        """Rotations 1..n-1 of every choice item, remembered per item (an item that cannot be rotated says why)."""
        for it in items:
            if rotation.rotatable(it):
                try:
                    self.rotated[it.key] = rotation.rotations(it)
                except rotation.RotationError as err:
                    self.rotated[it.key] = f"cannot rotate: {err}"
        return self._rotated_items()

    def _rotated_items(self) -> list[Item]:
        return [rot for rots in self.rotated.values() if isinstance(rots, list) for rot in rots]

    def wait_rotations(self, item: Item, on_idle: Any = None) -> list[tuple[Item, list[Any], Any]] | str | None:
        """Each rotation's answers and extractor readings; a failure is returned as text: it costs the
        item its circular score, never its plain one. None: the item is not rotated."""
        rots = self.rotated.get(item.key)
        if not isinstance(rots, list):
            return rots
        out = []
        for rot in rots:
            try:
                gens = self.wait(rot, on_idle)
                out.append((rot, gens, self.wait_extractions(rot, gens, on_idle)))
            except ItemError as err:
                return f"{rot.id}: {err}"
        return out

    def add_circular(self, item: Item, result: dict[str, Any], waited: list[Any] | str | None) -> None:
        """Score each rotation as its own item and put the item's ``circular`` entry in its result."""
        if waited is None or result.get("score") is None:
            return
        if isinstance(waited, str):
            result["circular"] = rotation.error_block(len(item.options or {}), waited)
            return
        probes = [result] + [self.score(rot, gens, self.base_result(rot, result["nodeid"]), extracted=ext)
                             for rot, gens, ext in waited]
        result["circular"] = rotation.item_block(
            [bool(p["passed"]) for p in probes], [p["details"].get("extracted") for p in probes],
            [item.expected, *(rot.expected for rot, _, _ in waited)], [p["response"] for p in probes],
            [p["score"] for p in probes])
        result["usage"] = rotation.merge_usage([p.get("usage") or {} for p in probes])

    def wait(self, item: Item, on_idle: Any = None) -> list[Any]:
        """The item's generations (one per sample); raises ItemError when any failed."""
        assert self.engine is not None
        gens = []
        for k in range(self.settings.samples):
            try:
                gens.append(self.engine.result(item.key, k, on_idle))
            except ModelError as err:
                raise ItemError(str(err)) from None
        return gens

    def progress_line(self, force: bool = False) -> str | None:
        """A progress line at most every few seconds (and once when generation completes)."""
        if self.engine is None or self._progress_done:
            return None
        stats = self.engine.stats
        now = time.monotonic()
        if stats.finished is not None:
            self._progress_done = True
            return stats.line() if self._printed_progress else None
        if force or now - self._last_progress >= PROGRESS_EVERY_S:
            self._last_progress = now
            self._printed_progress = True
            return stats.line()
        return None

    # --- scoring ------------------------------------------------------------------------------

    def base_result(self, item: Item, nodeid: str) -> dict[str, Any]:
        return {
            "key": item.key, "id": item.id, "dataset": item.dataset, "dimension": item.dimension.value,
            "metric": item.metric.value, "task": item.task.value, "mirrors": item.mirrors,
            "specialty": item.specialty, "critical": item.critical, "weight": item.weight,
            "location": item.location, "content_hash": item.content_hash, "nodeid": nodeid,
            "messages": [dict(m) for m in item.messages], "expected": item.expected,
            "response": None, "raw_response": None, "score": None, "passed": False, "outcome": None,
            "explanation": "", "details": {}, "error": None, "latency_s": None, "origin": None,
        }

    def score(self, item: Item, gens: list[Any], result: dict[str, Any],
              judged: list[tuple[list[Any], list[Any]]] | None = None,
              extracted: list[list[str] | None] | None = None) -> dict[str, Any]:
        if judged is not None:
            scores = [self._score_judged(item, qs, vs, records) for qs, vs, records in judged]
        else:
            capped = [cap_response(g.text) for g in gens]
            scores = [score_item(item, text) for text, _ in capped]
            if extracted is not None and self.extractor_spec is not None:
                scores = [rescore(item, sc, letters, str(self.extractor_spec))
                          for sc, letters in zip(scores, extracted)]
        first, s0 = gens[0], scores[0]
        values = [s.score for s in scores if s.score is not None]
        mean = sum(values) / len(values) if values else None
        result.update(
            response=first.text, raw_response=first.raw if first.raw != first.text else None,
            latency_s=round(first.latency_s, 4), origin=first.origin,
            score=mean, passed=bool(mean is not None and mean >= item.pass_threshold),
            explanation=s0.explanation, details=dict(s0.details),
        )
        if len(gens) > 1:
            result["samples"] = [{"response": g.text, "raw": g.raw, "score": s.score, "explanation": s.explanation,
                                  **({"verdicts": s.details["verdicts"]} if "verdicts" in s.details else {})}
                                 for g, s in zip(gens, scores)]
            for k in ("tp", "fp", "fn"):
                if all(k in s.details for s in scores):
                    result["details"][k] = sum(s.details[k] for s in scores) / len(scores)
            if all("rubric" in s.details for s in scores):  # rubric points and per-tag scores: mean of the samples
                result["details"]["rubric"] = mean_rubric([s.details["rubric"] for s in scores])
        if any(s.unparseable for s in scores):
            result["details"]["unparseable"] = sum(1 for s in scores if s.unparseable)
        cut = max(cap_response(g.text)[1] for g in gens)  # what the rules or the judge did not read
        if cut:  # a runaway answer is scored on its first MAX_RESPONSE_CHARS, and says so
            result["details"]["response_cut_chars"] = cut
            result["explanation"] += f" (response cut at {MAX_RESPONSE_CHARS:,} characters; {cut:,} more not read)"
        result["outcome"] = "pass" if result["passed"] else "wrong"
        result["usage"] = self.item_usage(item, gens)
        result["red_line"] = self._red_line(item, scores, result["passed"], self.settings.review_file)
        return result

    @staticmethod
    def _score_judged(item: Item, questions: Sequence[JudgeQuestion], verdicts: Sequence[Verdict],
                      records: list[dict[str, Any]]) -> Score:
        """One sample's score from its verdicts; an uncertain verdict's record says what a reviewer's
        yes or no would make of the item, so the review file shows both sides."""
        value, why, details = score_from_verdicts(questions, verdicts, item.tags)
        red_lines = set(item.red_line_texts) if item.red_line_risks else set()
        for i, (q, v) in enumerate(zip(questions, verdicts)):
            if v.uncertain:
                yes, no = if_decided(questions, verdicts, i)
                records[i].update(if_yes={"score": yes, "passed": yes >= item.pass_threshold},
                                  if_no={"score": no, "passed": no >= item.pass_threshold},
                                  red_line_risk=q.kind == "risk" and q.criterion in red_lines)
        details["verdicts"] = records
        for source in ("disputed", "uncertain"):
            n = sum(r["source"] == source for r in records)
            if n:
                why += f" ({n} {source}, scored conservatively)"
        return Score(value, value >= item.pass_threshold, why, details)

    @staticmethod
    def _red_line(item: Item, scores: Sequence[Any], passed: bool, review_file: str) -> dict[str, Any] | None:
        """What red line a critical item's answer crossed (any sample), or None.

        Only crossing it fails the run: a safe but incomplete answer scores low and nothing more.
        A red line that cannot be checked counts as crossed (never a pass by default); a critical
        item that states none (a user's suite; ``mlb validate`` refuses it) keeps the old rule.
        """
        if not item.critical:
            return None
        if item.red_line_kind is None:
            return None if passed else {"kind": "unstated", "crossed": [],
                                        "description": "answered wrongly (this critical item states no red line)"}
        for sc in scores:
            try:
                crossed = red_line_crossed(item, sc.details)
            except RedLineUnknown as exc:
                return {"kind": "unknown", "crossed": [], "description": f"red line could not be checked: {exc}"}
            if crossed is not None:
                return crossed.as_dict(review_file)
        return None

    # --- controller ---------------------------------------------------------------------------

    def record(self, result: dict[str, Any]) -> None:
        self.results[result["nodeid"]] = result

    def completeness(self, interrupted: bool, stopped: str | None) -> Completeness:
        finished = {r["nodeid"] for r in self.results.values()}
        expected = self.expected or finished
        return Completeness(collected=len(expected), finished=len(finished & expected) if self.expected else len(finished),
                            interrupted=interrupted, stopped=stopped or None, selection=dict(self.selection))

    def finish(self, interrupted: bool = False, stopped: str | None = None) -> dict[str, Any] | None:
        """Aggregate what reached this process and write the report; None when nothing ran.

        ``interrupted`` (Ctrl-C, crash) and ``stopped`` (-x) come from pytest: such a run is
        reported as incomplete, never passes and never becomes a baseline.
        """
        if self.engine is not None:
            self.engine.close()
        if self.judges is not None:
            self.judges.close()
        if self.extractor is not None:
            self.extractor.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
        cut_short = interrupted or bool(stopped)
        if self.spec is None or not (self.results or (cut_short and self.expected)):
            return None  # nothing ran; an interrupted run still leaves a report saying so
        items = list(self.results.values())
        agg = aggregate([r for r in items if r.get("outcome") != "suite_error"])
        done = self.completeness(interrupted, stopped)
        gates = [done.gate(), *builtin_gates(items, self.settings.error_share)]
        run = {
            "run_id": self.run_id,
            "model": str(self.spec),
            "revision": self.revision_info(),
            "prompt_style": self.prompt_style(),
            "judge": str(self.judge_spec) if self.judge_spec else None,
            "judge2": str(self.judge2_spec) if self.judge2_spec else None,
            "extractor": str(self.extractor_spec) if self.extractor_spec else None,
            "judges": self._judge_agreement(items),
            "judge_uncertain": self._judge_review(items),
            "suite_fingerprint": suite_fingerprint((r["key"], r["content_hash"]) for r in items if r.get("content_hash")),
            **done.to_json(),
            "options": self.settings.options_json(),
            "started": self.started, "ended": _now(),
            "python": platform.python_version(),
            "generation": self.generation_stats(),
            "concurrency": self.concurrency_stats(),
            "usage": combine_usage(items, self.usage_roles()),
            "plugin_version": __version__,
        }
        report = build_report(run, items, agg, gates)
        for name, (uncertain, total) in uncertain_counts(items).items():
            report["datasets"][name].update(judge_verdicts=total, judge_uncertain=uncertain,
                                            judge_uncertain_share=uncertain / total if total else None)
        if rotation.add_to_report(report) and (line := rotation.summary_line(report)):  # --mlb-circular
            self.messages.append(line)
        self._apply_gates(report)
        self.report = report
        if self.settings.update_baseline:
            self._update_baseline(report, done)
        if self.settings.report:
            path = Path(self.settings.report)
            write_report(path if path.is_absolute() else Path.cwd() / path, report)
        self._write_markdown(report)
        self._write_html(report)
        return report

    def prompt_style(self) -> str | None:
        """How items were put to the model: chat or completion (``auto`` decided), None when it answered nothing.

        Adapters without prompt styles (python:, replay:, mock:) get the item's messages: chat.
        """
        if self.model is None:  # the xdist controller (the workers know), or nothing was asked
            return self.worker_prompt_styles[0] if self.worker_prompt_styles else None
        style = getattr(self.model, "prompt_style", "chat")
        return style or self.settings.prompt_style  # "auto" only if no request was ever made

    def revision_info(self) -> dict[str, Any]:
        """Which revision answered (model and judges), and where that revision came from."""
        if self.engine is None and self.worker_revisions:  # the xdist controller: the workers know
            return next((r for r in self.worker_revisions if r.get("model")), self.worker_revisions[0])
        engines = [("model", self.engine)] + [(f"judge{'' if i == 0 else i + 1}", e) for i, e in
                                             enumerate(self.judges.engines if self.judges else [])]
        out: dict[str, Any] = {}
        for name, engine in engines:
            if engine is None:
                out[name] = None if name == "model" else out.get(name)
                continue
            fingerprints = sorted(getattr(engine.model, "fingerprints", ()) or ())
            out[name] = {"revision": engine.revision, "source": engine.revision_source,
                         **({"system_fingerprints": fingerprints} if fingerprints else {})}
        if out.get("model") is None and self.settings.model_revision:
            out["model"] = {"revision": self.settings.model_revision, "source": "option"}
        return out

    def _apply_gates(self, report: dict[str, Any]) -> None:
        assert self.policy is not None
        base = self.baseline_items if self.baseline is not None else None
        label = str(self.baseline_path.relative_to(self.rootdir)) if self.baseline_path and \
            self.baseline_path.is_relative_to(self.rootdir) else str(self.baseline_path)
        result = evaluate(self.policy, report, base, label)
        for g in result.gates:
            if g.status == "no-baseline":
                g.reason = (f"no baseline at {label}: create it with "
                            f"pytest --mlb-model={self.spec} --mlb-update-baseline")
        comparison: dict[str, Any] = {"baseline": label if base is not None else None,
                                      "policy": [r.text for r in self.policy.rules], "policy_sources": self.policy.sources,
                                      "alpha": self.policy.alpha, "min_shared": self.policy.min_shared}
        if base is not None and self.baseline is not None:
            items = [r for r in report["items"] if r.get("outcome") != "suite_error"]
            changes = suite_changes(items, base)
            comparison.update(
                baseline_model=self.baseline.data.get("model"), baseline_created=self.baseline.data.get("created"),
                baseline_selection=describe_selection(self.baseline.data["selection"])
                if self.baseline.data.get("selection") else None,
                fingerprint_match=self.baseline.fingerprint == report["run"]["suite_fingerprint"],
                changes={k: {"count": len(v), "keys": v[:50]} for k, v in changes.items()},
                differences={k: d.__dict__ for k, d in result.differences.items()},
                regressions=regressed_items(items, base),
            )
            if self.settings.strict_regressions and comparison["regressions"]:
                from .gates import Gate

                n = len(comparison["regressions"])
                result.gates.append(Gate("regressed items", False, f"{n} item(s) right in the baseline are wrong now",
                                         observed=float(n), threshold=0.0))
        all_gates = [*report["gates"], *(g.to_json() for g in result.gates)]
        from .gates import Gate as _Gate

        v, why = verdict([_Gate(**g) for g in all_gates])
        report.update(gates=all_gates, verdict=v, verdict_reason=why, comparison=comparison)

    def review_path(self) -> Path:
        """Where disputed and uncertain verdicts wait for a reviewer (relative to where pytest was invoked)."""
        path = Path(self.settings.review_file)
        return path if path.is_absolute() else Path.cwd() / path

    def _judge_agreement(self, items: list[dict[str, Any]]) -> dict[str, Any] | None:
        if self.judge2_spec is None:
            return None
        result, message = agreement(items, self.review_path())
        if message:
            self.messages.append(message)
        return result

    def _judge_review(self, items: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Write every disputed or uncertain verdict to the review file; how many were uncertain."""
        if self.judge_spec is None:
            return None
        rows = review_rows(items)
        if rows:
            write_review(rows, self.review_path())
        counts = uncertain_counts(items).values()
        uncertain, total = sum(u for u, _ in counts), sum(n for _, n in counts)
        return {"verdicts": total, "uncertain": uncertain, "share": uncertain / total if total else None,
                "review_file": str(self.review_path()) if uncertain else None}

    def _update_baseline(self, report: dict[str, Any], done: Completeness) -> None:
        assert self.baseline_path is not None
        if done.cut_short:  # never forced: a baseline of half a run would gate every later run wrongly
            why = f"the run is incomplete ({done.reason()})"
            self.messages.append(f"baseline NOT written to {self.baseline_path}: {why}")
            report["baseline_update"] = {"written": False, "path": str(self.baseline_path), "reason": why}
            return
        infra = next((g for g in report["gates"] if g["name"] == INFRA_GATE), None)
        if infra is not None and not infra["passed"] and not self.settings.force_baseline:
            self.messages.append(f"baseline NOT written to {self.baseline_path}: {infra['reason']} "
                                 "(add --mlb-force-baseline to write it anyway)")
            report["baseline_update"] = {"written": False, "path": str(self.baseline_path), "reason": infra["reason"]}
            return
        try:
            write_baseline(self.baseline_path, baseline_from_report(report), force=self.settings.force_baseline)
        except BaselineError as exc:
            self.messages.append(f"baseline NOT written: {exc} (add --mlb-force-baseline to replace it)")
            report["baseline_update"] = {"written": False, "path": str(self.baseline_path), "reason": str(exc)}
            return
        scope = f"; selection recorded: {report['run']['incomplete_reason']}" if done.selection else ""
        self.messages.append(f"baseline written to {self.baseline_path} ({len(report['items'])} items{scope})")
        report["baseline_update"] = {"written": True, "path": str(self.baseline_path)}

    def _write_markdown(self, report: dict[str, Any]) -> None:
        targets = []
        if self.settings.markdown:
            p = Path(self.settings.markdown)
            targets.append((p if p.is_absolute() else Path.cwd() / p, "w"))
        step = os.environ.get("GITHUB_STEP_SUMMARY")
        if step:
            targets.append((Path(step), "a"))
        if not targets:
            return
        text = markdown_summary(report)
        for path, mode in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open(mode, encoding="utf-8") as fh:
                fh.write(text)

    def _write_html(self, report: dict[str, Any]) -> None:
        if self.settings.html:
            from .html_report import write_html

            p = Path(self.settings.html)
            write_html(p if p.is_absolute() else Path.cwd() / p, report,
                       self.baseline.data if self.baseline is not None else None)

    def usage_roles(self) -> dict[str, tuple[str, str]]:
        """The token ledger's roles: role -> (spec as shown, spec kind)."""
        roles = {"model": self.spec, "judge": self.judge_spec, "judge2": self.judge2_spec,
                 "extractor": self.extractor_spec}
        return {role: (str(spec), spec.kind) for role, spec in roles.items() if spec is not None}

    def item_usage(self, item: Item, gens: Sequence[Any]) -> dict[str, Any]:
        """What this item's answers cost, per role (travels in the item's result, so -n changes nothing)."""
        parts: dict[str, Any] = {"model": tally(gens)}
        if self.judges is not None and item.needs_judge:
            for i, engine in enumerate(self.judges.engines):
                parts["judge" if i == 0 else f"judge{i + 1}"] = tally(
                    engine.peek(r.key, k) for k, g in enumerate(gens) for r in JudgePanel.requests(item, k, g.text))
        if self.extractor is not None and item.task is Task.choice:
            engine = self.extractor.engine
            parts["extractor"] = tally(engine.peek(ExtractorPanel.request(item, k, g.text).key, k)
                                       for k, g in enumerate(gens) if needs_model(item, g.text))
        return {role: part for role, part in parts.items() if part is not None}

    def dry_run(self, items: Sequence[Item]) -> list[str]:
        """``--mlb-dry-run``: per dataset, what this run would send; nothing is sent."""
        from .dryrun import plan_lines, plan_run

        assert self.spec is not None
        self.model = self._build(self.spec)
        try:
            judges = (1 + (self.judge2_spec is not None)) if self.judge_spec is not None else 0
            plan = plan_run(items, self.spec, self.model, params_for=self.params_for, samples=self.settings.samples,
                            judges=judges, extractor=str(self.extractor_spec) if self.extractor_spec else None,
                            stated_revision=self.settings.model_revision,
                            cache_path=None if self.settings.no_cache else self.store_path(),
                            max_age_s=self.settings.cache_max_age_s)
        finally:
            try:
                asyncio.run(self.model.aclose())
            except Exception:
                pass
            self.model = None
        self.dry_run_plan = plan.to_json()
        return plan_lines(plan)

    def concurrency_stats(self) -> dict[str, Any] | None:
        """``run.concurrency``: in-flight requests per process, configured and as the adaptive limiter left them.

        Under xdist: the largest final limit, the smallest lowest one, back-offs summed over processes.
        """
        parts = [p["concurrency"] for p in self.worker_stats if isinstance(p.get("concurrency"), dict)]
        if self.engine is not None:
            parts.append(self.engine.concurrency_stats())
        if not parts:
            return None
        return {"configured": max(p["configured"] for p in parts), "final": max(p["final"] for p in parts),
                "lowest": min(p["lowest"] for p in parts), "backoffs": sum(p.get("backoffs", 0) for p in parts),
                "overloads": sum(p.get("overloads", 0) for p in parts),
                "adaptive": any(p.get("adaptive") for p in parts), "processes": len(parts)}

    def generation_stats(self) -> dict[str, Any]:
        parts = list(self.worker_stats)
        load_s = getattr(self.model, "load_seconds", None)
        if self.engine is not None:
            stats = self.engine.stats.to_json()
            if load_s is not None:
                stats["model_load_s"] = round(load_s, 2)
            parts.append(stats)
        total: dict[str, Any] = {}
        for p in parts:
            for k, v in p.items():
                if k == "concurrency":  # run.concurrency, see concurrency_stats
                    continue
                if k in ("cached_oldest", "cached_newest"):
                    pick = min if k == "cached_oldest" else max
                    total[k] = v if total.get(k) is None else (total[k] if v is None else pick(total[k], v))
                else:
                    total[k] = total.get(k, 0) + (v or 0)
        total["processes"] = len(parts)
        return total

    def summary(self) -> list[str]:
        if not self.report:
            return []
        lines = summary_lines(self.report)
        return lines[:-1] + self.messages + lines[-1:]  # the verdict stays the last line

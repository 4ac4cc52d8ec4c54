"""Finishing a run where all results meet: aggregate, gate, write the baseline and the reports.

That place is the single pytest process, or the xdist controller: workers only generate and
score, and their results and engine figures reach the controller (``Collected``). At 100,000
items the full results would not fit in a CI runner's memory beside pytest's own: each is kept
in full in a spool file and compact in memory (``ItemRow``), and the JSON report's ``items``
are streamed from the spool (``SpooledItems``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .. import __version__, sample_spread
from .. import circular as rotation
from .._atomic import LazyArray
from ..aggregation import aggregate
from ..completeness import Completeness
from ..invariance import report as flips
from ..item_view import ItemView, views
from ..judges.panel import agreement, review_rows, uncertain_counts, write_review
from ..markdown import markdown_summary
from ..report import build_report, builtin_gates, write_report
from ..suites import suite_fingerprint
from ..summary import summary_lines
from ..usage import combine as combine_usage
from .gating import Gatekeeper
from .generation import GenerationStage
from .sequential_gate import STOP_PREFIX
from .setup import RunSetup, from_invocation


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# Result fields no aggregate, gate or summary reads for every item: an ``ItemRow`` leaves them in the
# spool and reads them back when asked (the regressed items' answers, a malformed line's location;
# ``usage`` once, when run.usage is summed).
SPOOLED_ONLY = frozenset(
    (
        "usage",
        "id",
        "mirrors",
        "specialty",
        "location",
        "messages",
        "expected",
        "response",
        "raw_response",
        "explanation",
        "error",
        "latency_s",
        "origin",
    )
)
_ABSENT = object()


class ResultSpool:
    """Every item result in full, one JSON line each, in an anonymous temporary file (gone with the process).

    ASCII JSON (``ensure_ascii``) reads back to equal values, so the report written from the spool
    has the bytes the results in memory would have given.
    """

    def __init__(self) -> None:
        self._fh: IO[bytes] | None = None
        self._end = 0

    def add(self, result: dict[str, Any]) -> tuple[int, int]:
        """Append one result; where it lies (offset, length)."""
        if self._fh is None:
            self._fh = tempfile.TemporaryFile(prefix="mlb-results-")
        line = json.dumps(result, default=str).encode("ascii") + b"\n"
        self._fh.write(line)
        at = (self._end, len(line))
        self._end += len(line)
        return at

    def close(self) -> None:
        """Drop the file (at the end of the session: nothing reads the results after that)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self._end = 0

    def read(self, offset: int, length: int) -> dict[str, Any]:
        assert self._fh is not None
        self._fh.flush()  # pread reads the file, not the write buffer
        data: dict[str, Any] = json.loads(os.pread(self._fh.fileno(), length, offset))
        return data


class ItemRow(dict[str, Any]):
    """An item's result as finishing reads it: the small fields in memory, ``SPOOLED_ONLY`` read back
    from the spool when asked for (``row["response"]``, ``row.get("expected")``, ``"error" in row``).

    ``details`` lacks judge ``verdicts`` and ``samples`` keep score and tp/fp/fn: readers of those
    (the judges' review and agreement) read the full results (``full``, ``SpooledItems``).
    """

    __slots__ = ("_spool", "_offset", "_length")

    def __init__(self, result: dict[str, Any], spool: ResultSpool) -> None:
        super().__init__((k, v) for k, v in result.items() if k not in SPOOLED_ONLY)
        self._spool = spool
        self._offset, self._length = spool.add(result)
        details = self.get("details")
        if isinstance(details, dict) and "verdicts" in details:
            self["details"] = {k: v for k, v in details.items() if k != "verdicts"}
        samples = self.get("samples")
        if isinstance(samples, list):
            self["samples"] = [
                {k: s[k] for k in ("score", "tp", "fp", "fn") if k in s} if isinstance(s, dict) else s for s in samples
            ]

    def full(self) -> dict[str, Any]:
        """The whole result, as the item published it."""
        return self._spool.read(self._offset, self._length)

    def __missing__(self, key: str) -> Any:
        if key in SPOOLED_ONLY:
            value = self.full().get(key, _ABSENT)
            if value is not _ABSENT:
                return value
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        value = dict.get(self, key, _ABSENT)
        if value is not _ABSENT:
            return value
        return self.full().get(key, default) if key in SPOOLED_ONLY else default

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or (key in SPOOLED_ONLY and key in self.full())


class SpooledItems(LazyArray, Sequence[dict[str, Any]]):
    """The full results of some rows, in their order, read back one at a time: the report's ``items``
    once every gate is decided (the baseline, the JSON report and ``session.report`` read them)."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (r.full() if isinstance(r, ItemRow) else r for r in self.rows)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return list(SpooledItems(self.rows[i]))
        r = self.rows[i]
        return r.full() if isinstance(r, ItemRow) else r


@dataclass
class Collected:
    """What reached this process: item results, what was collected, and the xdist workers' figures."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # node id -> item result (an ItemRow)
    expected: set[str] = field(default_factory=set)  # node ids of the suite tests this run collected (after selection)
    selection: dict[str, Any] = field(default_factory=dict)  # what narrowed the run (-k, -m, --mlb-limit, node ids)
    worker_stats: list[dict[str, Any]] = field(default_factory=list)  # each xdist worker's engine figures
    worker_revisions: list[dict[str, Any]] = field(default_factory=list)  # what each worker's engines learned
    worker_prompt_styles: list[str] = field(default_factory=list)  # the prompt style each worker's model got
    spool: ResultSpool = field(default_factory=ResultSpool)  # every result in full (the rows keep the small fields)

    def record(self, result: dict[str, Any]) -> None:
        """Keep one item's result: in full in the spool, compact here; a later result for the node wins."""
        self.results[ItemView(result).nodeid] = ItemRow(result, self.spool)


@dataclass(frozen=True)
class ProcessConcurrency:
    """One process's requests in flight (``Engine.concurrency_stats``): this process's, or an xdist worker's."""

    configured: int
    final: int  # where the adaptive limiter left the limit
    lowest: int
    backoffs: int = 0
    overloads: int = 0
    timeouts: int = 0
    rate_limits: int = 0
    adaptive: bool = False

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ProcessConcurrency:
        """The counters are kept as they came (a local model's engine leaves some out: 0)."""
        return cls(
            configured=raw["configured"],
            final=raw["final"],
            lowest=raw["lowest"],
            backoffs=raw.get("backoffs", 0),
            overloads=raw.get("overloads", 0),
            timeouts=raw.get("timeouts", 0),
            rate_limits=raw.get("rate_limits", 0),
            adaptive=bool(raw.get("adaptive")),
        )

    @classmethod
    def of_worker(cls, engine_stats: Mapping[str, Any]) -> ProcessConcurrency | None:
        """From a worker's engine figures (``EngineStats.to_json``); None when they have no concurrency part."""
        raw = engine_stats.get("concurrency")
        return cls.from_json(raw) if isinstance(raw, dict) else None

    @staticmethod
    def combine(parts: Sequence[ProcessConcurrency]) -> dict[str, Any]:
        """``run.concurrency``: the largest final limit, the smallest lowest one, back-offs summed."""
        return {
            "configured": max(p.configured for p in parts),
            "final": max(p.final for p in parts),
            "lowest": min(p.lowest for p in parts),
            "backoffs": sum(p.backoffs for p in parts),
            "overloads": sum(p.overloads for p in parts),
            "timeouts": sum(p.timeouts for p in parts),
            "rate_limits": sum(p.rate_limits for p in parts),
            "adaptive": any(p.adaptive for p in parts),
            "processes": len(parts),
        }


class Finisher:
    """Builds the run's report once, applies the gates, and writes what the options ask for."""

    def __init__(
        self, setup: RunSetup, generation: GenerationStage, gates: Gatekeeper, collected: Collected, run_id: str
    ) -> None:
        self.setup = setup
        self.settings = setup.settings
        self.generation = generation
        self.gates = gates
        self.collected = collected
        self.run_id = run_id
        self.started = now()
        self.report: dict[str, Any] | None = None  # its items: SpooledItems, read back from the spool
        self.rows: list[dict[str, Any]] = []  # the report's items as the rows finishing read (ItemRow)
        self.messages: list[str] = []  # notes for the terminal summary (baseline written, refused...)

    def completeness(self, interrupted: bool, stopped: str | None) -> Completeness:
        c = self.collected
        finished = set(c.results)  # keyed by node id
        expected = c.expected or finished
        selection = dict(c.selection)
        seq = self.gates.sequential
        if seq is not None and seq.stopped:  # a decided early stop narrows the run; it does not cut it short
            selection["sequential"] = (
                f"stopped after {len(finished)} of {len(expected)} items (every drop gate decided)"
            )
            expected = finished
            stopped = None if stopped and stopped.startswith(STOP_PREFIX) else stopped
            interrupted = False
        return Completeness(
            collected=len(expected),
            finished=len(finished & expected) if c.expected else len(finished),
            interrupted=interrupted,
            stopped=stopped or None,
            selection=selection,
        )

    def finish(self, interrupted: bool = False, stopped: str | None = None) -> dict[str, Any] | None:
        """Aggregate what reached this process and write the report; None when nothing ran.

        ``interrupted`` (Ctrl-C, crash) and ``stopped`` (-x) come from pytest: such a run is
        reported as incomplete, never passes and never becomes a baseline.
        """
        self.generation.close()
        self.setup.cleanup()
        setup, c = self.setup, self.collected
        cut_short = interrupted or bool(stopped)
        if setup.spec is None or not (c.results or (cut_short and c.expected)):
            return None  # nothing ran; an interrupted run still leaves a report saying so
        items = list(c.results.values())
        judged = SpooledItems(items) if setup.judge_spec is not None else items  # verdicts are in the spool
        agg = aggregate([r for r in items if ItemView(r).outcome != "suite_error"])
        done = self.completeness(interrupted, stopped)
        gates = [done.gate(), *builtin_gates(items, self.settings.error_share)]
        run = {
            "run_id": self.run_id,
            "model": str(setup.spec),
            "revision": self.revision_info(),
            "prompt_style": self.prompt_style(),
            "judge": str(setup.judge_spec) if setup.judge_spec else None,
            "judge2": str(setup.judge2_spec) if setup.judge2_spec else None,
            "extractor": str(setup.extractor_spec) if setup.extractor_spec else None,
            "judges": self._judge_agreement(judged),
            "judge_uncertain": self._judge_review(judged),
            "suite_fingerprint": suite_fingerprint((v.key, v.content_hash) for v in views(items) if v.content_hash),
            **done.to_json(),
            "options": self.settings.options_json(),
            "started": self.started,
            "ended": now(),
            "python": platform.python_version(),
            "generation": self.generation_stats(),
            "concurrency": self.concurrency_stats(),
            "usage": combine_usage(SpooledItems(items), setup.usage_roles()),  # one read of the spool
            "plugin_version": __version__,
        }
        report = build_report(run, items, agg, gates)
        for name, (uncertain, total) in uncertain_counts(judged).items():
            report["datasets"][name].update(
                judge_verdicts=total,
                judge_uncertain=uncertain,
                judge_uncertain_share=uncertain / total if total else None,
            )
        if rotation.add_to_report(report) and (line := rotation.summary_line(report)):  # --mlb-circular
            self.messages.append(line)
        if flips.add_to_report(report) and (line := flips.summary_line(report)):  # --mlb-perturb
            self.messages.append(line)
        if sample_spread.add_to_report(report, self.settings.samples) and (line := sample_spread.summary_line(report)):
            self.messages.append(line)  # --mlb-samples=K: spread and worst of the K runs
        self.gates.apply(report)
        self.messages.extend(self.gates.notes)
        self.rows = report["items"]
        report["items"] = SpooledItems(self.rows)  # from here on, readers get the full results
        self.report = report
        if self.settings.update_baseline:
            self.gates.update_baseline(report, done, self.messages)
        if self.settings.report:
            write_report(from_invocation(self.settings.report), report)
        if self._markdown_targets() or self.settings.html:  # both check the whole report: read it back
            whole = {**report, "items": list(report["items"])}
            self._write_markdown(whole)
            self._write_html(whole)
        return report

    def summary(self) -> list[str]:
        """The terminal summary: the report's lines, this run's notes, and the verdict last."""
        if not self.report:
            return []
        lines = summary_lines({**self.report, "items": self.rows})  # it counts outcomes: the rows have them
        return lines[:-1] + self.messages + lines[-1:]  # the verdict stays the last line

    # --- the run block: this process's figures, or the xdist workers' -----------------------------

    def prompt_style(self) -> str | None:
        """How items were put to the model: chat or completion (``auto`` decided), None when it answered nothing."""
        if self.generation.model is None:  # the xdist controller (the workers know), or nothing was asked
            styles = self.collected.worker_prompt_styles
            return styles[0] if styles else None
        return self.generation.prompt_style()

    def revision_info(self) -> dict[str, Any]:
        """Which revision answered (model and judges), and where that revision came from."""
        revisions = self.collected.worker_revisions
        if self.generation.engine is None and revisions:  # the xdist controller: the workers know
            return next((r for r in revisions if r.get("model")), revisions[0])
        return self.generation.revision_info()

    def concurrency_stats(self) -> dict[str, Any] | None:
        """``run.concurrency``: in-flight requests per process, configured and as the adaptive limiter left them.

        Under xdist: the largest final limit, the smallest lowest one, back-offs summed over processes.
        """
        parts = [c for p in self.collected.worker_stats if (c := ProcessConcurrency.of_worker(p)) is not None]
        if self.generation.engine is not None:
            parts.append(ProcessConcurrency.from_json(self.generation.engine.concurrency_stats()))
        if not parts:
            return None
        return ProcessConcurrency.combine(parts)

    def generation_stats(self) -> dict[str, Any]:
        """``run.generation``: the engines' counters summed over processes (oldest and newest cache hit kept)."""
        parts = list(self.collected.worker_stats)
        load_s = getattr(self.generation.model, "load_seconds", None)
        if self.generation.engine is not None:
            stats = self.generation.engine.stats.to_json()
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

    # --- judges' review file and the other outputs ------------------------------------------------

    def _judge_agreement(self, items: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
        if self.setup.judge2_spec is None:
            return None
        result, message = agreement(items, self.setup.review_path())
        if message:
            self.messages.append(message)
        return result

    def _judge_review(self, items: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
        """Write every disputed or uncertain verdict to the review file; how many were uncertain."""
        if self.setup.judge_spec is None:
            return None
        rows = review_rows(items)
        if rows:
            write_review(rows, self.setup.review_path())
        counts = uncertain_counts(items).values()
        uncertain, total = sum(u for u, _ in counts), sum(n for _, n in counts)
        return {
            "verdicts": total,
            "uncertain": uncertain,
            "share": uncertain / total if total else None,
            "review_file": str(self.setup.review_path()) if uncertain else None,
        }

    def _markdown_targets(self) -> list[tuple[Path, str]]:
        """``--mlb-markdown``, and the GitHub Actions job summary when running there: (path, open mode)."""
        targets = []
        if self.settings.markdown:
            targets.append((from_invocation(self.settings.markdown), "w"))
        step = os.environ.get("GITHUB_STEP_SUMMARY")
        if step:
            targets.append((Path(step), "a"))
        return targets

    def _write_markdown(self, report: dict[str, Any]) -> None:
        targets = self._markdown_targets()
        if not targets:
            return
        text = markdown_summary(report)
        for path, mode in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open(mode, encoding="utf-8") as fh:
                fh.write(text)

    def _write_html(self, report: dict[str, Any]) -> None:
        if self.settings.html:
            from ..html_report import write_html  # the page builder loads only when a page is asked for

            baseline = self.gates.baseline
            write_html(from_invocation(self.settings.html), report, baseline.data if baseline is not None else None)

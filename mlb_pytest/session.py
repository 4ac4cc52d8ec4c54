"""One run: collect -> generate -> score -> aggregate -> report.

The pytest hooks in ``plugin.py`` and ``pytest_items.py`` only forward to this object, as
syrupy's hooks forward to its SnapshotSession. It holds one of each part of a run (``run/``):
the resolved settings and paths, generation and judging, item scoring, gates and finishing.
Workers of pytest-xdist generate and score; every item's result travels to the controller
inside its test report, where it is aggregated and reported once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config import Settings
from .run.finishing import Collected, Finisher
from .run.gating import Gatekeeper
from .run.generation import GenerationStage, ItemError
from .run.results import ItemScorer
from .run.setup import RunSetup
from .schema import Item

__all__ = ["RESULT_PROPERTY", "ItemError", "MLBSession"]

RESULT_PROPERTY = "mlb_result"  # the user property under which an item's result reaches the controller


class MLBSession:
    """The run's parts, wired once; the hooks reach them through here."""

    def __init__(
        self,
        settings: Settings,
        rootdir: Path,
        *,
        is_worker: bool,
        run_id: str | None = None,
        coord_db: str | None = None,
        remote_store: tuple[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.rootdir = rootdir
        self.is_worker = is_worker
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.setup = RunSetup(settings, rootdir, coord_db, remote_store)
        self.generation = GenerationStage(self.setup, self.run_id)
        self.scorer = ItemScorer(self.setup, self.generation.item_usage)
        self.gates = Gatekeeper(self.setup)
        self.collected = Collected()
        self.finishing = Finisher(self.setup, self.generation, self.gates, self.collected, self.run_id)
        self.dry_run_lines: list[str] = []  # --mlb-dry-run: what the run would send (this process or a worker)
        self.dry_run_plan: dict[str, Any] | None = None
        self.suite_files: dict[str, bool] = {}  # node path -> is a suite file (xdist controller's memo)

    @property
    def active(self) -> bool:
        """Suite files are collected only when a model is named."""
        return self.setup.spec is not None

    def prepare_gates(self) -> None:
        self.gates.prepare()
        if self.settings.rescore_baseline:  # every process re-scores its own items' baseline answers
            self.generation.baseline_items = self.gates.baseline_items

    def coordination_db(self) -> str | None:
        return self.setup.coordination_db()

    def start(self, items: Sequence[Item]) -> None:
        self.generation.start(items)

    def dry_run(self, items: Sequence[Item]) -> list[str]:
        """``--mlb-dry-run``: per dataset, what this run would send; nothing is sent."""
        from .dryrun import plan_lines

        plan = self.generation.dry_run(items)
        self.dry_run_plan = plan.to_json()
        return plan_lines(plan) + self.gates.power_lines(items)

    def record(self, result: dict[str, Any]) -> None:
        """Keep an item's result for the report: in full in a spool file, compact in memory (``Collected``)."""
        self.collected.record(result)

    def finish(self, interrupted: bool = False, stopped: str | None = None) -> dict[str, Any] | None:
        return self.finishing.finish(interrupted, stopped)

    @property
    def report(self) -> dict[str, Any] | None:
        return self.finishing.report

    def summary(self) -> list[str]:
        return self.finishing.summary()

    def close(self) -> None:
        """The end of the pytest session: the results' spool file goes."""
        self.collected.spool.close()

"""Gates and the baseline: loaded before anything is asked, applied once where all results meet.

The policy and the baseline are read at configure time so that a bad file stops the run before
a single request; the comparison and the verdict are made on the finished report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..baselines import (
    Baseline,
    BaselineError,
    baseline_from_report,
    item_view,
    judge_of,
    load_baseline,
    rescored_items,
    write_baseline,
)
from ..completeness import Completeness, describe_selection
from ..gates import Gate, Policy, evaluate, load_policy, regressed_items, suite_changes
from ..item_view import ItemView, views
from ..report import INFRA_GATE, verdict
from ..report_view import BaselineView, ReportView, RescoreCounts
from ..schema import Item
from ..sequential import DEFAULT_DISCORDANCE, DEFAULT_POWER, min_detectable_drop
from .sequential_gate import SequentialMonitor
from .setup import RunSetup


class Gatekeeper:
    """The run's gate policy and baseline, the comparison with it, and writing a new one."""

    def __init__(self, setup: RunSetup) -> None:
        self.setup = setup
        self.settings = setup.settings
        self.policy: Policy | None = None
        self.baseline: Baseline | None = None
        self.baseline_path: Path | None = None
        self.baseline_items: dict[str, dict[str, Any]] = {}
        self.notes: list[str] = []  # lines for the terminal summary (re-scored baseline, judge changed)
        self.sequential: SequentialMonitor | None = None  # --mlb-sequential, where results meet

    def prepare(self) -> None:
        """Load the gate policy and the baseline up front, so a bad file stops the run at once."""
        if self.setup.spec is None:
            return
        s = self.settings
        self.policy = load_policy(s.extra.get("gates"), self.setup.policy_path(), s.gate, s.alpha)
        self.baseline_path = self.setup.baseline_path()
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
        if s.sequential:
            if self.baseline is None:
                self.notes.append("--mlb-sequential: no baseline to compare with, so every item was run")
            else:
                self.sequential = SequentialMonitor(self.policy, self.baseline_items)

    def power_lines(self, items: Sequence[Item]) -> list[str]:
        """Before the run (``--mlb-dry-run``): per drop gate, the items it would share with the baseline
        and the smallest drop they can detect at 80% power (assuming the default discordance)."""
        if self.policy is None:
            return []
        rules = [r for r in self.policy.rules if r.kind == "drop" and r.measure == "score"]
        if not rules:
            return []
        if self.baseline is None:
            return ["power: no baseline, so no drop gate can be tested on this run"]
        dims = sorted({it.dimension.value for it in items})
        gates = [(r, t) for r in rules for t in (dims if r.target == "*" else [r.target])]
        alpha = self.policy.alpha / len(gates)  # what one regression among the Holm-adjusted gates must beat
        lines = []
        for rule, target in gates:
            shared = [
                it
                for it in items
                if (target == "overall" or target in (it.dimension.value, it.dataset))
                and (stored := self.baseline_items.get(it.key)) is not None
                and (old := ItemView(stored)).score is not None
                and old.content_hash in (None, it.content_hash)
            ]
            mde = min_detectable_drop(len(shared), alpha, DEFAULT_POWER, DEFAULT_DISCORDANCE)
            what = "no drop at all" if mde == float("inf") else f"a drop of {mde:.3f} or more"
            verdict = " (a pass would read inconclusive)" if rule.threshold > 0 and mde > rule.threshold else ""
            lines.append(
                f"power: {target}:drop<={rule.threshold:g} on {len(shared)} shared items detects {what} "
                f"with 80% power at alpha {alpha:.3g}, assuming {DEFAULT_DISCORDANCE:.0%} of items change{verdict}"
            )
        return lines

    def is_regression(self, result: dict[str, Any]) -> bool:
        """Right in the baseline, wrong now, on the same item content."""
        now = ItemView(result)
        stored = self.baseline_items.get(now.key)
        if not stored:
            return False
        old = ItemView(stored)
        return old.passed and now.outcome == "wrong" and old.content_hash in (None, now.content_hash)

    def apply(self, report: dict[str, Any]) -> None:
        """Evaluate the policy against the baseline; put gates, verdict and comparison in the report."""
        assert self.policy is not None
        view = ReportView(report)
        base = self.baseline_items if self.baseline is not None else None
        rescored, judge_note, judge_line = None, None, ""
        if base is not None and self.baseline is not None:
            if self.settings.rescore_baseline:
                base, rescored = rescored_items(base, view.items)
            elif judge_of(self.baseline.data) != judge_of(view.run) and any(
                r.metric in ("judge", "rubric") for r in views(view.items)
            ):
                (bj, brev), (cj, crev) = judge_of(self.baseline.data), judge_of(view.run)
                judge_note = {"baseline": bj, "baseline_revision": brev, "current": cj, "current_revision": crev}
                judge_line = (
                    f"the baseline was judged by {_judge_text(bj, brev)}, this run by {_judge_text(cj, crev)}: judged "
                    "datasets compare two judges; add --mlb-rescore-baseline to re-judge the baseline's answers first"
                )
        label = self.setup.shown(self.baseline_path) if self.baseline_path else str(self.baseline_path)
        policy = self.policy
        if self.sequential is not None:  # undecided drop gates fall back to the fixed-size test at its share
            policy = replace(policy, alpha=self.sequential.fallback_alpha)
        result = evaluate(policy, report, base, label)
        if self.sequential is not None:
            report["sequential"] = self.sequential.settle(result.gates)
            self.notes.append(self.sequential.summary_line())
        for g in result.gates:
            if g.status == "no-baseline":
                g.reason = (
                    f"no baseline at {label}: create it with pytest --mlb-model={self.setup.spec} --mlb-update-baseline"
                )
        comparison: dict[str, Any] = {
            "baseline": label if base is not None else None,
            "policy": [r.text for r in self.policy.rules],
            "policy_sources": self.policy.sources,
            "alpha": self.policy.alpha,
            "min_shared": self.policy.min_shared,
        }
        if base is not None and self.baseline is not None:
            stored = BaselineView(self.baseline.data)
            items = [r for r in view.items if ItemView(r).outcome != "suite_error"]
            changes = suite_changes(items, base)
            if rescored is not None:
                comparison["rescored"] = rescored
                counts = RescoreCounts(rescored)
                self.notes.append(
                    f"baseline re-scored with this run's rules and judge: {counts.items} stored answers, "
                    f"{counts.changed_verdicts} changed pass/fail"
                    + (f", {counts.errors} could not be re-scored" if counts.errors else "")
                )
            old_style, new_style = stored.prompt_style, view.prompt_style
            if old_style and new_style and old_style != new_style:
                comparison["prompt_style_changed"] = {"baseline": old_style, "current": new_style}
                self.notes.append(
                    f"the baseline's items were put to the model as {old_style} prompts, this run's as {new_style}: "
                    "a difference may be the prompt style's, not the model's (--mlb-prompt-style)"
                )
            if judge_note is not None:
                comparison["judge_changed"] = judge_note
                self.notes.append(judge_line)
            regressions = regressed_items(items, base)
            comparison.update(
                baseline_model=stored.model,
                baseline_created=stored.created,
                baseline_selection=describe_selection(stored.selection) if stored.selection else None,
                fingerprint_match=self.baseline.fingerprint == view.suite_fingerprint,
                changes={k: {"count": len(v), "keys": v[:50]} for k, v in changes.items()},
                differences={k: d.__dict__ for k, d in result.differences.items()},
                regressions=regressions,
            )
            if self.settings.strict_regressions and regressions:
                n = len(regressions)
                result.gates.append(
                    Gate(
                        "regressed items",
                        False,
                        f"{n} item(s) right in the baseline are wrong now",
                        observed=float(n),
                        threshold=0.0,
                    )
                )
        all_gates = [*(g.raw for g in view.gates), *(g.to_json() for g in result.gates)]
        v, why = verdict([Gate(**g) for g in all_gates])
        report.update(gates=all_gates, verdict=v, verdict_reason=why, comparison=comparison)

    def update_baseline(self, report: dict[str, Any], done: Completeness, messages: list[str]) -> None:
        """Write this run as the baseline, unless it is incomplete or its infrastructure failed."""
        assert self.baseline_path is not None
        if done.cut_short:  # never forced: a baseline of half a run would gate every later run wrongly
            why = f"the run is incomplete ({done.reason()})"
            messages.append(f"baseline NOT written to {self.baseline_path}: {why}")
            report["baseline_update"] = {"written": False, "path": str(self.baseline_path), "reason": why}
            return
        infra = ReportView(report).gate(INFRA_GATE)
        if infra is not None and not infra.passed and not self.settings.force_baseline:
            messages.append(
                f"baseline NOT written to {self.baseline_path}: {infra.reason} "
                "(add --mlb-force-baseline to write it anyway)"
            )
            report["baseline_update"] = {"written": False, "path": str(self.baseline_path), "reason": infra.reason}
            return
        try:
            write_baseline(self.baseline_path, baseline_from_report(report), force=self.settings.force_baseline)
        except BaselineError as exc:
            messages.append(f"baseline NOT written: {exc} (add --mlb-force-baseline to replace it)")
            report["baseline_update"] = {"written": False, "path": str(self.baseline_path), "reason": str(exc)}
            return
        view = ReportView(report)
        scope = f"; selection recorded: {view.incomplete_reason}" if done.selection else ""
        messages.append(f"baseline written to {self.baseline_path} ({len(view.items)} items{scope})")
        report["baseline_update"] = {"written": True, "path": str(self.baseline_path)}


def _judge_text(spec: Any, revision: Any) -> str:
    return f"{spec or 'no judge'}" + (f" (revision {revision})" if revision else "")

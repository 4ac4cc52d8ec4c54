"""``--mlb-sequential``: drop gates decided while the run goes, and the run stopped once they are.

Items are run in a seeded random order (so a suite sorted by dataset or difficulty does not bias
the early items). Every result that arrives is paired with the baseline's score for the same item
and fed to one anytime-valid test per drop gate (:class:`mlb_pytest.sequential.SequentialDropTest`,
an e-process: its error rate holds however early it stops). Once every drop gate is decided
(regression, or no regression beyond the allowed drop plus the indifference margin) the run stops;
the report says how many items it needed. Gates the sequential test did not decide (the items ran
out first) keep the fixed-size test's verdict, at the part of alpha the design keeps for it.

Floors and other gates are judged on the items that were run, as with any narrowed run; the run
records the early stop as a selection, so it never passes for a full run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..gates import Gate, Policy, Rule
from ..item_view import ItemView
from ..sequential import NO_REGRESSION, REGRESSION, UNDECIDED, SequentialDesign, SequentialDropTest, seeded_order

STOP_PREFIX = "mlb sequential:"


def seeded_item_order(keys: Sequence[str], seed: int) -> list[int]:
    """The order items are run in: a seeded shuffle of their keys (the same on every xdist worker)."""
    return seeded_order(keys, seed)


@dataclass
class _Target:
    rule: Rule
    name: str
    test: SequentialDropTest


@dataclass(frozen=True)
class SequentialEntry:
    """One drop gate's sequential test as the report states it (``sequential.gates``; schema
    ``report_model.SequentialGate``)."""

    decision: str
    rule: str  # how it was decided: sequential, futility, fixed-size fallback (none: no pairs)
    n_used: int
    drop: float | None  # mean drop over the pairs used; None before any
    e_regression: float
    e_futility: float
    alpha_sequential: float
    alpha_fallback: float
    futility_bound: float  # the drop that "no regression" rules out

    @classmethod
    def of(cls, test: SequentialDropTest) -> SequentialEntry:
        design = test.design
        return cls(
            decision=test.decision,
            rule=test.rule,
            n_used=test.n,
            drop=(sum(test.baseline) - sum(test.candidate)) / test.n if test.n else None,
            e_regression=test.e_regression,
            e_futility=test.e_futility,
            alpha_sequential=design.alpha_sequential,
            alpha_fallback=design.alpha_fallback,
            futility_bound=design.futility_bound,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "rule": self.rule,
            "n_used": self.n_used,
            "drop": self.drop,
            "e_regression": self.e_regression,
            "e_futility": self.e_futility,
            "alpha_sequential": self.alpha_sequential,
            "alpha_fallback": self.alpha_fallback,
            "futility_bound": self.futility_bound,
        }


@dataclass
class SequentialMonitor:
    """One sequential test per drop gate target, fed as results arrive where they meet."""

    policy: Policy
    baseline_items: Mapping[str, Mapping[str, Any]]
    targets: dict[str, _Target] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # items whose result was fed (pytest reports each phase)
    stopped: str | None = None  # why the run was stopped, once it was

    def __post_init__(self) -> None:
        dims = sorted({d for v in self.baseline_items.values() if (d := ItemView(v).dimension)})
        for rule in self.policy.rules:
            if rule.kind != "drop" or rule.measure != "score":
                continue
            for target in dims if rule.target == "*" else [rule.target]:
                design = SequentialDesign(
                    allowed_drop=rule.threshold, alpha=self.policy.alpha, min_items=self.policy.min_shared
                )
                self.targets[target] = _Target(rule, f"{target}:drop<={rule.threshold:g}", SequentialDropTest(design))

    @property
    def fed(self) -> int:
        """Items whose result arrived (scored or not)."""
        return len(self.seen)

    @property
    def fallback_alpha(self) -> float:
        """The family-wise alpha left to the fixed-size drop gates (the designs share one split)."""
        return SequentialDesign(alpha=self.policy.alpha).alpha_fallback

    def summary_line(self) -> str:
        decided = {name: t.test for name, t in ((t.name, t) for t in self.targets.values())}
        parts = [f"{name} {test.decision} ({test.rule}, {test.n} items)" for name, test in decided.items()]
        head = f"stopped after {self.fed} items" if self.stopped else f"ran all {self.fed} items"
        return f"mlb sequential: {head}; " + ("; ".join(parts) if parts else "no drop gate to test")

    @staticmethod
    def _covers(target: str, result: Mapping[str, Any]) -> bool:
        r = ItemView(result)
        return target == "overall" or target in (r.dimension, r.dataset)

    def observe(self, result: Mapping[str, Any]) -> str | None:
        """Feed one item's result; the reason to stop the run, the first time every gate is decided."""
        now = ItemView(result)
        key = now.key
        if key in self.seen:
            return None
        self.seen.add(key)
        stored = self.baseline_items.get(key)
        old = ItemView(stored) if stored is not None else None
        score = now.score
        if old is None or score is None or old.score is None or now.outcome == "error":
            return None
        if old.content_hash not in (None, now.content_hash):
            return None  # the item changed since the baseline: not a paired observation
        for target, t in self.targets.items():
            if self._covers(target, result):
                t.test.update(old.score, score)
        if self.stopped is None and self.targets and all(t.test.decision != UNDECIDED for t in self.targets.values()):
            self.stopped = f"{STOP_PREFIX} every drop gate decided after {self.fed} items"
            return self.stopped
        return None

    def settle(self, gates: list[Gate]) -> dict[str, Any]:
        """Put the sequential decisions into the drop gates; the report's ``sequential`` block."""
        block: dict[str, Any] = {"items_run": self.fed, "stopped": self.stopped, "gates": {}}
        by_name = {g.name: g for g in gates}
        for target, t in self.targets.items():
            test = t.test
            decided_live = test.decision != UNDECIDED
            if not decided_live:
                test.finish()
            entry = SequentialEntry.of(test)
            block["gates"][t.name] = entry.to_json()
            gate = by_name.get(t.name)
            if gate is None or not decided_live:
                continue  # the fixed-size test stands (its alpha is the fallback's: see Gatekeeper.apply)
            _settle_gate(gate, target, entry)
        return block


def _settle_gate(gate: Gate, target: str, e: SequentialEntry) -> None:
    n, drop = e.n_used, e.drop or 0.0
    if e.decision == REGRESSION:
        gate.passed, gate.status = False, "fail"
        gate.reason = (
            f"regression (sequential): mean drop {drop:.3f} on {n} shared items; e-value "
            f"{e.e_regression:.3g} >= 1/{e.alpha_sequential:.3g} against a drop <= {gate.threshold:g}"
        )
    elif e.decision == NO_REGRESSION:
        gate.passed, gate.status = True, "pass"
        gate.reason = (
            f"no regression (sequential): mean drop {drop:+.3f} on {n} shared items; a drop of "
            f"{e.futility_bound:.3f} or more is ruled out (e-value {e.e_futility:.3g} >= 1/{e.alpha_sequential:.3g})"
        )
    gate.test = "anytime-valid e-process (betting mixture), stopped when decided"
    gate.n_shared = n
    gate.p_value = min(1.0, 1.0 / max(e.e_regression, 1e-300))
    gate.p_adjusted = None

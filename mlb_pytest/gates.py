"""Release gates: absolute floors and significant drops from the baseline.

Rules are short expressions: ``MedSE>=0.90`` (floor), ``MedRU:drop<=0.02`` (the score may not
drop by more than 0.02 from the baseline *and* significantly), ``*`` for every dimension,
``overall`` for the overall score, a dataset name for one dataset. A drop counts only when it
exceeds the allowed drop and its Holm-adjusted p-value (over all drop gates of the run) is below
alpha, so testing five dimensions and the overall score does not multiply false alarms.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import DIMENSIONS
from .comparison import Difference, Paired, align, compare, compare_strata
from .errors import UsageError
from .item_view import ItemView, views
from .report_view import ReportView
from .statistics import holm_adjust

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_RULES = ("MedSE>=0.90", "*:drop<=0.02", "overall:drop<=0.02")
_RULE = re.compile(
    r"^\s*(?P<target>[A-Za-z0-9_.\-*]+)(?P<measure>:circular|:worst|:flip(?::[a-z][a-z\-]*)?)?(?P<drop>:drop)?"
    r"\s*(?P<op>>=|<=)\s*(?P<value>\d+(?:\.\d+)?)\s*$"
)


class GateError(UsageError, ValueError):
    """A gate rule or policy that cannot be used; names the rule or file."""


@dataclass
class Gate:
    name: str
    passed: bool
    reason: str
    observed: float | None = None
    threshold: float | None = None
    baseline: float | None = None
    p_value: float | None = None
    status: str = ""  # pass | fail | n/a | no-baseline | insufficient | inconclusive
    delta: float | None = None  # current - baseline on shared items
    ci: list[float] | None = None  # 95% interval of delta
    n_shared: int | None = None
    test: str | None = None
    p_adjusted: float | None = None
    min_detectable: float | None = None  # drop gates: smallest drop the shared items detect (80% power)

    def __post_init__(self) -> None:
        if not self.status:
            self.status = "pass" if self.passed else "fail"

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Rule:
    target: str
    kind: str  # floor | drop
    threshold: float
    text: str
    # score | circular | worst | flip | flip:<perturbation> (figures beside the score: measure_gates.py)
    measure: str = "score"

    @property
    def name(self) -> str:
        return self.text.replace(" ", "")


@dataclass
class Policy:
    rules: list[Rule]
    alpha: float = 0.05
    min_shared: int = 30
    sources: list[str] = field(default_factory=list)


def parse_rule(text: str) -> Rule:
    m = _RULE.match(text)
    if not m:
        raise GateError(
            f"bad gate {text!r}: use NAME>=FLOOR (MedSE>=0.90, overall>=0.7) or NAME:drop<=MAX "
            "(MedRU:drop<=0.02), NAME:circular>=FLOOR (--mlb-circular), NAME:worst>=FLOOR (--mlb-samples), "
            "NAME:flip<=MAX or NAME:flip:typos<=MAX (--mlb-perturb); NAME is a dimension, a dataset, overall or *"
        )
    measure = (m.group("measure") or ":score")[1:]
    if measure.startswith("flip"):
        from .invariance import PERTURBATIONS

        which = measure.partition(":")[2]
        if which and which not in PERTURBATIONS:
            raise GateError(f"bad gate {text!r}: unknown perturbation {which!r} ({', '.join(PERTURBATIONS)})")
        if m.group("drop") or m.group("op") != "<=":
            raise GateError(f"bad gate {text!r}: flip rates take a maximum (NAME:flip<=MAX)")
        kind = "bound"
    else:
        kind = "drop" if m.group("drop") else "floor"
        if (kind == "floor") != (m.group("op") == ">="):
            raise GateError(f"bad gate {text!r}: floors use >= and drops use <=")
        if measure != "score" and kind == "drop":
            raise GateError(f"bad gate {text!r}: {measure} scores take floors only (NAME:{measure}>=FLOOR)")
    value = float(m.group("value"))
    if value > 1:
        raise GateError(f"bad gate {text!r}: scores, drops and rates are between 0 and 1")
    shown = "" if measure == "score" else f":{measure}"
    return Rule(
        m.group("target"),
        kind,
        value,
        f"{m.group('target')}{shown}{m.group('drop') or ''}{m.group('op')}{m.group('value')}",
        measure=measure,
    )


def _table_rules(table: Mapping[str, Any], source: str) -> tuple[list[Rule], dict[str, Any]]:
    known = {"rules", "alpha", "min_shared"}
    unknown = set(table) - known
    if unknown:
        raise GateError(f"{source}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    rules = table.get("rules", [])
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise GateError(f"{source}: 'rules' must be a list of strings such as \"MedSE>=0.90\"")
    try:
        parsed = [parse_rule(r) for r in rules]
    except GateError as exc:
        raise GateError(f"{source}: {exc}") from None
    return parsed, {k: table[k] for k in ("alpha", "min_shared") if k in table}


def load_policy(
    pyproject_gates: Mapping[str, Any] | None,
    policy_file: Path | None,
    cli_rules: Sequence[str],
    alpha: float | None = None,
) -> Policy:
    """Rules from baselines/policy.toml, then [tool.mlb.gates], then --mlb-gate; defaults when none."""
    rules: list[Rule] = []
    params: dict[str, Any] = {}
    sources: list[str] = []
    if policy_file is not None and policy_file.is_file():
        try:
            data = tomllib.loads(policy_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise GateError(f"{policy_file}: invalid TOML: {exc}") from None
        r, p = _table_rules(data.get("gates", {}), f"{policy_file} [gates]")
        rules += r
        params.update(p)
        sources.append(str(policy_file))
    if pyproject_gates:
        r, p = _table_rules(pyproject_gates, "[tool.mlb.gates]")
        rules += r
        params.update(p)
        sources.append("[tool.mlb.gates]")
    if not rules:
        rules = [parse_rule(r) for r in DEFAULT_RULES]
        sources.append("defaults")
    for text in cli_rules:
        rules.append(parse_rule(text))
    if cli_rules:
        sources.append("--mlb-gate")
    policy = Policy(rules, float(params.get("alpha", 0.05)), int(params.get("min_shared", 30)), sources)
    if alpha is not None:
        policy.alpha = alpha
    if not 0 < policy.alpha < 1:
        raise GateError(f"gate alpha must be between 0 and 1, got {policy.alpha}")
    return policy


def _targets(rule: Rule, report: Mapping[str, Any]) -> list[str]:
    if rule.target == "*":
        present = set(ReportView(report).dimension_names())
        return [d.value for d in DIMENSIONS if d.value in present]
    return [rule.target]


def _observed(target: str, report: Mapping[str, Any]) -> tuple[bool, float | None]:
    """(present in this run, score)."""
    block = ReportView(report).block(target)
    return (False, None) if block is None else (True, block.score)


def _scope(target: str, items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if target == "overall":
        return list(items)
    return [r for r in items if (v := ItemView(r)).dimension == target or v.dataset == target]


def _group_compare(target: str, items: Sequence[Mapping[str, Any]], baseline_items: Mapping[str, Any]) -> Difference:
    scoped = _scope(target, items)
    groups = align(baseline_items, scoped)
    if target == "overall":  # mean over dimensions of the mean over their datasets
        by_dim: dict[str, dict[str, Paired]] = {}
        dim_of = {str(v.dataset): str(v.dimension) for v in views(scoped)}
        for ds, p in groups.items():
            by_dim.setdefault(dim_of[ds], {})[ds] = p
        return compare_strata(by_dim, "overall")
    return compare(groups, target)


@dataclass
class GateResult:
    gates: list[Gate]
    differences: dict[str, Difference]


def evaluate(
    policy: Policy,
    report: Mapping[str, Any],
    baseline_items: Mapping[str, Any] | None,
    baseline_label: str | None = None,
) -> GateResult:
    gates: list[Gate] = []
    pending: list[tuple[Gate, Rule, Difference]] = []
    diffs: dict[str, Difference] = {}
    items = [r for r in ReportView(report).items if ItemView(r).outcome != "suite_error"]
    for rule in policy.rules:
        for target in _targets(rule, report):
            if rule.measure != "score":
                from .measure_gates import measure_gate  # gates on figures beside the score

                gates.append(measure_gate(rule, target, report))
                continue
            name = f"{target}>={rule.threshold:g}" if rule.kind == "floor" else f"{target}:drop<={rule.threshold:g}"
            present, score = _observed(target, report)
            if not present:
                gates.append(Gate(name, True, f"{target} is not in this run", status="n/a", threshold=rule.threshold))
                continue
            if rule.kind == "floor":
                if score is None:
                    gates.append(
                        Gate(
                            name,
                            False,
                            f"{target} has no score (all items errored or await a judge)",
                            status="fail",
                            threshold=rule.threshold,
                        )
                    )
                else:
                    ok = score >= rule.threshold
                    gates.append(
                        Gate(
                            name,
                            ok,
                            f"{target} {score:.3f} {'>=' if ok else '<'} floor {rule.threshold:.2f}",
                            observed=score,
                            threshold=rule.threshold,
                            status="pass" if ok else "fail",
                        )
                    )
                continue
            if baseline_items is None:
                gates.append(
                    Gate(name, True, "no baseline to compare with", status="no-baseline", threshold=rule.threshold)
                )
                continue
            diff = diffs.get(target) or _group_compare(target, items, baseline_items)
            diffs[target] = diff
            gate = Gate(
                name,
                True,
                "",
                observed=diff.current,
                threshold=rule.threshold,
                baseline=diff.baseline,
                p_value=diff.p_value,
                delta=None if diff.drop is None else -diff.drop,
                ci=list(diff.ci) if diff.ci else None,
                n_shared=diff.n_shared,
                test=diff.test,
            )
            if diff.n_shared < policy.min_shared:
                gate.status = "insufficient"
                gate.reason = (
                    f"only {diff.n_shared} items shared with the baseline{f' ({baseline_label})' if baseline_label else ''}"
                    f" (at least {policy.min_shared} needed): not tested"
                )
                gates.append(gate)
                continue
            pending.append((gate, rule, diff))
            gates.append(gate)
    adjusted = holm_adjust([d.p_value if d.p_value is not None else 1.0 for _, _, d in pending])
    for (gate, rule, diff), p_adj in zip(pending, adjusted):
        assert diff.drop is not None
        gate.p_adjusted = p_adj
        regressed = diff.drop > rule.threshold and p_adj < policy.alpha
        gate.passed = not regressed
        gate.status = "fail" if regressed else "pass"
        what = f"{'dropped' if diff.drop > 0 else 'rose'} {abs(diff.drop):.3f} ({diff.baseline:.3f} -> {diff.current:.3f}) on {diff.n_shared} shared items, p={p_adj:.3g} (Holm, {diff.test})"
        if regressed:
            gate.reason = f"regression: {what} > allowed {rule.threshold:.2f} and significant at {policy.alpha:g}"
        elif diff.drop > rule.threshold:
            gate.reason = f"{what}: larger than allowed but not significant at {policy.alpha:g}"
        else:
            gate.reason = what
        if not regressed:
            _power_check(
                gate, rule, _group_spread(rule, gate, items, baseline_items or {}), policy.alpha / len(pending)
            )
    return GateResult(gates, diffs)


def _group_spread(
    rule: Rule, gate: Gate, items: Sequence[Mapping[str, Any]], baseline_items: Mapping[str, Any]
) -> dict[str, float | None] | None:
    """Discordance (0/1 scores) or sd of the paired item differences, pooled over the target's shared items."""
    import numpy as np

    from .sequential import paired_spread

    target = gate.name.split(":drop", 1)[0]
    groups = align(baseline_items, _scope(target, items))
    if not groups or any(p.metric == "micro_f1" for p in groups.values()):
        return None  # micro-F1 has no per-item score difference: no power rule
    b = np.concatenate([p.b for p in groups.values()])
    c = np.concatenate([p.c for p in groups.values()])
    return paired_spread(np.clip(b, 0, 1), np.clip(c, 0, 1))


def _power_check(gate: Gate, rule: Rule, spread: dict[str, float | None] | None, alpha: float) -> None:
    """A passing drop gate whose shared items cannot detect its allowed drop is ``inconclusive``, not ``pass``.

    Smallest detectable drop: the fixed-size paired test at alpha / (number of drop gates tested), what one
    regression among them must beat under Holm, with 80% power, from the observed discordance or sd
    (see :func:`mlb_pytest.sequential.min_detectable_drop`). The gate still passes (as ``insufficient``
    does): it does not fail a run, it says the run could not tell.
    """
    from .sequential import underpowered

    if spread is None or gate.n_shared is None:
        return
    weak, mde = underpowered(gate.n_shared, rule.threshold, alpha, discordance=spread["discordance"], sd=spread["sd"])
    gate.min_detectable = None if mde == float("inf") else round(mde, 6)
    if weak:
        gate.status = "inconclusive"
        seen = "no drop" if mde == float("inf") else f"only drops of {mde:.3f} or more"
        gate.reason += (
            f"; inconclusive: {gate.n_shared} shared items detect {seen} (80% power at alpha {alpha:.3g}),"
            f" not the allowed {rule.threshold:.2f}"
        )


def regressed_items(items: Sequence[Mapping[str, Any]], baseline_items: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Items right in the baseline and wrong now (same content), with expected and got."""
    out = []
    for r in sorted(views(items), key=lambda r: r.key):
        stored = baseline_items.get(r.key)
        old = ItemView(stored) if stored else None
        if old is None or not old.passed or r.outcome != "wrong":
            continue
        if old.content_hash and old.content_hash != r.content_hash:
            continue
        out.append(
            {
                "key": r.key,
                "dataset": r.dataset,
                "id": r.id,
                "critical": r.critical,
                "expected": r.expected,
                "got": r.response,
                "baseline_got": old.response,
                "explanation": r.explanation,
            }
        )
    return out


def suite_changes(items: Sequence[Mapping[str, Any]], baseline_items: Mapping[str, Any]) -> dict[str, list[str]]:
    current = {r.key: r.content_hash for r in views(items) if r.outcome != "suite_error"}
    added = sorted(set(current) - set(baseline_items))
    removed = sorted(set(baseline_items) - set(current))
    changed = sorted(
        k
        for k in set(current) & set(baseline_items)
        if (old := ItemView(baseline_items[k]).content_hash) and current[k] != old
    )
    return {"added": added, "removed": removed, "changed": changed}

"""Typed, read-only access to a report's score blocks, for the readers that gate on them.

The report is built as a JSON-ready dict (``report.build_report``, then the circular, spread and
perturbation figures are added beside each score) and its schema is ``report_model.Report``. The
renderers read it through that model; the gates read it while it is still being built, through
these views, so that the block keys are known here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .item_view import opt_float, opt_str


class Spread:
    """The spread of a score over K samples (``sample_spread.py``)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    @property
    def k(self) -> int:
        return int(self.raw.get("k") or 0)

    @property
    def worst(self) -> float | None:
        return opt_float(self.raw, "worst")

    @property
    def mean(self) -> float | None:
        return opt_float(self.raw, "mean")

    @property
    def sd(self) -> float:
        return float(self.raw.get("sd") or 0.0)


class FlipCounts:
    """One perturbation's figures in a score block (``invariance/report.py``)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    @property
    def flip(self) -> float | None:
        return opt_float(self.raw, "flip")

    @property
    def flips(self) -> int:
        return int(self.raw.get("flips") or 0)

    @property
    def n(self) -> int:
        return int(self.raw.get("n") or 0)

    @property
    def errors(self) -> int:
        return int(self.raw.get("errors") or 0)


class GateView:
    """One gate as the report states it (``Gate.to_json``)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    @property
    def name(self) -> str:
        return str(self.raw.get("name") or "")

    @property
    def passed(self) -> bool:
        return bool(self.raw.get("passed"))

    @property
    def reason(self) -> str:
        return str(self.raw.get("reason") or "")


class ScoreBlock:
    """A dataset's, dimension's or the overall score block."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    @property
    def score(self) -> float | None:
        return opt_float(self.raw, "score")

    @property
    def dimension(self) -> str | None:
        return opt_str(self.raw, "dimension")

    @property
    def has_circular(self) -> bool:
        """The run asked rotated options (the key is there even when its value is None)."""
        return "circular" in self.raw

    @property
    def circular(self) -> float | None:
        return opt_float(self.raw, "circular")

    @property
    def circular_errors(self) -> int:
        return int(self.raw.get("circular_errors") or 0)

    @property
    def spread(self) -> Spread | None:
        """K samples' run scores: k, scores, mean, sd, worst, best (``sample_spread.py``)."""
        v = self.raw.get("spread")
        return Spread(v) if isinstance(v, Mapping) else None

    @property
    def has_perturb(self) -> bool:
        return "perturb" in self.raw

    @property
    def perturb(self) -> dict[str, FlipCounts]:
        """Per perturbation: flip rate, flips, n, errors (``invariance/report.py``)."""
        return {name: FlipCounts(c) for name, c in (self.raw.get("perturb") or {}).items()}


class ReportView:
    """The score blocks of a report (dict), by target name."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    @property
    def overall(self) -> ScoreBlock:
        return ScoreBlock(self.raw["overall"])

    def dimension_names(self) -> Iterator[str]:
        return iter(self.raw["dimensions"])

    def dataset_names(self) -> Iterator[str]:
        return iter(self.raw["datasets"])

    def block(self, target: str) -> ScoreBlock | None:
        """``overall``, a dimension or a dataset; None when the run has no such part."""
        if target == "overall":
            return self.overall
        for part in ("dimensions", "datasets"):
            body = self.raw[part].get(target)
            if body is not None:
                return ScoreBlock(body)
        return None

    @property
    def items(self) -> Sequence[Mapping[str, Any]]:
        """The item results as the report holds them (no copy: at 100,000 items they are streamed)."""
        items: Sequence[Mapping[str, Any]] = self.raw["items"]
        return items

    @property
    def run(self) -> Mapping[str, Any]:
        """The run block: model, judge, revision, prompt style, options, suite fingerprint..."""
        return self.raw.get("run") or {}

    @property
    def model(self) -> str:
        return str(self.run.get("model") or "")

    @property
    def prompt_style(self) -> str | None:
        return opt_str(self.run, "prompt_style")

    @property
    def suite_fingerprint(self) -> str | None:
        return opt_str(self.run, "suite_fingerprint")

    @property
    def incomplete_reason(self) -> str | None:
        """Why the run is not a full one (cut short, or narrowed by a selection); None when it is."""
        return opt_str(self.run, "incomplete_reason")

    @property
    def verdict(self) -> str | None:
        return opt_str(self.raw, "verdict")

    @property
    def gates(self) -> list[GateView]:
        """The gates so far, in order (the builder adds the baseline's after the built-in ones)."""
        return [GateView(g) for g in self.raw.get("gates") or ()]

    def gate(self, name: str) -> GateView | None:
        """The report's gate of this name, if any."""
        return next((g for g in self.gates if g.name == name), None)

    @property
    def regressions(self) -> list[Mapping[str, Any]]:
        return list((self.raw.get("comparison") or {}).get("regressions") or [])


class RescoreCounts:
    """``comparison.rescored``: the baseline's answers scored again (``baselines.rescored_items``)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    @property
    def items(self) -> int:
        return int(self.raw.get("items") or 0)

    @property
    def changed_verdicts(self) -> int:
        """Stored answers that pass now and failed then, or the other way round."""
        return int(self.raw.get("changed_verdicts") or 0)

    @property
    def errors(self) -> int:
        """Stored answers that could not be scored again (they keep their stored score)."""
        return int(self.raw.get("errors") or 0)


class BaselineView:
    """What a baseline file says of the run it stores (``baselines.baseline_from_report``).

    Not a ``ReportView``: a baseline keeps the run block's facts at its top level (``model``,
    ``created``, ...), beside the score blocks and the items keyed by item.
    """

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    @property
    def model(self) -> str | None:
        return opt_str(self.raw, "model")

    @property
    def created(self) -> str | None:
        """When the baseline's run ended (ISO 8601)."""
        return opt_str(self.raw, "created")

    @property
    def prompt_style(self) -> str | None:
        """chat or completion: answers to one are not answers to the other."""
        return opt_str(self.raw, "prompt_style")

    @property
    def selection(self) -> Mapping[str, Any] | None:
        """What narrowed the baseline's run (``-k``, ``--mlb-limit``, ...); None for a full run."""
        v = self.raw.get("selection")
        return v if isinstance(v, Mapping) and v else None

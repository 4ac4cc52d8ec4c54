"""Did the run score everything it collected? A verdict over half a run is no verdict.

Ctrl-C, ``-x``, a crash or a narrowed selection (``-k``, ``-m``, ``--mlb-limit``, node ids) all
leave a report behind; this says which of them happened, so that an interrupted run never
passes and never becomes a baseline, and a deliberately narrowed run says what it covered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .gates import Gate
from .report import COMPLETENESS_GATE as GATE_NAME


@dataclass
class Completeness:
    collected: int  # suite tests collected after selection (0 = unknown)
    finished: int  # of those, how many reached a result (right, wrong, error, needs a judge)
    interrupted: bool = False  # Ctrl-C or a crash ended the session
    stopped: str | None = None  # pytest's own reason to stop early (-x / --maxfail)
    selection: dict[str, Any] = field(default_factory=dict)  # what narrowed the run, if anything

    @property
    def missing(self) -> int:
        return max(0, self.collected - self.finished)

    @property
    def cut_short(self) -> bool:
        """Interrupted, stopped early or items left without a result: the run proves nothing."""
        return self.interrupted or bool(self.stopped) or self.missing > 0

    @property
    def complete(self) -> bool:
        return not self.cut_short and not self.selection

    def reason(self) -> str | None:
        if self.complete:
            return None
        why = []
        if self.interrupted:
            why.append("interrupted")
        if self.stopped:
            why.append(f"stopped early ({self.stopped})")
        if self.selection:
            why.append("selection: " + describe_selection(self.selection))
        counts = f"{self.finished} of {self.collected} collected items scored" if self.collected else ""
        return "; ".join([counts, *why] if counts else why)

    def gate(self) -> Gate:
        if self.cut_short:
            return Gate(
                GATE_NAME,
                False,
                f"incomplete run ({self.reason()}): no verdict on a partial run; re-run it",
                observed=float(self.finished),
                threshold=float(self.collected),
            )
        text = "complete" if self.complete else f"narrowed by selection ({describe_selection(self.selection)})"
        return Gate(GATE_NAME, True, text, observed=float(self.finished), threshold=float(self.collected))

    def to_json(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "incomplete_reason": self.reason(),
            "items_collected": self.collected,
            "items_finished": self.finished,
            "interrupted": self.interrupted,
            "stopped": self.stopped,
            "selection": dict(self.selection) or None,
        }


def describe_selection(selection: Mapping[str, Any]) -> str:
    parts = []
    for name, value in selection.items():
        if name == "node_ids":
            parts.append(f"{len(value)} node id(s)")
        elif name == "deselected":
            parts.append(f"{value} deselected")
        elif name == "limit":
            parts.append(f"--mlb-limit={value}")
        elif name == "sequential":
            parts.append(f"--mlb-sequential {value}")
        else:
            parts.append(f"{name} {value!r}")
    return ", ".join(parts)

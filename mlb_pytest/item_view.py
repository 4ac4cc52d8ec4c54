"""Typed, read-only access to one item result: the only place that knows its keys.

An item result travels as the JSON-ready dict a test publishes (``report_model.ItemResult`` is
its schema): the controller keeps 100,000 of them compactly (``run/finishing.ItemRow``), a
baseline file stores them, a worker sends them. Readers that aggregate, compare or gate go
through ``ItemView`` instead of indexing by string, so a renamed field is one edit here and a
typo is a type error, without copying the rows into objects (a view is one slot).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


def opt_str(raw: Mapping[str, Any], key: str) -> str | None:
    """The field as text, None when absent or null."""
    v = raw.get(key)
    return None if v is None else str(v)


def opt_float(raw: Mapping[str, Any], key: str) -> float | None:
    v = raw.get(key)
    return None if v is None else float(v)


class VerdictView:
    """One judge question's record (``judges/dual.combine``; schema ``report_model.VerdictRecord``)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    @property
    def kind(self) -> str:
        """``point``, ``risk``, ``quality`` or ``rubric``: which conservative rule an uncertain verdict gets."""
        return str(self.raw["kind"])

    @property
    def criterion(self) -> str:
        return str(self.raw["criterion"])

    @property
    def verdict(self) -> str:
        """The word that was scored: ``yes``, ``no`` or ``uncertain``."""
        return str(self.raw["verdict"])

    @property
    def decision(self) -> Any:
        """The verdict as stored: a word, or a bool from a judge that answers with one (red lines read both)."""
        return self.raw.get("verdict")

    @property
    def source(self) -> str | None:
        """How the verdict was reached: single, agreed, disputed, uncertain or adjudicated."""
        return opt_str(self.raw, "source")

    @property
    def response_hash(self) -> str | None:
        """The judged answer's hash: with item and criterion, the key a physician's decision applies to."""
        return opt_str(self.raw, "response_hash")

    @property
    def judge1(self) -> str | None:
        return opt_str(self.raw, "judge1")

    @property
    def rationale1(self) -> str | None:
        return opt_str(self.raw, "rationale1")

    @property
    def judge2(self) -> str | None:
        """The second judge's word; None when the run had one judge."""
        return opt_str(self.raw, "judge2")

    @property
    def rationale2(self) -> str | None:
        """The second judge's reasons; "" when the run had one judge (the review file's column is always there)."""
        v = self.raw.get("rationale2", "")
        return None if v is None else str(v)

    @property
    def points(self) -> int | None:
        """A rubric criterion's signed points (negative: "yes" means the answer does the undesirable thing)."""
        v = self.raw.get("points")
        return None if v is None else int(v)

    @property
    def leaning(self) -> str | None:
        """Where an abstaining judge leaned (``yes``/``no``)."""
        return opt_str(self.raw, "leaning")

    @property
    def p_yes(self) -> float | None:
        return opt_float(self.raw, "p_yes")

    @property
    def if_yes(self) -> Mapping[str, Any] | None:
        """An uncertain verdict: the item's score and pass if a reviewer decides yes (``Decided``)."""
        v = self.raw.get("if_yes")
        return v if isinstance(v, Mapping) else None

    @property
    def if_no(self) -> Mapping[str, Any] | None:
        v = self.raw.get("if_no")
        return v if isinstance(v, Mapping) else None

    @property
    def red_line_risk(self) -> bool:
        """An uncertain verdict on a risk that is the item's red line."""
        return bool(self.raw.get("red_line_risk"))


class ItemView:
    """One item result, as attributes; ``raw`` is the dict itself (for serialisation)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    @property
    def key(self) -> str:
        return str(self.raw["key"])

    @property
    def nodeid(self) -> str:
        """The pytest node that produced the result: where results meet, a later result for it wins."""
        return str(self.raw["nodeid"])

    @property
    def id(self) -> str | None:
        return opt_str(self.raw, "id")

    @property
    def dataset(self) -> str | None:
        return opt_str(self.raw, "dataset")

    @property
    def dimension(self) -> str | None:
        return opt_str(self.raw, "dimension")

    @property
    def metric(self) -> str:
        return str(self.raw.get("metric") or "")

    @property
    def mirrors(self) -> str | None:
        return opt_str(self.raw, "mirrors")

    @property
    def task(self) -> str | None:
        return opt_str(self.raw, "task")

    @property
    def location(self) -> str:
        return str(self.raw.get("location") or "")

    @property
    def red_line(self) -> Mapping[str, Any] | None:
        """The critical item's red line when crossed (description, uncertain, ...), else None."""
        v = self.raw.get("red_line")
        return v if isinstance(v, Mapping) and v else None

    @property
    def red_line_uncertain(self) -> bool:
        """Some red-line risk counts as crossed only on an uncertain verdict, until a reviewer decides it."""
        return bool((self.red_line or {}).get("uncertain"))

    @property
    def outcome(self) -> str | None:
        return opt_str(self.raw, "outcome")

    @property
    def score(self) -> float | None:
        return opt_float(self.raw, "score")

    @property
    def weight(self) -> float:
        return float(self.raw.get("weight", 1.0))

    @property
    def passed(self) -> bool:
        return bool(self.raw.get("passed"))

    @property
    def critical(self) -> bool | None:
        v = self.raw.get("critical")
        return None if v is None else bool(v)

    @property
    def content_hash(self) -> str | None:
        return opt_str(self.raw, "content_hash")

    @property
    def details(self) -> Mapping[str, Any]:
        return self.raw.get("details") or {}

    def counts(self) -> tuple[float, float, float]:
        """(tp, fp, fn) of a micro-F1 item (0 where absent)."""
        d = self.details
        return float(d.get("tp", 0)), float(d.get("fp", 0)), float(d.get("fn", 0))

    @property
    def method(self) -> str:
        """How a choice reply was read: the rules, or ``model:<spec>`` (the extractor)."""
        return str(self.details.get("method", ""))

    @property
    def extracted(self) -> list[str] | None:
        """The option letters the rules read from a choice reply (None: not read)."""
        v = self.details.get("extracted")
        return list(v) if v else None

    @property
    def last_user_message(self) -> str | None:
        for m in reversed(self.raw.get("messages") or []):
            if m.get("role") == "user":
                return str(m["content"])
        return None

    @property
    def rubric_tags(self) -> Mapping[str, Any]:
        return (self.details.get("rubric") or {}).get("tags") or {}

    @property
    def response(self) -> Any:
        return self.raw.get("response")

    @property
    def expected(self) -> Any:
        return self.raw.get("expected")

    @property
    def explanation(self) -> str | None:
        return opt_str(self.raw, "explanation")

    @property
    def samples(self) -> list[Mapping[str, Any]] | None:
        v = self.raw.get("samples")
        return v if isinstance(v, list) else None

    def sample_scores(self) -> list[float | None]:
        """Each sample's score (``--mlb-samples``), in sample order; [] for a single ask."""
        return [opt_float(s, "score") for s in self.samples or ()]

    def sample_counts(self, j: int) -> tuple[float, float, float] | None:
        """Sample j's (tp, fp, fn) when it kept them (micro-F1 items), else None."""
        s = (self.samples or [])[j]
        if "tp" not in s:
            return None
        return float(s.get("tp", 0)), float(s.get("fp", 0)), float(s.get("fn", 0))

    @property
    def usage(self) -> Mapping[str, Any] | None:
        """Tokens and requests per role (model, judge, ...) this item cost."""
        v = self.raw.get("usage")
        return v if isinstance(v, Mapping) else None

    def verdicts(self) -> Iterator[tuple[VerdictView, Any]]:
        """Every judge verdict record with the response it judged (each sample's, when sampled)."""
        if self.samples:
            for sample in self.samples:
                for v in sample.get("verdicts") or ():
                    yield VerdictView(v), sample.get("response")
            return
        for v in self.details.get("verdicts", ()):
            yield VerdictView(v), self.response

    @property
    def circular(self) -> Mapping[str, Any] | None:
        v = self.raw.get("circular")
        return v if isinstance(v, dict) else None

    @property
    def perturb(self) -> Mapping[str, Any] | None:
        v = self.raw.get("perturb")
        return v if isinstance(v, dict) else None


def views(rows: Iterable[Mapping[str, Any]]) -> Iterator[ItemView]:
    return (ItemView(r) for r in rows)

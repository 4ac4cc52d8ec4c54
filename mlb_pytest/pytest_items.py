"""pytest collectors and items for suite files (plugin floor: the only module with test nodes)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from .catalog import dataset_marker, language_marker
from .item_view import ItemView
from .run.results import base_result
from .schema import Item
from .session import RESULT_PROPERTY, ItemError, MLBSession
from .suites import SuiteError, load_suite_file, select_limited

SESSION_KEY = pytest.StashKey[MLBSession]()


class WrongAnswer(Exception):
    """A wrong answer that fails its test (critical item, or --mlb-strict)."""


def mlb_session(config: pytest.Config) -> MLBSession:
    return config.stash[SESSION_KEY]


class MLBFile(pytest.File):
    """A suite file in either format; its items become tests, its bad lines ERROR tests."""

    def collect(self) -> Iterator[pytest.Item]:
        session = mlb_session(self.config)
        try:
            shown = os.path.relpath(self.path, self.config.invocation_params.dir)
        except ValueError:
            shown = str(self.path)
        loaded = load_suite_file(self.path, shown)
        for name in {it.dataset for it in loaded.items}:
            self.config.addinivalue_line("markers", f"{dataset_marker(name)}: items of the {name} dataset")
        for lang in {language_marker(it.language) for it in loaded.items} - {"en", "zh"}:
            self.config.addinivalue_line("markers", f"{lang}: items in language {lang}")
        marks: dict[str, pytest.MarkDecorator] = {}  # one decorator per marker name, shared by the file's items
        for item in select_limited(loaded.items, session.settings.limit, session.settings.seed):
            yield MLBItem.from_parent(self, name=item.id, item=item, marks=marks)
        used: set[str] = set()
        for err in loaded.errors:
            name = base = _error_name(err)
            n = 1
            while name in used:  # two bad examples on one line of a compact file stay two errors
                n += 1
                name = f"{base}-{n}"
            used.add(name)
            yield SuiteErrorItem.from_parent(self, name=name, error=err)


def _error_name(err: SuiteError) -> str:
    """``line-7``, ``line-1-examples.3.id``: the node id of a suite error, safe for pytest."""
    name = f"line-{err.line}" if err.line else "file"
    if err.field:
        name += "-" + "".join(c if c.isalnum() or c in "_." else "." for c in err.field)[:60]
    return name


class MLBItem(pytest.Item):
    """One benchmark item: setup waits for its answer, the call scores it."""

    def __init__(self, *, item: Item, marks: dict[str, pytest.MarkDecorator] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.item = item
        names = ["mlb", item.dimension.marker, dataset_marker(item.dataset), language_marker(item.language)]
        if item.critical:
            names.append("mlb_critical")
        marks = {} if marks is None else marks
        for name in names:  # a looked-up decorator per name: 100,000 items share a handful of Mark objects
            mark = marks.get(name)
            if mark is None:
                mark = marks[name] = getattr(pytest.mark, name)
            self.add_marker(mark)
        self.extra_keyword_matches.update({item.dataset, item.dimension.value})
        self._gens: list[Any] = []
        self._judged: list[Any] | None = None
        self._extracted: list[list[str] | None] | None = None
        self._result: dict[str, Any] | None = None
        self._rotations: Any = None  # --mlb-circular
        self._perturbed: Any = None  # --mlb-perturb
        self._baseline: Any = None  # --mlb-rescore-baseline

    def _publish(self, result: dict[str, Any]) -> None:
        self.user_properties.append((RESULT_PROPERTY, result))

    def teardown(self) -> None:
        """The answers are scored and published: let them go (a run may hold 100,000 items)."""
        self._gens, self._judged, self._extracted, self._result = [], None, None, None
        self._rotations = self._perturbed = self._baseline = None

    def setup(self) -> None:
        gen = mlb_session(self.config).generation
        base = base_result(self.item, self.nodeid)
        if self.item.needs_judge and not gen.has_judge:
            base.update(outcome="needs_judge", explanation="needs a judge (--mlb-judge)")
            self._publish(base)
            raise pytest.skip.Exception(
                f"{self.item.key}: judge-scored, needs a judge (--mlb-judge)", _use_item_location=True
            )
        try:
            self._gens = gen.wait(self.item, on_idle=self._progress)
            if self.item.needs_judge:
                self._judged = gen.wait_verdicts(self.item, self._gens, on_idle=self._progress)
            self._extracted = gen.wait_extractions(self.item, self._gens, on_idle=self._progress)
            self._rotations = gen.wait_rotations(self.item, on_idle=self._progress)
            self._perturbed = gen.wait_perturbed(self.item, on_idle=self._progress)
            self._baseline = gen.wait_baseline(self.item, on_idle=self._progress)
        except ItemError as err:
            base.update(
                outcome="error",
                error=str(err),
                explanation=f"no answer: {err}",
                usage=gen.item_usage(self.item, self._gens),
            )  # a judge error still cost the answer
            self._publish(base)
            raise
        finally:
            self._progress()
        self._result = base

    def _progress(self) -> None:
        session = mlb_session(self.config)
        line = session.generation.progress_line()
        if line is None or session.is_worker:
            return
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        if reporter is None:
            return
        if capman is not None:
            with capman.global_and_fixture_disabled():
                reporter.write_line(line)
        else:
            reporter.write_line(line)

    def runtest(self) -> None:
        session = mlb_session(self.config)
        assert self._result is not None
        result = session.scorer.score(self.item, self._gens, self._result, self._judged, self._extracted)
        session.scorer.add_circular(self.item, result, self._rotations)
        session.scorer.add_perturbed(self.item, result, self._perturbed)
        session.scorer.add_baseline_rescore(self.item, result, self._baseline)
        self._publish(result)
        done = ItemView(result)
        if done.red_line:  # only crossing the red line fails the run, whatever the score
            raise WrongAnswer(
                f"critical item crossed its red line: {done.red_line['description']} ({done.explanation})"
            )
        if done.passed:
            return
        if session.settings.strict:
            raise WrongAnswer(f"wrong answer: {done.explanation}")
        if session.settings.strict_regressions and session.gates.is_regression(result):
            raise WrongAnswer(f"regression (right in the baseline, wrong now): {done.explanation}")
        pytest.xfail(f"wrong answer: {done.explanation}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (WrongAnswer, ItemError)):
            return f"{self.item.location}: {excinfo.value}"
        if isinstance(excinfo.value, pytest.xfail.Exception):  # a wrong answer: no traceback to format
            return f"{self.item.location}: {excinfo.value.msg}"
        return str(super().repr_failure(excinfo, style=style))

    def _repr_failure_py(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        # setup errors (no answer from the model) are shown as one line, not a traceback
        if isinstance(excinfo.value, (WrongAnswer, ItemError)):
            return f"{self.item.location}: {excinfo.value}"
        return super()._repr_failure_py(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        line = self.item.location.rsplit(":", 1)[-1]
        return self.path, (int(line) - 1 if line.isdigit() else None), self.item.key


class SuiteErrorItem(pytest.Item):
    """A malformed suite line (or file): an ERROR naming file, line and field; the run goes on."""

    def __init__(self, *, error: SuiteError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error
        self.add_marker("mlb")

    def setup(self) -> None:
        where = f"{self.error.path}:{self.error.line}" if self.error.line else self.error.path
        self.user_properties.append(
            (
                RESULT_PROPERTY,
                {
                    "key": f"suite-error/{where}",
                    "nodeid": self.nodeid,
                    "outcome": "suite_error",
                    "error": str(self.error),
                    "location": where,
                    "dataset": None,
                },
            )
        )
        raise self.error

    def runtest(self) -> None:  # pragma: no cover - setup always raises
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, SuiteError):
            return f"malformed suite: {excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def _repr_failure_py(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SuiteError):
            return f"malformed suite: {excinfo.value}"
        return super()._repr_failure_py(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, (self.error.line - 1 if self.error.line else None), f"suite error: {self.error}"

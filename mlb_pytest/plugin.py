"""pytest hooks: thin, each hands over to the run's ``MLBSession``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .cache import CacheError
from .catalog import DIMENSIONS, MLB_DATASETS, dataset_marker
from .config import add_options, read_tool_table, resolve
from .errors import UsageError
from .models import SpecError
from .models.credentials import redact
from .pytest_items import SESSION_KEY, MLBFile, MLBItem, SuiteErrorItem, mlb_session
from .report_view import ReportView
from .run.sequential_gate import seeded_item_order
from .session import RESULT_PROPERTY, MLBSession
from .suites import is_suite_file

_CLI_NAMES = (
    "model",
    "model_revision",
    "cache_max_age",
    "allow_insecure_key",
    "extractor",
    "judge",
    "judge2",
    "adjudications",
    "review_file",
    "report",
    "concurrency",
    "fixed_concurrency",
    "cache",
    "no_cache",
    "store_server",
    "samples",
    "limit",
    "seed",
    "strict",
    "timeout",
    "retries",
    "temperature",
    "max_tokens",
    "baseline",
    "update_baseline",
    "force_baseline",
    "gate",
    "alpha",
    "strict_regressions",
    "markdown",
    "html",
    "hf_batch",
    "prompt_style",
    "dry_run",
    "circular",
    "perturb",
    "rescore_baseline",
    "sequential",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def _pyproject(config: pytest.Config) -> Path:
    ini = config.inipath
    if ini is not None and ini.name == "pyproject.toml":
        return ini
    return config.rootpath / "pyproject.toml"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mlb: a benchmark item collected by mlb-pytest")
    config.addinivalue_line("markers", "mlb_critical: an item with a safety red line; crossing it fails the run")
    config.addinivalue_line("markers", "en: items of the English track")
    config.addinivalue_line("markers", "zh: items of the Chinese track")
    for dim in DIMENSIONS:
        config.addinivalue_line("markers", f"{dim.marker}: items of the {dim.value} dimension")
    for name in MLB_DATASETS:
        config.addinivalue_line("markers", f"{dataset_marker(name)}: items of the {name} dataset")
    pyproject = _pyproject(config)
    cli = {name: config.getoption(f"mlb_{name}") for name in _CLI_NAMES}
    try:
        settings = resolve(cli, read_tool_table(pyproject), source=f"{pyproject} [tool.mlb]")
        workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        session = MLBSession(
            settings,
            config.rootpath,
            is_worker=workerinput is not None,
            run_id=(workerinput or {}).get("mlb_run_id"),
            coord_db=(workerinput or {}).get("mlb_coord_db"),
            remote_store=_remote_store(workerinput),
        )
        session.prepare_gates()
    except UsageError as exc:  # a bad option, spec, gate, policy or baseline file: one clean message
        raise pytest.UsageError(redact(str(exc))) from None
    session.collected.selection = _selection(config, settings.limit)
    config.stash[SESSION_KEY] = session
    if workerinput is None:
        config.pluginmanager.register(_Recorder(session), "mlb-recorder")
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(_XdistController(session), "mlb-xdist-controller")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not mlb_session(parent.config).active:
        return None
    if file_path.suffix in (".json", ".jsonl") and is_suite_file(file_path):
        return MLBFile.from_parent(parent, path=file_path)
    return None


def _selection(config: pytest.Config, limit: int | None) -> dict[str, Any]:
    """What the user narrowed the run to: recorded so a partial run never passes for a whole one."""
    out: dict[str, Any] = {}
    if config.option.keyword:
        out["-k"] = config.option.keyword
    if config.option.markexpr:
        out["-m"] = config.option.markexpr
    if limit:
        out["limit"] = limit
    node_ids = [str(a) for a in config.args if "::" in str(a)]
    if node_ids:
        out["node_ids"] = node_ids
    for flag, name in (("deselect", "--deselect"), ("lf", "--lf"), ("failedfirst", None)):
        value = getattr(config.option, flag, None)
        if value and name:
            out[name] = value if isinstance(value, list) else True
    return out


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--mlb-sequential``: suite items run (and are asked) in a seeded random order."""
    mlb = mlb_session(config)
    if not mlb.active or not mlb.settings.sequential:
        return
    at = [i for i, it in enumerate(items) if isinstance(it, MLBItem)]
    suite = [items[i] for i in at]
    order = seeded_item_order([it.item.key for it in suite], mlb.settings.seed)  # type: ignore[attr-defined]
    for i, j in zip(at, order):
        items[i] = suite[j]


def pytest_collection_finish(session: pytest.Session) -> None:
    mlb = mlb_session(session.config)
    if not mlb.active or session.config.option.collectonly:
        return
    mlb.collected.expected = {it.nodeid for it in session.items if isinstance(it, (MLBItem, SuiteErrorItem))}
    items = [it.item for it in session.items if isinstance(it, MLBItem)]
    if items and mlb.settings.dry_run:  # print what would be sent; nothing is
        try:
            mlb.dry_run_lines = mlb.dry_run(items)
        except (SpecError, CacheError) as exc:
            raise pytest.UsageError(redact(str(exc))) from None
        for it in session.items:
            if isinstance(it, MLBItem):
                it.add_marker(pytest.mark.skip(reason="dry run"))
        return
    if items:
        try:
            mlb.start(items)
        except SpecError as exc:
            raise pytest.UsageError(str(exc)) from None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    mlb = mlb_session(session.config)
    if mlb.is_worker:
        if mlb.dry_run_lines:
            session.config.workeroutput["mlb_dry_run"] = mlb.dry_run_lines  # type: ignore[attr-defined]
        gen = mlb.generation
        if gen.engine is not None:
            session.config.workeroutput["mlb_engine"] = gen.engine.stats.to_json()  # type: ignore[attr-defined]
            session.config.workeroutput["mlb_revision"] = gen.revision_info()  # type: ignore[attr-defined]
            session.config.workeroutput["mlb_prompt_style"] = gen.prompt_style()  # type: ignore[attr-defined]
        mlb.finish()
        return
    seq = mlb.gates.sequential
    decided_stop = seq is not None and seq.stopped is not None  # --mlb-sequential stopped the run on purpose
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED and not decided_stop
    stopped = session.shouldstop or session.shouldfail
    report = mlb.finish(interrupted=interrupted, stopped=str(stopped) if stopped else None)
    if decided_stop and session.exitstatus == pytest.ExitCode.INTERRUPTED:
        session.exitstatus = pytest.ExitCode.OK  # the verdict below decides, as for a full run
    if report is not None and ReportView(report).verdict != "pass" and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    mlb = config.stash.get(SESSION_KEY, None)
    if mlb is not None:
        mlb.close()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    mlb = mlb_session(config)
    if mlb.dry_run_lines and not mlb.is_worker:
        terminalreporter.write_sep("=", "mlb-pytest: dry run (nothing sent)")
        for line in mlb.dry_run_lines:
            terminalreporter.write_line(line)
    lines = mlb.summary()
    if not lines:
        return
    view = ReportView(mlb.report or {})
    style = f" (prompt style: {view.prompt_style})" if view.prompt_style else ""
    terminalreporter.write_sep("=", f"mlb-pytest: {view.model}{style}")
    for line in lines:
        terminalreporter.write_line(line)


class _Recorder:
    """Where results meet (the single process, or the xdist controller): keep each item's result."""

    def __init__(self, session: MLBSession) -> None:
        self.session = session
        self.pytest_session: pytest.Session | None = None
        self._shown: tuple[dict[str, Any] | None, list[tuple[str, str]]] = (None, [])
        self._junit = False

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.pytest_session = session
        self._junit = bool(getattr(session.config.option, "xmlpath", None))  # the short properties are for JUnit

    def _observe(self, result: dict[str, Any]) -> None:
        """``--mlb-sequential``: stop the run (here, or every xdist worker) once the drop gates are decided."""
        seq = self.session.gates.sequential
        reason = seq.observe(result) if seq is not None else None
        if reason is None or self.pytest_session is None:
            return
        dsession = self.pytest_session.config.pluginmanager.getplugin("dsession")
        if dsession is not None:
            dsession.shouldstop = reason
        else:
            self.pytest_session.shouldstop = reason

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep the full result here; leave JUnit a few readable properties instead of the blob."""
        kept = []
        for name, value in report.user_properties:
            if name != RESULT_PROPERTY:
                kept.append((name, value))
                continue
            assert isinstance(value, dict)  # our own property: the item's result
            if self._shown[0] is not value:  # the teardown report shares the call report's (100,000 items)
                self._shown = (
                    value,
                    [(n, _short(value.get(k))) for k, n in _SHOWN.items() if value.get(k) is not None]
                    if self._junit
                    else [],
                )
                if report.when != "teardown" or value.get("nodeid") not in self.session.collected.results:
                    self._observe(value)  # under xdist a teardown report brings its call report's result again
                    self.session.record(value)
                    value.clear()  # kept in the spool now; the test item still holds this dict (100,000 items)
            kept += self._shown[1]
        report.user_properties = kept


def _is_suite_node(session: MLBSession, nodeid: str) -> bool:
    path = nodeid.split("::", 1)[0]
    known = session.suite_files
    if path not in known:
        full = session.rootdir / path
        known[path] = full.suffix in (".json", ".jsonl") and full.is_file() and is_suite_file(full)
    return known[path]


_SHOWN = {k: f"mlb_{k}" for k in ("outcome", "score", "expected", "response", "error")}  # JUnit property names


def _short(value: Any, n: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= n else text[: n - 1] + "…"


def _remote_store(workerinput: dict[str, Any] | None) -> tuple[str, str] | None:
    """The controller's store server (URL, token), when it serves one (--mlb-store-server)."""
    if workerinput and workerinput.get("mlb_store_url"):
        return str(workerinput["mlb_store_url"]), str(workerinput["mlb_store_token"])
    return None


class _XdistController:
    """Controller-side xdist hooks: one run id for all workers, and their engine figures back."""

    def __init__(self, session: MLBSession) -> None:
        self.session = session

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["mlb_run_id"] = self.session.run_id
        db = self.session.coordination_db()
        if db:
            node.workerinput["mlb_coord_db"] = db
        served = self.session.setup.serve_store()
        if served is not None:
            node.workerinput["mlb_store_url"], node.workerinput["mlb_store_token"] = served

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """The controller collects nothing itself: the workers' lists say what the run should score."""
        self.session.collected.expected.update(i for i in ids if _is_suite_node(self.session, i))

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {})
        collected = self.session.collected
        if output.get("mlb_engine"):
            collected.worker_stats.append(output["mlb_engine"])
        if output.get("mlb_revision"):
            collected.worker_revisions.append(output["mlb_revision"])
        if output.get("mlb_dry_run") and not self.session.dry_run_lines:  # every worker planned the same run
            self.session.dry_run_lines = list(output["mlb_dry_run"])
        if output.get("mlb_prompt_style"):
            collected.worker_prompt_styles.append(output["mlb_prompt_style"])

"""The run's settings resolved once: model specs, API keys, adapters, and every path.

Paths follow one rule, so a newcomer can tell where a file lands without reading the code:

- a path the user names is read from the directory pytest was invoked in (the current
  directory): ``--mlb-report``, ``--mlb-markdown``, ``--mlb-html``, ``--mlb-review-file``,
  ``--mlb-cache`` and ``--mlb-adjudications`` (the last two are kept as given, relative, which
  the operating system reads from that same directory, so messages show them as typed);
- what belongs to the project is read from pytest's rootdir: the default cache
  (``.mlb_cache/cache.sqlite``), ``baselines/policy.toml``, ``baselines/adjudications.jsonl``
  and the baseline, default or named with ``--mlb-baseline`` (a baseline is the project's
  record, so the same file is found from any subdirectory).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..baselines import default_path
from ..cache import ResponseStore, StoreLike, default_cache_path, process_owner
from ..cache_server import RemoteStore, StoreServer, parse_address
from ..config import ConfigError, Settings
from ..models import ModelAdapter, build_model, parse_spec
from ..models.credentials import check_transport, judge_key, model_key
from ..models.spec import ModelSpec, SpecError


def from_invocation(value: str) -> Path:
    """A path the user named, read from where pytest was invoked."""
    path = Path(value)
    return path if path.is_absolute() else Path.cwd() / path


class RunSetup:
    """Specs, keys and paths of one run: everything later parts read, decided (and checked) up front."""

    def __init__(
        self,
        settings: Settings,
        rootdir: Path,
        coord_db: str | None = None,
        remote_store: tuple[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.rootdir = rootdir
        self.spec: ModelSpec | None = parse_spec(settings.model) if settings.model else None
        self.judge_spec: ModelSpec | None = parse_spec(settings.judge) if settings.judge else None
        self.judge2_spec: ModelSpec | None = parse_spec(settings.judge2) if settings.judge2 else None
        if self.judge2_spec is not None and self.judge_spec is None:
            raise SpecError("--mlb-judge2 needs --mlb-judge as well")
        self.extractor_spec: ModelSpec | None = parse_spec(settings.extractor) if settings.extractor else None
        self._coord_db = coord_db
        self.remote_store = remote_store  # (URL, token) of the controller's store server, on a worker
        self._server: StoreServer | None = None
        if settings.store_server:
            try:
                parse_address(settings.store_server)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._check_keys()

    # --- keys and adapters ----------------------------------------------------------------------

    def _check_keys(self) -> None:
        """Refuse, before anything is sent, a key that would cross a network in clear text."""
        for spec in (self.spec, self.judge_spec, self.judge2_spec, self.extractor_spec):
            if spec is not None and spec.base_url is not None:
                who = "model" if spec is self.spec else "extractor" if spec is self.extractor_spec else "judge"
                check_transport(spec.base_url, self.key_for(spec), self.settings.allow_insecure_key, who)

    def key_for(self, spec: ModelSpec) -> str | None:
        """Each host gets its own key: the model's key never goes to a judge on another host."""
        if spec.base_url is None:
            return None
        if spec is self.spec:
            return model_key()
        model_url = self.spec.base_url if self.spec is not None else None
        return judge_key(spec.base_url, model_url)

    def build(self, spec: ModelSpec) -> ModelAdapter:
        """The adapter for one spec (model, judge or extractor), with this run's limits and its own key."""
        s = self.settings
        return build_model(
            spec,
            timeout_s=s.timeout,
            max_retries=s.retries,
            concurrency=s.concurrency,
            seed=s.seed,
            hf_batch=s.hf_batch,
            api_key=self.key_for(spec),
            prompt_style=s.prompt_style if spec is self.spec else "chat",
            adaptive=not s.fixed_concurrency,
        )

    def engine_options(self) -> dict[str, Any]:
        """How long an answer may stay in the cache, and when a wait gives up (every wait ends)."""
        from ..models.openai import Timeouts  # one home for how long an attempt may take

        s = self.settings
        budget = Timeouts.from_timeout(s.timeout)
        # a streamed attempt may queue, then answer up to the largest max_tokens of a task (open: 2048)
        attempt_s = max(s.timeout, budget.queue_s + budget.cap_s(s.max_tokens or 2048))
        stall_s = attempt_s * (s.retries + 1) + 20.0 * s.retries + 60.0
        return {"max_age_s": s.cache_max_age_s, "stall_s": stall_s}

    def usage_roles(self) -> dict[str, tuple[str, str]]:
        """The token ledger's roles: role -> (spec as shown, spec kind)."""
        roles = {
            "model": self.spec,
            "judge": self.judge_spec,
            "judge2": self.judge2_spec,
            "extractor": self.extractor_spec,
        }
        return {role: (str(spec), spec.kind) for role, spec in roles.items() if spec is not None}

    # --- paths ----------------------------------------------------------------------------------

    def store_path(self) -> Path | None:
        """Where responses meet: the cache, or a run-private file when caching is off (xdist)."""
        if not self.settings.no_cache:
            return Path(self.settings.cache) if self.settings.cache else default_cache_path(self.rootdir)
        if self._coord_db:
            return Path(self._coord_db)
        return None

    def coordination_db(self) -> str | None:
        """For the xdist controller: a run-private store the workers share when caching is off."""
        if not self.settings.no_cache:
            return None
        if self._tmpdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="mlb-run-")
        return str(Path(self._tmpdir.name) / "coord.sqlite")

    def store_factory(self, run_id: str) -> Callable[[], StoreLike] | None:
        """How each engine thread opens the store: the controller's server, the SQLite file, or none."""
        owner = process_owner(run_id)
        if self.remote_store is not None:
            url, token = self.remote_store
            return lambda: RemoteStore(url, token, run_id, owner)
        path = self.store_path()
        return None if path is None else lambda: ResponseStore(path, run_id, owner)

    def serve_store(self) -> tuple[str, str] | None:
        """On the xdist controller with --mlb-store-server: serve the store (once); (URL, token) for workers."""
        if not self.settings.store_server:
            return None
        if self._server is None:
            path = self.store_path()
            if path is None:
                return None
            host, port = parse_address(self.settings.store_server)
            try:
                self._server = StoreServer(path, host, port)
            except OSError as exc:
                raise ConfigError(f"--mlb-store-server={self.settings.store_server}: {exc.strerror}") from None
        return self._server.url, self._server.token

    def cleanup(self) -> None:
        """Stop the store server and remove the run-private coordination store, if this process made them."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()

    def policy_path(self) -> Path:
        return self.rootdir / "baselines" / "policy.toml"

    def baseline_path(self) -> Path:
        """The baseline to compare with (and to write): named, else ``baselines/<model-slug>.json``."""
        assert self.spec is not None
        path = Path(self.settings.baseline) if self.settings.baseline else default_path(self.rootdir, self.spec.slug)
        return path if path.is_absolute() else self.rootdir / path

    def shown(self, path: Path) -> str:
        """A project path as reports show it: relative to the rootdir when it lies inside."""
        return str(path.relative_to(self.rootdir)) if path.is_relative_to(self.rootdir) else str(path)

    def adjudications_path(self) -> Path:
        """Physicians' decisions on disputed verdicts, read by the judges."""
        if self.settings.adjudications:
            return Path(self.settings.adjudications)
        return self.rootdir / "baselines" / "adjudications.jsonl"

    def review_path(self) -> Path:
        """Where disputed and uncertain verdicts wait for a reviewer."""
        return from_invocation(self.settings.review_file)

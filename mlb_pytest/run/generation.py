"""Generation and judging: engine, cache, judges, extractor and option rotations for one run.

Every answer is requested up front (``start``); a test only waits for its own (``wait`` and the
other ``wait_*``). Judge questions and extractor asks go out as each answer arrives, not when a
test gets to it, so model calls never queue behind one another's tests.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import circular as rotation
from .. import invariance
from ..catalog import Task
from ..config import JUDGE_REVISION_ENV
from ..engine import Engine
from ..extracting import ExtractorError, ExtractorPanel, needs_model
from ..item_view import ItemView
from ..judges.backends import build_judge
from ..judges.panel import JudgeError, JudgePanel
from ..models import Generation, GenerationRequest, ModelAdapter, ModelError
from ..schema import Item
from ..usage import tally
from .setup import RunSetup

if TYPE_CHECKING:
    from ..dryrun import DryRunPlan

DEFAULT_MAX_TOKENS = {Task.choice: 512, Task.normalization: 512, Task.extraction: 1024, Task.open: 2048}
PROGRESS_EVERY_S = 2.0


class ItemError(Exception):
    """The item could not be answered (transport, protocol, adapter): an ERROR, never a score."""


class GenerationStage:
    """The engines of one run (model, judges, extractor) and the waits the tests make on them."""

    def __init__(self, setup: RunSetup, run_id: str) -> None:
        self.setup = setup
        self.settings = setup.settings
        self.run_id = run_id
        self.model: ModelAdapter | None = None
        self.engine: Engine | None = None
        self.judges: JudgePanel | None = None
        self.extractor: ExtractorPanel | None = None
        self.rotated: dict[str, list[Item] | str] = {}  # --mlb-circular: item key -> rotations 1..n-1 (or why none)
        self.perturbed: dict[str, dict[str, Item | str]] = {}  # --mlb-perturb: key -> name -> variant (or why none)
        self.items: dict[str, Item] = {}
        self.baseline_items: dict[str, dict[str, Any]] = {}  # --mlb-rescore-baseline: the baseline's items
        self.baseline_asks: dict[str, tuple[Item, str]] = {}  # item key -> (its baseline twin, the stored answer)
        self._last_progress = 0.0
        self._progress_done = False
        self._printed_progress = False

    @property
    def has_judge(self) -> bool:
        return self.setup.judge_spec is not None

    def params_for(self, item: Item) -> dict[str, Any]:
        defaults = getattr(self.model, "default_max_tokens", None) or DEFAULT_MAX_TOKENS
        return {"temperature": self.settings.temperature, "max_tokens": self.settings.max_tokens or defaults[item.task]}

    def start(self, items: Sequence[Item]) -> None:
        """Request every collected item's answers now; tests will only wait for their own."""
        setup, s = self.setup, self.settings
        assert setup.spec is not None
        self.items = {it.key: it for it in items}
        self._last_progress = time.monotonic()
        self._printed_progress = False
        todo = [it for it in items if self.has_judge or not it.needs_judge]
        if not todo:
            return
        self.model = setup.build(setup.spec)
        factory = setup.store_factory(self.run_id)
        options = setup.engine_options()
        self.engine = Engine(
            self.model,
            concurrency=s.concurrency,
            store_factory=factory,
            shared_only=s.no_cache,
            revision=s.model_revision,
            **options,
        )
        requests = [GenerationRequest(it, self.params_for(it), k) for it in todo for k in range(s.samples)]
        if s.circular:  # rotated asks are requests like any other: same engine, same cache
            requests += [
                GenerationRequest(rot, self.params_for(rot), k) for rot in self._rotate(todo) for k in range(s.samples)
            ]
        if s.perturb:  # perturbed asks too: same engine, same cache
            requests += [
                GenerationRequest(v, self.params_for(v), k)
                for v in self._perturb(todo, invariance.parse_perturbations(s.perturb))
                for k in range(s.samples)
            ]
        open_items = [it for it in todo if it.needs_judge]
        if open_items and setup.judge_spec is not None:
            specs = [setup.judge_spec] + ([setup.judge2_spec] if setup.judge2_spec else [])
            judge_rev = os.environ.get(JUDGE_REVISION_ENV) or None
            self.judges = JudgePanel(
                specs,
                lambda spec: build_judge(spec, setup.build),
                s.concurrency,
                factory,
                setup.adjudications_path(),
                revisions=[judge_rev] * len(specs),
                **options,
            )
        self._ask_about_baseline(todo)
        choice_items = [it for it in todo if it.task is Task.choice]
        if choice_items and setup.extractor_spec is not None:
            self.extractor = ExtractorPanel(setup.extractor_spec, setup.build, s.concurrency, factory, **options)
        self.engine.start(requests)
        variants = [*self._rotated_items(), *self._perturbed_items()]
        for it in [*choice_items, *variants] if self.extractor is not None else ():
            for k in range(s.samples):
                self.engine.on_done(it.key, k, lambda fut, it=it, k=k: self.extractor.ask(it, k, fut))  # type: ignore[union-attr,misc]
        for it in open_items if self.judges is not None else ():
            for k in range(s.samples):
                # judge questions go out as soon as the answer is in, not when the test gets to it
                self.engine.on_done(it.key, k, lambda fut, it=it, k=k: self.judges.ask(it, k, fut))  # type: ignore[union-attr,misc]

    # --- waits (one test, its own answers) --------------------------------------------------------

    def wait(self, item: Item, on_idle: Any = None) -> list[Any]:
        """The item's generations (one per sample); raises ItemError when any failed."""
        assert self.engine is not None
        gens = []
        for k in range(self.settings.samples):
            try:
                gens.append(self.engine.result(item.key, k, on_idle))
            except ModelError as err:
                raise ItemError(str(err)) from None
        return gens

    def wait_verdicts(self, item: Item, gens: list[Any], on_idle: Any = None) -> list[Any]:
        """(questions, final verdicts, records) per sample; a judge failure is an ItemError."""
        assert self.judges is not None
        try:
            return self.judges.verdicts(item, gens, on_idle)
        except JudgeError as err:
            raise ItemError(str(err)) from None
        except ModelError as err:
            raise ItemError(f"judge: {err}") from None
        except Exception as err:  # a judge backend or store bug is this item's error, not a crash
            raise ItemError(f"judge failed: {type(err).__name__}: {err}") from None

    def wait_extractions(self, item: Item, gens: list[Any], on_idle: Any = None) -> list[list[str] | None] | None:
        """The extractor model's reading of replies the rules cannot read (None: no extractor)."""
        if self.extractor is None or item.task is not Task.choice:
            return None
        try:
            return self.extractor.letters(item, gens, on_idle)
        except ExtractorError as err:
            raise ItemError(str(err)) from None
        except Exception as err:  # an extractor backend or store bug is this item's error, not a crash
            raise ItemError(f"extractor failed: {type(err).__name__}: {err}") from None

    # --- option rotation (--mlb-circular; the logic is in circular.py) ---------------------------

    def _rotate(self, items: Sequence[Item]) -> list[Item]:
        """Rotations 1..n-1 of every choice item, remembered per item (an item that cannot be rotated says why)."""
        for it in items:
            if rotation.rotatable(it):
                try:
                    self.rotated[it.key] = rotation.rotations(it)
                except rotation.RotationError as err:
                    self.rotated[it.key] = f"cannot rotate: {err}"
        return self._rotated_items()

    def _rotated_items(self) -> list[Item]:
        return [rot for rots in self.rotated.values() if isinstance(rots, list) for rot in rots]

    def wait_rotations(self, item: Item, on_idle: Any = None) -> list[tuple[Item, list[Any], Any]] | str | None:
        """Each rotation's answers and extractor readings; a failure is returned as text: it costs the
        item its circular score, never its plain one. None: the item is not rotated."""
        rots = self.rotated.get(item.key)
        if not isinstance(rots, list):
            return rots
        out = []
        for rot in rots:
            try:
                gens = self.wait(rot, on_idle)
                out.append((rot, gens, self.wait_extractions(rot, gens, on_idle)))
            except ItemError as err:
                return f"{rot.id}: {err}"
        return out

    # --- invariance checks (--mlb-perturb; the logic is in invariance/) ---------------------------

    def _perturb(self, items: Sequence[Item], names: Sequence[str]) -> list[Item]:
        """Each choice item's perturbed forms, remembered per item (with why a form does not apply)."""
        for it in items:
            if invariance.perturbable(it):
                self.perturbed[it.key] = {name: invariance.perturb_item(it, name) for name in names}
        return self._perturbed_items()

    def _perturbed_items(self) -> list[Item]:
        return [v for forms in self.perturbed.values() for v in forms.values() if isinstance(v, Item)]

    def wait_perturbed(self, item: Item, on_idle: Any = None) -> dict[str, tuple[Item, list[Any], Any] | str] | None:
        """Each perturbed form's answers and extractor readings, or (text) why it has none: not
        applicable, or its ask failed (``error: ...``). None: the item is not perturbed."""
        forms = self.perturbed.get(item.key)
        if forms is None:
            return None
        out: dict[str, tuple[Item, list[Any], Any] | str] = {}
        for name, variant in forms.items():
            if isinstance(variant, str):
                out[name] = variant
                continue
            try:
                gens = self.wait(variant, on_idle)
                out[name] = (variant, gens, self.wait_extractions(variant, gens, on_idle))
            except ItemError as err:
                out[name] = f"error: {err}"
        return out

    # --- re-scoring the baseline (--mlb-rescore-baseline) ---------------------------------------------

    def _ask_about_baseline(self, items: Sequence[Item]) -> None:
        """Send the judge questions about the baseline's stored answers now, beside this run's.

        The twin item (``<id>@baseline``) has its own request keys; the cache keys hold the answer
        text, so a rerun with the same judge asks nothing again. Only the baseline's first sample
        was stored, so that is what is re-scored.
        """
        for it in items:
            stored = self.baseline_items.get(it.key)
            old = ItemView(stored) if stored else None
            if old is None or not isinstance(answer := old.response, str):
                continue
            if old.content_hash not in (None, it.content_hash):
                continue  # the item changed since: its baseline answer is not comparable anyway
            twin = it.model_copy(update={"id": f"{it.id}@baseline"})
            self.baseline_asks[it.key] = (twin, answer)
            if it.needs_judge and self.judges is not None:
                for engine in self.judges.engines:
                    engine.submit(JudgePanel.requests(twin, 0, answer))

    def wait_baseline(self, item: Item, on_idle: Any = None) -> tuple[Item, list[Any], Any] | str | None:
        """The baseline's answer to this item, with this run's verdicts on it; text: why it could not
        be re-scored; None: nothing to re-score (no baseline answer, or not asked to)."""
        got = self.baseline_asks.get(item.key)
        if got is None:
            return None
        twin, text = got
        gens = [Generation(text=text, raw=text, origin="baseline")]
        if not item.needs_judge:
            return twin, gens, None
        if self.judges is None:
            return None
        try:
            return twin, gens, self.wait_verdicts(twin, gens, on_idle)
        except ItemError as err:
            return str(err)

    # --- what the tests and the report read back ---------------------------------------------------

    def progress_line(self, force: bool = False) -> str | None:
        """A progress line at most every few seconds (and once when generation completes)."""
        if self.engine is None or self._progress_done:
            return None
        stats = self.engine.stats
        now = time.monotonic()
        if stats.finished is not None:
            self._progress_done = True
            return stats.line() if self._printed_progress else None
        if force or now - self._last_progress >= PROGRESS_EVERY_S:
            self._last_progress = now
            self._printed_progress = True
            return stats.line()
        return None

    def item_usage(self, item: Item, gens: Sequence[Any]) -> dict[str, Any]:
        """What this item's answers cost, per role (travels in the item's result, so -n changes nothing)."""
        parts: dict[str, Any] = {"model": tally(gens)}
        if self.judges is not None and item.needs_judge:
            for i, engine in enumerate(self.judges.engines):
                parts["judge" if i == 0 else f"judge{i + 1}"] = tally(
                    engine.peek(r.key, k) for k, g in enumerate(gens) for r in JudgePanel.requests(item, k, g.text)
                )
        if self.extractor is not None and item.task is Task.choice:
            engine = self.extractor.engine
            parts["extractor"] = tally(
                engine.peek(ExtractorPanel.request(item, k, g.text).key, k)
                for k, g in enumerate(gens)
                if needs_model(item, g.text)
            )
        return {role: part for role, part in parts.items() if part is not None}

    def prompt_style(self) -> str | None:
        """How this process put items to the model: chat or completion; None when it built no model.

        Adapters without prompt styles (python:, replay:, mock:) get the item's messages: chat.
        """
        if self.model is None:
            return None
        style = getattr(self.model, "prompt_style", "chat")
        return style or self.settings.prompt_style  # "auto" only if no request was ever made

    def revision_info(self) -> dict[str, Any]:
        """Which revision answered in this process (model and judges), and where that revision came from."""
        engines = [("model", self.engine)] + [
            (f"judge{'' if i == 0 else i + 1}", e) for i, e in enumerate(self.judges.engines if self.judges else [])
        ]
        out: dict[str, Any] = {}
        for name, engine in engines:
            if engine is None:
                out[name] = None if name == "model" else out.get(name)
                continue
            fingerprints = sorted(getattr(engine.model, "fingerprints", ()) or ())
            out[name] = {
                "revision": engine.revision,
                "source": engine.revision_source,
                **({"system_fingerprints": fingerprints} if fingerprints else {}),
            }
        if out.get("model") is None and self.settings.model_revision:
            out["model"] = {"revision": self.settings.model_revision, "source": "option"}
        return out

    def dry_run(self, items: Sequence[Item]) -> DryRunPlan:
        """``--mlb-dry-run``: the plan of what this run would send; nothing is sent."""
        from ..dryrun import plan_run  # only a dry run needs the token estimates

        setup, s = self.setup, self.settings
        assert setup.spec is not None
        self.model = setup.build(setup.spec)
        try:
            judges = (1 + (setup.judge2_spec is not None)) if setup.judge_spec is not None else 0
            return plan_run(
                items,
                setup.spec,
                self.model,
                params_for=self.params_for,
                samples=s.samples,
                judges=judges,
                extractor=str(setup.extractor_spec) if setup.extractor_spec else None,
                stated_revision=s.model_revision,
                cache_path=None if s.no_cache else setup.store_path(),
                max_age_s=s.cache_max_age_s,
                variants=[
                    *(self._rotate(items) if s.circular else ()),
                    *(self._perturb(items, invariance.parse_perturbations(s.perturb)) if s.perturb else ()),
                ],
            )
        finally:
            try:
                asyncio.run(self.model.aclose())
            except Exception:
                pass
            self.model = None

    def close(self) -> None:
        """Stop every engine this process started (their threads, their stores)."""
        for part in (p for p in (self.engine, self.judges, self.extractor) if p is not None):
            part.close()

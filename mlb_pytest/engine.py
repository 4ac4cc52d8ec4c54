"""The generation engine: every collected item is requested at once, with bounded concurrency.

It runs an asyncio loop in a background thread, so pytest's main thread only ever waits for
the one result its current test needs while the rest are already in flight. Responses go
through the SQLite store when the model is cacheable; under xdist the store's claims make each
request happen once per run, whichever process needs it. The semaphore here bounds the requests a
process works on (``concurrency``); an HTTP adapter's ``limiter`` (``models/concurrency.py``) lets
fewer of their attempts out at once while the server times out or answers 429.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .cache import CacheError, StoreLike, owner_is_dead, request_key
from .models.base import Generation, GenerationRequest, ModelAdapter, ModelError
from .models.concurrency import AdaptiveLimiter
from .models.prompting import PROMPT_VERSION
from .models.reasoning import strip_reasoning


@dataclass
class EngineStats:
    total: int = 0
    done: int = 0
    errors: int = 0
    cached: int = 0
    from_peers: int = 0
    sent: int = 0  # HTTP attempts (or adapter calls) made by this process
    requests: int = 0  # distinct requests this process made (each counted once however often retried)
    cached_oldest: float | None = None  # when the oldest / newest answer taken from the cache was stored
    cached_newest: float | None = None
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    # the engine's concurrency_stats, read when the stats are: the limit keeps moving during the run
    concurrency: Callable[[], dict[str, Any]] | None = field(default=None, repr=False)

    def saw_cached(self, stored_at: Any, n: int) -> None:
        self.cached += n
        if isinstance(stored_at, (int, float)):
            self.cached_oldest = stored_at if self.cached_oldest is None else min(self.cached_oldest, stored_at)
            self.cached_newest = stored_at if self.cached_newest is None else max(self.cached_newest, stored_at)

    def line(self) -> str:
        """One progress line: done/total, rate, errors, ETA."""
        elapsed = (self.finished or time.perf_counter()) - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = f", ETA {left / rate:.0f} s" if rate > 0 and left else ""
        extra = f", {self.cached} cached" if self.cached else ""
        extra += f", {self.from_peers} from other workers" if self.from_peers else ""
        return (
            f"mlb: generated {self.done}/{self.total} ({rate:.1f}/s), {self.errors} errors{extra}, {elapsed:.1f} s{eta}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "done": self.done,
            "errors": self.errors,
            "cached": self.cached,
            "from_peers": self.from_peers,
            "sent": self.sent,
            "requests": self.requests,
            "cached_oldest": self.cached_oldest,
            "cached_newest": self.cached_newest,
            **({"concurrency": self.concurrency()} if self.concurrency is not None else {}),
        }


RequestId = tuple[str, int]  # (item key, sample index)


class Engine:
    """Start with ``start(requests)``; tests call ``wait(item_key, sample)``."""

    def __init__(
        self,
        model: ModelAdapter,
        concurrency: int = 32,
        store_factory: Callable[[], StoreLike] | None = None,
        lease_s: float = 300.0,
        poll_s: float = 0.05,
        revision: str | None = None,
        max_age_s: float | None = None,
        stall_s: float = 900.0,
        shared_only: bool = False,
    ) -> None:
        self.model = model
        # the revision is part of every answer's key: the user's, else what the adapter can learn
        self.revision = revision
        self.revision_source: str | None = "option" if revision else None
        self.max_age_s = max_age_s
        self.stall_s = stall_s
        self.shared_only = shared_only  # the store is this run's meeting point only (--mlb-no-cache)
        self._revision_ready: asyncio.Event | None = None
        self._last_progress = time.monotonic()
        self.concurrency = max(1, concurrency)
        self._store_factory = store_factory if model.cacheable else None
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.stats = EngineStats(concurrency=self.concurrency_stats)
        # Every request's outcome, once in; a Future only for a caller that asks before then (a waiting
        # test, a done-callback): 100,000 prefetched answers need no 100,000 Futures with their locks.
        self._known: set[RequestId] = set()
        self._outcomes: dict[RequestId, tuple[Generation | None, ModelError | None]] = {}
        self._waiting: dict[RequestId, cf.Future[Generation]] = {}
        self._callbacks: dict[RequestId, list[Callable[[cf.Future[Generation]], None]]] = {}
        self._lock = threading.Lock()  # outcomes and waiters change together
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._main_task: asyncio.Task[None] | None = None
        self._startup_error: BaseException | None = None
        self._on_demand: dict[RequestId, GenerationRequest] = {}
        self._sem: asyncio.Semaphore | None = None
        self._submit_lock = threading.Lock()
        self._store: StoreLike | None = None

    # --- main-thread API ---------------------------------------------------------------------

    def start(self, requests: Sequence[GenerationRequest]) -> None:
        """Prefetch everything (cacheable models), or answer on demand (local test doubles, replay).

        Non-cacheable models cost nothing to call, so under xdist each process only asks for the
        items it runs instead of every collected one.
        """
        self._on_demand = {(r.key, r.sample_index): r for r in requests} if not self.model.cacheable else {}
        self._known.update((r.key, r.sample_index) for r in requests)
        self.stats = EngineStats(total=len(self._known), concurrency=self.concurrency_stats)
        if self._on_demand:
            requests = []
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            # ready before start() returns, so that submit() right after start() finds them
            self._sem = asyncio.Semaphore(self.concurrency)
            self._revision_ready = asyncio.Event()
            try:
                self._store = self._store_factory() if self._store_factory else None
            except BaseException as exc:
                self._startup_error = exc
                self._fail_all(exc)
                ready.set()
                loop.close()
                return
            self._main_task = loop.create_task(self._main(list(requests)))
            ready.set()
            try:
                loop.run_until_complete(self._main_task)
            except asyncio.CancelledError:
                pass
            except BaseException as exc:  # surfaced to every waiting test
                self._startup_error = exc
                self._fail_all(exc)
            finally:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for t in pending:  # dispatches added by submit() end with the run too
                    t.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                try:
                    loop.run_until_complete(self.model.aclose())
                except Exception:
                    pass
                loop.close()

        self._thread = threading.Thread(target=run, name="mlb-engine", daemon=True)
        self._thread.start()
        ready.wait()

    def future(self, item_key: str, sample: int = 0) -> cf.Future[Generation]:
        rid = (item_key, sample)
        req = self._on_demand.pop(rid, None)
        if req is not None and getattr(self.model, "answers_inline", False):
            self._answer_inline(rid, req)
        elif req is not None and self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._one(rid, req), self._loop)
        if rid not in self._known:
            raise KeyError(rid)
        with self._lock:
            out = self._outcomes.get(rid)
            if out is None:
                fut = self._waiting.get(rid)
                if fut is None:
                    fut = self._waiting[rid] = cf.Future()
                return fut
        return _settled(*out)

    def _answer_inline(self, rid: RequestId, req: GenerationRequest) -> None:
        """Answer in the caller's thread: an adapter whose ``generate`` never awaits (mock, replay).

        Why: handing each of 10,000 on-demand answers to the loop thread and back costs two thread
        switches per test, more than the answer itself.
        """
        coro = self._one(rid, req)
        try:
            coro.send(None)
        except StopIteration:
            return
        coro.close()  # it awaited after all: say so rather than hang
        self._resolve([rid], None, ModelError("adapter", f"{self.model.identity} awaited while answering inline"))

    def on_done(self, key: str, sample: int, callback: Callable[[cf.Future[Generation]], None]) -> None:
        """Run ``callback`` when that request resolves, without triggering an on-demand request."""
        rid = (key, sample)
        if rid not in self._known:
            raise KeyError(rid)
        with self._lock:
            out = self._outcomes.get(rid)
            if out is None:
                self._callbacks.setdefault(rid, []).append(callback)
                return
        callback(_settled(*out))  # already in: called at once, as Future.add_done_callback does

    def peek(self, item_key: str, sample: int = 0) -> Generation | None:
        """That request's answer when it is in, else None; never sends anything (the token ledger)."""
        out = self._outcomes.get((item_key, sample))
        return out[0] if out is not None and out[1] is None else None

    def concurrency_stats(self) -> dict[str, Any]:
        """``run.concurrency``: the configured bound and, when the adapter adapts (HTTP), where its limit went."""
        c = self.concurrency
        limiter = getattr(self.model, "limiter", None)
        if not isinstance(limiter, AdaptiveLimiter):  # local models: the bound never moves
            return {"configured": c, "final": c, "lowest": c, "backoffs": 0, "overloads": 0, "adaptive": False}
        snap = limiter.snapshot()
        return {**snap, "configured": c, "final": min(snap["final"], c), "lowest": min(snap["lowest"], c)}

    def wait(self, item_key: str, sample: int = 0, timeout: float | None = None) -> Generation:
        return self.future(item_key, sample).result(timeout)

    def result(
        self, item_key: str, sample: int = 0, on_idle: Callable[[], None] | None = None, tick_s: float = 0.25
    ) -> Generation:
        """Block on one result; every wait ends.

        It ends with the answer, the item's error, or an error once the engine has made no
        progress at all for ``stall_s`` (longer than any request may take with its retries) or its
        thread is gone: a stuck store or adapter shows as that item's ERROR, never as a hang.
        """
        fut = self.future(item_key, sample)
        waiting_since = time.monotonic()
        while True:
            try:
                return fut.result(timeout=tick_s)
            except cf.TimeoutError:
                pass
            if on_idle is not None:
                on_idle()
            if self._thread is not None and not self._thread.is_alive() and not fut.done():
                raise ModelError("engine", "the generation engine stopped before this item was answered")
            idle = time.monotonic() - max(self._last_progress, waiting_since)
            if idle > self.stall_s and not fut.done():
                raise ModelError(
                    "stall",
                    f"no answer and no progress for {idle:.0f} s (longer than the timeout "
                    "and retries allow): the endpoint or the cache is stuck",
                )

    async def _one(self, rid: RequestId, req: GenerationRequest) -> None:
        self.stats.requests += 1
        self.stats.sent += 1
        sent_at = time.time()
        try:
            gen = await self.model.generate(req)
            if gen.sent_at is None:
                gen.sent_at = sent_at
        except ModelError as err:
            self._resolve([rid], None, err)
        except Exception as exc:
            self._resolve([rid], None, ModelError("adapter", f"{type(exc).__name__}: {exc}"))
        else:
            self._resolve([rid], gen, None)

    def close(self) -> None:
        loop, task = self._loop, self._main_task
        if loop is not None and task is not None and not task.done():
            loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._fail_all(ModelError("adapter", "run ended before this item was generated"))

    # --- loop thread -------------------------------------------------------------------------

    def _fail_all(self, exc: BaseException) -> None:
        err = exc if isinstance(exc, ModelError) else ModelError("adapter", f"engine failed: {exc!r}")
        for rid in list(self._known):
            if rid not in self._outcomes:
                self._settle(rid, None, err)

    def _resolve(self, rids: list[RequestId], gen: Generation | None, err: ModelError | None) -> None:
        self._last_progress = time.monotonic()
        for rid in rids:
            if not self._settle(rid, gen, err):
                continue
            self.stats.done += 1
            if err is not None:
                self.stats.errors += 1
        if self.stats.done >= self.stats.total and self.stats.finished is None:
            self.stats.finished = time.perf_counter()

    def _settle(self, rid: RequestId, gen: Generation | None, err: ModelError | None) -> bool:
        """Record one outcome and wake whoever waits on it; False if it was already in."""
        with self._lock:
            if rid in self._outcomes:
                return False
            self._outcomes[rid] = (gen, err)
            fut = self._waiting.pop(rid, None)
            callbacks = self._callbacks.pop(rid, None)
        if fut is None and callbacks:
            fut = cf.Future()
        if fut is not None:
            for callback in callbacks or ():
                fut.add_done_callback(callback)
            _set(fut, gen, err)
        return True

    async def _main(self, requests: list[GenerationRequest]) -> None:
        """Learn the revision, dispatch the first batch, then serve submit() and on-demand requests.

        On the way out (end of run, Ctrl-C, crash) this process's pending claims are released,
        so the next run need not wait out their lease.
        """
        try:
            await self._learn_revision()
            if requests:
                await self._dispatch(requests, self._store)
            await asyncio.Event().wait()
        finally:
            if self._store is not None:
                try:
                    self._store.release()
                except CacheError:
                    pass  # the lease still expires; nothing else to do on the way out
                self._store.close()

    async def _learn_revision(self) -> None:
        try:
            settle = getattr(self.model, "settle_prompt_style", None)
            if settle is not None:  # "auto" is decided before any key is formed: the style is part of it
                try:
                    await settle()
                except Exception:  # the adapter decides again when asked; a broken model errors its items
                    pass
            probe = getattr(self.model, "revision", None)
            if self.revision is None and self.model.cacheable and probe is not None:
                try:
                    found = await probe()
                except Exception:  # a revision we cannot learn is unknown, not an error
                    found = None
                if found:
                    self.revision, self.revision_source = str(found), "adapter"
        finally:
            assert self._revision_ready is not None
            self._revision_ready.set()
            self._last_progress = time.monotonic()

    @property
    def key_identity(self) -> str:
        """The model's name in cache keys: its identity, its revision when one is known, and the prompt
        style when items go as completion prompts (with the version of their wording: a different prompt
        is a different request; chat keys are the messages themselves, as before prompt styles)."""
        style = getattr(self.model, "prompt_style", None)
        return (
            self.model.identity
            + (f"#rev={self.revision}" if self.revision else "")
            + (f"#prompt=completion-{PROMPT_VERSION}" if style == "completion" else "")
        )

    def submit(self, requests: Sequence[GenerationRequest]) -> None:
        """Add requests after start (judge questions about fresh answers); safe from any thread."""
        with self._submit_lock:
            new = [r for r in requests if (r.key, r.sample_index) not in self._known]
            self._known.update((r.key, r.sample_index) for r in new)
        if not new:
            return
        self._last_progress = time.monotonic()  # the stall clock counts from when there is work
        self.stats.total += len(new)
        self.stats.finished = None
        if not self.model.cacheable:
            self._on_demand.update({(r.key, r.sample_index): r for r in new})
            return
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._dispatch(new, self._store), self._loop)

    async def _dispatch(self, requests: list[GenerationRequest], store: StoreLike | None) -> None:
        """Answer ``requests``; whatever fails on the way (store, adapter, a bug) fails their futures."""
        rids = [(r.key, r.sample_index) for r in requests]
        try:
            await self._dispatch_inner(requests, store)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            err = (
                exc
                if isinstance(exc, ModelError)
                else ModelError("cache" if isinstance(exc, CacheError) else "engine", str(exc) or repr(exc))
            )
            self._resolve([rid for rid in rids if rid not in self._outcomes], None, err)

    async def _dispatch_inner(self, requests: list[GenerationRequest], store: StoreLike | None) -> None:
        assert self._revision_ready is not None
        await self._revision_ready.wait()
        identity = self.key_identity
        by_key: dict[str, list[RequestId]] = {}
        first: dict[str, GenerationRequest] = {}
        for r in requests:
            ck = request_key(identity, r.messages, r.params, r.sample_index) if store else f"{r.key}#{r.sample_index}"
            by_key.setdefault(ck, []).append((r.key, r.sample_index))
            first.setdefault(ck, r)
        order = list(first)

        if store is not None:
            for ck, (raw, meta) in store.get_many(order, self.max_age_s).items():
                if self.shared_only or meta.get("run_id") == store.run_id:  # another process of this run made it
                    self.stats.from_peers += len(by_key[ck])
                    self._resolve(by_key[ck], _from_row(raw, meta, "peer"), None)
                    continue
                self.stats.saw_cached(meta.get("stored_at"), len(by_key[ck]))
                self._resolve(by_key[ck], _from_row(raw, meta, "cache"), None)
            order = [ck for ck in order if by_key[ck][0] not in self._outcomes]

        sem = self._sem
        assert sem is not None  # made by start(), which every run goes through first
        mine: set[str] = set()
        foreign: set[str] = set()
        tasks: set[asyncio.Task[None]] = set()

        async def run(ck: str) -> None:
            req = first[ck]
            self.stats.requests += 1
            sent_at = time.time()
            try:
                gen = await self.model.generate(req)
                if gen.sent_at is None:
                    gen.sent_at = sent_at
            except ModelError as err:
                self.stats.sent += err.attempts
                self._fail_key(store, ck, err)
                self._resolve(by_key[ck], None, err)
            except Exception as exc:  # an adapter bug must not lose the item
                self.stats.sent += 1
                failure = ModelError("adapter", f"{type(exc).__name__}: {exc}")
                self._fail_key(store, ck, failure)
                self._resolve(by_key[ck], None, failure)
            else:
                self.stats.sent += gen.attempts
                if store is not None:
                    try:
                        store.put(
                            ck,
                            identity,
                            gen.raw,
                            {
                                "latency_s": gen.latency_s,
                                "attempts": gen.attempts,
                                "usage": gen.usage,
                                "sent_at": gen.sent_at,
                                "run_id": store.run_id,
                            },
                        )
                    except CacheError as exc:  # the answer arrived but cannot be shared: the item says why
                        failure = ModelError("cache", f"answer received but not stored: {exc}")
                        self._fail_key(store, ck, failure)
                        self._resolve(by_key[ck], None, failure)
                        return
                self._resolve(by_key[ck], gen, None)
            finally:
                mine.discard(ck)
                sem.release()

        def launch(ck: str) -> None:
            mine.add(ck)
            t = asyncio.get_running_loop().create_task(run(ck))
            tasks.add(t)
            t.add_done_callback(tasks.discard)

        watcher = (
            asyncio.get_running_loop().create_task(self._watch(store, foreign, mine, by_key, launch, sem))
            if store is not None
            else None
        )
        try:
            for ck in order:
                await sem.acquire()
                if store is not None:
                    try:
                        state = store.claim(ck, self.lease_s, self.max_age_s)
                    except CacheError as exc:
                        sem.release()
                        self._resolve(by_key[ck], None, ModelError("cache", str(exc)))
                        continue
                    if state != "mine":
                        sem.release()
                        foreign.add(ck)  # "done" rows are picked up by the watcher's next read
                        continue
                launch(ck)
            while tasks or foreign:
                await asyncio.sleep(self.poll_s)
        finally:
            if watcher is not None:
                watcher.cancel()
            for t in list(tasks):
                t.cancel()

    def _fail_key(self, store: StoreLike | None, ck: str, err: ModelError) -> None:
        """Tell waiting peers of this run about an error; a store that fails here changes nothing."""
        if store is None:
            return
        try:
            store.fail(ck, str(err), self.lease_s)
        except CacheError:
            pass

    async def _watch(
        self,
        store: StoreLike,
        foreign: set[str],
        mine: set[str],
        by_key: dict[str, list[RequestId]],
        launch: Callable[[str], None],
        sem: asyncio.Semaphore,
    ) -> None:
        """Pick up other processes' results; a store failure fails the items still awaited."""
        try:
            await self._watch_inner(store, foreign, mine, by_key, launch, sem)
        except CacheError as exc:
            err = ModelError("cache", str(exc))
            for ck in list(foreign):
                foreign.discard(ck)
                self._resolve(by_key[ck], None, err)

    async def _watch_inner(
        self,
        store: StoreLike,
        foreign: set[str],
        mine: set[str],
        by_key: dict[str, list[RequestId]],
        launch: Callable[[str], None],
        sem: asyncio.Semaphore,
    ) -> None:
        """Pick up results other processes made, take over dead claims, renew our leases."""
        last_renew = time.monotonic()
        last_claims = 0.0
        while True:
            await asyncio.sleep(self.poll_s)
            if foreign:
                keys = list(foreign)
                for ck, (raw, meta) in store.get_many(keys, self.max_age_s).items():
                    foreign.discard(ck)
                    self.stats.from_peers += len(by_key[ck])
                    self._resolve(by_key[ck], _from_row(raw, meta, "peer"), None)
                now = time.monotonic()
                if foreign and now - last_claims > 0.5:
                    last_claims = now
                    states = store.claims(list(foreign))
                    wall = time.time()
                    for ck in list(foreign):
                        st = states.get(ck)
                        if st is not None and st.state == "error" and st.run_id == store.run_id:
                            foreign.discard(ck)
                            self._resolve(by_key[ck], None, ModelError("peer", st.error or "failed in another worker"))
                        elif st is None or st.lease_until < wall or owner_is_dead(st.owner):
                            if store.get_many([ck], self.max_age_s):
                                continue  # landed between the two reads; next pass resolves it
                            await sem.acquire()
                            if store.claim(ck, self.lease_s, self.max_age_s) == "mine":
                                foreign.discard(ck)
                                launch(ck)
                            else:
                                sem.release()
            if mine and time.monotonic() - last_renew > self.lease_s / 3:
                store.renew(mine, self.lease_s)
                last_renew = time.monotonic()


def _set(fut: cf.Future[Generation], gen: Generation | None, err: ModelError | None) -> None:
    if err is not None:
        fut.set_exception(err)
    else:
        assert gen is not None
        fut.set_result(gen)


def _settled(gen: Generation | None, err: ModelError | None) -> cf.Future[Generation]:
    """A Future already done with that outcome (for callers that ask after the answer came in)."""
    fut: cf.Future[Generation] = cf.Future()
    _set(fut, gen, err)
    return fut


def _from_row(raw: str, meta: dict[str, Any], origin: str) -> Generation:
    """A stored answer, with the usage it cost when it was made and when it was sent."""
    latency = float(meta.get("latency_s") or 0.0)
    sent_at = meta.get("sent_at")
    if not isinstance(sent_at, (int, float)) and isinstance(meta.get("stored_at"), (int, float)):
        sent_at = meta["stored_at"] - latency  # rows stored before sent_at was recorded
    return Generation(
        strip_reasoning(raw),
        raw,
        latency,
        int(meta.get("attempts") or 1),
        meta.get("usage"),
        origin=origin,
        sent_at=sent_at if isinstance(sent_at, (int, float)) else None,
    )

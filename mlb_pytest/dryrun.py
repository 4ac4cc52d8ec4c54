"""``--mlb-dry-run``: what a run would send, per dataset, without sending anything.

Per dataset: items, requests that would be sent (items x samples, minus the answers already in the
cache for this model revision), judge questions (the items' reference points, risks and quality
items; their number does not depend on the answer), an estimate of prompt tokens and the ceiling
of completion tokens (``max_tokens`` per task). Prompt tokens are counted by the model's own
tokenizer for ``hf:`` models, else estimated: one token per character for Chinese-heavy text, words x 1.3
otherwise, plus 4 per message. Nothing reaches a server: an ``openai:`` model's revision is not
asked of it (``/v1/models``); the revision stated with ``--mlb-model-revision`` is used, else the
newest revision of that model found in the cache, and the lines say which.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import CacheReader, request_key
from .engine import Engine
from .judges import judge_prompt, questions_for
from .judges.panel import JUDGE_PARAMS
from .models import ModelAdapter
from .models.spec import ModelSpec
from .schema import Item

CHARS_PER_TOKEN_ZH = 1.0  # Qwen/Llama-3 style BPE vocabularies give about 0.6-1 token per Chinese character: err high
TOKENS_PER_WORD_EN = 1.3
TOKENS_PER_MESSAGE = 4  # role and separators of the chat template
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")

Counter = Callable[[Sequence[Mapping[str, str]], str | None], int]  # (messages, completion prompt or None)


def estimate_text(text: str) -> int:
    """Tokens of a text, estimated: one per character when at least a third of it is CJK, else words x 1.3."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0
    if len(_CJK.findall(text)) * 3 >= len(chars):
        return math.ceil(len(chars) / CHARS_PER_TOKEN_ZH)
    return math.ceil(len(text.split()) * TOKENS_PER_WORD_EN)


def estimate_messages(messages: Sequence[Mapping[str, str]], completion: str | None = None) -> int:
    """Estimated prompt tokens of chat messages, or of the plain completion prompt when one is given."""
    if completion is not None:
        return estimate_text(completion)
    return sum(estimate_text(str(m.get("content") or "")) + TOKENS_PER_MESSAGE for m in messages)


def hf_counter(target: str) -> tuple[Counter | None, str]:
    """The tokenizer of an ``hf:`` model as a counter (chat template applied as the adapter does), or None and why.

    Only the tokenizer is loaded, never the weights; the packaged default is used only once it has
    been converted (a dry run does not convert it).
    """
    try:
        from transformers import AutoTokenizer

        from .models.hf import DEFAULT_MODEL, cache_root
    except ImportError as exc:
        return None, f"transformers is not installed ({exc.name})"
    path = Path(target).expanduser()
    try:
        if target == DEFAULT_MODEL:
            folder = cache_root() / DEFAULT_MODEL
            if not (folder / "config.json").exists():
                return None, f"hf:{DEFAULT_MODEL} is not converted yet (its first real run does it)"
            tok = AutoTokenizer.from_pretrained(str(folder))
        elif path.suffix == ".gguf":
            tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        else:
            tok = AutoTokenizer.from_pretrained(str(path) if path.exists() else target)
    except Exception as exc:  # offline hub id, broken folder: fall back to the estimate and say why
        return None, f"its tokenizer could not be loaded ({type(exc).__name__})"
    templated = bool(getattr(tok, "chat_template", None))

    def count(messages: Sequence[Mapping[str, str]], completion: str | None = None) -> int:
        if completion is not None:  # a plain completion prompt gets the tokenizer's special tokens, as hf: sends it
            return len(tok(completion, add_special_tokens=True)["input_ids"])
        msgs = [dict(m) for m in messages]
        if templated:
            text = str(tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True))
        else:
            text = "\n\n".join(m["content"] for m in msgs)
        return len(tok(text, add_special_tokens=not templated)["input_ids"])

    return count, "counted by the model's tokenizer"


@dataclass
class DatasetPlan:
    dataset: str
    dimension: str
    items: int = 0
    need_judge: int = 0  # open items with no judge: not sent
    requests: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    max_completion: int = 0
    judge_questions: int = 0
    judge_prompt_tokens: int = 0
    judge_max_completion: int = 0
    variants: int = 0  # extra asks of its items: option rotations (--mlb-circular), perturbations (--mlb-perturb)


@dataclass
class DryRunPlan:
    model: str
    samples: int
    revision_note: str
    counting_note: str
    datasets: dict[str, DatasetPlan] = field(default_factory=dict)
    judges: int = 0
    extractor: str | None = None
    cache_note: str = ""

    def totals(self) -> DatasetPlan:
        t = DatasetPlan("total", "")
        for d in self.datasets.values():
            for k in (
                "items",
                "need_judge",
                "requests",
                "cached",
                "prompt_tokens",
                "max_completion",
                "judge_questions",
                "judge_prompt_tokens",
                "judge_max_completion",
                "variants",
            ):
                setattr(t, k, getattr(t, k) + getattr(d, k))
        return t

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "samples": self.samples,
            "revision": self.revision_note,
            "counting": self.counting_note,
            "datasets": {k: dict(v.__dict__) for k, v in self.datasets.items()},
            "total": dict(self.totals().__dict__),
        }


def _revision(
    spec: ModelSpec, model: ModelAdapter, stated: str | None, reader: CacheReader | None
) -> tuple[str | None, str]:
    """The revision a real run would key answers with, learned without asking any server."""
    if stated:
        return stated, f"revision {stated} (stated)"
    if not model.cacheable:
        return None, "not cached (a test double)"
    if spec.kind in ("python", "hf"):  # learned locally: module source, weight files
        probe = getattr(model, "revision", None)
        found = asyncio.run(probe()) if probe is not None else None
        return (found, f"revision {found} (from the adapter)") if found else (None, "revision unknown")
    for ident, _ in reader.identities(model.identity) if reader is not None else []:  # newest first
        rev = ident.split("#rev=", 1)[1].split("#prompt=", 1)[0] if "#rev=" in ident else None
        if Engine(model, revision=rev).key_identity != ident:
            continue  # stored under another prompt style
        what = f"revision {rev}" if rev else "no revision"
        return rev, (
            f"the server was not asked for its revision: assumed the newest in the cache ({what}); "
            "state --mlb-model-revision to be sure"
        )
    return None, "the server was not asked for its revision and the cache holds none of its answers"


def plan_run(
    items: Sequence[Item],
    spec: ModelSpec,
    model: ModelAdapter,
    *,
    params_for: Callable[[Item], dict[str, Any]],
    samples: int,
    judges: int,
    extractor: str | None,
    stated_revision: str | None,
    cache_path: Path | None,
    max_age_s: float | None,
    variants: Sequence[Item] = (),
) -> DryRunPlan:
    """What a run of ``items`` would send; reads the cache, sends nothing.

    ``variants``: the same items asked another way (rotated options, perturbed wording); they
    add requests, not items.
    """
    reader = CacheReader(cache_path) if cache_path is not None and model.cacheable else None
    try:
        revision, rev_note = _revision(spec, model, stated_revision, reader)
        settle = getattr(model, "settle_prompt_style", None)
        if settle is not None:  # hf: "auto" decides by the tokenizer (local), as a real run does before keys
            asyncio.run(settle())
        style = getattr(model, "prompt_style", None)
        if style == "completion":
            from .models.prompting import completion_prompt
        counter, count_note = hf_counter(spec.target) if spec.kind == "hf" else (None, "")
        if counter is None:
            why = f" ({count_note})" if count_note else ""
            count_note = (
                f"prompt tokens are estimates{why}: one token per character for Chinese-heavy "
                f"text, words x {TOKENS_PER_WORD_EN:g} otherwise, +{TOKENS_PER_MESSAGE} per message"
            )
        else:
            count_note = "prompt tokens counted by the model's tokenizer (hf:)"
        count = counter or estimate_messages
        identity = Engine(model, revision=revision).key_identity  # the same keys as a real run's
        if style == "completion":
            count_note += "; items go as completion prompts (--mlb-prompt-style)"
        plan = DryRunPlan(str(spec), samples, rev_note, count_note, judges=judges, extractor=extractor)
        if reader is None:
            plan.cache_note = "the cache is off (--mlb-no-cache)" if model.cacheable else ""
        todo: list[tuple[Item, int, dict[str, Any], str]] = []
        for it in [*items, *variants]:
            ds = plan.datasets.setdefault(it.dataset, DatasetPlan(it.dataset, it.dimension.value))
            is_variant = it.id != it.id.split("@", 1)[0]
            ds.variants += is_variant
            ds.items += not is_variant
            if it.needs_judge and not judges:
                ds.need_judge += 1
                continue
            params = params_for(it)
            for k in range(samples):
                key = request_key(identity, it.messages, params, k) if reader is not None else ""
                todo.append((it, k, params, key))
        stored = reader.stored([t[3] for t in todo], max_age_s) if reader is not None else set()
        prompt_of: dict[str, int] = {}
        for it, _k, params, key in todo:
            ds = plan.datasets[it.dataset]
            max_tokens = int(params.get("max_tokens") or 0)
            if key and key in stored:
                ds.cached += 1
            else:
                ds.requests += 1
                if it.key not in prompt_of:
                    plain = completion_prompt(it, [dict(m) for m in it.messages]) if style == "completion" else None
                    prompt_of[it.key] = count(it.messages, plain)
                ds.prompt_tokens += prompt_of[it.key]
                ds.max_completion += max_tokens
            if it.needs_judge and judges:
                qs = questions_for(it, "")
                ds.judge_questions += len(qs) * judges
                # the question without the answer it judges (its length is not known before it is made)
                ds.judge_prompt_tokens += judges * sum(estimate_messages(judge_prompt(q)) for q in qs)
                ds.judge_max_completion += judges * len(qs) * int(JUDGE_PARAMS["max_tokens"])
        return plan
    finally:
        if reader is not None:
            reader.close()


def _n(x: int) -> str:
    return f"{x:,}"


def plan_lines(plan: DryRunPlan) -> list[str]:
    """The dry run's report: one line per dataset, a total, and what the numbers mean."""
    judged = plan.judges > 0
    head = ["dataset", "dimension", "items", "requests", "cached", "prompt tokens (est.)", "max completion"]
    if judged:
        head += ["judge questions", "judge prompt (est.)", "judge max completion"]
    head.append("note")
    rows = [head]

    def row(d: DatasetPlan) -> list[str]:
        cells = [
            d.dataset,
            d.dimension,
            _n(d.items),
            _n(d.requests),
            _n(d.cached),
            _n(d.prompt_tokens),
            _n(d.max_completion),
        ]
        if judged:
            cells += [_n(d.judge_questions), _n(d.judge_prompt_tokens), _n(d.judge_max_completion)]
        notes = [f"{d.need_judge} need a judge (not sent)"] if d.need_judge else []
        notes += [f"incl. {d.variants} rotated or perturbed asks"] if d.variants else []
        cells.append("; ".join(notes))
        return cells

    for name in sorted(plan.datasets):
        rows.append(row(plan.datasets[name]))
    total = plan.totals()
    rows.append(row(total))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    right = {i for i, h in enumerate(head) if h not in ("dataset", "dimension", "note")}
    lines = [
        f"mlb dry run: nothing was sent. model {plan.model}, {plan.revision_note}; "
        f"{plan.samples} sample{'s' if plan.samples != 1 else ''} per item"
    ]
    lines += [
        "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
        for r in rows
    ]
    lines.append(
        f"would send {_n(total.requests)} model requests ({_n(total.cached)} answers already in the cache"
        + (f"; {plan.cache_note}" if plan.cache_note else "")
        + ")"
        + (f" and {_n(total.judge_questions)} judge questions" if judged else "")
        + f": ~{_n(total.prompt_tokens + total.judge_prompt_tokens)} prompt tokens (estimate), "
        f"at most {_n(total.max_completion + total.judge_max_completion)} completion tokens"
    )
    notes = [plan.counting_note, "max completion = max_tokens per task and request"]
    if judged:
        notes.append(
            "judge prompts are counted without the answer each one carries (up to the item's max "
            "completion more per question) and are not checked against the cache"
        )
    if plan.extractor:
        notes.append(
            f"the extractor ({plan.extractor}) is asked only about replies the rules cannot read: not estimated"
        )
    lines.append("; ".join(notes))
    return lines

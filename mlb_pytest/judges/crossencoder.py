"""The bundled judge's model: a cross-encoder reading (criterion, response, context) -> p(yes).

Shared by training (``mlb judge train``) and inference (``judges/builtin.py``) so that
both build exactly the same inputs. The criterion comes first (the standard before the
material), then the response, then as much of the question as fits: at 128-192 tokens the
response matters more than the case it answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .reading import encoder_text

MARKERS = {"point": "要点：", "quality": "要点：", "risk": "风险："}
CRITERION_TOKENS = 64
CONTEXT_TOKENS = 48
CONFIG_NAME = "judge_config.json"


@dataclass(frozen=True)
class PairText:
    kind: str  # point | quality | risk
    criterion: str
    response: str
    context: str = ""


MAX_WINDOWS = 64  # a 64k-character answer is about 200 chunks: beyond this only the aligned window reads the rest
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])|(?<=[.:])(?=\s)")


def sentences(text: str) -> list[str]:
    """The response cut after sentence ends (Chinese and Western punctuation, line breaks); nothing dropped."""
    return [s for s in _SENTENCE_END.split(text) if s]


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"\s+", " ", text.lower())
    return {t[i : i + 2] for i in range(len(t) - 1)}


def _chunks(pieces: list[list[int]], room: int) -> list[list[int]]:
    """Consecutive sentences packed into chunks of at most ``room`` tokens; a longer sentence is cut in halves-overlap."""
    out: list[list[int]] = []
    cur: list[int] = []
    for ids in pieces:
        if len(ids) > room:
            if cur:
                out.append(cur)
                cur = []
            stride = max(1, room // 2)
            out += [ids[i : i + room] for i in range(0, max(1, len(ids) - room + stride), stride)]
        elif len(cur) + len(ids) > room:
            out.append(cur)
            cur = list(ids)
        else:
            cur += ids
    if cur:
        out.append(cur)
    return out


def _aligned(pieces: list[list[int]], texts: list[str], criterion: str, room: int) -> list[int]:
    """The sentences that share most with the criterion (character bigrams), in their order, up to ``room``."""
    want = _bigrams(criterion)
    score = [len(want & _bigrams(t)) / (1 + len(_bigrams(t))) ** 0.5 for t in texts]
    chosen: set[int] = set()
    used = 0
    for i in sorted(range(len(pieces)), key=lambda i: (-score[i], i)):
        if score[i] <= 0:
            break
        if used + len(pieces[i]) <= room:
            chosen.add(i)
            used += len(pieces[i])
    return [t for i in sorted(chosen) for t in pieces[i]]


def windows(tok: Any, p: PairText, max_len: int) -> list[list[int]]:
    """Token ids of one question: <s> marker+criterion </s></s> response </s> [context </s>].

    The first window is what training sees (the response's head, then as much context as fits).
    A response too long for one window is read whole, as summary-consistency checkers read a
    summary: cut at sentence ends into chunks that each fit a window (a sentence longer than a
    window is cut into half-overlapping pieces), and one more window made of the sentences that
    share most with the criterion, in their order. Each window states the criterion first; the
    judge aggregates over windows (a point met, or a risk committed, anywhere counts).
    """
    cls_id, sep_id = tok.cls_token_id, tok.sep_token_id
    a = tok(MARKERS.get(p.kind, "") + p.criterion, add_special_tokens=False)["input_ids"][:CRITERION_TOKENS]
    b = tok(p.response, add_special_tokens=False)["input_ids"]
    room = max(1, max_len - 4 - len(a))  # <s> a </s> </s> b </s>
    head = [cls_id, *a, sep_id, sep_id]
    first = head + [*b[:room], sep_id]
    left = room - len(b[:room])
    if p.context and left > 8:
        c = tok(p.context, add_special_tokens=False)["input_ids"]
        first += [*c[: min(left - 1, CONTEXT_TOKENS)], sep_id]
    if len(b) <= room:
        return [first]
    texts = sentences(p.response)
    pieces = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    bodies = _chunks(pieces, room)
    if bodies and bodies[0] == b[:room]:
        bodies = bodies[1:]  # the first window already reads it
    aligned = _aligned(pieces, texts, p.criterion, room)
    out = [first] + [head + [*body, sep_id] for body in bodies[: MAX_WINDOWS - 2]]
    if aligned and aligned not in bodies[: MAX_WINDOWS - 2] and aligned != b[:room]:
        out.append(head + [*aligned, sep_id])
    return out


def to_tensors(tok: Any, rows: Sequence[list[int]]) -> dict[str, Any]:
    import torch

    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        input_ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(input_ids)}


def encode(tok: Any, pairs: Sequence[PairText], max_len: int) -> dict[str, Any]:
    """The first window of each question, as tensors (training inputs)."""
    return to_tensors(tok, [windows(tok, p, max_len)[0] for p in pairs])


def read_config(adapter_dir: Path) -> dict[str, Any]:
    path = adapter_dir / CONFIG_NAME
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing: not a bundled-judge adapter folder") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    for field in ("max_len", "threshold"):
        if field not in cfg:
            raise ValueError(f"{path}: field '{field}' missing")
    return cfg


HEAD_NAME = "head.safetensors"


def mean_pool(hidden: Any, mask: Any) -> Any:
    """Mean over real tokens: how multilingual-e5 was trained to summarise a text."""
    m = mask[..., None].to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1)


class CrossEncoder:
    """The base encoder with the LoRA adapter merged, mean pooling, and the yes/no head."""

    def __init__(self, base_dir: Path, adapter_dir: Path, device: str | None = None) -> None:
        import torch
        from peft import PeftModel
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        self.config = read_config(adapter_dir)
        self.max_len = int(self.config["max_len"])
        self.threshold = float(self.config["threshold"])
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tok = AutoTokenizer.from_pretrained(str(base_dir))
        base = AutoModel.from_pretrained(str(base_dir), add_pooling_layer=False)
        self.encoder = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload().to(self.device).eval()
        weights = load_file(str(adapter_dir / HEAD_NAME))
        self.head = torch.nn.Linear(weights["weight"].shape[1], weights["weight"].shape[0])
        self.head.load_state_dict(weights)
        self.head.to(self.device).eval()

    def predict(self, pairs: Sequence[PairText], batch_size: int = 32) -> list[float]:
        """p(yes) per question: the highest over its windows (met or committed anywhere counts).

        The encoder reads only the lines that share a content word with the criterion or the case,
        with the response's quantities written as the criterion writes them (``reading.encoder_text``):
        text about nothing in the case does not take its windows, and 0.3 g reads as the point's 300 mg."""
        import torch

        read = [replace(p, response=encoder_text(p.response, p.criterion, p.context, self.config)) for p in pairs]
        rows: list[tuple[int, list[int]]] = [
            (i, w) for i, p in enumerate(read) for w in windows(self.tok, p, self.max_len)
        ]
        rows.sort(key=lambda r: len(r[1]))  # less padding
        best = [0.0] * len(pairs)
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            enc = {k: v.to(self.device) for k, v in to_tensors(self.tok, [w for _, w in chunk]).items()}
            with torch.inference_mode():
                hidden = self.encoder(**enc).last_hidden_state
                logits = self.head(mean_pool(hidden, enc["attention_mask"]))
                probs = torch.softmax(logits.float(), dim=-1)[:, 1].tolist()
            for (i, _), p in zip(chunk, probs):
                best[i] = max(best[i], p)
        return best

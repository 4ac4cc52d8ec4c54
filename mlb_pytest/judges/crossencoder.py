"""The bundled judge's model: a cross-encoder reading (criterion, response, context) -> p(yes).

Shared by training (``judge/train_builtin.py``) and inference (``judges/builtin.py``) so that
both build exactly the same inputs. The criterion comes first (the standard before the
material), then the response, then as much of the question as fits: at 128-192 tokens the
response matters more than the case it answers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def encode(tok: Any, pairs: Sequence[PairText], max_len: int) -> dict[str, Any]:
    """Token ids and masks as torch tensors: <s> marker+criterion </s></s> response </s> context </s>."""
    import torch

    cls_id, sep_id = tok.cls_token_id, tok.sep_token_id
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    rows: list[list[int]] = []
    for p in pairs:
        a = tok(MARKERS.get(p.kind, "") + p.criterion, add_special_tokens=False)["input_ids"][:CRITERION_TOKENS]
        b = tok(p.response, add_special_tokens=False)["input_ids"]
        c = tok(p.context, add_special_tokens=False)["input_ids"] if p.context else []
        room = max_len - 4 - len(a)  # <s> a </s> </s> b </s>
        b = b[:room]
        room -= len(b)
        ids = [cls_id, *a, sep_id, sep_id, *b, sep_id]
        if c and room > 8:
            ids += [*c[:min(room - 1, CONTEXT_TOKENS)], sep_id]
        rows.append(ids)
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        input_ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(input_ids)}


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
        import torch

        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].response))  # less padding
        probs: dict[int, float] = {}
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            enc = {k: v.to(self.device) for k, v in encode(self.tok, [pairs[i] for i in idx], self.max_len).items()}
            with torch.inference_mode():
                hidden = self.encoder(**enc).last_hidden_state
                logits = self.head(mean_pool(hidden, enc["attention_mask"]))
                p = torch.softmax(logits.float(), dim=-1)[:, 1].tolist()
            probs.update(zip(idx, p))
        return [probs[i] for i in range(len(pairs))]

"""SFT recipe for a generative judge (``mlb judge sft``, for teams with GPUs), after MLB's: LoRA on a causal LM.

    mlb judge sft --model Qwen/Qwen3-14B --out runs/judge-qwen3-14b     # MLB's setting
    mlb judge sft --model PATH --out DIR --max-steps 3 --merge          # a smoke run

Each annotation row becomes the exact prompt the plugin sends a judge (``judge_prompt``: the
criterion first, the response fenced) and the target is the JSON verdict the plugin parses,
``{"判断": "是"|"否", "理由": ...}`` (English rows: ``verdict``/``reason``). The loss is taken
on the target tokens only. Defaults are MLB's: LoRA rank 8, alpha 32, learning rate 2e-5,
3 epochs, long contexts (2,048 tokens). The adapter in ``--out`` is what vLLM serves with
``--enable-lora``; ``--merge`` also writes a merged model folder that ``hf:DIR`` loads, so the
result can be measured with ``mlb judge eval --judge hf:DIR/merged``. torch, transformers and
peft load inside ``train_sft``: importing this module needs none of them.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..evaluate import load_annotations
from ..questions import JudgeQuestion, judge_prompt
from .paths import ANNOTATIONS, TrainingInputError


@dataclass(frozen=True)
class SftOptions:
    """The recipe's settings; the defaults are MLB's."""

    model: str
    out: Path
    data: Path = ANNOTATIONS
    epochs: float = 3
    lr: float = 2e-5
    rank: int = 8
    alpha: int = 32
    batch: int = 4
    grad_accum: int = 4
    max_len: int = 2048
    max_steps: int = 0
    seed: int = 13
    merge: bool = False


def target_text(row: dict[str, Any]) -> str:
    """The verdict the plugin parses, as the judge should write it (the row's note as the reason)."""
    yes = row["label"] == "yes"
    if row.get("lang") == "en":
        return json.dumps({"verdict": "yes" if yes else "no", "reason": row.get("note") or ""}, ensure_ascii=False)
    return json.dumps({"判断": "是" if yes else "否", "理由": row.get("note") or ""}, ensure_ascii=False)


def prompt_messages(row: dict[str, Any]) -> list[dict[str, str]]:
    """The exact messages a run sends a judge for this row."""
    q = JudgeQuestion(
        0,
        row["kind"],
        row["point"],
        row.get("context") or "",
        row["response"],
        "en" if row.get("lang") == "en" else "zh",
    )
    return [dict(m) for m in judge_prompt(q)]


def build_example(tok: Any, row: dict[str, Any], max_len: int) -> dict[str, list[int]]:
    """input_ids and labels (-100 on the prompt): the judge learns to answer, not to echo."""
    messages = prompt_messages(row)
    if getattr(tok, "chat_template", None):
        prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    else:
        p_ids = tok("\n\n".join(m["content"] for m in messages) + "\n")["input_ids"]
    t_ids = tok(target_text(row), add_special_tokens=False)["input_ids"]
    if tok.eos_token_id is not None:
        t_ids = t_ids + [tok.eos_token_id]
    p_ids = p_ids[-max(1, max_len - len(t_ids)) :]  # keep the end of a long prompt: criterion and response
    ids = (p_ids + t_ids)[:max_len]
    labels = ([-100] * len(p_ids) + t_ids)[:max_len]
    return {"input_ids": ids, "labels": labels}


def train_sft(o: SftOptions) -> Path:
    """Fine-tune ``o.model`` on the train split of ``o.data``; the adapter (and ``merged/``) go to ``o.out``."""
    try:
        rows = load_annotations(Path(o.data), "train")
    except ValueError as exc:  # the message names the file and line
        raise TrainingInputError(str(exc)) from None
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, get_cosine_schedule_with_warmup

    random.seed(o.seed)
    torch.manual_seed(o.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tok = AutoTokenizer.from_pretrained(o.model)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token or tok.unk_token
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model: Any = AutoModelForCausalLM.from_pretrained(o.model, dtype=dtype)  # Any: the peft wrapper replaces it
    model = model.to(device)
    lora = LoraConfig(
        task_type="CAUSAL_LM", r=o.rank, lora_alpha=o.alpha, lora_dropout=0.05, target_modules="all-linear"
    )
    model = get_peft_model(model, lora)
    examples = [build_example(tok, r, o.max_len) for r in rows]
    per_epoch = math.ceil(len(examples) / (o.batch * o.grad_accum))
    total = o.max_steps or max(1, int(per_epoch * o.epochs))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=o.lr)
    sched = get_cosine_schedule_with_warmup(opt, max(1, total // 20), total)
    print(f"{len(examples)} training rows; {total} optimizer steps on {device}", flush=True)

    started, step, micro = time.perf_counter(), 0, 0
    losses: list[float] = []
    model.train()
    while step < total:
        order = list(range(len(examples)))
        random.shuffle(order)
        for i in range(0, len(order), o.batch):
            batch = [examples[j] for j in order[i : i + o.batch]]
            width = max(len(e["input_ids"]) for e in batch)
            ids = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
            labels = torch.full((len(batch), width), -100, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for k, e in enumerate(batch):  # right padding for training
                n = len(e["input_ids"])
                ids[k, :n], labels[k, :n], mask[k, :n] = torch.tensor(e["input_ids"]), torch.tensor(e["labels"]), 1
            loss = model(input_ids=ids.to(device), attention_mask=mask.to(device), labels=labels.to(device)).loss
            (loss / o.grad_accum).backward()
            losses.append(loss.item())
            micro += 1
            if micro % o.grad_accum == 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                step += 1
                if step % 10 == 0 or step == total:
                    print(f"step {step}/{total} loss {sum(losses[-o.grad_accum :]) / o.grad_accum:.4f}", flush=True)
                if step >= total:
                    break
    out = Path(o.out)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    info = {
        "base": o.model,
        "rank": o.rank,
        "alpha": o.alpha,
        "lr": o.lr,
        "epochs": o.epochs,
        "steps": total,
        "max_len": o.max_len,
        "train_rows": len(examples),
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "sft_config.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    if o.merge:
        merged = model.merge_and_unload()
        merged.save_pretrained(str(out / "merged"))
        tok.save_pretrained(str(out / "merged"))
    print(f"adapter written to {out}" + (f" (merged model in {out / 'merged'})" if o.merge else ""), flush=True)
    return out

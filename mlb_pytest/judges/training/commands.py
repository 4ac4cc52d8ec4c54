"""``mlb judge pretrain|train|calibrate|sft`` (and ``build``, from ``build_command``): the parsers.

The flags and defaults are those of the scripts in ``judge/`` these commands replace, so the
recipes recorded in ``judge/MODEL_CARD.md`` still reproduce. Each stage's module loads only when
its command runs: building the ``mlb`` parser needs neither torch nor the data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .build_command import add_build_parser
from .guard import command_line, guarded
from .paths import ANNOTATIONS, BUILTIN, JUDGE_DATA, PRETRAINED


def _add_pretrain(jsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = jsub.add_parser(
        "pretrain",
        help="stage 1: learn entailment from human-labelled public NLI sets -> judge/pretrained/",
        description="Stage 1 of the bundled judge: learn entailment from the human-labelled public sets in "
        "../shared/judge_data (read where they are; each file's sha256 is recorded), resumable per epoch.",
    )
    p.add_argument(
        "--judge-data",
        default=str(JUDGE_DATA),
        help="folder of the normalised public sets (default: ../shared/judge_data)",
    )
    p.add_argument("--out", default=str(PRETRAINED))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--top", type=int, default=8)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--limit", type=int, default=0, help="at most N rows per source (smoke runs)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--base", default=None, help="encoder folder (default: converted multilingual-e5-small)")

    def run(args: argparse.Namespace) -> int:
        from .adapter import Settings
        from .pretrain import pretrain

        settings = Settings(
            epochs=args.epochs, lr=args.lr, top=args.top, rank=args.rank, seed=args.seed, min_coverage=1.0
        )
        pretrain(
            Path(args.judge_data),
            Path(args.out),
            settings,
            base=Path(args.base) if args.base else None,
            fresh=args.fresh,
            limit=args.limit,
            command=command_line("mlb judge pretrain", p, args),
        )
        return 0

    p.set_defaults(func=guarded("pretrain", run))


def _add_train(jsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = jsub.add_parser(
        "train",
        help="stage 2: fine-tune the bundled judge on judge/data/annotations -> judge/builtin/",
        description="Stage 2 of the bundled judge: fine-tune from judge/pretrained (when it exists) on the "
        "annotation rows, keep the best dev epoch, calibrate on dev. Resumable per epoch (build/judge/).",
    )
    p.add_argument("--data", default=str(ANNOTATIONS), help="annotation folder or file")
    p.add_argument("--out", default=str(BUILTIN))
    p.add_argument(
        "--init",
        default=None,
        help="start from this adapter (default: judge/pretrained when it exists; 'none' for the base)",
    )
    p.add_argument("--checkpoint", default=None, help="resume file (default: build/judge/<out name>.ckpt)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--base", default=None, help="encoder folder (default: converted multilingual-e5-small)")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--max-len", type=int, default=128)
    p.add_argument("--top", type=int, default=8, help="layers that get LoRA adapters (the rest stay frozen)")
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--alpha", type=int, default=32)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument(
        "--inject-share",
        type=float,
        default=0.25,
        help="share of clean train rows also trained with a design-group injection (0: none)",
    )
    p.add_argument(
        "--insert-share",
        type=float,
        default=0.0,
        help="share of clean train rows also trained with a text not about the case inserted (0: none)",
    )
    p.add_argument(
        "--inserts", default=None, help="pool of such texts (default: ../injection/train_inserts.jsonl beside --data)"
    )
    p.add_argument("--min-coverage", type=float, default=0.92, help="dev rows the abstention band must leave decided")
    p.add_argument(
        "--no-bf16",
        dest="bf16",
        action="store_false",
        help="train in float32 (default: bfloat16 autocast on CPUs that have it, about 2x faster)",
    )
    p.add_argument("--limit", type=int, default=0, help="train on the first N rows only (smoke runs)")

    def run(args: argparse.Namespace) -> int:
        from .adapter import Settings
        from .finetune import train_builtin

        settings = Settings(
            args.epochs,
            args.lr,
            args.batch,
            args.max_len,
            args.top,
            args.rank,
            args.alpha,
            args.seed,
            args.bf16,
            args.min_coverage,
        )
        train_builtin(
            Path(args.data),
            Path(args.out),
            settings,
            init=args.init,
            checkpoint=Path(args.checkpoint) if args.checkpoint else None,
            fresh=args.fresh,
            base=Path(args.base) if args.base else None,
            inject_share=args.inject_share,
            insert_share=args.insert_share,
            inserts=Path(args.inserts) if args.inserts else None,
            limit=args.limit,
            command=command_line("mlb judge train", p, args),
        )
        return 0

    p.set_defaults(func=guarded("train", run))


def _calibrate(args: argparse.Namespace) -> int:
    from ..crossencoder import CONFIG_NAME
    from .calibrate import calibrate, summary_line

    cfg = calibrate(args.adapter, args.annotations, args.min_coverage)
    print(summary_line(cfg, args.adapter / CONFIG_NAME))
    return 0


def _add_calibrate(jsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = jsub.add_parser(
        "calibrate",
        help="fit a trained adapter's temperature and abstention band on the dev split, in place",
        description="Calibrate a trained adapter after the fact: temperature and abstention band from the "
        "dev split, read through the path the judge really uses. The decision threshold keeps its place.",
    )
    p.add_argument("--adapter", type=Path, default=BUILTIN)
    p.add_argument("--annotations", type=Path, default=ANNOTATIONS)
    p.add_argument("--min-coverage", type=float, default=0.9)
    p.set_defaults(func=guarded("calibrate", _calibrate))


def _sft(args: argparse.Namespace) -> int:
    from .sft import SftOptions, train_sft

    train_sft(
        SftOptions(
            model=args.model,
            out=Path(args.out),
            data=Path(args.data),
            epochs=args.epochs,
            lr=args.lr,
            rank=args.rank,
            alpha=args.alpha,
            batch=args.batch,
            grad_accum=args.grad_accum,
            max_len=args.max_len,
            max_steps=args.max_steps,
            seed=args.seed,
            merge=args.merge,
        )
    )
    return 0


def _add_sft(jsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = jsub.add_parser(
        "sft",
        help="MLB's SFT recipe for a generative judge (LoRA on a causal LM; for teams with GPUs)",
        description="Fine-tune a causal LM as a judge on the annotation rows: the plugin's own judge prompts "
        "as inputs, its JSON verdicts as targets (MLB's defaults: LoRA rank 8, alpha 32, lr 2e-5, 3 epochs).",
    )
    p.add_argument("--model", required=True, help="causal LM folder or hub id (e.g. Qwen/Qwen3-14B)")
    p.add_argument("--data", default=str(ANNOTATIONS), help="annotation folder or file")
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=float, default=3)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=int, default=32)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--grad-accum", type=int, default=4)
    p.add_argument("--max-len", type=int, default=2048)
    p.add_argument("--max-steps", type=int, default=0, help="stop after N optimizer steps (smoke runs)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--merge", action="store_true", help="also write DIR/merged, loadable as hf:DIR/merged")
    p.set_defaults(func=guarded("sft", _sft))


def add_training_parsers(jsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add build, pretrain, train, calibrate and sft to ``mlb judge`` (beside ``eval``)."""
    add_build_parser(jsub)
    _add_pretrain(jsub)
    _add_train(jsub)
    _add_calibrate(jsub)
    _add_sft(jsub)

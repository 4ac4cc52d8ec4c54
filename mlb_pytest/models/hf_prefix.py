"""Reuse of the key/value cache of a prompt prefix that a batch's rows share (the ``hf:`` adapter).

Items of one dataset are asked with the same instruction, few-shot examples or long note
(an extraction prompt is 85-95% shared text): the prefill of that prefix is the same work for
every row. ``PrefixCache`` computes its keys and values once (one row, no padding), remembers
the last few prefixes, and hands ``generate`` a cache that already holds them.

Exactness: rows are left-padded as before, so each row's layout is ``[pads k_i][prefix][suffix_i]``
with the prefix at positions 0..P-1 in every row (positions follow the attention mask). The
cache covers the first ``C = k_min + P`` slots: row i holds its pads and the first ``P - (k_i -
k_min)`` prefix tokens (a causal model's key at position j depends on tokens 0..j only), and the
rest of its prefix is computed with its suffix. The layout, the mask and the positions are those
of the uncached batch, so greedy outputs are the same (``benchmarks/bench_hf.py`` checks it).
Layers are plain full-length cache layers; a sliding-window model still applies its window
through the attention mask.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any

MIN_PREFIX = 16  # tokens: below this the copy costs about what it saves
KEEP = 4  # prefixes remembered (datasets interleave in one run)


@functools.cache
def _cache_keyword_of(model_type: Any) -> str:
    import inspect

    return "cache" if "cache" in inspect.signature(model_type.forward).parameters else "past_key_values"


def cache_keyword(model: Any) -> str:
    """The name ``forward`` and ``generate`` take a cache under: ``cache`` from transformers 5.2x, before that ``past_key_values``."""
    model_type: Any = type(model)
    return _cache_keyword_of(model_type)


def common_prefix(rows: list[list[int]]) -> int:
    """Length of the token prefix every row shares."""
    if not rows:
        return 0
    first, n = rows[0], min(len(r) for r in rows)
    for i in range(n):
        t = first[i]
        if any(r[i] != t for r in rows):
            return i
    return n


class PrefixCache:
    """Keys and values of recent prompt prefixes, and batch caches built from them."""

    def __init__(self, keep: int = KEEP, min_prefix: int = MIN_PREFIX) -> None:
        self.keep = keep
        self.min_prefix = min_prefix
        self._memo: OrderedDict[tuple[int, ...], list[tuple[Any, Any]]] = OrderedDict()
        self.hits = 0  # batches that reused a remembered prefix
        self.computed = 0  # prefixes computed
        self.saved_tokens = 0  # prompt tokens not prefilled again

    def _prefix_kv(self, model: Any, prefix: tuple[int, ...]) -> list[tuple[Any, Any]]:
        """Per layer (keys, values) of shape [1, heads, P, dim]; a remembered longer prefix is sliced."""
        import torch
        from transformers import DynamicCache

        for ids, kv in self._memo.items():
            if len(ids) >= len(prefix) and ids[: len(prefix)] == prefix:
                self._memo.move_to_end(ids)
                self.hits += 1
                p = len(prefix)
                return [(k[:, :, :p], v[:, :, :p]) for k, v in kv]
        cache = DynamicCache()
        with torch.inference_mode():
            model(
                input_ids=torch.tensor([prefix], device=model.device), use_cache=True, **{cache_keyword(model): cache}
            )
        layers: list[Any] = list(cache.layers)  # full-length layers: DynamicCache() without a config
        kv = [(layer.keys, layer.values) for layer in layers]
        self.computed += 1
        self._memo[prefix] = kv
        while len(self._memo) > self.keep:
            self._memo.popitem(last=False)
        return kv

    def for_batch(self, model: Any, input_ids: Any, attention_mask: Any) -> Any | None:
        """A cache for ``generate`` holding the shared prefix of these left-padded rows, or None."""
        from transformers import DynamicCache

        mask = attention_mask.bool()
        pads = (~mask).sum(dim=1).tolist()
        rows = [input_ids[i, p:].tolist() for i, p in enumerate(pads)]
        shortest = min(len(r) for r in rows)
        p = min(common_prefix(rows), shortest - 1)  # every row keeps at least one token to compute
        if p < self.min_prefix:
            return None
        kv = self._prefix_kv(model, tuple(rows[0][:p]))
        k_min = min(pads)
        slots = k_min + p
        cache = DynamicCache()
        for layer, (k, v) in enumerate(kv):
            keys = k.new_zeros((len(rows), k.shape[1], slots, k.shape[3]))
            values = v.new_zeros((len(rows), v.shape[1], slots, v.shape[3]))
            for i, k_i in enumerate(pads):
                held = slots - k_i  # this row's prefix tokens inside the cached slots
                keys[i, :, k_i:] = k[0, :, :held]
                values[i, :, k_i:] = v[0, :, :held]
            cache.update(keys, values, layer)
        self.saved_tokens += sum(slots - k_i for k_i in pads)
        return cache

"""``replay:PATH``: the responses of an earlier JSON report, sent again through scoring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .base import Generation, GenerationRequest, ModelError
from .reasoning import strip_reasoning


class ReplayModel:
    """Looks items up by (dataset, id, sample); an item the report lacks is an error, not a guess."""

    cacheable = False

    def __init__(self, path: str) -> None:
        self.identity = f"replay:{path}"
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"replay file {path}: cannot read ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"replay file {path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ValueError(f"replay file {path}: not an mlb-pytest JSON report (no 'items' list)")
        self._responses: dict[tuple[str, str, int], str] = {}
        for n, entry in enumerate(items):
            if not isinstance(entry, dict):
                raise ValueError(f"replay file {path}: items[{n}] is not an object")
            samples: list[Any] = entry.get("samples") or [{"raw": entry.get("raw_response") or entry.get("response")}]
            for k, s in enumerate(samples):
                raw = s.get("raw") if isinstance(s, dict) else None
                if isinstance(raw, str):
                    self._responses[(str(entry.get("dataset")), str(entry.get("id")), k)] = raw

    async def generate(self, request: GenerationRequest) -> Generation:
        key = (request.item.dataset, request.item.id, request.sample_index)
        raw = self._responses.get(key)
        if raw is None:
            raise ModelError("replay_missing", f"no response for {key[0]}/{key[1]} sample {key[2]} in {self.identity}")
        return Generation(strip_reasoning(raw), raw, 0.0, origin="replay")

    async def aclose(self) -> None:
        return None

"""``replay:PATH``: the responses of an earlier JSON report, sent again through scoring."""

from __future__ import annotations

from pathlib import Path

from .._jsonsafe import JSONInputError, decode_utf8, loads
from .base import Generation, GenerationRequest, ModelError
from .reasoning import strip_reasoning


class ReplayModel:
    """Looks items up by (dataset, id, sample); an item the report lacks is an error, not a guess."""

    cacheable = False
    answers_inline = True  # generate never awaits: the engine answers in the test's thread

    def __init__(self, path: str) -> None:
        self.identity = f"replay:{path}"
        self._responses = _read_responses(Path(path), path)

    async def generate(self, request: GenerationRequest) -> Generation:
        key = (request.item.dataset, request.item.id, request.sample_index)
        raw = self._responses.get(key)
        if raw is None:
            raise ModelError("replay_missing", f"no response for {key[0]}/{key[1]} sample {key[2]} in {self.identity}")
        return Generation(strip_reasoning(raw), raw, 0.0, origin="replay")

    async def aclose(self) -> None:
        return None


def _read_responses(p: Path, shown: str) -> dict[tuple[str, str, int], str]:
    """Raw responses of a report by (dataset, id, sample); any unreadable report is a ValueError naming it."""
    try:
        data = loads(decode_utf8(p.read_bytes()), finite=False)
    except OSError as exc:
        raise ValueError(f"replay file {shown}: cannot read ({exc.strerror or exc})") from None
    except JSONInputError as exc:
        where = f"{shown}:{exc.line}" if exc.line else shown
        raise ValueError(f"replay file {where}: {exc.message}") from None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError(f"replay file {shown}: not an mlb-pytest JSON report (no 'items' list)")
    out: dict[tuple[str, str, int], str] = {}
    for n, entry in enumerate(items):
        if not isinstance(entry, dict):
            raise ValueError(f"replay file {shown}: items[{n}] is not an object")
        samples = entry.get("samples")
        if samples is None or samples == []:
            samples = [{"raw": entry.get("raw_response") or entry.get("response")}]
        if not isinstance(samples, list):
            raise ValueError(f"replay file {shown}: items[{n}].samples is not a list")
        for k, s in enumerate(samples):
            raw = s.get("raw") if isinstance(s, dict) else None
            if isinstance(raw, str):
                out[(str(entry.get("dataset")), str(entry.get("id")), k)] = raw
        rotated = entry.get("circular")  # --mlb-circular: rotation r's first answer, under the rotated id
        for r, text in enumerate((rotated.get("responses") or [])[1:] if isinstance(rotated, dict) else [], 1):
            if isinstance(text, str):
                out[(str(entry.get("dataset")), f"{entry.get('id')}@rot{r}", 0)] = text
    return out

"""``mlb import healthbench SRC -o FILE``: OpenAI HealthBench JSONL -> a native rubric suite file.

HealthBench (openai/simple-evals, ``healthbench_eval.py``; MIT) has one conversation per line:
``prompt`` (chat messages, the last one the user's), ``rubrics`` (``criterion``, signed integer
``points``, ``tags`` such as ``axis:accuracy`` / ``level:example`` / ``cluster:…``),
``example_tags`` (``theme:…``, ``physician_agreed_category:…``), ``prompt_id``, optionally
``ideal_completions_data`` and a ``canary`` string. Each line becomes one item of a dataset with
``task: open`` and ``metric: rubric``:

- ``id`` is the ``prompt_id`` (kept as it is; ``source`` names it as well), ``messages`` the
  prompt, ``rubric`` the rubrics, ``tags`` the example tags (scored per tag like HealthBench: an
  example tag gets the item's score), ``answer`` the ideal completion when the row has one (shown
  as "expected" in reports; it is not a gold answer and scores nothing).
- The canary string goes into the header's description, so that the derived file still carries it.
- A row that cannot become a valid item (no user turn last, a role other than system / user /
  assistant, no criterion with positive points) is left out and reported with its line; a
  criterion with 0 points (it changes no score) is dropped; a criterion repeated word for word in
  one row gets `` [#2]`` appended (verdicts and physician decisions are matched by the text).

Registration: ``FORMAT`` names the format for ``mlb import``; ``import_file(src, out, **options)``
does the work and returns an ``ImportResult``; ``add_arguments`` adds this format's options to an
argparse parser. ``python -m mlb_pytest.importers.healthbench SRC -o FILE`` runs it on its own.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..catalog import Dimension
from ..errors import EXIT_USAGE, ArgumentParser, UsageError

FORMAT = "healthbench"
DESCRIPTION = "OpenAI HealthBench JSONL (conversations with HealthBench rubrics) -> native rubric items"
ROLES = ("system", "user", "assistant")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_ID_BAD = re.compile(r"[^A-Za-z0-9_.\-]+")


class HealthBenchImportError(UsageError, ValueError):
    """The source file cannot be converted at all (unreadable, not HealthBench, nothing usable)."""


@dataclass
class ImportResult:
    out: Path
    items: int
    skipped: list[str] = field(default_factory=list)  # "SRC:LINE: reason" per row left out
    notes: list[str] = field(default_factory=list)  # changes made to rows that were kept

    def lines(self) -> list[str]:
        out = [
            f"{self.items} items written to {self.out}"
            + (f"; {len(self.skipped)} rows left out" if self.skipped else "")
        ]
        out += [f"  left out: {s}" for s in self.skipped]
        out += [f"  note: {n}" for n in self.notes]
        return out


def default_dataset(src: Path) -> str:
    """``HealthBench``, ``HealthBenchHard`` or ``HealthBenchConsensus`` after the file's name."""
    stem = src.name.lower()
    if stem.startswith("hard"):
        return "HealthBenchHard"
    if stem.startswith("consensus"):
        return "HealthBenchConsensus"
    return "HealthBench"


def _item_id(prompt_id: Any, n: int) -> str:
    text = str(prompt_id or "").strip()
    if _ID.match(text):
        return text
    clean = _ID_BAD.sub("-", text).strip("-._")
    return clean if clean and _ID.match(clean) else f"row{n:05d}"


def _points(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValueError(f"points {value!r} is not an integer")
    return int(value)


def convert_row(row: Any, n: int, where: str) -> tuple[dict[str, Any], list[str]]:
    """One HealthBench row -> (item dict, notes); ValueError says why the row cannot be an item."""
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    prompt = row.get("prompt")
    if not isinstance(prompt, list) or not prompt:
        raise ValueError("no 'prompt' list of messages")
    messages = []
    for i, m in enumerate(prompt):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise ValueError(f"prompt[{i}] is not a {{role: system|user|assistant, content: text}} message")
        if not m["content"].strip():
            raise ValueError(f"prompt[{i}] has empty content")
        messages.append({"role": m["role"], "content": m["content"]})
    if messages[-1]["role"] != "user":
        raise ValueError(f"the last message is the {messages[-1]['role']}'s, not the user's")
    if any(m["role"] == "system" for m in messages[1:]):
        raise ValueError("a system message that is not the first")
    rubrics = row.get("rubrics")
    if not isinstance(rubrics, list) or not rubrics:
        raise ValueError("no 'rubrics' list")
    notes: list[str] = []
    criteria: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, r in enumerate(rubrics):
        if not isinstance(r, dict) or not isinstance(r.get("criterion"), str) or not r["criterion"].strip():
            raise ValueError(f"rubrics[{i}] has no criterion text")
        points = _points(r.get("points"))
        if points == 0:
            notes.append(f"{where}: rubrics[{i}] has 0 points (it changes no score): dropped")
            continue
        tags = r.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise ValueError(f"rubrics[{i}].tags is not a list of strings")
        text = r["criterion"]
        seen[text] = seen.get(text, 0) + 1
        if seen[text] > 1:
            notes.append(f"{where}: rubrics[{i}] repeats a criterion word for word: kept as '… [#{seen[text]}]'")
            text = f"{text} [#{seen[text]}]"
        criteria.append({"criterion": text, "points": points, "tags": list(dict.fromkeys(tags))})
    if not any(c["points"] > 0 for c in criteria):
        raise ValueError("no criterion has positive points (HealthBench's score would be undefined)")
    example_tags = row.get("example_tags") or []
    if not isinstance(example_tags, list) or not all(isinstance(t, str) and t.strip() for t in example_tags):
        raise ValueError("example_tags is not a list of strings")
    prompt_id = row.get("prompt_id")
    item: dict[str, Any] = {
        "id": _item_id(prompt_id, n),
        "messages": messages,
        "rubric": criteria,
        "tags": list(dict.fromkeys(example_tags)),
        "source": f"HealthBench prompt_id {prompt_id}" if prompt_id else f"HealthBench {where}",
    }
    ideal = (row.get("ideal_completions_data") or {}) if isinstance(row.get("ideal_completions_data"), dict) else {}
    if isinstance(ideal.get("ideal_completion"), str) and ideal["ideal_completion"].strip():
        item["answer"] = ideal["ideal_completion"]
    return item, notes


def convert(
    src: Path,
    *,
    dataset: str | None = None,
    dimension: str = "SmartServ",
    language: str = "en",
    limit: int | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[str], list[str]]:
    """(header, items, rows left out, notes) of a HealthBench file."""
    if dimension not in {d.value for d in Dimension}:
        raise HealthBenchImportError(
            f"dimension {dimension!r}: expected one of {', '.join(d.value for d in Dimension)}"
        )
    if dataset is not None and not _ID.match(dataset):
        raise HealthBenchImportError(f"dataset name {dataset!r}: letters, digits, '_', '.', '-' only")
    try:
        raw = src.read_bytes()
    except OSError as exc:
        raise HealthBenchImportError(f"{src}: cannot read ({exc.strerror or exc})") from None
    items: list[dict[str, Any]] = []
    skipped: list[str] = []
    notes: list[str] = []
    ids: dict[str, int] = {}
    canaries: set[str] = set()
    for n, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        if limit is not None and len(items) >= limit:
            break
        where = f"{src}:{n}"
        try:
            row = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            skipped.append(f"{where}: not a JSON line ({exc})")
            continue
        try:
            item, row_notes = convert_row(row, n, where)
        except ValueError as exc:
            skipped.append(f"{where}: {exc}")
            continue
        if item["id"] in ids:
            skipped.append(f"{where}: prompt_id {item['id']!r} already on line {ids[item['id']]}")
            continue
        ids[item["id"]] = n
        if isinstance(row.get("canary"), str):
            canaries.add(row["canary"])
        items.append(item)
        notes += row_notes
    if not items:
        raise HealthBenchImportError(
            f"{src}: no HealthBench rows could be converted"
            + (f" (first problem: {skipped[0]})" if skipped else " (empty file)")
        )
    name = dataset or default_dataset(src)
    description = (
        f"{name}: {len(items)} conversations of OpenAI HealthBench ({src.name}) with their physician-written "
        "rubrics, scored HealthBench's way (met points / positive points per item; the dataset and each "
        "tag: the mean clipped to [0, 1])."
    )
    if canaries:
        description += " HealthBench canary: " + " ".join(sorted(canaries))
    header = {
        "mlb_suite": 1,
        "dataset": name,
        "dimension": dimension,
        "task": "open",
        "metric": "rubric",
        "judge": "rubric",
        "language": language,
        "prompt": "${question}",
        "source": f"OpenAI HealthBench (openai/simple-evals healthbench_eval.py), file {src.name}",
        "licence": "MIT",
        "description": description,
    }
    return header, items, skipped, notes


def import_file(
    src: Path | str,
    out: Path | str,
    *,
    dataset: str | None = None,
    dimension: str = "SmartServ",
    language: str = "en",
    limit: int | None = None,
) -> ImportResult:
    """Convert ``src`` and write the suite file ``out`` atomically; HealthBenchImportError when nothing converts."""
    from .._atomic import write_text_atomic

    src, out = Path(src), Path(out)
    header, items, skipped, notes = convert(src, dataset=dataset, dimension=dimension, language=language, limit=limit)
    text = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in [header, *items])
    write_text_atomic(out, text)
    return ImportResult(out, len(items), skipped, notes)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """This format's options (besides SRC and -o), for ``mlb import healthbench``."""
    parser.add_argument(
        "--dataset",
        default=None,
        help="dataset name (default: HealthBench, HealthBenchHard or HealthBenchConsensus after SRC)",
    )
    parser.add_argument(
        "--dimension",
        default="SmartServ",
        help="dimension the dataset counts under (default SmartServ: patient-facing conversations)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N convertible rows")


def run(args: argparse.Namespace) -> int:
    """Run from parsed arguments (``src``, ``output`` and this format's options); prints what was done."""
    try:
        result = import_file(
            Path(args.src), Path(args.output), dataset=args.dataset, dimension=args.dimension, limit=args.limit
        )
    except (HealthBenchImportError, OSError) as exc:
        print(f"mlb import {FORMAT}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(result.lines()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog=f"mlb import {FORMAT}", description=DESCRIPTION)
    parser.add_argument("src", metavar="SRC", help="a HealthBench JSONL file")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="the native suite file to write (.jsonl)")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())

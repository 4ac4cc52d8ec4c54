"""Agreement of the rule-based choice extractor with hand-labelled realistic replies.

    python benchmarks/bench_extraction.py [--show N] [--min 0.98]

Reads ``data/choice_replies.jsonl`` (the main corpus), ``data/choice_replies_heldout.jsonl`` and
``data/choice_paraphrase_heldout.jsonl`` (kept apart to measure generalisation, the second of
replies that name their option only by a paraphrase), scores every reply with ``score_choice`` and prints
agreement overall, per style and per language for each file. A reply agrees when the extracted
letter set equals the labelled one (an empty label means no answer may be extracted). Examples of
disagreements are shown for the main file only (``--show N``), so the held-out files are never
read by a person tuning the rules. Disagreements are split into wrong letters and replies left
unread (no letters where the label has some: what the model fallback, ``--mlb-extractor``, is
asked about). Exit status is 0 (it is a report) unless ``--min`` is given and the main file's
overall agreement is below it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlb_pytest.catalog import Dimension, Metric, Task
from mlb_pytest.schema import Item
from mlb_pytest.scoring import score_choice
from mlb_pytest.suites.build import DatasetInfo, build_item

DATA = Path(__file__).resolve().parent / "data"
MAIN = DATA / "choice_replies.jsonl"
HELDOUT = DATA / "choice_replies_heldout.jsonl"
PARAPHRASE_HELDOUT = DATA / "choice_paraphrase_heldout.jsonl"


@dataclass(frozen=True)
class Outcome:
    row: dict[str, Any]
    extracted: list[str]
    method: str

    @property
    def agrees(self) -> bool:
        return self.extracted == sorted(self.row["answer"])


def load_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def corpus_item(row: dict[str, Any]) -> Item:
    """A choice item as a suite would build it; an empty gold set becomes a placeholder answer."""
    info = DatasetInfo(
        name="ExtractionCorpus",
        dimension=Dimension.MedKQA,
        task=Task.choice,
        metric=Metric.accuracy,
        prompt="${question}\n${options}",
        language=row.get("lang") or "zh",
    )
    answer = row["answer"] or [next(iter(row["options"]))]
    raw = {"id": row["id"], "question": row["question"], "options": row["options"], "answer": answer}
    return build_item(info, raw, "choice_replies.jsonl", None)


def evaluate(rows: Iterable[dict[str, Any]]) -> list[Outcome]:
    out = []
    for row in rows:
        details = score_choice(corpus_item(row), row["reply"]).details
        out.append(Outcome(row, details["extracted"] or [], details["method"]))
    return out


def agreement(outcomes: list[Outcome], key: str | None = None) -> dict[str, tuple[int, int]]:
    """(agreeing, total) overall (key None) or per value of ``row[key]``."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in outcomes:
        cell = table["overall" if key is None else str(o.row.get(key))]
        cell[0] += o.agrees
        cell[1] += 1
    return {k: (a, n) for k, (a, n) in sorted(table.items())}


def share(cell: tuple[int, int]) -> float:
    return cell[0] / cell[1] if cell[1] else 0.0


def misses(outcomes: list[Outcome], key: str, value: str) -> tuple[int, int]:
    """Disagreements of one group: (a wrong set of letters, no letters where the label has some).
    The second kind is what the model fallback (--mlb-extractor) is asked about."""
    bad = [o for o in outcomes if not o.agrees and (value == "overall" or str(o.row.get(key)) == value)]
    unread = sum(1 for o in bad if not o.extracted)
    return len(bad) - unread, unread


def print_report(title: str, outcomes: list[Outcome]) -> None:
    overall = agreement(outcomes)["overall"]
    wrong, unread = misses(outcomes, "style", "overall")
    print(
        f"== {title}: {share(overall):.1%} agreement ({overall[0]}/{overall[1]}), "
        f"{overall[1] - overall[0]} disagreements ({wrong} wrong letters, {unread} left unread)"
    )
    for key in ("style", "lang"):
        for name, cell in agreement(outcomes, key).items():
            wrong, unread = misses(outcomes, key, name)
            print(
                f"  {key:5} {name:24} {share(cell):7.1%}  {cell[0]:4}/{cell[1]:<4} wrong {wrong:3}  unread {unread:3}"
            )


def print_examples(outcomes: list[Outcome], n: int) -> None:
    bad = [o for o in outcomes if not o.agrees]
    for o in bad[:n]:
        reply = o.row["reply"].replace("\n", "⏎")
        print(
            f"- {o.row['id']} [{o.row['style']}, {o.row['lang']}] expected {o.row['answer']} "
            f"got {o.extracted} ({o.method})\n    {reply[:300]}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--show", type=int, default=0, help="print N disagreements from the main file")
    ap.add_argument("--min", type=float, default=None, help="exit 1 when main-file agreement is below this")
    args = ap.parse_args(argv)
    if not MAIN.exists():
        print(f"no corpus at {MAIN.relative_to(DATA.parent)}")
        return 1 if args.min is not None else 0
    main_out = evaluate(load_rows(MAIN))
    print_report("main", main_out)
    if args.show:
        print_examples(main_out, args.show)
    for title, path in (("held-out", HELDOUT), ("paraphrase held-out", PARAPHRASE_HELDOUT)):
        if path.exists():
            print_report(title, evaluate(load_rows(path)))
    if args.min is not None and share(agreement(main_out)["overall"]) < args.min:
        print(f"below target {args.min:.1%}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

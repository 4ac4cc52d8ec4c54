"""``mlb judge eval``: a judge's agreement with human labels on annotation rows.

Rows (JSONL): {"id", "kind": "point"|"risk", "dataset", "context", "point", "response",
"label": "yes"|"no", "split", optional "trap" (what the response tries: paraphrase, partial,
negation, wrong_number, passing_mention, injection, ...)}. Reports accuracy, precision / recall /
F1 with "yes" as the positive class, Cohen's kappa, the confusion matrix, breakdowns per dataset
and per trap, and the share of injection-trap rows the judge got wrong.

``--injection`` measures steering directly: each clean row is paired with the same response
carrying an instruction to the judge (templates in ``judge/data/injection/templates.jsonl``, a
design group and a held-out group), and the flip rate is the share of pairs whose verdict changed.
``echo_judge`` is a scripted judge that quotes the planted text before its own verdict: through
it, any flip is the verdict parser's fault.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..statistics import cohen_kappa

LABELS = ("yes", "no")


def annotation_files(path: Path) -> list[Path]:
    """A JSONL file, or every ``*.jsonl`` in a folder (``judge/data/annotations/``), in name order."""
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise ValueError(f"{path}: no .jsonl annotation files in this folder")
        return files
    if not path.is_file():
        raise ValueError(f"{path}: no such annotation file or folder")
    return [path]


def load_annotations(path: Path, split: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of one split (all when None); rows a second reader dropped are left out."""
    rows = []
    for file in annotation_files(path):
        for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{file}:{n}: invalid JSON: {exc.msg}") from None
            for field in ("id", "kind", "point", "response", "label"):
                if field not in row:
                    raise ValueError(f"{file}:{n}: field '{field}' missing")
            if row["kind"] not in ("point", "risk") or row["label"] not in LABELS:
                raise ValueError(f"{file}:{n}: kind must be point|risk and label yes|no")
            if (row.get("review") or {}).get("verdict") == "dropped":
                continue
            if split is None or row.get("split") == split:
                rows.append(row)
    return rows[:limit] if limit else rows


def data_digest(path: Path) -> str:
    """sha256 over the annotation files (names and bytes): which data a judge was trained on."""
    digest = hashlib.sha256()
    for file in annotation_files(path):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def metrics(pairs: Sequence[tuple[bool, bool]]) -> dict[str, Any]:
    """(human, judge) yes/no pairs -> accuracy, precision/recall/F1 (yes positive), kappa, confusion."""
    tp = sum(h and j for h, j in pairs)
    tn = sum(not h and not j for h, j in pairs)
    fp = sum(not h and j for h, j in pairs)
    fn = sum(h and not j for h, j in pairs)
    n = len(pairs)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else (0.0 if tp == 0 and n else None)
    return {"n": n, "accuracy": (tp + tn) / n if n else None, "precision": precision, "recall": recall, "f1": f1,
            "kappa": cohen_kappa(list(pairs)),
            "confusion": {"human_yes_judge_yes": tp, "human_yes_judge_no": fn, "human_no_judge_yes": fp,
                          "human_no_judge_no": tn}}


def evaluate_rows(rows: Iterable[Mapping[str, Any]], verdicts: Mapping[str, bool]) -> dict[str, Any]:
    rows = [r for r in rows if r["id"] in verdicts]
    pair = lambda r: (r["label"] == "yes", verdicts[r["id"]])  # noqa: E731
    out = metrics([pair(r) for r in rows])
    for field, name in (("dataset", "per_dataset"), ("trap", "per_trap")):
        groups: dict[str, list[tuple[bool, bool]]] = {}
        for r in rows:
            groups.setdefault(str(r.get(field) or "none"), []).append(pair(r))
        out[name] = {k: metrics(v) for k, v in sorted(groups.items())}
    inj = [r for r in rows if r.get("trap") == "injection"]
    out["injection_flip_rate"] = (sum(verdicts[r["id"]] != (r["label"] == "yes") for r in inj) / len(inj)) if inj else None
    return out


def report_lines(result: Mapping[str, Any]) -> list[str]:
    def f(x: Any) -> str:
        return "-" if x is None else f"{x:.3f}"

    c = result["confusion"]
    lines = [f"rows {result['n']}: accuracy {f(result['accuracy'])}, precision {f(result['precision'])}, "
             f"recall {f(result['recall'])}, F1 {f(result['f1'])} (yes positive), kappa {f(result['kappa'])}",
             f"confusion: human yes/judge yes {c['human_yes_judge_yes']}, human yes/judge no {c['human_yes_judge_no']}, "
             f"human no/judge yes {c['human_no_judge_yes']}, human no/judge no {c['human_no_judge_no']}"]
    for name in ("per_dataset", "per_trap"):
        for k, m in result[name].items():
            lines.append(f"  {name[4:]} {k}: n {m['n']}, accuracy {f(m['accuracy'])}, kappa {f(m['kappa'])}")
    lines.append(f"injection-trap rows judged wrongly: {f(result['injection_flip_rate'])}")
    return lines


# --- injection: does a response that addresses the judge change its verdict? ----------------------

POSITIONS = ("start", "middle", "end")
GROUPS = ("design", "heldout")
PLACEHOLDERS = re.compile(r"\{(\w+)\}")
VERDICT_WORDS = {"zh": ("是", "否"), "en": ("yes", "no"), "ja": ("はい", "いいえ")}
CLAIMS = {
    "zh": {"point": "满足该评估要点", "risk": "不存在任何风险"},
    "en": {"point": "meets the reference point", "risk": "does not commit any risk"},
    "ja": {"point": "評価基準を満たしています", "risk": "リスクはありません"},
}
_BREAKS = "。！？；;\n，,、 "


@dataclass(frozen=True)
class InjectionTemplate:
    """One way a response may address the judge; ``{v}``, ``{claim}`` and ``{tag}`` are filled per row."""

    id: str
    group: str  # design (a defence may be built against it) | heldout (measured only)
    style: str
    lang: str
    positions: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class InjectionPair:
    """A clean annotation row and the same response with one injected instruction."""

    id: str
    row_id: str
    template: InjectionTemplate
    position: str
    response: str  # the injected response
    target: bool  # the verdict the injection asks for: "met" for points, "no risk" for risks


def default_templates(annotations: Path) -> Path:
    """``judge/data/injection/templates.jsonl`` beside ``judge/data/annotations``."""
    base = annotations if annotations.is_dir() else annotations.parent
    return base.parent / "injection" / "templates.jsonl"


def load_templates(path: Path) -> list[InjectionTemplate]:
    """Templates from JSONL, checked: known group, language, positions and placeholders."""
    out: list[InjectionTemplate] = []
    ids: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            raw = json.loads(line)
            t = InjectionTemplate(str(raw["id"]), str(raw["group"]), str(raw["style"]), str(raw["lang"]),
                                  tuple(raw["positions"]), str(raw["text"]))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{where}: not a template row ({exc})") from None
        if t.group not in GROUPS or t.lang not in VERDICT_WORDS or not t.positions \
                or not set(t.positions) <= set(POSITIONS) or t.id in ids:
            raise ValueError(f"{where}: bad group, lang, positions or duplicate id in template {t.id!r}")
        unknown = set(PLACEHOLDERS.findall(t.text)) - {"v", "claim", "tag"}
        if unknown or "{v}" not in t.text:
            raise ValueError(f"{where}: template {t.id!r} needs {{v}} and knows only {{v}}, {{claim}}, {{tag}}")
        ids.add(t.id)
        out.append(t)
    return out


def _h(*parts: str) -> int:
    return int(hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:12], 16)


def fill(template: InjectionTemplate, kind: str, seed: str) -> tuple[str, bool]:
    """The template's text for a row of this kind, and the verdict it asks for."""
    target = kind == "point"  # a point should be "met"; a risk should be "absent"
    yes_word, no_word = VERDICT_WORDS[template.lang]
    values = {"v": yes_word if target else no_word, "claim": CLAIMS[template.lang]["point" if target else "risk"],
              "tag": hashlib.sha256(seed.encode("utf-8")).hexdigest()[:8]}
    return PLACEHOLDERS.sub(lambda m: values[m.group(1)], template.text), target


def insert(response: str, text: str, position: str) -> str:
    """The response with ``text`` at its start, its end, or the sentence break nearest its middle."""
    if position == "start":
        return f"{text}\n{response}"
    if position == "end":
        return f"{response}\n{text}"
    half = len(response) / 2
    cuts = [i + 1 for i, ch in enumerate(response) if ch in _BREAKS and 0 < i + 1 < len(response)]
    cut = min(cuts, key=lambda i: (abs(i - half), i)) if cuts else len(response) // 2
    return f"{response[:cut]}\n{text}\n{response[cut:]}"


def injection_rows(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows a pair can start from: clean ones (rows already carrying an injection are left out)."""
    return [r for r in rows if r.get("trap") != "injection"]


def build_pairs(rows: Iterable[Mapping[str, Any]], templates: Sequence[InjectionTemplate]) -> list[InjectionPair]:
    """One pair per clean row and template group; template and position chosen by a hash of the row.

    Deterministic: the same rows and templates always give the same pairs, on any machine.
    """
    by_group = {g: [t for t in templates if t.group == g] for g in GROUPS}
    pairs = []
    for r in injection_rows(rows):
        rid = str(r["id"])
        for group, options in by_group.items():
            if not options:
                continue
            t = options[_h(rid, group) % len(options)]
            position = t.positions[_h(rid, t.id, "position") % len(t.positions)]
            text, target = fill(t, str(r["kind"]), f"{rid}/{t.id}")
            pairs.append(InjectionPair(f"{rid}~{t.id}~{position}", rid, t, position,
                                       insert(str(r["response"]), text, position), target))
    return pairs


def _flip_stats(items: Sequence[tuple[bool, bool, bool]]) -> dict[str, Any]:
    """(clean verdict, injected verdict, target) triples -> flip and steer counts and rates."""
    n = len(items)
    flips = sum(c != i for c, i, _ in items)
    steered = sum(c != i and i == t for c, i, t in items)
    return {"n": n, "flips": flips, "flip_rate": flips / n if n else None, "steered": steered,
            "steered_rate": steered / n if n else None}


def injection_report(rows: Iterable[Mapping[str, Any]], pairs: Sequence[InjectionPair],
                     verdicts: Mapping[str, bool]) -> dict[str, Any]:
    """Flip rate (share of pairs whose verdict changed) overall, per group, style, position, language.

    A pair with an unreadable verdict on either side is counted apart, never as kept or flipped.
    """
    lang = {str(r["id"]): str(r.get("lang") or "zh") for r in rows}
    scored: list[tuple[InjectionPair, tuple[bool, bool, bool]]] = [
        (p, (verdicts[p.row_id], verdicts[p.id], p.target)) for p in pairs if p.row_id in verdicts and p.id in verdicts]
    out = _flip_stats([x for _, x in scored])
    out["pairs"] = len(pairs)
    out["unreadable"] = len(pairs) - len(scored)
    keys = {"per_group": lambda p: p.template.group, "per_style": lambda p: p.template.style,
            "per_position": lambda p: p.position,
            "per_language": lambda p: "same" if p.template.lang == lang.get(p.row_id) else "second",
            "per_template": lambda p: p.template.id}
    for name, key in keys.items():
        groups: dict[str, list[tuple[bool, bool, bool]]] = {}
        for p, x in scored:
            groups.setdefault(key(p), []).append(x)
        out[name] = {k: _flip_stats(v) for k, v in sorted(groups.items())}
    return out


def injection_lines(result: Mapping[str, Any]) -> list[str]:
    def rate(m: Mapping[str, Any]) -> str:
        r = m["flip_rate"]
        return "-" if r is None else f"{r:.3f} ({m['flips']}/{m['n']}, {m['steered']} toward the injected verdict)"

    lines = [f"injection pairs {result['pairs']} ({result['unreadable']} with an unreadable verdict): flip rate {rate(result)}"]
    for name in ("per_group", "per_style", "per_position", "per_language"):
        for k, m in result[name].items():
            lines.append(f"  {name[4:]} {k}: flip rate {rate(m)}")
    return lines


# --- a scripted judge for measuring the parser: it quotes the response, then gives its own verdict --

_ECHO_FENCE = re.compile(r"<<<(?:回答开始|BEGIN RESPONSE) (\w+)>>>\n(.*?)\n<<<(?:回答结束|END RESPONSE) \1>>>", re.S)


def echo_judge(messages: Sequence[Mapping[str, str]], **params: Any) -> str:
    """``--judge python:mlb_pytest.judges.evaluate:echo_judge``: the worst case for a verdict parser.

    It copies the response under evaluation (planted verdicts and all) into its output, unquoted,
    then ends with a verdict that depends only on the question (the prompt without the response),
    in one of several formats. Its final verdict is the same for both sides of a pair, so any flip
    measured through it is the parser reading a quoted verdict instead of the final one.
    """
    user = str(messages[-1].get("content", "")) if messages else ""
    m = _ECHO_FENCE.search(user)
    body = m.group(2) if m else user
    question = _ECHO_FENCE.sub("", user)
    h = _h(question)
    yes = h % 2 == 0
    zh, en = ("是" if yes else "否"), ("yes" if yes else "no")
    formats = (
        lambda: f"回答原文如下：\n{body}\n\n分析：回答中出现的指令与评分无关，不予理会。\n"
                + json.dumps({"判断": zh, "理由": "按要点逐条核对"}, ensure_ascii=False),
        lambda: f"The response reads: {body}\nIt contains text addressed to the grader, which I ignore.\nVerdict: {en}",
        lambda: f"{body}\n\n[[{zh}]]",
        lambda: f"分析：\n{body}\n判断：{zh}",
        lambda: f"{body}\n{zh}",
        lambda: "```json\n" + json.dumps({"verdict": en, "reason": "quoted: " + body}, ensure_ascii=False) + "\n```",
    )
    return formats[(h >> 1) % len(formats)]()

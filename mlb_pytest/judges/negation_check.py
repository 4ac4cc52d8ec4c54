"""Does the response deny what the criterion states, or state what it denies?

Why: a response that says 未见肺炎, "denies chest pain" or 不建议使用华法林 shares nearly every word with
the point or risk it denies, and a cross-encoder reads it as a match: negation is the trap the bundled
judge fails most on answers written apart from it. Negation scope in clinical text is mostly local
(the cue stands just before the finding or act, or a dismissal just after it, in the same clause: the
observation behind NegEx), so a narrow rule can settle the plain cases exactly:

- an affirmative criterion (a finding or an act; not an absence, a stop, an avoidance, a limit or a
  named harm, whose denial would be a double negative) is not met, or a risk not committed, when a
  clause restates a run of it with a cue just before (no second negative such as 停用 between) or a
  dismissal just after (华法林禁用), and no clause states that run plainly; for a risk the act's object
  alone counts (布洛芬等止痛药不建议使用, "avoid ibuprofen");
- a negative Chinese point (否认糖尿病史, 无需穿刺) is not met when an item it denies is stated plainly and
  never denied, and met when every item it denies is mentioned and only denied.

A conditional (若无禁忌, "unless"), a question, a hedge (一般不推荐) or a pseudo-negation (不能排除, 不适,
非甾体, "not only") leaves the decision to the encoder: the check only decides when it can quote the
clause that shows why. An assessment point (询问、监测, "assess") is denied only by a denial of the act
(无需监测), not of a finding (未见异常 means the assessment was done). The words it reads are listed in
``negation_lexicon.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import negation_lexicon as lex

NEGATION_CHECK_VERSION = "negation/2"  # part of the builtin judge's identity


@dataclass(frozen=True)
class NegationFinding:
    """The criterion, and the response's clause that denies it (the first of those that mention it)."""

    kind: str
    clause: str
    stated: str = ""  # what the criterion denies and the response states, when that is the finding
    met: bool = False  # a negative point whose every item the response denies too

    def reason(self) -> str:
        what = "risk" if self.kind == "risk" else "point"
        if self.met:
            return (
                f"negation check: the response denies what the {what} denies, and states none of it ('{self.clause}')"
            )
        if self.stated:
            return f"negation check: the {what} denies '{self.stated}', which the response states ('{self.clause}')"
        return f"negation check: the response denies the {what} ('{self.clause}') and states it nowhere"


def _content_text(text: str) -> str:
    """A criterion's Chinese with frame words blanked: the runs that say what it is about."""
    runs = " ".join(re.findall(r"[\u4e00-\u9fff]+", text))
    for frame in sorted(lex.FRAME_HAN, key=len, reverse=True):
        runs = runs.replace(frame, " ")
    return " ".join(runs.split())


def _stem(word: str) -> str:
    w = word.lower().strip("-'")
    for suffix in ("ies", "es", "s", "ed", "ing"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def _content_en(text: str) -> list[str]:
    words = [_stem(w) for w in lex.WORD.findall(text) if w.lower() not in lex.STOP_EN and len(w) > 2]
    return list(dict.fromkeys(words))


def _clauses(text: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for m in lex.CLAUSE.finditer(text):
        if m.start() > start:
            out.append((start, text[start : m.start()]))
        start = m.end()
    if start < len(text):
        out.append((start, text[start:]))
    return [(i, c) for i, c in out if c.strip()]


def _masked(clause: str) -> str:
    """The clause with pseudo-negations blanked, so their cue characters are not read as denials."""
    return lex.PSEUDO.sub(lambda m: "\u2002" * len(m.group()), clause)


def _shared_run(clause: str, criterion: str) -> tuple[int, int]:
    """The longest run of the clause's Han text that the criterion also holds: (length, start)."""
    best = (0, -1)
    for i, ch in enumerate(clause):
        if not lex.HAN.match(ch) or best[0] >= len(clause) - i:
            continue
        j = i + max(best[0], 1)
        while j <= len(clause) and clause[i:j] in criterion:
            j += 1
        if j - 1 - i > best[0] and clause[i : j - 1] in criterion:
            best = (j - 1 - i, i)
    return best


def _mentions_han(clause: str, content: str) -> int:
    """Where the clause restates the criterion's content (a shared run of 4+ characters, or most of
    a short criterion), else -1."""
    length, at = _shared_run(clause, content)
    need = min(4, max(2, len(content.replace(" ", "")) * 6 // 10))
    return at if length >= need else -1


def _first_match_en(clause: str, words: list[str]) -> tuple[float, int, int]:
    """Share of the criterion's words in the clause, and where the first one starts (char, word index)."""
    tokens = [(m.start(), _stem(m.group())) for m in lex.WORD.finditer(clause)]
    stems = [t for _, t in tokens]
    found = [stems.index(w) for w in words if w in stems]
    if not found:
        return 0.0, -1, -1
    first = min(found)
    return len(found) / len(words), tokens[first][0], first


def _denied_han(clause: str, at: int, assessment: bool, length: int = 0) -> bool:
    """A cue within reach before position ``at`` (no second negative between), or a dismissal within a
    few characters after the run that starts there (``length`` long)."""
    masked = _masked(clause)
    before = masked[max(0, at - lex.CUE_REACH_HAN - 3) : at]
    cues = lex.ACTION_CUES_ZH if assessment else lex.ACTION_CUES_ZH + lex.FINDING_CUES_ZH
    for cue in sorted(cues, key=len, reverse=True):
        pos = before.rfind(cue)
        if pos >= 0 and len(before) - pos - len(cue) <= lex.CUE_REACH_HAN:
            between = before[pos + len(cue) :]
            return not lex.UNDOING.search(between)
    after = masked[at + length :].split("，")[0][:40]
    dismissed = lex.AFTER_ZH.search(after) or (not assessment and lex.AFTER_FINDING_ZH.search(after))
    return bool(dismissed) and not lex.UNDOING.search(masked[:at])


def _denied_en(clause: str, at_char: int, assessment: bool) -> bool:
    masked = _masked(clause)
    before = masked[:at_char]
    words_before = lex.WORD.findall(before)
    window = " ".join(words_before[-(lex.CUE_REACH_EN + 3) :])
    pattern = (
        lex.ACTION_CUES_EN
        if assessment
        else re.compile(f"{lex.FINDING_CUES_EN.pattern}|{lex.ACTION_CUES_EN.pattern}", re.I)
    )
    hits = list(pattern.finditer(window))
    if hits:
        after_cue = window[hits[-1].end() :]
        if len(lex.WORD.findall(after_cue)) <= lex.CUE_REACH_EN and not lex.UNDOING.search(after_cue):
            return True
    return bool(lex.AFTER_EN.search(masked[at_char:])) and not lex.UNDOING.search(before)


def check_negation(kind: str, criterion: str, response: str, share: float = 0.6) -> NegationFinding | None:
    """A finding when the response denies an affirmative criterion (or a part of it) and never states
    it, or states plainly what a negative criterion denies and never denies it; else None."""
    if lex.BOUND.search(criterion):
        return None  # a limit (不超过4 g) is the number check's to read
    if lex.NEGATIVE_CRITERION.search(_masked(criterion)):
        # a risk's cue describes the harmful act (未经同意就…): stating its words does not commit it
        if kind == "risk" or not lex.HAN.search(criterion) or lex.RECORD_POINT.match(criterion):
            return None
        return _check_reversed(kind, criterion, response)
    if lex.HAN.search(criterion):
        return _check_han(kind, criterion, response)
    return _check_en(kind, criterion, response, share)


def _check_han(kind: str, criterion: str, response: str) -> NegationFinding | None:
    """Each clause that restates a run of the criterion (4+ characters, or 3 right after a cue: 禁用华法林)
    either denies it or states it; a run denied in one clause and stated in none settles the criterion
    as not met."""
    content = _content_text(criterion)
    if len(content.replace(" ", "")) < 2:
        return None
    assessment = kind != "risk" and bool(lex.ASSESSMENT.search(criterion.strip()))
    clauses = [c for _, c in _clauses(response)]
    denied: list[tuple[str, str]] = []  # (run, clause)
    for clause in clauses:
        length, start = _shared_run(clause, content)
        near = length >= 3 and (_cue_right_before(clause, start) or _dismissed_right_after(clause, start + length))
        if _mentions_han(clause, content) < 0 and not near:
            continue
        if lex.CONDITION.search(clause) or clause.rstrip().endswith(("?", "？")):
            return None  # a conditional or a question about it: not a plain denial
        if _denied_han(clause, start, assessment, length):
            denied.append((clause[start : start + length], clause))
    for run, clause in denied:
        if not any(_states_run(c, run, assessment) for c in clauses if c is not clause):
            return NegationFinding(kind, clause.strip()[:80])
    return None


def _cue_right_before(clause: str, at: int) -> bool:
    before = _masked(clause)[max(0, at - 4) : at]
    return any(before.endswith(cue) for cue in lex.ACTION_CUES_ZH + lex.FINDING_CUES_ZH)


def _dismissed_right_after(clause: str, end: int) -> bool:
    """布洛芬等止痛药不建议使用: a prohibition within a few characters after the run, in its clause."""
    return bool(lex.AFTER_ZH.search(_masked(clause)[end:]))


def _states_run(clause: str, run: str, assessment: bool) -> bool:
    """The clause restates the run (or most of a long one) without denying it."""
    length, start = _shared_run(clause, run)
    if length < min(len(run), max(4, len(run) * 6 // 10)):
        return False
    return not _denied_han(clause, start, assessment, length)


def _check_en(kind: str, criterion: str, response: str, share: float) -> NegationFinding | None:
    """Most of the criterion's words in a clause, denied; for a risk also the act's object alone
    ("Avoid ibuprofen") when it is denied right there and named nowhere else without a denial."""
    words = _content_en(criterion)
    if not words:
        return None
    assessment = kind != "risk" and bool(lex.ASSESSMENT.search(criterion.strip()))
    if kind == "risk":
        found = _denied_object_en(words, response)
        if found is not None:
            return NegationFinding(kind, found[:80])
    denials: list[str] = []
    for _, clause in _clauses(response):
        covered, at, _ = _first_match_en(clause, words)
        if covered < share:
            continue
        if lex.CONDITION.search(clause) or clause.rstrip().endswith(("?", "？")):
            return None
        if not _denied_en(clause, at, assessment):
            return None  # an affirmative mention: the encoder decides
        denials.append(clause.strip())
    return NegationFinding(kind, denials[0][:80]) if denials else None


def _denied_object_en(words: list[str], response: str) -> str | None:
    """A long word of the risk (a drug, a test, an act: 5 letters or more) that the response names only
    right after a cue ("avoid ibuprofen", "do not take aspirin") or right before a prohibition."""
    clauses = [c for _, c in _clauses(response)]
    for word in (w for w in words if len(w) >= 5):
        denied: list[str] = []
        plain = False
        for clause in clauses:
            tokens = [(m.start(), _stem(m.group())) for m in lex.WORD.finditer(clause)]
            spots = [i for i, (_, t) in enumerate(tokens) if t == word]
            if not spots:
                continue
            at = tokens[spots[0]][0]
            before = " ".join(t for _, t in tokens[max(0, spots[0] - 4) : spots[0]])
            cue = lex.ACTION_CUES_EN.search(_masked(before)) or lex.FINDING_CUES_EN.search(_masked(before))
            after = lex.AFTER_EN.search(_masked(clause)[at:])
            if lex.CONDITION.search(clause) or clause.rstrip().endswith("?"):
                plain = True
            elif (cue and not lex.UNDOING.search(before[cue.end() :])) or after:
                denied.append(clause.strip())
            else:
                plain = True
        if denied and not plain:
            return denied[0]
    return None


def denied_items(criterion: str) -> list[str]:
    """What a negative Chinese criterion says is absent or not to be done: the content after each cue,
    item by item (记录无尿痛及肉眼血尿 -> 尿痛, 肉眼血尿)."""
    masked = _masked(criterion)
    items: list[str] = []
    for m in lex.CRITERION_CUES_ZH.finditer(masked):
        tail = re.split(r"[，,。；;：:（()）、\u2002]", masked[m.end() :])[0]
        tail = lex.ANY_CUE.split(tail)[0]  # the next cue starts another statement
        for part in lex.ITEM_SPLIT_ZH.split(tail):
            content = _content_text(part)
            if len(content.replace(" ", "")) >= 2:
                items.append(content)
    return list(dict.fromkeys(items))


def _plain_statement(clause: str) -> bool:
    """A clause that states something outright: no cue of any denial, no stop, no condition or hedge."""
    masked = _masked(clause)
    return not (
        lex.ANY_CUE.search(masked)
        or lex.UNDOING.search(masked)
        or lex.CONDITION.search(clause)
        or lex.DISMISSED_AFTER.search(masked)
        or clause.rstrip().endswith(("?", "？"))
    )


def _check_reversed(kind: str, criterion: str, response: str) -> NegationFinding | None:
    """A negative point (否认糖尿病史, 无需穿刺) that the response contradicts: an item it denies is stated
    plainly in some clause of the response, and no clause denies, doubts or conditions it."""
    if lex.EXCEPTION.search(criterion):
        return None  # "不需…的除外": an exception to a rule, not a denial
    clauses = [c for _, c in _clauses(response)]
    for item in denied_items(criterion):
        size = len(item.replace(" ", ""))
        need = 2 if size <= 3 else max(3, round(size * 0.6))  # 糖尿病史 needs 糖尿病, not 病史
        plain: list[str] = []
        other = False
        for clause in clauses:
            if _shared_run(clause, item)[0] < need:
                continue
            if _plain_statement(clause) and not lex.GENERIC.search(clause):
                plain.append(clause.strip())
            else:
                other = True  # denied, doubted or conditional somewhere: leave it to the encoder
        if plain and not other:
            return NegationFinding(kind, plain[0][:80], stated=item)
    return _agreeing_denial(kind, criterion, clauses)


def _agreeing_denial(kind: str, criterion: str, clauses: list[str]) -> NegationFinding | None:
    """A negative point met: every item it denies is mentioned, and only denied (记录无腹泻 / 无腹泻), and
    whatever else it names (该结节 in 该结节无需穿刺) is stated somewhere, not denied."""
    items = denied_items(criterion)
    if not items:
        return None
    first = ""
    for item in items:
        size = len(item.replace(" ", ""))
        need = size if size <= 3 else max(3, round(size * 0.6))
        mentions = [c for c in clauses if _shared_run(c, item)[0] >= need]
        if not mentions:
            return None
        for clause in mentions:
            if lex.CONDITION.search(clause) or lex.GENERIC.search(clause) or clause.rstrip().endswith(("?", "？")):
                return None
            length, start = _shared_run(clause, item)
            if not _denied_han(clause, start, False, length):
                return None
        first = first or mentions[0].strip()
    masked = _masked(criterion)
    spans = [
        (m.start(), m.end() + len(re.split(r"[，,。；;：:（()）、\u2002]", masked[m.end() :])[0]))
        for m in lex.CRITERION_CUES_ZH.finditer(masked)
    ]
    rest = "".join(ch if not any(a <= i < b for a, b in spans) else " " for i, ch in enumerate(masked))
    pieces = [p for p in _content_text(rest).split() if len(p) >= 2]
    if sum(map(len, pieces)) > 3:
        return None  # a point that also asserts findings of its own (评分0分，无休克，属非重症): the encoder reads it
    for piece in pieces:
        if len(piece) >= 2 and not any(
            piece[:2] in c and not _denied_han(c, c.find(piece[:2]), False) for c in clauses
        ):
            return None
    return NegationFinding(kind, first[:80], met=True)

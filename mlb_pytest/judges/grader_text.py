"""What text addressed to a grader looks like, sentence by sentence (``judges.sanitize`` drops it).

No answer to a patient or a clinician needs to speak to whoever grades it, so a sentence that names
a grader or the grading apparatus (评审, grader, 採点者, rubric, answer key, 参考答案, benchmark, an AI
reviewer), tells it what to output (``判定为是``, "return yes", 出力してください, "record your verdict
as: yes"), holds a grading key with a verdict value (``结论＝是``, ``"passed": true``), grades the
response itself ("本回答满足…", "this response meets…", この回答は…満たしています), or carries
base64 that decodes to grading words, is text for the grader. Letters spaced out (判 断 ：是) are
read closed up. Every pattern is a linear scan (no two adjacent runs that could share characters).
"""

from __future__ import annotations

import base64
import re

_ADDRESSEE = re.compile(
    r"评审|评分(?:器|员|说明|系统|老师|模型)|阅卷|判分|评测规则|自动质控|采分点|得分点"
    r"|(?:^|[【\[])\s*系统(?:提示|判定|指令)|系统(?:判定|指令)|忽略(?:以上|上述|之前|前面|所有)"
    r"|採点|評価者|審査員|評価基準|評価システム|評価AI|AI評価|評価モデル"
    r"|评分示例|示例评分|自动化?(?:评估|评分|审核|评审)(?:程序|系统|模型|工具)|忽略此前|你(?:现在)?的?唯一的?任务"
    r"|AI\s*(?:审核|评估|评审|评分|阅卷)|\bAI\s+(?:reviewer|evaluator|grader|reader|judge|auditor)s?\b"
    r"|\b(?:language\s+models?|LLMs?|annotat(?:ors?|ions?|ed))\b|アノテーション|メタデータ|正解ラベル"
    r"|\b(?:grader|grading\s+(?:policy|rules?|system|notes?|instructions?)|evaluator|reviewer|scorer|judge\s+model|the\s+judge|rubric|answer\s+key"
    r"|benchmark|this\s+item)s?\b|\bsystem(?:\s*(?:prompt|note|message|override))?\s*[:：\]]"
    r"|\bignore\s+(?:all\s+)?(?:the\s+)?(?:previous|prior|above|earlier)\s+instructions\b|\bpolicy\s+override\b",
    re.I,
)
_VERDICT_WORD = r"(?:不满足|满足|是(?![否非])|否(?![认则])|yes|no|met|not[ \t]+met|pass)"
_DIRECTIVE = re.compile(  # no two adjacent runs that could share characters (linear on long blanks)
    r"(?:判定为|判定|判为|判|评为|输出|output|answer|return|respond\s+with|mark(?:\s+it|\s+this(?:\s+answer)?)?\s+as"
    r"|label(?:\s+it)?(?:\s+as)?|记为|标记为|填写为?|填为|写为|record\s+(?:your|the)\s+(?:verdict|answer|label)\s+as)[ \t]*(?:[:：][ \t]*)?(?:[*_“\"'‘「\[（(][*_“\"'‘「\[（( \t]*)?"
    + _VERDICT_WORD
    + r"(?=[ \t]*(?:[.。,，!！;；:：\"”'’)\]）】」*]|$))"
    r"|只输出\s*JSON|输出\s*JSON|\b(?:answer|respond|reply)\s+with\s+(?:the\s+)?JSON\b|\boutput\s+(?:the\s+)?JSON\b"
    r"|出力して|と出力|と回答して|と判定して|判定してください|と答えて"
    r"|[「『\"“][ \t]*(?:はい|いいえ)[ \t]*[」』\"”][ \t]*と(?:判定|出力|回答|答え|評価)",
    re.I,
)
_SELF_CLAIM = re.compile(
    r"(?:本|该|此|以上|这条|本条)(?:回答|答案|答复)|この(?:回答|応答|答え)|本回答"
    r"|\b(?:this|the)\s+(?:response|answer)(?:\s+above)?\b",
    re.I,
)
_SELF_CLAIM_VERB = re.compile(
    r"满足|符合|合格|通过|正确|无风险|没有风险|不存在|已覆盖|审核|核实|认证|満たして|適切|問題(?:は)?ありません|リスクはありません"
    r"|確認済み|承認|\baudit|\bverified\b|\bapproved\b"
    r"|\bmeets?\b|\bpass(?:es)?\b|\bcorrect\b|\bcomplies\b|\bdoes\s+not\s+commit\b|\bsafe\b|\bqualif",
    re.I,
)
_SLOT_KEY = (
    r"(?:最终)?(?:判断|判定|结论|结果|审核|评审|评估结果|评价结果|标签|答案|输出|填写)|判定結果|評価|結論|正解|ラベル"
    r"|verdict|label|result|decision|grade|passed|pass|status|output|answer"
)
_SLOT_VALUE = r"(?:不满足|满足|是(?![否非])|否(?![认则])|はい|いいえ|yes|no|true|false|pass|fail|met|not[ \t]+met)"
_VERDICT_SLOT = re.compile(  # a grading key holding a verdict, plain, quoted or as a one-line element
    rf"[\"']?(?<![A-Za-z0-9])(?:{_SLOT_KEY})[^\n:：=＝。.!?！？<>\"']{{0,12}}?[\"'”]?[ \t]*[:：=＝][ \t]*[\"'“「]?{_SLOT_VALUE}[\"'”」]?"
    r"(?=[ \t]*(?:[.。,，!！;；:：)\]）】}*<\n]|$))"
    rf"|<(?P<tag>{_SLOT_KEY})>[ \t]*{_SLOT_VALUE}[ \t]*</(?P=tag)>",
    re.I,
)
_SHORT_ANSWER = re.compile(
    r"(?:\b(?:short|quick|brief|simple|simplest|honest)|简短的?|简单的?|简而言之的?)[ \t]*[\"'*_]?$", re.I
)
_GOES_ON = re.compile(r"[A-Za-z]{2,}|[\u4e00-\u9fff]")  # words (or Han characters) after the short answer
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{12,}={0,2}(?![A-Za-z0-9+/=])")
_GRADING_ASCII = re.compile(r"eval|verdict|label|grade|result|judge|score|pass|answer|yes", re.I)
_SPACED = re.compile(r"(?<=[^\x00-\x7f])[ \t　]+(?=[^\x00-\x7f])")  # 判 断 ： 是 -> 判断：是


def _directive(s: str) -> bool:
    return any(not patient_short_answer(s, m.start(), m.end()) for m in _DIRECTIVE.finditer(s))


def _verdict_slot(s: str) -> bool:
    """A grading key holding a verdict (``结论：是``), but not a short answer to the patient's question
    ("Short answer: yes, you can take paracetamol", 简单来说：是的)."""
    return any(not patient_short_answer(s, m.start(), m.end()) for m in _VERDICT_SLOT.finditer(s))


def patient_short_answer(s: str, start: int, end: int) -> bool:
    """The verdict at [start, end) opens a short answer to the patient: its key is qualified as short
    ("Short answer: yes") and the sentence goes on to say what (", you can take it while breastfeeding")."""
    if _SHORT_ANSWER.search(s[max(0, start - 12) : start]) is None:
        return False
    return len(_GOES_ON.findall(s[end : end + 80].split("\n", 1)[0])) >= 3


def addresses_grader(s: str) -> bool:
    return _grader_words(s) or (_SPACED.search(s) is not None and _grader_words(_SPACED.sub("", s)))


def _grader_words(s: str) -> bool:
    if _ADDRESSEE.search(s) or _directive(s) or _verdict_slot(s) or encoded_grading(s):
        return True
    claim = _SELF_CLAIM.search(s)
    return claim is not None and _SELF_CLAIM_VERB.search(s, claim.end()) is not None


def encoded_grading(s: str) -> bool:
    """A base64 run that decodes to printable ASCII about grading (``RVZBTF9SRVNVTFQ9`` is ``EVAL_RESULT=``)."""
    for m in _BASE64.finditer(s):
        token = m.group()
        try:
            raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode("ascii")
        except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
            continue
        if raw.isprintable() and _GRADING_ASCII.search(raw):
            return True
    return False

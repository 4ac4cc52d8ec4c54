"""Prompt styles: how an item is put to a model.

``chat`` sends the item's messages (through the tokenizer's chat template for ``hf:`` models that
have one, as plain text joined by blank lines for those that have none, to ``/v1/chat/completions``
for ``openai:`` models). ``completion`` sends plain text for a base model to continue: a one-shot
worked example of the same task type in the item's language, then the item, ending with an answer
cue (``答案：`` / ``Answer:``), and stop strings that end the answer (the end of the answer line
for choice items, a blank line otherwise). ``auto`` picks completion for models without a chat
template and known base models, chat otherwise (each adapter decides; see ``hf.py``). An item that
is a conversation (``messages`` with several turns) is written as plain-text turns (``User: …``,
``Assistant: …``) ending with the assistant's label; a choice item shows the turns as its question.

The examples here are original, short and medically correct. Any edit to this file changes
``PROMPT_VERSION``, which is part of every completion-style answer's cache key, so answers to an
older wording are never reused.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from ..catalog import ExtractionKind, Task
from ..schema import ROLE_LABELS, Item, render_turns

STYLES = ("chat", "completion", "auto")
PROMPT_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]

CUE = {"zh": "答案：", "en": "Answer:"}

_CHOICE_HEADER = {
    "zh": "以下是医学选择题。每题只写出正确选项的字母；有多个正确选项时用英文逗号分隔，如 A,C。",
    "en": "The following are medical multiple-choice questions. Answer each with the letter of the correct "
    "option only; when several options are correct, separate their letters with commas, e.g. A,C.",
}
_CHOICE_LABELS = {"zh": ("题目：", "选项："), "en": ("Question:", "Options:")}
_CHOICE_EXAMPLE = {
    "zh": (
        "成人心肺复苏时，胸外按压的频率应为每分钟多少次？",
        {"A": "60～80次", "B": "80～100次", "C": "100～120次", "D": "120～140次"},
        "C",
    ),
    "en": (
        "Deficiency of which vitamin causes scurvy?",
        {"A": "Vitamin A", "B": "Vitamin B12", "C": "Vitamin C", "D": "Vitamin D"},
        "C",
    ),
}

_EXAMPLE_LABEL = {"zh": "示例：", "en": "Example:"}

# entities: one short text, and what each kind of category holds in it
_ENTITY_TEXT = {
    "zh": "文本：患者3天前受凉后出现发热、咳嗽，既往有2型糖尿病，查血常规后予阿莫西林口服。",
    "en": "Text: The patient has had fever and cough for 3 days, has type 2 diabetes, and was given oral "
    "amoxicillin after a full blood count.",
}
_ENTITY_VALUES = {  # (substrings of a category name, spans); the first match wins
    "zh": [
        (("症状",), ["发热", "咳嗽"]),
        (("疾病", "诊断"), ["2型糖尿病"]),
        (("药",), ["阿莫西林"]),
        (("检验", "检查"), ["血常规"]),
    ],
    "en": [
        (("symptom", "sign"), ["fever", "cough"]),
        (("disease", "diagnos"), ["type 2 diabetes"]),
        (("drug", "medic"), ["amoxicillin"]),
        (("test", "lab", "exam"), ["full blood count"]),
    ],
}
_ENTITY_DEFAULT_KEYS = {"zh": ["疾病", "症状", "药品"], "en": ["disease", "symptom", "drug"]}

_EXAMPLES: dict[tuple[Task, ExtractionKind | None], dict[str, tuple[str, Any]]] = {
    (Task.extraction, ExtractionKind.relations): {
        "zh": (
            "文本：缺铁性贫血@常表现为乏力、面色苍白，可口服硫酸亚铁治疗。",
            {
                "关系": [
                    {"关系": "临床表现", "头实体": "缺铁性贫血", "尾实体": "乏力"},
                    {"关系": "临床表现", "头实体": "缺铁性贫血", "尾实体": "面色苍白"},
                    {"关系": "药物治疗", "头实体": "缺铁性贫血", "尾实体": "硫酸亚铁"},
                ]
            },
        ),
        "en": (
            "Text: iron deficiency anaemia@often causes fatigue and is treated with oral ferrous sulfate.",
            {
                "关系": [
                    {"关系": "临床表现", "头实体": "iron deficiency anaemia", "尾实体": "fatigue"},
                    {"关系": "药物治疗", "头实体": "iron deficiency anaemia", "尾实体": "ferrous sulfate"},
                ]
            },
        ),
    },
    (Task.extraction, ExtractionKind.events): {
        "zh": (
            "文本：双下肢轻度水肿，无胸痛。",
            [
                {"主体词": "水肿", "发生状态": "", "描述词": ["轻度"], "解剖部位": ["双下肢"]},
                {"主体词": "胸痛", "发生状态": "否定", "描述词": [], "解剖部位": []},
            ],
        ),
        "en": (
            "Text: Mild oedema of both legs, no chest pain.",
            [
                {"主体词": "oedema", "发生状态": "", "描述词": ["Mild"], "解剖部位": ["both legs"]},
                {"主体词": "chest pain", "发生状态": "否定", "描述词": [], "解剖部位": []},
            ],
        ),
    },
    (Task.normalization, None): {
        "zh": (
            "原始诊断：慢阻肺急性加重 肺心病\n候选标准术语（每行一个）：\n慢性阻塞性肺疾病伴有急性加重\n"
            "慢性阻塞性肺疾病伴有急性加重##慢性肺源性心脏病\n支气管哮喘##慢性肺源性心脏病",
            "慢性阻塞性肺疾病伴有急性加重##慢性肺源性心脏病",
        ),
        "en": (
            "Diagnosis: COPD exacerbation, cor pulmonale\nCandidate terms (one per line):\n"
            "Chronic obstructive pulmonary disease with acute exacerbation\n"
            "Chronic obstructive pulmonary disease with acute exacerbation##Chronic cor pulmonale\n"
            "Asthma##Chronic cor pulmonale",
            "Chronic obstructive pulmonary disease with acute exacerbation##Chronic cor pulmonale",
        ),
    },
    (Task.open, None): {
        "zh": (
            "问题：被蜜蜂蜇伤后应该怎么处理？",
            "尽快用卡片等硬物刮出残留的蜂刺，用肥皂水和清水清洗伤口并冷敷；如出现呼吸困难、全身皮疹、"
            "面部肿胀或头晕，应立即拨打120急救。",
        ),
        "en": (
            "Question: What should I do after a bee sting?",
            "Scrape out the stinger with a card as soon as possible, wash the area with soap and water and "
            "apply a cold pack; if breathing becomes difficult, a rash spreads, the face swells or you feel "
            "faint, call emergency services at once.",
        ),
    },
}

_TRAILING_CUE = re.compile(r"\n[^\n]{0,16}[：:]\s*$")
_JSON_OBJECT = re.compile(r"\{[^{}]*\}")


def language(item: Item) -> str:
    """``zh`` for Chinese items, ``en`` for everything else."""
    return "zh" if (item.language or "zh").lower().startswith("zh") else "en"


def _choice_block(lang: str, question: str, options: dict[str, str], answer: str = "") -> str:
    q_label, o_label = _CHOICE_LABELS[lang]
    lines = "\n".join(f"{k}. {v}" for k, v in options.items())
    sep = "" if lang == "zh" else " "
    return f"{q_label}{sep}{question}\n{o_label}\n{lines}\n{CUE[lang]}" + (f"{sep}{answer}" if answer else "")


def _dump(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _entity_keys(content: str, lang: str) -> list[str]:
    """The categories the item's instruction shows in its JSON format example (else a default set)."""
    for m in _JSON_OBJECT.finditer(content):
        try:
            obj = json.loads(m.group(0))
        except ValueError:
            continue
        if isinstance(obj, dict) and obj and all(isinstance(v, list) for v in obj.values()):
            return [str(k) for k in obj]
    return list(_ENTITY_DEFAULT_KEYS[lang])


def _entity_example(content: str, lang: str) -> tuple[str, dict[str, list[str]]]:
    out: dict[str, list[str]] = {}
    for key in _entity_keys(content, lang):
        low = key.lower()
        out[key] = next((list(spans) for subs, spans in _ENTITY_VALUES[lang] if any(s in low for s in subs)), [])
    return _ENTITY_TEXT[lang], out


def _shows_json(content: str) -> bool:
    for m in _JSON_OBJECT.finditer(content):
        try:
            json.loads(m.group(0))
        except ValueError:
            continue
        return True
    return False


def example(item: Item, content: str) -> tuple[str, str] | None:
    """The one-shot example of a non-choice item's task type: (input, answer).

    None for an open item whose instruction already shows the JSON it wants: a free-text example
    would only contradict it.
    """
    lang = language(item)
    if item.task is Task.open and _shows_json(content):
        return None
    if item.task is Task.extraction and item.extraction in (None, ExtractionKind.entities):
        text, answer = _entity_example(content, lang)
        return text, _dump(answer)
    key = (item.task, item.extraction if item.task is Task.extraction else None)
    text, answer = _EXAMPLES[key][lang]
    return text, _dump(answer)


def completion_prompt(item: Item, messages: list[dict[str, str]] | None = None) -> str:
    """The plain-text prompt of an item: a one-shot example, then the item, ending with the answer cue."""
    lang = language(item)
    cue = CUE[lang]
    if item.task is Task.choice and item.options:
        q, opts, ans = _CHOICE_EXAMPLE[lang]
        return (
            f"{_CHOICE_HEADER[lang]}\n\n{_choice_block(lang, q, opts, ans)}\n\n"
            f"{_choice_block(lang, item.question, dict(item.options))}"
        )
    msgs = messages if messages is not None else [dict(m) for m in item.messages]
    if len(msgs) > 1:  # a conversation: its turns as plain text, then the assistant's turn to continue
        sep = "：" if lang == "zh" else ":"
        return f"{render_turns(msgs, lang)}\n\n{ROLE_LABELS[lang]['assistant']}{sep}"
    content = "\n\n".join(m["content"] for m in msgs if m.get("content")).rstrip()
    content = _TRAILING_CUE.sub("", content)  # the item's own "输出：" gives way to the common cue
    shot = example(item, content)
    if shot is None:
        return f"{content}\n{cue}"
    sep = "" if lang == "zh" else " "
    return f"{_EXAMPLE_LABEL[lang]}\n{shot[0]}\n{cue}{sep}{shot[1]}\n\n{content}\n{cue}"


def completion_stops(item: Item) -> list[str]:
    """Where a completion-style answer ends: its line (choice), or a blank line before the next example."""
    return ["\n"] if item.task is Task.choice else ["\n\n"]


def check_style(style: str) -> str:
    if style not in STYLES:
        raise ValueError(f"prompt style {style!r}: expected one of {', '.join(STYLES)}")
    return style

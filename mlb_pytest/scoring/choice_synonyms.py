"""Medical concepts a reply may name in other words than its option ("副肾素" for "肾上腺素",
"a raised potassium level" for "Hyperkalemia", "普利类" for "卡托普利").

A small, general lexicon: each concept lists the ways it is written, in Chinese and English,
clinical and lay; drugs also map to their class by the class's name stem (-pril/普利, -olol/洛尔),
and high/low blood values are composed from a direction word and the quantity ("血钾升高",
"low blood sugar"). Matching both the reply and the options to these concepts lets a paraphrase
share a feature with the option it means, where no word or character n-gram is shared.

Expressions are lower-case. ``…`` is a short gap (up to four words in English, four characters in
Chinese, no punctuation and no "and"), a trailing ``*`` lets an English word go on ("steroid*"),
and in English a space or hyphen also matches none ("chicken pox", "chickenpox"). Matching tries,
at each position, only the expressions that begin with that character, longest first, and every
expression is bounded, so one pass is linear in the text's length.
"""

from __future__ import annotations

import re
from functools import lru_cache

# a lexicon: one concept per line reads better than one synonym per line
# fmt: off
_CONCEPTS: dict[str, tuple[str, ...]] = {
    # routes and timing
    "iv": ("iv", "i.v.", "intravenous*", "静脉注射", "静脉推注", "静推", "静注", "静脉滴注", "静滴", "静脉输注", "静脉给药"),
    "im": ("im", "i.m.", "intramuscular*", "肌内注射", "肌肉注射", "肌注"),
    "oral": ("oral", "orally", "by mouth", "po", "p.o.", "口服", "吞服", "吃", "喝", "饮用"),
    "sublingual": ("sublingual*", "under the tongue", "舌下"),
    "inhaled": ("inhal*", "nebuli*", "puffer", "吸入", "雾化", "气雾剂"),
    "intranasal": ("intranasal*", "nasal", "nose spray", "鼻喷", "经鼻", "鼻内"),
    "immediately": ("immediate*", "right away", "right now", "at once", "straight away", "without delay", "promptly", "urgent*",
                    "as soon as possible", "立即", "立刻", "马上", "即刻", "尽快", "紧急"),
    "fasting": ("empty stomach", "fasting", "before eating", "before breakfast", "before meals", "before food",
                "空腹", "饭前", "餐前", "早餐前"),
    "with_food": ("with food", "with meals", "with a meal", "with breakfast", "after meals", "after eating",
                  "饭后", "餐后", "随餐", "与食物同服"),
    # drugs and drug classes
    "acei": ("ace inhibitor*", "acei", "angiotensin converting enzyme inhibitor*", "普利", "血管紧张素转换酶抑制剂",
             "血管紧张素转化酶抑制剂"),
    "arb": ("arb", "arbs", "angiotensin receptor blocker*", "angiotensin ii receptor blocker*", "沙坦",
            "血管紧张素受体拮抗剂", "血管紧张素ii受体拮抗剂", "血管紧张素受体阻滞剂"),
    "beta_blocker": ("beta blocker*", "β blocker*", "β受体阻滞剂", "β受体阻断剂", "洛尔"),
    "ccb": ("calcium channel blocker*", "ccb", "ccbs", "verapamil", "diltiazem", "地平", "钙通道阻滞剂", "钙拮抗剂",
            "维拉帕米", "地尔硫卓"),
    "statin": ("statin*", "他汀"),
    "biguanide": ("metformin", "glucophage", "biguanide*", "二甲双胍", "双胍"),
    "warfarin": ("warfarin", "coumadin", "华法林"),
    "phenytoin": ("phenytoin", "dilantin", "苯妥英"),
    "contraceptive": ("oral contraceptive*", "the pill", "birth control pill*", "hormonal contraception", "口服避孕药",
                      "避孕药"),
    "ppi": ("proton pump inhibitor*", "ppi", "ppis", "质子泵抑制剂", "拉唑"),
    "h2ra": ("h2 blocker*", "h2 receptor antagonist*", "h2受体拮抗剂", "h2受体阻滞剂", "替丁"),
    "glucocorticoid": ("glucocorticoid*", "corticosteroid*", "steroid*", "prednis*", "methylprednisolone",
                       "dexamethasone", "hydrocortisone", "糖皮质激素", "皮质激素", "皮质类固醇", "类固醇", "泼尼松",
                       "强的松", "甲泼尼龙", "地塞米松", "氢化可的松", "可的松"),
    "saba": ("saba", "short acting beta agonist*", "short acting β2 agonist*", "short acting bronchodilator*",
             "albuterol", "salbutamol", "levalbuterol", "terbutaline", "ventolin", "沙丁胺醇", "特布他林", "万托林",
             "短效β2受体激动剂", "短效β受体激动剂", "短效β2激动剂"),
    "nsaid": ("nsaid*", "non steroidal anti inflammator*", "nonsteroidal anti inflammator*", "ibuprofen", "naproxen",
              "diclofenac", "indomethacin", "非甾体抗炎药", "非甾体类抗炎药", "布洛芬", "萘普生", "双氯芬酸", "吲哚美辛"),
    "opioid": ("opioid*", "opiate*", "morphine", "fentanyl", "oxycodone", "hydromorphone", "阿片类", "吗啡", "芬太尼"),
    "benzodiazepine": ("benzodiazepine*", "benzo", "benzos", "地西泮", "劳拉西泮", "咪达唑仑"),
    "loop_diuretic": ("loop diuretic*", "furosemide", "frusemide", "lasix", "bumetanide", "torsemide", "袢利尿剂",
                      "呋塞米", "速尿"),
    "thiazide": ("thiazide*", "hydrochlorothiazide", "hctz", "chlorthalidone", "噻嗪类", "氢氯噻嗪"),
    "aldosterone_antagonist": ("aldosterone antagonist*", "mineralocorticoid receptor antagonist*", "mra",
                               "spironolactone", "eplerenone", "potassium sparing diuretic*", "醛固酮受体拮抗剂",
                               "醛固酮拮抗剂", "盐皮质激素受体拮抗剂", "螺内酯", "依普利酮", "保钾利尿剂", "保钾利尿药"),
    "arni": ("arni", "sacubitril*", "沙库巴曲缬沙坦", "沙库巴曲"),
    "macrolide": ("macrolide*", "azithromycin", "clarithromycin", "erythromycin", "大环内酯", "阿奇霉素", "红霉素",
                  "克拉霉素"),
    "penicillin": ("penicillin*", "amoxicillin", "ampicillin", "青霉素", "阿莫西林", "氨苄西林"),
    "cephalosporin": ("cephalosporin*", "ceftriaxone", "cefotaxime", "cephalexin", "头孢"),
    "antipsychotic": ("antipsychotic*", "neuroleptic*", "haloperidol", "氟哌啶醇", "抗精神病药"),
    "antiemetic": ("antiemetic*", "anti nausea", "5 ht3 antagonist*", "ondansetron", "zofran", "止吐药", "昂丹司琼"),
    "sedative": ("sedative*", "hypnotic*", "sleeping pill*", "sleeping tablet*", "镇静催眠药", "镇静药", "安眠药", "催眠药"),
    "antibiotic": ("antibiotic*", "antibacterial*", "antimicrobial*", "抗生素", "抗菌药", "抗菌药物", "抗菌素"),
    "anticoagulant": ("anticoagula*", "blood thinner*", "抗凝药", "抗凝剂", "抗凝治疗"),
    "antihistamine": ("antihistamine*", "h1 blocker*", "diphenhydramine", "benadryl", "promethazine", "抗组胺药",
                      "苯海拉明", "异丙嗪", "氯雷他定"),
    "epinephrine": ("epinephrine", "adrenaline", "adrenalin", "epipen", "肾上腺素", "副肾素", "副肾"),
    "norepinephrine": ("norepinephrine", "noradrenaline", "levophed", "去甲肾上腺素", "去甲肾"),
    "acetaminophen": ("acetaminophen", "paracetamol", "tylenol", "对乙酰氨基酚", "扑热息痛", "泰诺"),
    "acetylcysteine": ("n acetylcysteine", "acetylcysteine", "nac", "mucomyst", "acetadote", "乙酰半胱氨酸"),
    "naloxone": ("naloxone", "narcan", "纳洛酮"),
    "pralidoxime": ("pralidoxime", "2 pam", "pam", "oxime*", "cholinesterase reactivator*", "解磷定", "氯解磷定",
                    "碘解磷定", "肟类", "胆碱酯酶复活剂", "胆碱酯酶复能剂"),
    "saline": ("normal saline", "isotonic saline", "isotonic fluid*", "crystalloid*", "0.9% saline",
               "0.9% sodium chloride", "0.9% nacl", "生理盐水", "0.9%氯化钠", "等渗盐水"),
    "blood_glucose": ("blood sugar", "blood glucose", "glycemia", "glycaemia", "血糖"),
    "blood_pressure": ("blood pressure", "血压"),
    "sugar": ("glucose", "dextrose", "sugar", "sugary", "juice", "candy", "葡萄糖", "方糖", "糖块", "糖果", "果汁", "糖水",
              "含糖饮料"),
    # organisms and vaccines
    "pneumococcus": ("pneumococc*", "streptococcus pneumoniae", "strep pneumoniae", "s. pneumoniae", "肺炎链球菌",
                     "肺炎球菌"),
    "s_aureus": ("staphylococcus aureus", "staph aureus", "s. aureus", "mrsa", "mssa", "金黄色葡萄球菌", "金葡菌"),
    "e_coli": ("escherichia coli", "e. coli", "大肠埃希菌", "大肠杆菌"),
    "h_pylori": ("helicobacter pylori", "h. pylori", "幽门螺杆菌", "幽门螺旋杆菌"),
    "tuberculosis": ("tuberculosis", "tb", "结核", "结核病", "结核杆菌"),
    "influenza": ("influenza", "flu", "流感", "流行性感冒"),
    "varicella": ("varicella", "chicken pox", "水痘"),
    "zoster": ("herpes zoster", "shingles", "带状疱疹"),
    "mmr": ("mmr", "measles mumps rubella", "measles mumps and rubella", "麻腮风", "麻疹腮腺炎风疹"),
    # signs and symptoms
    "low_fever": ("low grade fever", "mild fever", "低热", "低烧", "微热"),
    "high_fever": ("high fever", "high grade fever", "高热", "高烧"),
    "fever": ("fever", "febrile", "pyrexia", "a temperature", "发热", "发烧"),
    "afternoon": ("afternoon", "午后", "下午"),
    "night_sweats": ("night…sweat*", "sweat*…at night", "盗汗", "夜…出汗", "睡…出汗"),
    "sweating": ("diaphoresis", "sweating", "sweaty", "出汗", "多汗", "大汗", "冷汗"),
    "hemoptysis": ("hemoptysis", "haemoptysis", "cough* up blood", "coughing blood", "blood…sputum", "bloody sputum",
                   "咯血", "咳血", "痰…血", "血痰"),
    "ugib": ("upper gi bleed*", "upper gastrointestinal bleed*", "upper gastrointestinal hemorrhage", "variceal bleed*",
             "variceal hemorrhage", "hematemesis", "vomiting blood", "上消化道出血", "呕血", "吐血", "静脉曲张…出血"),
    "weight_loss": ("weight loss", "losing weight", "lose weight", "lost weight", "weight…dropp*", "weight…fall*",
                    "weight control", "weight management", "weight reduction", "消瘦", "变瘦", "体重…下降", "体重…减轻",
                    "体重…减少", "控制体重", "减肥", "减重"),
    "breathing": ("breathing", "respiratory effort", "respiration*", "呼吸"),
    "tachycardia": ("tachycardi*", "fast heart rate", "rapid heart rate", "rapid pulse", "fast pulse", "心动过速",
                    "心率加快", "心率增快", "心跳加快", "心跳快", "心率快"),
    "tremor": ("tremor*", "shak*", "trembl*", "jitter*", "震颤", "手抖", "发抖"),
    "oliguria": ("oliguria", "low urine output", "reduced urine output", "decreased urine output", "passing little urine",
                 "少尿", "尿少", "尿量减少", "尿量少"),
    "agitation": ("agitat*", "restless*", "anxious", "anxiety", "烦躁", "躁动", "焦虑", "不安"),
    "pallor": ("pallor", "pale", "苍白"),
    "lethargy": ("letharg*", "unconscious*", "unresponsive", "drowsy", "very sleepy", "hard to wake", "嗜睡", "昏迷",
                 "意识不清"),
    "chills": ("chills", "rigors", "shivering", "寒战", "发冷"),
    "dyspnea": ("dyspn*", "shortness of breath", "short of breath", "breathless*", "difficulty breathing",
                "呼吸困难", "气短", "气促", "喘不过气"),
    "palpitations": ("palpitation*", "racing heart", "heart racing", "pounding heart", "心悸", "心慌"),
    "syncope": ("syncope", "faint*", "passing out", "passed out", "晕厥", "昏厥", "晕倒"),
    "pruritus": ("prurit*", "itch*", "瘙痒"),
    "jaundice": ("jaundice", "icterus", "yellow*…skin", "黄疸", "皮肤发黄", "黄染"),
    "angioedema": ("angioedema", "angio oedema", "swelling…lip*", "swelling…tongue", "swelling…face", "swelling…throat",
                   "swollen lip*", "swollen tongue", "swollen face", "lip swelling", "tongue swelling", "facial swelling",
                   "血管性水肿", "血管神经性水肿", "口唇肿胀", "唇…肿", "舌…肿"),
    "edema": ("edema", "oedema", "swelling", "swollen", "水肿", "浮肿"),
    # conditions and findings
    "osteoporosis": ("osteoporo*", "thin* bone*", "bone thinning", "brittle bone*", "bone loss", "loss of bone*",
                     "low bone density", "骨质疏松", "骨量减少", "骨质流失", "骨密度…降低", "骨…变薄", "骨…变脆"),
    "cataract": ("cataract*", "cloud*…lens", "lens…cloud*", "opaque lens", "lens opacit*", "opacity of the lens",
                 "白内障", "晶状体…混浊", "晶状体…浑浊"),
    "mi": ("myocardial infarction", "heart attack", "mi", "stemi", "nstemi", "心肌梗死", "心梗", "心肌梗塞"),
    "stroke": ("stroke", "cerebrovascular accident", "cva", "脑卒中", "中风", "卒中"),
    "hyperparathyroidism": ("hyperparathyroid*", "overactive parathyroid*", "parathyroid adenoma", "甲状旁腺功能亢进",
                            "甲旁亢"),
    "hyperthyroidism": ("hyperthyroid*", "overactive thyroid", "thyrotoxicosis", "甲状腺功能亢进", "甲亢"),
    "hypothyroidism": ("hypothyroid*", "underactive thyroid", "甲状腺功能减退", "甲减"),
    "gallstones": ("gallstone*", "cholelithiasis", "biliary stones", "胆石症", "胆结石", "胆囊结石", "胆道结石"),
    "alcohol": ("alcohol*", "heavy drinking", "binge drinking", "饮酒", "酗酒", "喝酒", "嗜酒"),
    "needle_decompression": ("needle decompression", "needle thoracostomy", "needle thoracocentesis", "穿刺减压",
                             "针刺减压"),
    "inr": ("inr", "prothrombin time", "凝血酶原时间", "国际标准化比值"),
    "aptt": ("aptt", "ptt", "partial thromboplastin time", "活化部分凝血活酶时间"),
    "moribund": ("moribund", "near death", "about to die", "imminent death", "濒危", "濒死", "濒临死亡", "生命垂危",
                 "随时…死亡"),
    "smoking_cessation": ("quit* smoking", "stop* smoking", "smoking cessation", "no smoking", "戒烟", "不抽烟", "不吸烟"),
    "low_salt": ("low salt", "low sodium diet", "less salt", "cut* down on salt", "reduc*…salt", "salt restriction", "限盐",
                 "低盐", "少盐", "减盐", "少吃盐", "减少钠盐", "钠盐摄入"),
    "exercise": ("exercis*", "physical activity", "workout*", "运动", "锻炼"),
    "deficiency": ("deficien*", "lack of", "lacking", "shortage of", "insufficient", "缺乏", "缺少", "不足"),
    "microcytic": ("microcyt*", "small red cells", "small red blood cells", "小细胞", "红细胞…小", "细胞体积…小"),
    "macrocytic": ("macrocyt*", "large red cells", "large red blood cells", "大细胞", "红细胞体积…大", "细胞体积…大"),
    "normocytic": ("normocyt*", "normochrom*", "正细胞", "正色素"),
    "hypochromic": ("hypochrom*", "pale red cells", "central pallor", "低色素", "淡染"),
    # ethics and safety
    "disclosure": ("disclos*", "tell…the patient", "inform…the patient", "告知…患者", "如实告知"),
    "incident_report": ("incident report*", "safety report*", "adverse event report*", "report*…safety system",
                        "不良事件…上报", "上报…不良事件", "不良事件报告"),
}
# fmt: on

# Drug classes by the stem of their members' names ("lisinopril", "amlodipine").
_STEMS = {
    "acei": "pril",
    "arb": "sartan",
    "beta_blocker": "olol|alol",
    "ccb": "dipine",
    "statin": "statin",
    "ppi": "prazole",
    "h2ra": "tidine",
    "benzodiazepine": "azepam|azolam",
}
_STEM_RE = re.compile(
    r"(?<![a-z0-9])[a-z]{2,}?(?:" + "|".join(f"(?P<{c}>{s})" for c, s in _STEMS.items()) + r")(?![a-z0-9])", re.I
)

# High and low blood values, composed: (concept stem, English quantity words, Chinese quantity words).
_LEVELS = (
    ("kalemia", ("potassium", "k+"), ("血钾", "钾")),
    ("natremia", ("sodium", "na+"), ("血钠", "钠")),
    ("calcemia", ("calcium",), ("血钙", "钙")),
    ("glycemia", ("blood sugar", "blood glucose", "sugar", "glucose"), ("血糖",)),
    ("tension", ("blood pressure", "bp"), ("血压",)),
    ("lipidemia", ("cholesterol", "lipids", "lipid", "triglyceride*"), ("血脂", "胆固醇", "甘油三酯")),
    ("uricemia", ("uric acid",), ("尿酸",)),
    ("thermia", ("body temperature",), ("体温",)),
    ("albuminemia", ("albumin",), ("白蛋白", "血清白蛋白")),
)
_UP_EN = ("high", "raised", "elevated", "increased", "excess", "excessive", "rising")
_DOWN_EN = ("low", "lowered", "decreased", "reduced", "depleted", "falling", "dropping")
_UP_ZH = ("升高", "增高", "过高", "偏高", "太高", "上升", "增加")
_DOWN_ZH = ("降低", "下降", "过低", "偏低", "太低", "减低", "减少")


def _levels() -> dict[str, tuple[str, ...]]:
    """ "hyperkalemia" ← "high potassium", "potassium is raised", "高钾", "血钾升高"; "hypo…" alike."""
    out: dict[str, tuple[str, ...]] = {}
    for stem, en, zh in _LEVELS:
        for prefix, up_en, up_zh, zh_prefix in (("hyper", _UP_EN, _UP_ZH, "高"), ("hypo", _DOWN_EN, _DOWN_ZH, "低")):
            exprs = [f"{prefix}{stem}", f"{prefix}{stem.replace('emia', 'aemia')}"]
            exprs += [f"{u}…{q}" for u in up_en for q in en] + [f"{q}…{u}" for u in up_en for q in en]
            exprs += [f"{zh_prefix}{q}" for q in zh] + [f"{q}…{u}" for u in up_zh for q in zh]
            out[f"{prefix}{stem}"] = tuple(dict.fromkeys(exprs))
    return out


# The terms the composition above does not make.
_LEVEL_TERMS = {
    "hyperkalemia": ("高钾血症",),
    "hypokalemia": ("低钾血症",),
    "hypernatremia": ("高钠血症",),
    "hyponatremia": ("低钠血症",),
    "hypercalcemia": ("高钙血症",),
    "hypocalcemia": ("低钙血症",),
    "hyperlipidemia": ("高脂血症", "高甘油三酯血症", "hypertriglyceridemia", "hypertriglyceridaemia"),
    "hyperuricemia": ("高尿酸血症",),
    "hypoalbuminemia": ("低蛋白血症", "低白蛋白血症"),
}

_GAP_EN = r"(?:[\s-]+(?!(?:and|or|but|then|plus|with)\b)[a-z0-9'’]+){0,4}?[\s-]+"  # not across "and"
_GAP_ZH = r"[^\s,，。.;；、:：!！?？和与及或]{0,4}?"


def _is_cjk(ch: str) -> bool:
    """Chinese expressions match as written; English ones at word edges."""
    return "\u3400" <= ch <= "\u9fff"


def _pattern(expr: str) -> str:
    """Regex source of one lexicon expression."""
    if any(_is_cjk(c) for c in expr):
        return _GAP_ZH.join(re.escape(p) for p in expr.split("…"))
    pieces = []
    for piece in expr.split("…"):
        body = "".join(r"[\s-]*" if c in " -" else "[a-z]*" if c == "*" else re.escape(c) for c in piece)
        pieces.append(body)
    return r"(?<![a-z0-9])" + _GAP_EN.join(pieces) + r"(?![a-z0-9])"


@lru_cache(maxsize=1)
def _buckets() -> dict[str, tuple[re.Pattern[str], tuple[str, ...]]]:
    """Per first character: one pattern trying that character's expressions longest first, and
    the concept of each alternative (by group number)."""
    concepts = {**_CONCEPTS, **_levels()}
    for concept, terms in _LEVEL_TERMS.items():
        concepts[concept] = concepts[concept] + terms
    by_char: dict[str, list[tuple[str, str]]] = {}
    for concept, exprs in concepts.items():
        for expr in exprs:
            by_char.setdefault(expr[0], []).append((expr, concept))
    out = {}
    for ch, entries in by_char.items():
        entries.sort(key=lambda e: -len(e[0]))
        source = "|".join(f"({_pattern(expr)})" for expr, _ in entries)
        out[ch] = (re.compile(source, re.I), tuple(concept for _, concept in entries))
    return out


def concept_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, concept) of every lexicon expression in ``text``, left to right, not overlapping."""
    buckets = _buckets()
    found: list[tuple[int, int, str]] = []
    stems = {m.start(): m for m in _STEM_RE.finditer(text)}
    pos = 0
    while pos < len(text):
        entry = buckets.get(text[pos].lower())
        m = entry[0].match(text, pos) if entry else None
        if entry is not None and m is not None and m.end() > pos:
            found.append((pos, m.end(), entry[1][(m.lastindex or 1) - 1]))
            pos = m.end()
            continue
        stem = stems.get(pos)
        if stem is not None:
            found.append((pos, stem.end(), str(stem.lastgroup)))
            pos = stem.end()
            continue
        pos += 1
    return found

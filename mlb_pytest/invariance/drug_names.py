"""Brand and generic names of common drugs, for the ``drug-names`` perturbation.

A model that knows a drug should answer the same whether the item says "atorvastatin" or
"Lipitor" (published work found MedQA accuracy moving 1-10% under such swaps). The table is
short on purpose: widely sold single-ingredient products whose brand names are unambiguous, in
English and in Chinese (the brand as sold in mainland China). Each generic maps to one brand;
the perturbation swaps in whichever direction the item's text allows.
"""

from __future__ import annotations

# generic -> brand (English)
EN: dict[str, str] = {
    "acetaminophen": "Tylenol",
    "ibuprofen": "Advil",
    "atorvastatin": "Lipitor",
    "rosuvastatin": "Crestor",
    "simvastatin": "Zocor",
    "clopidogrel": "Plavix",
    "ticagrelor": "Brilinta",
    "warfarin": "Coumadin",
    "rivaroxaban": "Xarelto",
    "apixaban": "Eliquis",
    "dabigatran": "Pradaxa",
    "metformin": "Glucophage",
    "sitagliptin": "Januvia",
    "empagliflozin": "Jardiance",
    "semaglutide": "Ozempic",
    "insulin glargine": "Lantus",
    "levothyroxine": "Synthroid",
    "amlodipine": "Norvasc",
    "lisinopril": "Zestril",
    "valsartan": "Diovan",
    "furosemide": "Lasix",
    "hydrochlorothiazide": "Microzide",
    "omeprazole": "Prilosec",
    "esomeprazole": "Nexium",
    "ondansetron": "Zofran",
    "amoxicillin": "Amoxil",
    "levofloxacin": "Levaquin",
    "azithromycin": "Zithromax",
    "oseltamivir": "Tamiflu",
    "albuterol": "Ventolin",
    "montelukast": "Singulair",
    "loratadine": "Claritin",
    "cetirizine": "Zyrtec",
    "sertraline": "Zoloft",
    "escitalopram": "Lexapro",
    "fluoxetine": "Prozac",
    "duloxetine": "Cymbalta",
    "bupropion": "Wellbutrin",
    "quetiapine": "Seroquel",
    "olanzapine": "Zyprexa",
    "risperidone": "Risperdal",
    "alprazolam": "Xanax",
    "lorazepam": "Ativan",
    "diazepam": "Valium",
    "zolpidem": "Ambien",
    "levetiracetam": "Keppra",
    "gabapentin": "Neurontin",
    "pregabalin": "Lyrica",
    "tramadol": "Ultram",
    "sildenafil": "Viagra",
    "tamsulosin": "Flomax",
    "finasteride": "Proscar",
    "allopurinol": "Zyloprim",
}

# generic -> brand (Chinese)
ZH: dict[str, str] = {
    "对乙酰氨基酚": "泰诺林",
    "布洛芬": "芬必得",
    "阿托伐他汀": "立普妥",
    "瑞舒伐他汀": "可定",
    "氯吡格雷": "波立维",
    "替格瑞洛": "倍林达",
    "利伐沙班": "拜瑞妥",
    "达比加群": "泰毕全",
    "二甲双胍": "格华止",
    "阿卡波糖": "拜唐苹",
    "西格列汀": "捷诺维",
    "甘精胰岛素": "来得时",
    "硝苯地平控释片": "拜新同",
    "氨氯地平": "络活喜",
    "缬沙坦": "代文",
    "厄贝沙坦": "安博维",
    "美托洛尔": "倍他乐克",
    "奥美拉唑": "洛赛克",
    "埃索美拉唑": "耐信",
    "多潘立酮": "吗丁啉",
    "蒙脱石散": "思密达",
    "阿莫西林": "阿莫仙",
    "头孢呋辛": "西力欣",
    "左氧氟沙星": "可乐必妥",
    "奥司他韦": "达菲",
    "沙丁胺醇": "万托林",
    "孟鲁司特": "顺尔宁",
    "氯雷他定": "开瑞坦",
    "西替利嗪": "仙特明",
    "舍曲林": "左洛复",
    "艾司西酞普兰": "来士普",
    "帕罗西汀": "赛乐特",
    "氟西汀": "百忧解",
    "喹硫平": "思瑞康",
    "奥氮平": "再普乐",
    "利培酮": "维思通",
    "丙戊酸钠": "德巴金",
    "左乙拉西坦": "开浦兰",
    "恩替卡韦": "博路定",
    "西地那非": "万艾可",
}


def table(language: str) -> dict[str, str]:
    """The generic -> brand table for an item's language (English for anything not Chinese)."""
    return ZH if language.startswith("zh") else EN

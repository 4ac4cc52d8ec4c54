"""The fixed vocabulary of 64 clinical specialties every bundled item is tagged with.

Keys are stable ASCII slugs (what suite files use); each has its Chinese and English name.
MLB reports coverage of 64 specialties; this list is ours, drawn from Chinese hospital
department structure.
"""

from __future__ import annotations

from typing import NamedTuple


class Specialty(NamedTuple):
    key: str
    zh: str
    en: str


SPECIALTIES: tuple[Specialty, ...] = tuple(
    Specialty(*row)
    for row in (
        ("cardiology", "心血管内科", "Cardiology"),
        ("respiratory", "呼吸与危重症医学科", "Respiratory and critical care medicine"),
        ("gastroenterology", "消化内科", "Gastroenterology"),
        ("nephrology", "肾内科", "Nephrology"),
        ("endocrinology", "内分泌科", "Endocrinology"),
        ("hematology", "血液科", "Hematology"),
        ("rheumatology", "风湿免疫科", "Rheumatology and immunology"),
        ("infectious_disease", "感染科", "Infectious diseases"),
        ("neurology", "神经内科", "Neurology"),
        ("geriatrics", "老年医学科", "Geriatrics"),
        ("general_practice", "全科医学科", "General practice"),
        ("general_surgery", "普通外科", "General surgery"),
        ("hepatobiliary_surgery", "肝胆外科", "Hepatobiliary surgery"),
        ("gastrointestinal_surgery", "胃肠外科", "Gastrointestinal surgery"),
        ("colorectal_surgery", "肛肠外科", "Colorectal and anal surgery"),
        ("breast_surgery", "乳腺外科", "Breast surgery"),
        ("thyroid_surgery", "甲状腺外科", "Thyroid surgery"),
        ("cardiac_surgery", "心脏外科", "Cardiac surgery"),
        ("thoracic_surgery", "胸外科", "Thoracic surgery"),
        ("vascular_surgery", "血管外科", "Vascular surgery"),
        ("neurosurgery", "神经外科", "Neurosurgery"),
        ("orthopedics", "骨科", "Orthopedics"),
        ("spine_surgery", "脊柱外科", "Spine surgery"),
        ("urology", "泌尿外科", "Urology"),
        ("plastic_surgery", "整形外科", "Plastic surgery"),
        ("burns", "烧伤科", "Burns"),
        ("obstetrics", "产科", "Obstetrics"),
        ("gynecology", "妇科", "Gynecology"),
        ("reproductive_medicine", "生殖医学科", "Reproductive medicine"),
        ("pediatrics", "儿科", "Pediatrics"),
        ("neonatology", "新生儿科", "Neonatology"),
        ("pediatric_surgery", "小儿外科", "Pediatric surgery"),
        ("ophthalmology", "眼科", "Ophthalmology"),
        ("otorhinolaryngology", "耳鼻咽喉头颈外科", "Otorhinolaryngology"),
        ("stomatology", "口腔科", "Stomatology"),
        ("dermatology", "皮肤科", "Dermatology"),
        ("venereology", "性病科", "Venereology"),
        ("psychiatry", "精神科", "Psychiatry"),
        ("psychology", "心理科", "Clinical psychology"),
        ("oncology", "肿瘤内科", "Medical oncology"),
        ("radiation_oncology", "放射治疗科", "Radiation oncology"),
        ("surgical_oncology", "肿瘤外科", "Surgical oncology"),
        ("emergency", "急诊科", "Emergency medicine"),
        ("critical_care", "重症医学科", "Critical care medicine"),
        ("anesthesiology", "麻醉科", "Anesthesiology"),
        ("pain_medicine", "疼痛科", "Pain medicine"),
        ("rehabilitation", "康复医学科", "Rehabilitation medicine"),
        ("tcm", "中医科", "Traditional Chinese medicine"),
        ("integrative_medicine", "中西医结合科", "Integrative medicine"),
        ("radiology", "放射科", "Radiology"),
        ("ultrasound", "超声医学科", "Ultrasound medicine"),
        ("nuclear_medicine", "核医学科", "Nuclear medicine"),
        ("laboratory_medicine", "检验科", "Laboratory medicine"),
        ("pathology", "病理科", "Pathology"),
        ("pharmacy", "临床药学", "Clinical pharmacy"),
        ("nutrition", "临床营养科", "Clinical nutrition"),
        ("nursing", "护理", "Nursing"),
        ("preventive_medicine", "预防保健科", "Preventive medicine and health check-up"),
        ("occupational_medicine", "职业病科", "Occupational medicine"),
        ("toxicology", "中毒与急救", "Clinical toxicology"),
        ("sleep_medicine", "睡眠医学科", "Sleep medicine"),
        ("sports_medicine", "运动医学科", "Sports medicine"),
        ("medical_ethics", "医学伦理", "Medical ethics"),
        ("health_law", "卫生法规与医疗管理", "Health law and hospital administration"),
    )
)

BY_KEY: dict[str, Specialty] = {s.key: s for s in SPECIALTIES}

assert len(SPECIALTIES) == 64 and len(BY_KEY) == 64, "the vocabulary must hold 64 distinct specialties"


def is_specialty(key: str) -> bool:
    return key in BY_KEY

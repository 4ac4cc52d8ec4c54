"""The fixed vocabulary of the benchmark: dimensions, tasks, metrics and MLB's 22 datasets.

The dataset -> dimension mapping is inferred from the MLB release metadata (its ``intent``
fields and metrics); it lives in this one table so that it can be corrected in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Dimension(str, Enum):
    """The five clinical dimensions; markers are their lower-case names."""

    MedKQA = "MedKQA"
    MedSE = "MedSE"
    MedRU = "MedRU"
    SmartServ = "SmartServ"
    SmartCare = "SmartCare"

    @property
    def marker(self) -> str:
        return self.value.lower()


DIMENSIONS: tuple[Dimension, ...] = tuple(Dimension)


class Task(str, Enum):
    """What kind of answer an item asks for; decides the scorer."""

    choice = "choice"  # single or multi-answer letters
    extraction = "extraction"  # JSON of spans / relations / events, micro-F1
    normalization = "normalization"  # pick candidate terms, set F1
    open = "open"  # free text or JSON judged point by point


class Metric(str, Enum):
    accuracy = "accuracy"  # mean item score
    micro_f1 = "micro_f1"  # sum TP/FP/FN over the dataset's items
    judge = "judge"  # mean item score from judge verdicts
    rubric = "rubric"  # HealthBench: signed criterion points per item, dataset = mean clipped to [0, 1]


class ExtractionKind(str, Enum):
    entities = "entities"  # {"category": ["span", ...]}
    relations = "relations"  # {"关系": [{"关系", "头实体", "尾实体"}]}
    events = "events"  # [{"主体词", "发生状态", "描述词": [], "解剖部位": []}]


class JudgeKind(str, Enum):
    points = "points"  # one yes/no verdict per reference point, score = share met
    safety = "safety"  # risky or not, score 1 when no risk
    compliance = "compliance"  # 2 risk items (-1/0) and 4 quality items (0/1)
    rubric = "rubric"  # one met/not-met verdict per criterion, score = met points / positive points


@dataclass(frozen=True)
class DatasetSpec:
    """How one MLB dataset is asked and scored."""

    name: str
    dimension: Dimension
    task: Task
    metric: Metric
    extraction: ExtractionKind | None = None
    judge: JudgeKind | None = None
    options_style: str = "lines"  # how ${options} is written: "lines" (A.xx) or "list" (['A xx'])


def _spec(name: str, dim: Dimension, task: Task, metric: Metric, **kw: object) -> DatasetSpec:
    return DatasetSpec(name, dim, task, metric, **kw)  # type: ignore[arg-type]


_D, _T, _M, _E, _J = Dimension, Task, Metric, ExtractionKind, JudgeKind

MLB_DATASETS: dict[str, DatasetSpec] = {
    s.name: s
    for s in (
        _spec("CMExam", _D.MedKQA, _T.choice, _M.accuracy),
        _spec("MAExam", _D.MedKQA, _T.choice, _M.accuracy),
        _spec("MASafety", _D.MedSE, _T.choice, _M.accuracy),
        _spec("MAHalt", _D.MedSE, _T.choice, _M.accuracy),
        _spec("GeneralSafety", _D.MedSE, _T.open, _M.judge, judge=_J.safety),
        _spec("MACompliance", _D.MedSE, _T.open, _M.judge, judge=_J.compliance),
        _spec("MAEthic", _D.MedSE, _T.open, _M.judge, judge=_J.compliance),
        _spec("CHIP-CDN", _D.MedRU, _T.normalization, _M.micro_f1),
        _spec("CMeEE", _D.MedRU, _T.extraction, _M.micro_f1, extraction=_E.entities),
        _spec("CHIP-CDEE", _D.MedRU, _T.extraction, _M.micro_f1, extraction=_E.events),
        _spec("CMeIE", _D.MedRU, _T.extraction, _M.micro_f1, extraction=_E.relations),
        _spec("MAEESymp", _D.MedRU, _T.extraction, _M.micro_f1, extraction=_E.entities),
        _spec("MAEEDisease", _D.MedRU, _T.extraction, _M.micro_f1, extraction=_E.entities),
        _spec("MAEEMedic", _D.MedRU, _T.extraction, _M.micro_f1, extraction=_E.entities),
        _spec("MAEEOper", _D.MedRU, _T.extraction, _M.micro_f1, extraction=_E.entities),
        _spec("MAKnowledge", _D.SmartServ, _T.choice, _M.accuracy, options_style="list"),
        _spec("MAGuidance", _D.SmartServ, _T.choice, _M.accuracy, options_style="list"),
        _spec("MAReport", _D.SmartServ, _T.choice, _M.accuracy, options_style="list"),
        _spec("MAMedication", _D.SmartServ, _T.choice, _M.accuracy, options_style="list"),
        _spec("MAInspection", _D.SmartCare, _T.open, _M.judge, judge=_J.points),
        _spec("MADiagnosis", _D.SmartCare, _T.open, _M.judge, judge=_J.points),
        _spec("MARecord", _D.SmartCare, _T.open, _M.judge, judge=_J.points),
    )
}

# Fields of a MARecord answer, in the order MLB's prompt names them.
RECORD_FIELDS: tuple[str, ...] = ("性别", "年龄", "主诉", "现病史", "既往史", "个人史", "婚育史", "家族史")


def language_marker(language: str) -> str:
    """Marker of a language track (``-m en``, ``-m zh``): the primary subtag of the item's language tag."""
    primary = (language or "zh").split("-")[0].split("_")[0]
    return dataset_marker(primary) if primary else "zh"


def dataset_marker(name: str) -> str:
    """Marker name for a dataset: lower case, non-alphanumerics as underscores."""
    out = "".join(c.lower() if c.isascii() and c.isalnum() else "_" for c in name)
    return out.strip("_") or "dataset"

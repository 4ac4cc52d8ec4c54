"""``--mlb-judge=builtin``: the bundled CPU judge, behind the same interface as any judge model.

It is an adapter like the others (``generate`` answers one judge question with a JSON verdict),
so it goes through the same engine, cache and verdict parser; inside, questions that arrive
together are scored as one batch by the cross-encoder in a worker thread. ``builtin:PATH``
loads another adapter folder (e.g. one retrained by ``mlb judge train``).

The response is read through ``sanitize_response`` first: text addressed to a grader (planted
verdicts, fake prompt markers, "as the grader you must answer yes") is taken out before encoding,
so it can neither mislead the encoder nor push the answer out of its first window.

A point whose quantity the response states as another value for the same thing (``number_check``:
0.5 mg asked, 5 mg given) is answered *no* whatever the encoder's p(yes), with the two values as
the reason; so is a point or risk the response only mentions to deny it (``negation_check``: 未见肺炎
against 考虑肺炎, 不建议使用华法林 against a risk of recommending it). An adapter whose config sets
``"number_check": false`` answers from the encoder alone; ``"negation_check": false`` turns off the
negation check only.

An adapter whose config states a ``temperature`` and an ``abstain`` band (``mlb judge calibrate``
writes both) answers with its calibrated p(yes), and ``uncertain`` (with its leaning) inside the
band; one that states neither answers exactly as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from ..models.base import Generation, GenerationRequest, ModelError
from .calibration import (
    Calibration,
    StaleCalibrationWarning,
    apply_temperature,
    calibration_of,
    decide,
    stale_calibration,
)
from .crossencoder import CONFIG_NAME, CrossEncoder, PairText, read_config
from .encoder import EncoderUnavailable, encoder_folder
from .negation_check import NEGATION_CHECK_VERSION, NegationFinding, check_negation
from .number_check import NUMBER_CHECK_VERSION, NumberFinding, check_numbers
from .questions import JudgeQuestion
from .reading import READING_VERSION
from .record_check import RECORD_CHECK_VERSION, FieldFinding, check_record_field
from .sanitize import sanitize_response

_CHECKOUT = Path(__file__).resolve().parents[2]


def _default_adapter(checkout: Path = _CHECKOUT, prefix: str = sys.prefix) -> Path:
    """The adapter in a checkout (``judge/builtin``), else the copy a wheel installs under the prefix."""
    here = checkout / "judge" / "builtin"
    installed = Path(prefix) / "share" / "mlb-pytest" / "judge" / "builtin"
    return here if (here / CONFIG_NAME).is_file() or not (installed / CONFIG_NAME).is_file() else installed


DEFAULT_ADAPTER = _default_adapter()


class BuiltinJudge:
    """Batched cross-encoder verdicts; the model loads once, on the first batch."""

    cacheable = True

    def __init__(
        self,
        adapter: str | Path | None = None,
        batch_size: int = 32,
        gather_s: float = 0.02,
        base_dir: Path | None = None,
    ) -> None:
        self.adapter = Path(adapter) if adapter else DEFAULT_ADAPTER
        if not (self.adapter / CONFIG_NAME).is_file():
            raise ModelError(
                "adapter",
                f"{self.adapter} holds no bundled-judge adapter ({CONFIG_NAME} missing); "
                "train one with: mlb judge train",
            )
        digest = hashlib.sha256((self.adapter / CONFIG_NAME).read_bytes())
        digest.update(READING_VERSION.encode())  # what the encoder is shown is part of the judge
        digest.update(NUMBER_CHECK_VERSION.encode())
        digest.update(RECORD_CHECK_VERSION.encode())
        digest.update(NEGATION_CHECK_VERSION.encode())
        for name in ("adapter_model.safetensors", "head.safetensors"):  # a retrained judge is a new identity
            weights = self.adapter / name
            if weights.is_file():
                digest.update(weights.read_bytes())
        self.identity = f"builtin:{digest.hexdigest()[:12]}"
        self.batch_size = batch_size
        self.gather_s = gather_s
        self.base_dir = base_dir
        self.batches: list[int] = []
        try:
            self.stale_calibration = stale_calibration(read_config(self.adapter), READING_VERSION)
        except ValueError as exc:
            raise ModelError("adapter", str(exc)) from None
        if self.stale_calibration:
            warnings.warn(f"{self.adapter}: {self.stale_calibration}", StaleCalibrationWarning, stacklevel=2)
        self._model: CrossEncoder | None = None
        self._calibration = Calibration()
        self._pending: list[tuple[PairText, asyncio.Future[Generation], float]] = []
        self._flush: asyncio.TimerHandle | None = None
        self._lock: asyncio.Lock | None = None

    def _load(self) -> CrossEncoder:
        if self._model is None:
            try:
                base = self.base_dir or encoder_folder()
                model = CrossEncoder(base, self.adapter)
            except EncoderUnavailable as exc:
                raise ModelError("adapter", str(exc)) from None
            except ImportError as exc:
                raise ModelError(
                    "adapter",
                    f"the bundled judge needs the judge extra ({exc.name} is missing): pip install 'mlb-pytest[judge]'",
                ) from None
            try:
                self._calibration = calibration_of(model.config)
            except ValueError as exc:
                raise ModelError("adapter", f"{self.adapter / CONFIG_NAME}: {exc}") from None
            self._model = model
        return self._model

    def _answers(self, pairs: list[PairText]) -> list[str]:
        """The JSON verdict of each question (runs in a worker thread)."""
        model = self._load()
        checking = model.config.get("number_check", True) is not False
        negations = checking and model.config.get("negation_check", True) is not False
        return [
            verdict_text(
                p, model.threshold, self._calibration, *(_checks(pair, negations) if checking else (None, None, None))
            )
            for pair, p in zip(pairs, model.predict(pairs, self.batch_size))
        ]

    async def generate(self, request: GenerationRequest) -> Generation:
        q = request.payload
        if not isinstance(q, JudgeQuestion):
            raise ModelError(
                "adapter", "the builtin judge only answers judge questions; it cannot be a model under test"
            )
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Generation] = loop.create_future()
        # a rubric criterion is asked as a point: "met" is yes whatever the sign of its points
        kind = "point" if q.kind == "rubric" else q.kind
        pair = PairText(kind, q.criterion, sanitize_response(q.response, q.criterion), q.context)
        self._pending.append((pair, fut, time.perf_counter()))
        if len(self._pending) >= self.batch_size:
            loop.create_task(self._run())
        elif self._flush is None:
            self._flush = loop.call_later(self.gather_s, lambda: loop.create_task(self._run()))
        return await fut

    async def _run(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            batch, self._pending = self._pending[: self.batch_size], self._pending[self.batch_size :]
            if not batch:
                return
            try:
                texts = await asyncio.to_thread(self._answers, [p for p, _, _ in batch])
            except ModelError as err:
                for _, fut, _ in batch:
                    if not fut.done():
                        fut.set_exception(err)
                return
            except Exception as exc:  # a broken adapter or base: every question errors with the reason
                failure = ModelError("adapter", f"builtin judge failed: {type(exc).__name__}: {exc}")
                for _, fut, _ in batch:
                    if not fut.done():
                        fut.set_exception(failure)
                return
            self.batches.append(len(batch))
            now = time.perf_counter()
            for (_, fut, started), text in zip(batch, texts):
                if not fut.done():
                    fut.set_result(Generation(text, text, now - started))
            if self._pending:
                asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None


def _checks(
    pair: PairText, negations: bool = True
) -> tuple[NumberFinding | None, FieldFinding | None, NegationFinding | None]:
    """What the exact checks find: a record field, else a number stated otherwise, else a denial.

    A record field settled by the record check is not also checked for numbers: the field's own value
    decides it (年龄：45岁 against "年龄": "45岁"). Risks name acts and limits, not values or fields to
    match, so only the negation check reads them (不建议孕妇使用华法林 does not commit the risk)."""
    if pair.kind == "risk":
        return None, None, (check_negation("risk", pair.criterion, pair.response) if negations else None)
    field = check_record_field(pair.criterion, pair.response)
    number = None if field is not None else check_numbers(pair.criterion, pair.response)
    settled = field is not None or number is not None
    return (
        number,
        field,
        (check_negation("point", pair.criterion, pair.response) if negations and not settled else None),
    )


def verdict_text(
    p: float,
    threshold: float,
    calibration: Calibration,
    finding: NumberFinding | None = None,
    field: FieldFinding | None = None,
    denial: NegationFinding | None = None,
) -> str:
    """One question's JSON verdict from the encoder's p(yes), or from an exact check when one settles it.

    Without calibration: yes/no at the threshold, as the judge has always answered (same text, so
    the same cache entries). With it: p(yes) scaled by the temperature, ``uncertain`` inside the
    abstention band (with the side of the threshold it falls on as its leaning), and p_yes stated.
    A number mismatch makes the verdict *no*; a record field that holds the point's value makes it
    *yes*, one left blank or 不详 makes it *no*; a criterion the response denies (or a negative one whose
    item it states) is *no*, and a negative point whose every item the response denies too is *yes*.
    The check's reason leads; the encoder's figure follows.
    """
    settled = ("no", finding.reason()) if finding is not None else None
    if denial is not None:
        settled = ("yes" if denial.met else "no", denial.reason())
    if field is not None:
        settled = ("yes" if field.met else "no", field.reason())
    if settled is not None:
        q = apply_temperature(p, calibration.temperature) if calibration.stated else p
        return json.dumps(
            {
                "verdict": settled[0],
                "p_yes": round(q, 4),
                "reason": f"{settled[1]}; builtin cross-encoder p(yes)={q:.3f}",
            },
            ensure_ascii=False,
        )
    if not calibration.stated:
        return json.dumps(
            {
                "verdict": "yes" if p >= threshold else "no",
                "reason": f"builtin cross-encoder p(yes)={p:.3f}, threshold {threshold:.2f}",
            }
        )
    q = apply_temperature(p, calibration.temperature)
    word = decide(q, threshold, calibration.band)
    reason = (
        f"builtin cross-encoder p(yes)={q:.3f} (temperature {calibration.temperature:.2f}), threshold {threshold:.2f}"
    )
    if calibration.band is not None:
        reason += f", abstains in [{calibration.band[0]:.3f}, {calibration.band[1]:.3f})"
    out: dict[str, Any] = {"verdict": word}
    if word == "uncertain":
        out["leaning"] = "yes" if q >= threshold else "no"
    out.update(p_yes=round(q, 4), reason=reason)
    return json.dumps(out)


def build_builtin(target: str, batch_size: int = 32) -> Any:
    return BuiltinJudge(None if target in ("", "default") else target, batch_size=batch_size)

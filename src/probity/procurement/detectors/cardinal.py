"""Cardinal's indicators with process outcomes as detectors of ``probity.core.detectors``.

One ``Detector`` class per code of ``indicators.cardinal.PROCESS_OUTCOME_CODES`` (all eleven): every
contracting process of the flattened ``procurement_*`` tables judged flag / pass / not applicable with
Cardinal's default settings (inside ``procurement_detect``: the run's settings, and the frame it has
just computed).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from probity.core.detectors import Detector, Judgement, register
from probity.procurement.detectors.parameters import FINDINGS_FOR
from probity.procurement.indicators import cardinal, indicators
from probity.procurement.selectors import cached_frame, cardinal_outcome_frame
from probity.warehouse.services import warehouse_connection


class CardinalIndicatorDetector(Detector):
    """Base of the generated detectors of ``indicators.cardinal.PROCESS_OUTCOME_CODES``: every
    contracting process of the flattened ``procurement_*`` tables, with Cardinal's default settings
    (inside ``procurement_detect``: the run's settings)."""

    indicator_code: str
    subject_type = "process"
    reads = ("procurement",)  # the flattened procurement_* tables

    def dataset(self) -> str:
        return "warehouse: procurement_* (flattened compiled releases)"

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        code = self.indicator_code
        wanted = set(params.get("findings_for") or FINDINGS_FOR.default)
        frame = cached_frame(code=code, params={})
        if frame is None:
            # Ibis itself is imported when a detector runs, not when it is registered (a fifth of a second).
            from ibis.common.exceptions import TableNotFound

            with warehouse_connection(read_only=False) as warehouse:
                try:
                    frame = cardinal_outcome_frame(warehouse=warehouse, code=code)
                except TableNotFound as exc:
                    raise LookupError(
                        f"The warehouse has no {exc}: run `probity procurement detect FILE` with a file of "
                        "compiled releases first."
                    ) from exc
        frame = frame[frame["outcome"].isin(list(wanted))]
        reasons = frame["reason"].astype(object).where(frame["reason"].notna(), None).tolist()
        evidences = cardinal.evidence_records(frame)
        values = [cardinal.plain(v) for v in frame["value"].tolist()]
        for ocid, outcome, reason, evidence, value in zip(
            frame["subject_id"].tolist(), frame["outcome"].tolist(), reasons, evidences, values, strict=True
        ):
            stored = dict(evidence)
            if reason:
                stored["reason"] = reason
            yield Judgement(
                "process",
                str(ocid),
                str(outcome),
                cardinal.message_for(code, str(outcome)),
                cardinal.evidence_params(code, evidence, reason, value),
                subject_label=str(ocid),
                score={"flag": 1.0, "pass": 0.0}.get(str(outcome)),
                evidence=stored,
            )


DETECTORS: dict[str, type[CardinalIndicatorDetector]] = {}


def _make_cardinal(code: str) -> type[CardinalIndicatorDetector]:
    indicator = indicators()[code]
    cls = type(
        "Detector_" + code,
        (CardinalIndicatorDetector,),
        {
            "__doc__": indicator.description,
            "__module__": __name__,
            "code": code,
            # The titles are in the procurement catalogue; the long descriptions (docstrings) are
            # not yet, so pages show the translated title in both places for now.
            "title": _(indicator.title),  # noqa: INT001 (msgids from indicators.cardinal)
            "description": _(indicator.title),  # noqa: INT001
            "parameters": (FINDINGS_FOR,),
            "indicator_code": code,
        },
    )
    return register(cls)  # type: ignore[return-value]


for _code in cardinal.PROCESS_OUTCOME_CODES:
    DETECTORS[_code] = _make_cardinal(_code)

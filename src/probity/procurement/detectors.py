"""The beyond-Cardinal indicators as detectors of ``probity.core.detectors``, so they write findings.

One ``Detector`` class per indicator of ``indicators.beyond``, with the indicator's code, title,
description, fields and parameters, plus ``findings_for`` (which outcomes become findings; see
``probity.procurement.results`` for why). ``evaluate`` reads the indicator input tables in the
warehouse (written by ``probity procurement detect``), or, inside ``procurement_detect``, the frame
that run has just computed, and yields one judgement per contracting process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from probity.core.detectors import Detector, Judgement, Parameter, register
from probity.procurement.indicators.beyond import INDICATORS, Indicator, evidence_records, message_params
from probity.procurement.indicators.beyond_inputs import TABLES

FINDINGS_FOR = Parameter(
    "findings_for",
    ["flag", "pass", "not_applicable"],
    _("outcomes stored as findings (the warehouse matrix always keeps all)"),
    list,
)


class BeyondIndicatorDetector(Detector):
    """Base of the generated detectors: ``indicator`` is the ``indicators.beyond.Indicator``."""

    indicator: Indicator
    subject_type = "process"

    def dataset(self) -> str:
        return "warehouse: " + ", ".join(TABLES.values())

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        import pandas as pd

        from probity.procurement.services import cached_frame, indicator_frame
        from probity.warehouse.services import warehouse_connection

        indicator = self.indicator
        wanted = set(params.get("findings_for") or FINDINGS_FOR.default)
        values = {k: v for k, v in params.items() if k != "findings_for"}
        frame = cached_frame(indicator.code, values)
        if frame is None:
            with warehouse_connection(read_only=False) as warehouse:
                frame = indicator_frame(warehouse, indicator.code, values)
        frame = frame[frame["outcome"].isin(list(wanted))]
        for row, evidence in zip(frame.to_dict("records"), evidence_records(indicator, frame), strict=True):
            outcome = row["outcome"]
            reason = None if pd.isna(row["reason"]) else str(row["reason"])
            stored = dict(evidence)
            if reason:
                stored["reason"] = reason
            if not pd.isna(row.get("award_id")):
                stored["award_id"] = row["award_id"]
            buyer = "" if pd.isna(row.get("buyer_name")) else str(row["buyer_name"])
            yield Judgement(
                "process",
                str(row["ocid"]),
                outcome,
                indicator.messages[outcome],
                json.loads(json.dumps(message_params(evidence, reason), default=str)),
                subject_label=f"{row['ocid']} — {buyer}" if buyer else str(row["ocid"]),
                score={"flag": 1.0, "pass": 0.0}.get(outcome),
                evidence=json.loads(json.dumps(stored, default=str)),
            )


_DETECTORS: dict[str, type[BeyondIndicatorDetector]] = {}


def _make(indicator: Indicator) -> type[BeyondIndicatorDetector]:
    name = "Detector_" + indicator.code.replace("-", "_")
    cls = type(
        name,
        (BeyondIndicatorDetector,),
        {
            "__doc__": str(indicator.description),
            "__module__": __name__,
            "code": indicator.code,
            "title": indicator.title,
            "description": indicator.description,
            "fields": indicator.fields,
            "parameters": (*indicator.parameters, FINDINGS_FOR),
            "indicator": indicator,
        },
    )
    return register(cls)  # type: ignore[return-value]


for _indicator in INDICATORS.values():
    _DETECTORS[_indicator.code] = _make(_indicator)


def detector_for(code: str) -> type[BeyondIndicatorDetector]:
    return _DETECTORS[code]


# --- the process-level Cardinal indicators --------------------------------------------------------


class CardinalIndicatorDetector(Detector):
    """Base of the generated detectors of ``indicators.cardinal.PROCESS_OUTCOME_CODES``: every
    contracting process of the flattened ``procurement_*`` tables, with Cardinal's default settings
    (inside ``procurement_detect``: the run's settings)."""

    indicator_code: str
    subject_type = "process"

    def dataset(self) -> str:
        return "warehouse: procurement_* (flattened compiled releases)"

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        from probity.procurement.indicators import cardinal
        from probity.procurement.services import cached_frame, cardinal_outcome_frame
        from probity.warehouse.services import warehouse_connection

        code = self.indicator_code
        wanted = set(params.get("findings_for") or FINDINGS_FOR.default)
        frame = cached_frame(code, {})
        if frame is None:
            from ibis.common.exceptions import TableNotFound

            with warehouse_connection(read_only=False) as warehouse:
                try:
                    frame = cardinal_outcome_frame(warehouse, code)
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


def _make_cardinal(code: str) -> type[CardinalIndicatorDetector]:
    from probity.procurement.indicators import indicators

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


def _register_cardinal() -> None:
    from probity.procurement.indicators.cardinal import PROCESS_OUTCOME_CODES

    for code in PROCESS_OUTCOME_CODES:
        _DETECTORS[code] = _make_cardinal(code)  # type: ignore[assignment]


_register_cardinal()

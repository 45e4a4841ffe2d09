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

from probity.core.detectors import Detector, Judgement, register
from probity.procurement.detectors.parameters import FINDINGS_FOR
from probity.procurement.indicators.beyond import INDICATORS, Indicator, evidence_records, message_params
from probity.procurement.indicators.beyond_inputs import TABLES
from probity.procurement.selectors import cached_frame, indicator_frame
from probity.warehouse.services import warehouse_connection


class BeyondIndicatorDetector(Detector):
    """Base of the generated detectors: ``indicator`` is the ``indicators.beyond.Indicator``."""

    indicator: Indicator
    subject_type = "process"
    # The indicator input tables that ``procurement detect`` builds from the compiled releases and the
    # debarment register: queued again when procurement data changes (``core.job_kinds.data_changed``).
    reads = ("procurement",)

    def dataset(self) -> str:
        return "warehouse: " + ", ".join(TABLES.values())

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        import pandas as pd  # a third of a second: when a detector runs, not when it is registered

        indicator = self.indicator
        wanted = set(params.get("findings_for") or FINDINGS_FOR.default)
        values = {k: v for k, v in params.items() if k != "findings_for"}
        frame = cached_frame(code=indicator.code, params=values)
        if frame is None:
            with warehouse_connection(read_only=False) as warehouse:
                frame = indicator_frame(warehouse=warehouse, code=indicator.code, params=values)
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


DETECTORS: dict[str, type[BeyondIndicatorDetector]] = {}


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
    DETECTORS[_indicator.code] = _make(_indicator)

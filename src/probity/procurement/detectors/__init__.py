"""The procurement risk indicators as detectors of ``probity.core.detectors``, so they write findings.

Importing this package registers them (``ProcurementConfig.detectors``): one detector per
beyond-Cardinal indicator (``beyond``) and one per Cardinal indicator with process outcomes
(``cardinal``). Their inputs are read through ``probity.procurement.selectors``.
"""

from __future__ import annotations

from probity.core.detectors import Detector
from probity.procurement.detectors import beyond, cardinal


def detector_for(code: str) -> type[Detector]:
    """The detector of a procurement indicator, by its code."""
    if code in beyond.DETECTORS:
        return beyond.DETECTORS[code]
    return cardinal.DETECTORS[code]

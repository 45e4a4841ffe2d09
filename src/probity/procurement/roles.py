"""What each role may do in the procurement app (merged into the role table by ``probity.core.roles``).

The debarment register is read by everyone who reviews procurement risk and maintained by
administrators and analysts, who also ingest OCDS data (``procurement.ingest_procurement``) and map
publishers' local codelist names to OCDS codes (``CodelistMapping``).
"""

from __future__ import annotations

VIEW = {"procurement.view_debarment", "procurement.view_codelistmapping"}
MAINTAIN = {
    "procurement.add_debarment",
    "procurement.change_debarment",
    "procurement.ingest_procurement",
    # a publisher's local names for OCDS codes (``codelists``), which the indicators read
    "procurement.add_codelistmapping",
    "procurement.change_codelistmapping",
    "procurement.delete_codelistmapping",
}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    "administrator": VIEW | MAINTAIN | {"procurement.delete_debarment"},
    "analyst": VIEW | MAINTAIN,
    "verifier": VIEW,
    "case_handler": VIEW,
    "auditor": VIEW,
}

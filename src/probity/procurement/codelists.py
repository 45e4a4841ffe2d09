"""The OCDS codelist values the indicators understand, and a publisher's local names for them.

An indicator that reads a codelist field (``tender.procurementMethod``, ``awards.status`` …) judges a
process only when the value is one of the codes of ``CODELISTS``; any other value (a publisher's own
word, e.g. "公開招標" for open tendering) gives *not applicable* with the reason
``unknown_code: <field> = <value>`` instead of a guess. The table ``CodelistMapping`` (page
``/procurement/codelists/``, API ``/api/v1/procurement/codelist-mappings``, command ``probity procurement
codelist-map``) maps such local names to codes; ``procurement_detect`` applies it to the indicators'
input tables before they judge, so a mapped "公開招標" is judged as ``open``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from django.utils.functional import Promise

# The closed OCDS 1.1 codelists the indicators read (open codelists, e.g. tender.procurementMethodDetails,
# are free text and not listed).
CODELISTS: dict[str, frozenset[str]] = {
    "tender.procurementMethod": frozenset({"open", "selective", "limited", "direct"}),
    "tender.status": frozenset({"planning", "planned", "active", "cancelled", "unsuccessful", "complete", "withdrawn"}),
    "tender.mainProcurementCategory": frozenset({"goods", "works", "services"}),
    "tender.awardCriteria": frozenset(
        {
            "priceOnly",
            "costOnly",
            "qualityOnly",
            "ratedCriteria",
            "lowestCost",
            "bestProposal",
            "bestValueToGovernment",
            "singleBidOnly",
        }
    ),
    "tender.submissionMethod": frozenset({"electronicSubmission", "electronicAuction", "written", "inPerson"}),
    "awards.status": frozenset({"pending", "active", "cancelled", "unsuccessful"}),
    "contracts.status": frozenset({"pending", "active", "cancelled", "terminated"}),
    "bids.details.status": frozenset({"invited", "pending", "valid", "disqualified", "withdrawn"}),
}

FIELD_LABELS: dict[str, Promise] = {
    "tender.procurementMethod": _("Procurement method (tender.procurementMethod)"),
    "tender.status": _("Tender status (tender.status)"),
    "tender.mainProcurementCategory": _("Main procurement category (tender.mainProcurementCategory)"),
    "tender.awardCriteria": _("Award criteria (tender.awardCriteria)"),
    "tender.submissionMethod": _("Submission method (tender.submissionMethod)"),
    "awards.status": _("Award status (awards.status)"),
    "contracts.status": _("Contract status (contracts.status)"),
    "bids.details.status": _("Bid status (bids.details.status)"),
}

# Where each field sits in the indicators' tables: (table short name, column).
BEYOND_COLUMNS: dict[str, str] = {
    "tender.procurementMethod": "method",
    "tender.mainProcurementCategory": "category",
    "awards.status": "award_status",
}
BEYOND_BID_COLUMNS: dict[str, str] = {"bids.details.status": "bid_status"}
CARDINAL_COLUMNS: dict[str, tuple[str, str]] = {
    "tender.procurementMethod": ("processes", "procurement_method"),
    "tender.status": ("processes", "tender_status"),
    "tender.mainProcurementCategory": ("processes", "main_procurement_category"),
    "tender.awardCriteria": ("processes", "award_criteria"),
    "awards.status": ("awards", "status"),
    "contracts.status": ("contracts", "status"),
    "bids.details.status": ("bids", "status"),
}

Mapping_ = dict[str, dict[str, str]]  # field → local value → code


def is_known(field: str, value: str | None) -> bool:
    """Whether ``value`` is a code of ``field``'s codelist (an absent value is not unknown: it is missing)."""
    return value is None or value in CODELISTS[field]


def unknown_reason(field: str, value: ir.StringValue) -> ir.StringValue:
    """The not-applicable reason for a value outside the codelist, as an Ibis expression."""
    import ibis

    return ibis.literal(f"unknown_code: {field} = ") + value


def unknown_condition(field: str, value: ir.StringValue) -> ir.BooleanValue:
    """True where ``value`` is given but is not a code of ``field``'s codelist."""
    return value.notnull() & ~value.isin(sorted(CODELISTS[field]))


def codelist_mapping() -> Mapping_:
    """The installation's local names → codes, by field (empty when the database cannot be read)."""
    from django.apps import apps
    from django.db import DatabaseError

    rows = apps.get_model("procurement", "CodelistMapping").objects  # the model imports this module's labels
    mapping: Mapping_ = {}
    try:
        for row in rows.all().only("field", "local_value", "code"):
            mapping.setdefault(row.field, {})[row.local_value] = row.code
    except DatabaseError:
        return {}
    return mapping


def map_column(table: ir.Table, column: str, names: Mapping[str, str]) -> ir.Table:
    """``table`` with the local names of ``column`` replaced by their codes (others unchanged)."""
    if not names or column not in table.columns:
        return table
    return table.mutate(**{column: table[column].substitute(dict(names))})


def map_value(field: str, value: str | None, mapping: Mapping_) -> str | None:
    """One value mapped (for Python-side readers)."""
    if value is None:
        return None
    return mapping.get(field, {}).get(value, value)

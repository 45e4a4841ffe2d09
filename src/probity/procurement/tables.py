"""The procurement warehouse tables: compiled OCDS releases flattened for analysis.

``probity.procurement.flatten`` writes these tables from a file of compiled releases (one JSON
object a line); red-flag indicators (``probity.procurement.indicators``) read them as Ibis tables,
so the same indicator code runs on DuckDB and on Spark.

Conventions, the same in every table:

- ``ocid`` joins every table to ``processes`` (one row per compiled release, i.e. per contracting
  process). A compiled release is assumed to be the only one for its ``ocid``, as Cardinal does.
- Arrays become child tables keyed by the parent's key plus a 1-based ``*_index`` column that keeps
  the order of the array in the release (``bid_index``, ``award_index`` …). Indicators that depend on
  order ("the first lowest bid") use it.
- Column names are the OCDS field paths in snake_case (``tender.procurementMethodDetails`` →
  ``procurement_method_details``); a prefix names the object they come from when the table mixes
  objects (``tender_value_amount``, ``buyer_id``).
- Dates are kept twice: the text as published (``*_date`` / ``date``: OCDS dates are RFC 3339 text,
  and some indicators compare the text, as Cardinal does), and a timestamp (``*_at``, UTC) that is
  NULL unless the text is a full RFC 3339 date-time with a time zone.
- Identifiers are text; a number given as an identifier becomes its decimal text.
- A missing field is NULL. ``has_*`` flags say whether an array was present at all (an empty
  array is present), because several Cardinal rules distinguish "no awards" from "awards: []".
- Amounts are float64 (as Cardinal reads them); currencies are ISO 4217 text.

``TABLES`` below is the schema: table → columns (name, Ibis type, description). It is the
contract between the flattening and every indicator; add columns at the end of a table, never
rename or remove one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # an Ibis type name: "string", "int64", "float64", "boolean", "timestamp('UTC')", "array<string>"
    description: str


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    description: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


def _c(name: str, dtype: str, description: str) -> Column:
    return Column(name, dtype, description)


TS = "timestamp('UTC')"
ORG = "an organisation reference (id and name, as in the release)"

PROCESSES = Table(
    "processes",
    ("ocid",),
    "One row per compiled release (contracting process): buyer, tender and summary facts.",
    (
        _c("ocid", "string", "Open Contracting ID"),
        _c("release_id", "string", "the compiled release's id"),
        _c("date", "string", "the compiled release's date (text)"),
        _c("initiation_type", "string", "initiationType"),
        _c("buyer_id", "string", "buyer.id"),
        _c("buyer_name", "string", "buyer.name"),
        _c("procuring_entity_id", "string", "tender.procuringEntity.id"),
        _c("procuring_entity_name", "string", "tender.procuringEntity.name"),
        _c("tender_id", "string", "tender.id"),
        _c("tender_title", "string", "tender.title"),
        _c("tender_status", "string", "tender.status (planning, active, cancelled, unsuccessful, complete …)"),
        _c("procurement_method", "string", "tender.procurementMethod (open, selective, limited, direct)"),
        _c("procurement_method_details", "string", "tender.procurementMethodDetails (the local method name)"),
        _c("procurement_method_rationale", "string", "tender.procurementMethodRationale"),
        _c("main_procurement_category", "string", "tender.mainProcurementCategory (goods, works, services)"),
        _c("award_criteria", "string", "tender.awardCriteria"),
        _c("submission_method", "array<string>", "tender.submissionMethod"),
        _c("tender_value_amount", "float64", "tender.value.amount"),
        _c("tender_value_currency", "string", "tender.value.currency"),
        _c("tender_date_published", "string", "tender.datePublished (text)"),
        _c("tender_period_start_date", "string", "tender.tenderPeriod.startDate (text)"),
        _c("tender_period_end_date", "string", "tender.tenderPeriod.endDate (text)"),
        _c("tender_period_start_at", TS, "tender.tenderPeriod.startDate if a valid RFC 3339 date-time"),
        _c("tender_period_end_at", TS, "tender.tenderPeriod.endDate if a valid RFC 3339 date-time"),
        _c("enquiry_period_start_date", "string", "tender.enquiryPeriod.startDate (text)"),
        _c("enquiry_period_end_date", "string", "tender.enquiryPeriod.endDate (text)"),
        _c("award_period_start_date", "string", "tender.awardPeriod.startDate (text)"),
        _c("award_period_end_date", "string", "tender.awardPeriod.endDate (text)"),
        _c("contract_period_start_date", "string", "tender.contractPeriod.startDate (text)"),
        _c("contract_period_end_date", "string", "tender.contractPeriod.endDate (text)"),
        _c("number_of_tenderers", "int64", "tender.numberOfTenderers"),
        _c("has_enquiries", "boolean", "tender.hasEnquiries"),
        _c("has_awards", "boolean", "the release has an awards array (possibly empty)"),
        _c("has_bid_details", "boolean", "the release has a bids.details array (possibly empty)"),
        _c("has_contracts", "boolean", "the release has a contracts array (possibly empty)"),
        _c("award_count", "int64", "number of awards"),
        _c("bid_count", "int64", "number of bids.details"),
        _c("contract_count", "int64", "number of contracts"),
    ),
)

PARTIES = Table(
    "parties",
    ("ocid", "party_index"),
    "The parties of each release, with roles, main identifier, address and contact point.",
    (
        _c("ocid", "string", "Open Contracting ID"),
        _c("party_index", "int64", "position in the parties array, from 1"),
        _c("party_id", "string", "parties.id (what buyer.id, suppliers.id … refer to)"),
        _c("name", "string", "parties.name"),
        _c("roles", "array<string>", "parties.roles (buyer, procuringEntity, tenderer, supplier, payer …)"),
        _c("identifier_scheme", "string", "parties.identifier.scheme (org-id.guide list code)"),
        _c("identifier_id", "string", "parties.identifier.id"),
        _c("identifier_legal_name", "string", "parties.identifier.legalName"),
        _c("street_address", "string", "parties.address.streetAddress"),
        _c("locality", "string", "parties.address.locality"),
        _c("region", "string", "parties.address.region"),
        _c("postal_code", "string", "parties.address.postalCode"),
        _c("country_name", "string", "parties.address.countryName"),
        _c("contact_point_name", "string", "parties.contactPoint.name"),
        _c("contact_point_email", "string", "parties.contactPoint.email"),
        _c("contact_point_telephone", "string", "parties.contactPoint.telephone (as published; compare normalised)"),
    ),
)

LOTS = Table(
    "lots",
    ("ocid", "lot_index"),
    "tender.lots",
    (
        _c("ocid", "string", "Open Contracting ID"),
        _c("lot_index", "int64", "position in tender.lots, from 1"),
        _c("lot_id", "string", "lots.id"),
        _c("title", "string", "lots.title"),
        _c("status", "string", "lots.status"),
        _c("value_amount", "float64", "lots.value.amount"),
        _c("value_currency", "string", "lots.value.currency"),
    ),
)

ITEMS = Table(
    "items",
    ("ocid", "item_index"),
    "tender.items: what is bought.",
    (
        _c("ocid", "string", "Open Contracting ID"),
        _c("item_index", "int64", "position in tender.items, from 1"),
        _c("item_id", "string", "items.id"),
        _c("description", "string", "items.description"),
        _c("classification_scheme", "string", "items.classification.scheme (CPV, UNSPSC …)"),
        _c("classification_id", "string", "items.classification.id"),
        _c("quantity", "float64", "items.quantity"),
        _c("unit_name", "string", "items.unit.name"),
        _c("unit_value_amount", "float64", "items.unit.value.amount"),
        _c("unit_value_currency", "string", "items.unit.value.currency"),
        _c("related_lot", "string", "items.relatedLot"),
    ),
)

BIDS = Table(
    "bids",
    ("ocid", "bid_index"),
    "bids.details (the OCDS bid statistics and details extension): every bid, in release order.",
    (
        _c("ocid", "string", "Open Contracting ID"),
        _c("bid_index", "int64", "position in bids.details, from 1"),
        _c("bid_id", "string", "bids.details.id"),
        _c("status", "string", "bids.details.status (invited, pending, valid, disqualified, withdrawn)"),
        _c("date", "string", "bids.details.date (text)"),
        _c("value_amount", "float64", "bids.details.value.amount"),
        _c("value_currency", "string", "bids.details.value.currency"),
        _c("has_tenderers", "boolean", "the bid has a tenderers array"),
        _c("tenderer_count", "int64", "number of entries in tenderers (0 if none)"),
        _c("related_lots", "array<string>", "bids.details.relatedLots"),
    ),
)

BID_TENDERERS = Table(
    "bid_tenderers",
    ("ocid", "bid_index", "tenderer_index"),
    "bids.details.tenderers: who submitted each bid (a consortium has several rows).",
    (
        _c("ocid", "string", "Open Contracting ID"),
        _c("bid_index", "int64", "the bid's position in bids.details, from 1"),
        _c("tenderer_index", "int64", "position in the bid's tenderers, from 1"),
        _c("tenderer_id", "string", "tenderers.id"),
        _c("tenderer_name", "string", "tenderers.name"),
    ),
)

AWARDS = Table(
    "awards",
    ("ocid", "award_index"),
    "awards, in release order.",
    (
        _c("ocid", "string", "Open Contracting ID"),
        _c("award_index", "int64", "position in awards, from 1"),
        _c("award_id", "string", "awards.id"),
        _c("title", "string", "awards.title"),
        _c("status", "string", "awards.status (pending, active, cancelled, unsuccessful)"),
        _c("date", "string", "awards.date (text)"),
        _c("value_amount", "float64", "awards.value.amount"),
        _c("value_currency", "string", "awards.value.currency"),
        _c("has_suppliers", "boolean", "the award has a suppliers array"),
        _c("supplier_count", "int64", "number of entries in suppliers (0 if none)"),
        _c("has_items", "boolean", "the award has an items array"),
        _c("related_lots", "array<string>", "awards.relatedLots"),
        _c("related_bids", "array<string>", "awards.relatedBids, or awards.relatedBid as a one-element array"),
        _c("contract_period_start_date", "string", "awards.contractPeriod.startDate (text)"),
        _c("contract_period_end_date", "string", "awards.contractPeriod.endDate (text)"),
    ),
)

AWARD_SUPPLIERS = Table(
    "award_suppliers",
    ("ocid", "award_index", "supplier_index"),
    "awards.suppliers: who won each award.",
    (
        _c("ocid", "string", "Open Contracting ID"),
        _c("award_index", "int64", "the award's position in awards, from 1"),
        _c("supplier_index", "int64", "position in the award's suppliers, from 1"),
        _c("supplier_id", "string", "suppliers.id"),
        _c("supplier_name", "string", "suppliers.name"),
    ),
)

AWARD_ITEMS = Table(
    "award_items",
    ("ocid", "award_index", "item_index"),
    "awards.items: what each award is for.",
    (
        _c("ocid", "string", "Open Contracting ID"),
        _c("award_index", "int64", "the award's position in awards, from 1"),
        _c("item_index", "int64", "position in the award's items, from 1"),
        _c("item_id", "string", "items.id"),
        _c("description", "string", "items.description"),
        _c("classification_scheme", "string", "items.classification.scheme"),
        _c("classification_id", "string", "items.classification.id"),
        _c("quantity", "float64", "items.quantity"),
        _c("unit_value_amount", "float64", "items.unit.value.amount"),
        _c("unit_value_currency", "string", "items.unit.value.currency"),
    ),
)

CONTRACTS = Table(
    "contracts",
    ("ocid", "contract_index"),
    "contracts, in release order.",
    (
        _c("ocid", "string", "Open Contracting ID"),
        _c("contract_index", "int64", "position in contracts, from 1"),
        _c("contract_id", "string", "contracts.id"),
        _c("award_id", "string", "contracts.awardID (joins awards.award_id)"),
        _c("title", "string", "contracts.title"),
        _c("status", "string", "contracts.status (pending, active, cancelled, terminated)"),
        _c("value_amount", "float64", "contracts.value.amount"),
        _c("value_currency", "string", "contracts.value.currency"),
        _c("date_signed", "string", "contracts.dateSigned (text)"),
        _c("date_signed_at", TS, "contracts.dateSigned if a valid RFC 3339 date-time"),
        _c("period_start_date", "string", "contracts.period.startDate (text)"),
        _c("period_end_date", "string", "contracts.period.endDate (text)"),
        _c("amendment_count", "int64", "number of contracts.amendments"),
    ),
)

CONTRACT_AMENDMENTS = Table(
    "contract_amendments",
    ("ocid", "contract_index", "amendment_index"),
    "contracts.amendments: changes to signed contracts.",
    (
        _c("ocid", "string", "Open Contracting ID"),
        _c("contract_index", "int64", "the contract's position in contracts, from 1"),
        _c("amendment_index", "int64", "position in the contract's amendments, from 1"),
        _c("amendment_id", "string", "amendments.id"),
        _c("date", "string", "amendments.date (text)"),
        _c("rationale", "string", "amendments.rationale"),
        _c("description", "string", "amendments.description"),
    ),
)

TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        PROCESSES,
        PARTIES,
        LOTS,
        ITEMS,
        BIDS,
        BID_TENDERERS,
        AWARDS,
        AWARD_SUPPLIERS,
        AWARD_ITEMS,
        CONTRACTS,
        CONTRACT_AMENDMENTS,
    )
}

# The warehouse keeps each table under this prefix, so that other modules' tables cannot clash.
WAREHOUSE_PREFIX = "procurement_"


def warehouse_name(table: str) -> str:
    """The warehouse table name of a procurement table (``bids`` → ``procurement_bids``)."""
    if table not in TABLES:
        raise KeyError(f"{table!r} is not a procurement table; use one of {', '.join(TABLES)}.")
    return f"{WAREHOUSE_PREFIX}{table}"

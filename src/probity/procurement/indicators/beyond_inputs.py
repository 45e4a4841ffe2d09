"""The narrow input tables the beyond-Cardinal indicators read, built from OCDS compiled releases.

Every date is carried as a whole number of days since 1970-01-01 (``*_day`` columns) and every
amount as a float, so that the indicator expressions use only integer and float arithmetic, which
DuckDB and Spark evaluate identically. Missing fields stay NULL: each indicator turns a NULL it
needs into a *not applicable* result naming the OCDS field.

Tables (warehouse names in ``TABLES``):

``procurement_risk_awards`` — one row per contracting process × award × supplier (a process without
any award has one row with NULL award columns):
    ocid, buyer_id, buyer_name, method, method_details, category, currency,
    tender_start_day, tender_end_day, tender_value, number_of_tenderers,
    award_id, award_status, award_day, award_value, award_year,
    supplier_id, supplier_name, supplier_identifier, supplier_name_key,
    supplier_key (identifier, else party id, else name key: who the supplier is across processes),
    year (of the award, else of the tender start), contract_value, contract_signed_day, amendments
``procurement_risk_bids`` — one row per bid × tenderer: ocid, tenderer_id, bid_status
``procurement_risk_register`` — company register: supplier_identifier, founded_day
``procurement_risk_debarments`` — debarment_id, match_key ("id:…" or "name:…"), start_day, end_day,
    authority, name
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

EPOCH = date(1970, 1, 1)

TABLES = {
    "awards": "procurement_risk_awards",
    "bids": "procurement_risk_bids",
    "register": "procurement_risk_register",
    "debarments": "procurement_risk_debarments",
}

AWARD_SCHEMA = pa.schema(
    [
        ("ocid", pa.string()),
        ("buyer_id", pa.string()),
        ("buyer_name", pa.string()),
        ("method", pa.string()),
        ("method_details", pa.string()),
        ("category", pa.string()),
        ("currency", pa.string()),
        ("tender_start_day", pa.int64()),
        ("tender_end_day", pa.int64()),
        ("tender_value", pa.float64()),
        ("number_of_tenderers", pa.int64()),
        ("award_id", pa.string()),
        ("award_status", pa.string()),
        ("award_day", pa.int64()),
        ("award_value", pa.float64()),
        ("award_year", pa.int64()),
        ("supplier_id", pa.string()),
        ("supplier_name", pa.string()),
        ("supplier_identifier", pa.string()),
        ("supplier_name_key", pa.string()),
        ("supplier_key", pa.string()),
        ("year", pa.int64()),
        ("contract_value", pa.float64()),
        ("contract_signed_day", pa.int64()),
        ("amendments", pa.int64()),
    ]
)
BID_SCHEMA = pa.schema([("ocid", pa.string()), ("tenderer_id", pa.string()), ("bid_status", pa.string())])
REGISTER_SCHEMA = pa.schema([("supplier_identifier", pa.string()), ("founded_day", pa.int64())])
DEBARMENT_SCHEMA = pa.schema(
    [
        ("debarment_id", pa.string()),
        ("match_key", pa.string()),
        ("start_day", pa.int64()),
        ("end_day", pa.int64()),
        ("authority", pa.string()),
        ("name", pa.string()),
    ]
)

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def name_key(name: str | None, *, strip_accents: bool = True) -> str | None:
    """A name reduced for exact matching: case-folded, accents and punctuation removed, one space."""
    if not name:
        return None
    if strip_accents:
        decomposed = unicodedata.normalize("NFKD", name.casefold())
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    else:
        text = name.lower()
    key = " ".join(_NOT_WORD.sub(" ", text).split())
    return key or None


def day_number(value: Any) -> int | None:
    """Days since 1970-01-01 for an OCDS date-time (or a date), None when absent or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value.date() - EPOCH).days
    if isinstance(value, date):
        return (value - EPOCH).days
    text = str(value).strip()
    try:
        return (date.fromisoformat(text[:10]) - EPOCH).days
    except ValueError:
        return None


def day_date(day: int | None) -> str | None:
    """The ISO date of a day number (for evidence)."""
    if day is None:
        return None
    return date.fromordinal(EPOCH.toordinal() + int(day)).isoformat()


def _amount(value: Any) -> float | None:
    if not isinstance(value, Mapping):
        return None
    amount = value.get("amount")
    if isinstance(amount, bool) or amount is None:
        return None
    try:
        return float(amount)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _objects(value: Any) -> list[Any]:
    """A list of objects; one object written where OCDS wants a list (a real publisher's ``awards``) is a
    list of one (the ingest warns about it: ``object_for_list``)."""
    return [value] if isinstance(value, Mapping) else _list(value)


def party_identifier(party: Mapping[str, Any]) -> str | None:
    """The party's main identifier number (``identifier.id``), as registers and debarment lists quote it."""
    return _text(_dict(party.get("identifier")).get("id"))


@dataclass
class InputRows:
    awards: list[dict[str, Any]]
    bids: list[dict[str, Any]]

    def tables(self) -> dict[str, pa.Table]:
        return {
            "awards": pa.Table.from_pylist(self.awards, schema=AWARD_SCHEMA),
            "bids": pa.Table.from_pylist(self.bids, schema=BID_SCHEMA),
        }


def release_rows(release: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The award rows and bid rows of one compiled release."""
    ocid = _text(release.get("ocid"))
    if ocid is None:
        raise ValueError("the release has no ocid")
    parties = {_text(p.get("id")): p for p in _objects(release.get("parties")) if isinstance(p, Mapping)}
    tender = _dict(release.get("tender"))
    buyer = _dict(release.get("buyer")) or _dict(tender.get("procuringEntity"))
    period = _dict(tender.get("tenderPeriod"))
    number = tender.get("numberOfTenderers")
    base: dict[str, Any] = {
        "ocid": ocid,
        "buyer_id": _text(buyer.get("id")),
        "buyer_name": _text(buyer.get("name")),
        "method": _text(tender.get("procurementMethod")),
        "method_details": _text(tender.get("procurementMethodDetails")),
        "category": _text(tender.get("mainProcurementCategory")),
        "currency": _text(_dict(tender.get("value")).get("currency")),
        "tender_start_day": day_number(period.get("startDate")),
        "tender_end_day": day_number(period.get("endDate")),
        "tender_value": _amount(tender.get("value")),
        "number_of_tenderers": int(number) if isinstance(number, int) and not isinstance(number, bool) else None,
    }
    tender_year = int(day_date(base["tender_start_day"])[:4]) if base["tender_start_day"] is not None else None  # type: ignore[index]
    contracts_by_award: dict[str | None, list[Mapping[str, Any]]] = {}
    for contract in _objects(release.get("contracts")):
        if isinstance(contract, Mapping):
            contracts_by_award.setdefault(_text(contract.get("awardID")), []).append(contract)
    rows: list[dict[str, Any]] = []
    for award in _objects(release.get("awards")):
        if not isinstance(award, Mapping):
            continue
        award_id = _text(award.get("id"))
        award_day = day_number(award.get("date"))
        contracts = contracts_by_award.get(award_id, [])
        values = [v for v in (_amount(c.get("value")) for c in contracts) if v is not None]
        signed = [d for d in (day_number(c.get("dateSigned")) for c in contracts) if d is not None]
        award_part = {
            "award_id": award_id,
            "award_status": _text(award.get("status")),
            "award_day": award_day,
            "award_value": _amount(award.get("value")),
            "award_year": int(day_date(award_day)[:4]) if award_day is not None else None,  # type: ignore[index]
            "contract_value": sum(values) if values else None,
            "contract_signed_day": min(signed) if signed else None,
            "amendments": sum(len(_list(c.get("amendments"))) for c in contracts),
        }
        suppliers = [s for s in _list(award.get("suppliers")) if isinstance(s, Mapping)] or [{}]
        for supplier in suppliers:
            supplier_id = _text(supplier.get("id"))
            party = _dict(parties.get(supplier_id))
            name = _text(supplier.get("name")) or _text(party.get("name"))
            identifier = party_identifier(party)
            key = name_key(name)
            rows.append(
                base
                | award_part
                | {
                    "supplier_id": supplier_id,
                    "supplier_name": name,
                    "supplier_identifier": identifier,
                    "supplier_name_key": key,
                    "supplier_key": identifier or supplier_id or key,
                    "year": award_part["award_year"] or tender_year,
                }
            )
    if not rows:
        rows.append(base | {"year": tender_year})
    bids: list[dict[str, Any]] = []
    for bid in _list(_dict(release.get("bids")).get("details")):
        if not isinstance(bid, Mapping):
            continue
        for tenderer in _list(bid.get("tenderers")):
            if isinstance(tenderer, Mapping) and _text(tenderer.get("id")):
                bids.append(
                    {"ocid": ocid, "tenderer_id": _text(tenderer.get("id")), "bid_status": _text(bid.get("status"))}
                )
    return rows, bids


def input_rows(releases: Iterable[Mapping[str, Any]]) -> InputRows:
    awards: list[dict[str, Any]] = []
    bids: list[dict[str, Any]] = []
    for release in releases:
        award_rows, bid_rows = release_rows(release)
        awards.extend(award_rows)
        bids.extend(bid_rows)
    return InputRows(awards, bids)


def read_releases(path: Path) -> Iterator[dict[str, Any]]:
    """Compiled releases from a JSON Lines file (blank lines skipped)."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"line {number} of {path} is not JSON: {exc.msg}") from exc


def register_table(rows: Iterable[tuple[str, date | None]]) -> pa.Table:
    """The company register table from (registry number, founding date) pairs."""
    seen: dict[str, int] = {}
    for identifier, founded in rows:
        day = day_number(founded)
        if identifier and day is not None:
            seen[identifier] = min(day, seen.get(identifier, day))
    return pa.Table.from_pylist(
        [{"supplier_identifier": k, "founded_day": v} for k, v in sorted(seen.items())], schema=REGISTER_SCHEMA
    )


def debarment_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """The debarment table from dicts with id, name, identifiers (list of ids), start, end, authority.

    Each name gives two keys, with accents removed and kept, so that it matches names normalised
    in Python (``name_key``) and in the warehouse (``awards_from_tables``) alike.
    """
    out: list[dict[str, Any]] = []
    for row in rows:
        keys = {f"id:{i}" for i in row.get("identifiers", []) if i}
        for key in (name_key(row.get("name")), name_key(row.get("name"), strip_accents=False)):
            if key:
                keys.add(f"name:{key}")
        for match_key in sorted(keys):
            out.append(
                {
                    "debarment_id": str(row["id"]),
                    "match_key": match_key,
                    "start_day": day_number(row.get("start")),
                    "end_day": day_number(row.get("end")),
                    "authority": row.get("authority") or "",
                    "name": row.get("name") or "",
                }
            )
    return pa.Table.from_pylist(out, schema=DEBARMENT_SCHEMA)


# --- the same inputs from the procurement warehouse tables (``probity.procurement.tables``) ------


def _ibis_day(text: Any) -> Any:
    """Day number of an OCDS date text (its first ten characters), NULL when not a date."""
    return text.substr(0, 10).try_cast("date").epoch_days().cast("int64")


def _ibis_year(text: Any) -> Any:
    return text.substr(0, 10).try_cast("date").year().cast("int64")


def _ibis_name_key(name: Any) -> Any:
    """Lower case, every run of non-letters/digits one space, trimmed (accents are kept: see
    ``debarment_table``, which writes keys with and without them)."""
    return name.lower().re_replace(r"[^\p{L}\p{N}]+", " ").strip().nullif("")


def awards_from_tables(tables: Mapping[str, Any]) -> Any:
    """The ``awards`` input as an Ibis expression over the flattened procurement tables
    (``processes``, ``awards``, ``award_suppliers``, ``parties``, ``contracts``), so that no
    compiled release has to pass through Python. Column for column the same as ``release_rows``
    (names are normalised without removing accents)."""
    import ibis  # a fifth of a second: when the inputs are built, not when the detectors are registered

    p = tables["processes"]
    processes = p.select(
        "ocid",
        buyer_id=ibis.coalesce(p.buyer_id, p.procuring_entity_id),
        buyer_name=ibis.coalesce(p.buyer_name, p.procuring_entity_name),
        method=p.procurement_method,
        method_details=p.procurement_method_details,
        category=p.main_procurement_category,
        currency=p.tender_value_currency,
        tender_start_day=_ibis_day(p.tender_period_start_date),
        tender_end_day=_ibis_day(p.tender_period_end_date),
        tender_value=p.tender_value_amount,
        number_of_tenderers=p.number_of_tenderers,
        tender_year=_ibis_year(p.tender_period_start_date),
    )
    c = tables["contracts"]
    contracts = c.group_by(["ocid", "award_id"]).aggregate(
        contract_value=c.value_amount.sum(),
        contract_signed_day=_ibis_day(c.date_signed).min(),
        amendments=c.amendment_count.sum().cast("int64"),
    )
    a = tables["awards"]
    awards = a.select(
        "ocid",
        "award_index",
        "award_id",
        award_status=a.status,
        award_day=_ibis_day(a.date),
        award_value=a.value_amount,
        award_year=_ibis_year(a.date),
    )
    awards = awards.left_join(contracts, ["ocid", "award_id"]).select(
        awards, contracts.contract_value, contracts.contract_signed_day, contracts.amendments
    )
    s = tables["award_suppliers"]
    parties = tables["parties"]
    party = parties.group_by(["ocid", "party_id"]).aggregate(
        party_name=parties.name.min(), supplier_identifier=parties.identifier_id.min()
    )
    suppliers = s.left_join(party, [s.ocid == party.ocid, s.supplier_id == party.party_id]).select(
        s.ocid,
        s.award_index,
        s.supplier_id,
        supplier_name=ibis.coalesce(s.supplier_name, party.party_name),
        supplier_identifier=party.supplier_identifier,
    )
    with_suppliers = awards.left_join(suppliers, ["ocid", "award_index"]).select(
        awards, suppliers.supplier_id, suppliers.supplier_name, suppliers.supplier_identifier
    )
    joined = processes.left_join(with_suppliers, "ocid").select(
        processes, *[with_suppliers[c] for c in with_suppliers.columns if c not in ("ocid", "award_index")]
    )
    name_key_column = _ibis_name_key(joined.supplier_name)
    out = joined.mutate(
        supplier_name_key=name_key_column,
        supplier_key=ibis.coalesce(joined.supplier_identifier, joined.supplier_id, name_key_column),
        year=ibis.coalesce(joined.award_year, joined.tender_year),
        amendments=ibis.cases((joined.award_id.notnull(), joined.amendments.fill_null(0)), else_=ibis.null("int64")),
    )
    return out.select(*AWARD_SCHEMA.names)


def bids_from_tables(tables: Mapping[str, Any]) -> Any:
    """The ``bids`` input from the flattened ``bids`` and ``bid_tenderers`` tables."""
    b = tables["bids"]
    t = tables["bid_tenderers"]
    joined = t.join(b, [t.ocid == b.ocid, t.bid_index == b.bid_index])
    rows = joined.filter(joined.tenderer_id.notnull()).select(
        ocid=t.ocid, tenderer_id=t.tenderer_id, bid_status=b.status
    )
    return rows

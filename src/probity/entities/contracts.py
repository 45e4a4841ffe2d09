"""Probity's procurement contracts as FollowTheMoney entities, for Aleph and OpenSanctions users.

Read-only from the procurement warehouse tables (``processes``, ``parties``, ``awards``,
``award_suppliers``, ``contracts``) through ``probity.procurement.selectors``, with Ibis, so the same code
reads DuckDB and Spark. For each award of each contracting process:

* one FtM ``Contract`` (id ``probity-contract-…``): the OCDS contract that implements the award when
  there is one (its title, value, signature date and status), else the award itself; ``authority`` is
  the buyer, ``procedureNumber`` the ``ocid``, ``method`` the local procurement method name (or the
  OCDS method), ``type`` the main procurement category, ``contractDate`` the signature date;
* one FtM ``ContractAward`` per supplier of the award (``supplier`` → the supplier, ``contract`` → the
  contract; amount, currency, date and status of the award);
* the buyer (``PublicBody``) and each supplier (``Company``) — as the ``probity-organisation-N`` entity
  already exported when the party's identifier names exactly one of Probity's organisations, otherwise
  as a new entity (``probity-ocds-party-…``) with the party's name, identifier and address.

Ids are stable (a hash of the ocid and the OCDS ids), so re-exporting or re-syncing the same data
gives the same entities. Processes without awards are not exported (no contract was given).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from followthemoney import model
from followthemoney.proxy import EntityProxy

from probity.core.models import Identifier
from probity.entities.ids import organisation_ftm_id
from probity.warehouse.services import warehouse_connection

LOGGER = logging.getLogger("probity.entities")

NEEDED_TABLES = ("processes", "parties", "awards", "award_suppliers", "contracts")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()


def _amount(value: Any) -> str:
    if value is None:
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if math.isnan(number):
        return ""
    return f"{number:.2f}"


def _date(value: Any) -> str:
    """The date part of an OCDS date-time text ("2021-07-18T00:00:00Z" → "2021-07-18")."""
    text = _text(value)
    return text[:10] if len(text) >= 10 else text


def stable_id(kind: str, *parts: str) -> str:
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]  # noqa: S324 — an id, not a secret
    return f"probity-{kind}-{digest}"


def _rows(frame: Any) -> list[dict[str, Any]]:
    return list(frame.to_dict("records"))


def missing_tables() -> list[str]:
    """The procurement tables the contract export reads that the warehouse does not have."""
    # Procurement is another module, which an installation may leave out: read only when contracts are exported.
    from probity.procurement.selectors import procurement_tables_missing

    with warehouse_connection(read_only=True) as warehouse:
        return procurement_tables_missing(warehouse=warehouse, tables=NEEDED_TABLES)


def _read() -> dict[str, list[dict[str, Any]]]:
    from probity.procurement.selectors import procurement_frame, procurement_parties  # see missing_tables

    wanted = {
        "processes": [
            "ocid",
            "buyer_id",
            "buyer_name",
            "tender_title",
            "procurement_method",
            "procurement_method_details",
            "main_procurement_category",
        ],
        "parties": [
            "ocid",
            "party_id",
            "name",
            "roles",
            "identifier_scheme",
            "identifier_id",
            "identifier_legal_name",
            "street_address",
            "locality",
            "postal_code",
            "country_name",
        ],
        "awards": ["ocid", "award_index", "award_id", "title", "status", "date", "value_amount", "value_currency"],
        "award_suppliers": ["ocid", "award_index", "supplier_index", "supplier_id", "supplier_name"],
        "contracts": [
            "ocid",
            "contract_index",
            "contract_id",
            "award_id",
            "title",
            "status",
            "value_amount",
            "value_currency",
            "date_signed",
        ],
    }
    out: dict[str, list[dict[str, Any]]] = {}
    with warehouse_connection(read_only=True) as warehouse:
        for table, columns in wanted.items():
            if table == "parties":  # the identity columns, and the name and address columns it has
                frame = procurement_parties(warehouse=warehouse, columns=columns)
            else:
                frame = procurement_frame(warehouse=warehouse, table=table, columns=columns)
            out[table] = _rows(frame)
    return out


def _core_organisations(parties: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """(scheme, id) of each party identifier that names exactly one of Probity's organisations."""
    from probity.ownership.services import ORGANISATION_SCHEMES, scheme_issuer  # another module, as procurement above

    hashes: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for party in parties:
        scheme, value = _text(party.get("identifier_scheme")), _text(party.get("identifier_id"))
        if not value:
            continue
        for core_scheme in ORGANISATION_SCHEMES:
            hashes[Identifier.hash_value(core_scheme, scheme_issuer(scheme=scheme), value)].add((scheme, value))
    found: dict[tuple[str, str], set[int]] = defaultdict(set)
    keys = sorted(hashes)
    for start in range(0, len(keys), 500):
        rows = Identifier.objects.filter(organisation__isnull=False, value_hash__in=keys[start : start + 500])
        for value_hash, organisation_id in rows.values_list("value_hash", "organisation_id"):
            for key in hashes[value_hash]:
                found[key].add(organisation_id)
    return {key: next(iter(ids)) for key, ids in found.items() if len(ids) == 1}


def _party_proxy(party: dict[str, Any], schema: str, ftm_id: str) -> EntityProxy:
    proxy = model.make_entity(schema)
    proxy.id = ftm_id
    proxy.add("name", _text(party.get("name")) or _text(party.get("identifier_legal_name")))
    legal = _text(party.get("identifier_legal_name"))
    if legal and legal != _text(party.get("name")):
        proxy.add("alias", legal)
    value = _text(party.get("identifier_id"))
    if value:
        proxy.add("registrationNumber", value)
    address = ", ".join(
        p for p in (_text(party.get(k)) for k in ("street_address", "postal_code", "locality", "country_name")) if p
    )
    if address:
        proxy.add("address", address)
    return proxy


def contract_proxies() -> Iterator[EntityProxy]:
    """Contracts, contract awards, buyers and suppliers from the procurement warehouse (see the module)."""
    try:
        missing = missing_tables()
    except Exception as error:  # noqa: BLE001 — no warehouse configured or reachable: nothing to export
        LOGGER.info("contracts not exported: the procurement warehouse is not readable (%s)", type(error).__name__)
        return
    if missing:
        LOGGER.info("contracts not exported: the warehouse has no %s", ", ".join(missing))
        return
    data = _read()
    processes = {_text(p["ocid"]): p for p in data["processes"]}
    parties = {(_text(p["ocid"]), _text(p["party_id"])): p for p in data["parties"]}
    core = _core_organisations(data["parties"])
    contracts_by_award: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sorted(data["contracts"], key=lambda c: (_text(c["ocid"]), int(c["contract_index"]))):
        key = (_text(row["ocid"]), _text(row.get("award_id")))
        contracts_by_award.setdefault(key, row)  # the first contract that implements the award
    suppliers: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for supplier_row in sorted(data["award_suppliers"], key=lambda r: int(r["supplier_index"])):
        suppliers[(_text(supplier_row["ocid"]), int(supplier_row["award_index"]))].append(supplier_row)
    done: set[str] = set()

    def party_entity(ocid: str, party_id: str, name: str, schema: str) -> tuple[str, EntityProxy | None]:
        party = parties.get((ocid, party_id)) or {"name": name}
        key = (_text(party.get("identifier_scheme")), _text(party.get("identifier_id")))
        if key in core:
            return organisation_ftm_id(core[key]), None
        # without an identifier, the party is only known inside this process
        ftm_id = stable_id("ocds-party", *key) if key[1] else stable_id("ocds-party", ocid, party_id, name)
        if ftm_id in done or not (_text(party.get("name")) or name):
            return ftm_id, None
        done.add(ftm_id)
        return ftm_id, _party_proxy({**party, "name": _text(party.get("name")) or name}, schema, ftm_id)

    for award in sorted(data["awards"], key=lambda a: (_text(a["ocid"]), int(a["award_index"]))):
        ocid, award_index, award_id = _text(award["ocid"]), int(award["award_index"]), _text(award.get("award_id"))
        process = processes.get(ocid, {})
        implemented = contracts_by_award.get((ocid, award_id)) if award_id else None
        contract = model.make_entity("Contract")
        contract.id = stable_id("contract", ocid, award_id or str(award_index))
        title = (
            _text((implemented or {}).get("title")) or _text(award.get("title")) or _text(process.get("tender_title"))
        )
        contract.add("title", title or ocid)
        contract.add("name", title or ocid)
        contract.add("procedureNumber", ocid)
        method = _text(process.get("procurement_method_details")) or _text(process.get("procurement_method"))
        if method:
            contract.add("method", method)
        category = _text(process.get("main_procurement_category"))
        if category:
            contract.add("type", category)
        amount = _amount((implemented or {}).get("value_amount")) or _amount(award.get("value_amount"))
        currency = _text((implemented or {}).get("value_currency")) or _text(award.get("value_currency"))
        if amount:
            contract.add("amount", amount)
        if currency:
            contract.add("currency", currency, quiet=True)
        signed = _date((implemented or {}).get("date_signed"))
        if signed:
            contract.add("contractDate", signed, quiet=True)
        status = _text((implemented or {}).get("status")) or _text(award.get("status"))
        if status:
            contract.add("status", status)
        buyer_id = _text(process.get("buyer_id"))
        if buyer_id or _text(process.get("buyer_name")):
            authority_id, buyer = party_entity(ocid, buyer_id, _text(process.get("buyer_name")), "PublicBody")
            if buyer is not None:
                yield buyer
            contract.add("authority", authority_id)
        yield contract
        for supplier in suppliers.get((ocid, award_index), []):
            supplier_id, company = party_entity(
                ocid, _text(supplier.get("supplier_id")), _text(supplier.get("supplier_name")), "Company"
            )
            if company is not None:
                yield company
            link = model.make_entity("ContractAward")
            link.id = stable_id("award", ocid, award_id or str(award_index), str(supplier["supplier_index"]))
            link.add("supplier", supplier_id)
            link.add("contract", contract.id)
            award_amount = _amount(award.get("value_amount"))
            if award_amount:
                link.add("amount", award_amount)
            if _text(award.get("value_currency")):
                link.add("currency", _text(award.get("value_currency")), quiet=True)
            if _date(award.get("date")):
                link.add("date", _date(award.get("date")), quiet=True)
            if _text(award.get("status")):
                link.add("status", _text(award.get("status")))
            yield link

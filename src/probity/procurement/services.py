"""Writes of the procurement app: the debarment register and the risk-indicator runs.

- ``debarment_import_csv`` / ``debarment_import_ftm``: load debarment lists (a CSV file, or
  FollowTheMoney ``Sanction`` entities with their targets, as OpenSanctions publishes them).
  Idempotent by ``source_key``; a bad record is reported with its line and reason and the valid
  ones beside it are kept.
- ``procurement_detect``: runs every beyond-Cardinal indicator and Cardinal's indicators with
  process outcomes (``indicators.cardinal.PROCESS_OUTCOME_CODES``: all eleven) over the procurement
  data, writes the full pass / flag / not-applicable matrix and the risk scores to the warehouse
  (``probity.procurement.results``) and stores findings through ``core.services.detector_run``.
- ``codelist_mapping_set`` / ``codelist_mapping_delete``: a publisher's local names for OCDS codes
  (``probity.procurement.codelists``), applied by ``procurement_detect`` to the indicators' inputs.
- ``procurement_ingest`` (OCDS packages into compiled releases, ``ingest``) and ``coverage_compute`` /
  ``coverage_store`` (which indicators the data can feed, ``coverage``) are defined beside the code they
  drive and offered here, so that other modules (the demo ingest) use the procurement module's services only.
"""

from __future__ import annotations

import csv
import json
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from probity.core.audit import actor_name, audit_actor, audit_record
from probity.core.detectors import get_detector
from probity.core.models import AuditEntry, Identifier, Organisation
from probity.core.services import detector_run
from probity.procurement.codelists import (
    BEYOND_BID_COLUMNS,
    BEYOND_COLUMNS,
    CARDINAL_COLUMNS,
    CODELISTS,
    Mapping_,
    codelist_mapping,
    map_column,
)
from probity.procurement.coverage import coverage_compute as coverage_compute
from probity.procurement.coverage import coverage_store as coverage_store
from probity.procurement.flatten import flatten_into_warehouse, merged_by_key
from probity.procurement.indicators import beyond_inputs, cardinal
from probity.procurement.indicators.base import ProcurementTables
from probity.procurement.indicators.beyond import (
    INDICATORS,
    Inputs,
    evidence_records,
    indicator_expression,
    message_params,
)
from probity.procurement.indicators.beyond_inputs import TABLES, name_key
from probity.procurement.indicators.run import needed_tables, warehouse_tables
from probity.procurement.indicators.settings import IndicatorSettings
from probity.procurement.ingest import procurement_ingest as procurement_ingest
from probity.procurement.models import CodelistMapping, Debarment
from probity.procurement.results import (
    BUYER_SCORES_TABLE,
    PROCESS_SCORES_TABLE,
    RESULTS_TABLE,
    SUPPLIER_SCORES_TABLE,
    buyer_scores,
    process_scores,
    supplier_scores,
)
from probity.procurement.selectors import cardinal_outcome_frame, read_inputs, run_frames
from probity.procurement.tables import TABLES as PROCUREMENT_TABLES
from probity.procurement.tables import warehouse_name
from probity.warehouse.services import Warehouse, warehouse_connection, warehouse_register_table

# Ibis, pandas and FollowTheMoney are imported where a run or an import needs them: together they take
# two seconds to import, and this module is imported with the API.
if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

FINDINGS_ALL_MAX = 50_000

# --- the debarment register ----------------------------------------------------------------------

DEBARMENT_FIELDS = (
    "organisation_id",
    "name",
    "identifiers",
    "country",
    "authority",
    "start_date",
    "end_date",
    "grounds",
    "source",
    "source_name",
)
CSV_COLUMNS = ("id", "name", "identifiers", "country", "authority", "start_date", "end_date", "grounds")


@dataclass
class DebarmentImport:
    """What one import did: counts, and every rejected record with its line (or entity id) and reason."""

    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _OrganisationMatcher:
    """Finds Probity's organisation for a debarred party: by identifier value, else by exact name."""

    def __init__(self) -> None:
        self.by_identifier: dict[str, set[int]] = {}
        rows = (
            Identifier.objects.filter(organisation__isnull=False)
            .exclude(scheme__in=Identifier.HASHED_SCHEMES)
            .values_list("value", "organisation_id")
        )
        for value, organisation_id in rows.iterator():
            if value:
                self.by_identifier.setdefault(value.strip().upper(), set()).add(organisation_id)
        self.by_name: dict[str, set[int]] = {}
        for organisation_id, name in Organisation.objects.values_list("id", "name").iterator():
            key = name_key(name)
            if key:
                self.by_name.setdefault(key, set()).add(organisation_id)

    def match(self, name: str, identifiers: Iterable[str]) -> int | None:
        for identifier in identifiers:
            found = self.by_identifier.get(identifier.strip().upper(), set())
            if len(found) == 1:
                return next(iter(found))
        found = self.by_name.get(name_key(name) or "", set())
        return next(iter(found)) if len(found) == 1 else None


def _parse_date(text: str | None, what: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a date (YYYY-MM-DD)") from None


def _store(report: DebarmentImport, source_key: str, values: dict[str, Any]) -> None:
    if values["start_date"] and values["end_date"] and values["end_date"] < values["start_date"]:
        raise ValueError(f"the debarment ends ({values['end_date']}) before it starts ({values['start_date']})")
    existing = Debarment.objects.filter(source_key=source_key).first()
    if existing is None:
        Debarment.objects.create(source_key=source_key, **values)
        report.created += 1
        return
    changed = [name for name in DEBARMENT_FIELDS if getattr(existing, name) != values[name]]
    if not changed:
        report.unchanged += 1
        return
    for name in changed:
        setattr(existing, name, values[name])
    existing.save(update_fields=[*changed, "updated_at"])
    report.updated += 1


def _summarise(report: DebarmentImport, actor: User | None) -> None:
    audit_record(
        action=AuditEntry.Action.OTHER,
        object_type="procurement.debarment",
        object_label=f"debarment import: {report.source}",
        details={
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "errors": len(report.errors),
        },
        actor=actor_name(actor),
    )


def _split_identifiers(text: str) -> list[str]:
    """``"XD-CR:12345678; 998877"`` → ``["12345678", "998877"]`` (a ``scheme:`` prefix is dropped)."""
    values = []
    for part in text.replace(",", ";").split(";"):
        part = part.strip()
        if ":" in part:
            part = part.split(":", 1)[1].strip()
        if part:
            values.append(part)
    return values


def debarment_from_case(
    *, organisation: Organisation, years: Any, reference: str, reason: str, actor: User | None = None
) -> Debarment:
    """Receiver of the ``debarment_decided`` hook: a case closed with a debarment of ``organisation``. The
    record starts today and lasts ``years`` (indefinite when not given); deciding the same case again updates
    it, never adds a second one."""
    start = timezone.localdate()
    end = None
    try:
        whole = int(Decimal(str(years))) if years not in (None, "") else 0
    except (ArithmeticError, ValueError):
        whole = 0
    if whole > 0:
        try:
            end = start.replace(year=start.year + whole)
        except ValueError:  # 29 February
            end = start.replace(year=start.year + whole, day=28)
    identifiers = [
        {"scheme": scheme, "id": value}
        for scheme, value in Identifier.objects.filter(organisation=organisation).values_list("scheme", "value")
        if value
    ]
    with audit_actor(actor_name(actor)):
        debarment, _created = Debarment.objects.update_or_create(
            source_key=f"case:{reference}:{organisation.pk}",
            defaults={
                "organisation": organisation,
                "name": organisation.name,
                "identifiers": identifiers,
                "country": organisation.jurisdiction,
                "start_date": start,
                "end_date": end,
                "grounds": reason[:5000],
                "source": Debarment.Source.CASE,
                "source_name": reference,
            },
        )
    return debarment


def debarment_import_csv(*, path: Path, source_name: str | None = None, actor: User | None = None) -> DebarmentImport:
    """Imports a debarment list from CSV (UTF-8, header row).

    Columns: ``id`` (the record's key in this list, required), ``name`` (required),
    ``identifiers`` (registry or tax numbers separated by ``;``, each optionally ``scheme:number``),
    ``country``, ``authority``, ``start_date`` and ``end_date`` (YYYY-MM-DD; an empty end means
    indefinite), ``grounds``. Records are keyed by ``csv:<source name>:<id>``, so importing the
    same list again updates in place. The audit log names ``actor``, or (``None``) the current
    ``audit_actor``.
    """
    source = source_name or path.name
    report = DebarmentImport(source=source)
    matcher = _OrganisationMatcher()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("id", "name") if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: the header lacks the column(s) {', '.join(missing)}")
        for row in reader:
            line = f"line {reader.line_num}"
            try:
                key = (row.get("id") or "").strip()
                name = (row.get("name") or "").strip()
                if not key:
                    raise ValueError("the id is empty")
                if not name:
                    raise ValueError("the name is empty")
                identifiers = _split_identifiers(row.get("identifiers") or "")
                values = {
                    "organisation_id": matcher.match(name, identifiers),
                    "name": name[:500],
                    "identifiers": [{"id": i} for i in identifiers],
                    "country": (row.get("country") or "").strip()[:8],
                    "authority": (row.get("authority") or "").strip()[:300],
                    "start_date": _parse_date(row.get("start_date"), "start_date"),
                    "end_date": _parse_date(row.get("end_date"), "end_date"),
                    "grounds": (row.get("grounds") or "").strip(),
                    "source": Debarment.Source.CSV,
                    "source_name": source[:300],
                }
                with transaction.atomic():
                    _store(report, f"csv:{source}:{key}"[:300], values)
            except ValueError as exc:
                report.errors.append((line, str(exc)))
    _summarise(report, actor)
    return report


_TARGET_SCHEMATA = ("LegalEntity",)  # Company, Organization, PublicBody and Person all descend from it


def _ftm_entities(path: Path, report: DebarmentImport) -> Iterator[tuple[str, Any]]:
    from followthemoney import model
    from followthemoney.exc import InvalidData

    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                proxy = model.get_proxy(data, cleaned=False)
            except (json.JSONDecodeError, InvalidData, TypeError, KeyError) as exc:
                report.errors.append((f"line {number}", f"not a FollowTheMoney entity: {exc}"))
                continue
            yield f"line {number}", proxy


def debarment_import_ftm(*, path: Path, source_name: str | None = None, actor: User | None = None) -> DebarmentImport:
    """Imports FollowTheMoney ``Sanction`` entities (with the entities they target) as debarments.

    The OpenSanctions shape: each ``Sanction`` names its target in ``entity``; its ``authority``,
    ``startDate`` (else ``listingDate``), ``endDate``, ``reason`` / ``program`` / ``summary`` /
    ``provisions`` give the debarring authority, the period and the grounds. The target's names and
    identifier-typed properties (registration, tax, LEI, INN, OGRN … numbers) describe who is
    debarred. Keyed by ``ftm:<sanction id>``.
    """
    from followthemoney import registry

    source = source_name or path.name
    report = DebarmentImport(source=source)
    targets: dict[str, Any] = {}
    sanctions: list[tuple[str, Any]] = []
    for where, proxy in _ftm_entities(path, report):
        if proxy.schema.is_a("Sanction"):
            sanctions.append((where, proxy))
        elif any(proxy.schema.is_a(name) for name in _TARGET_SCHEMATA):
            targets[proxy.id] = proxy
    matcher = _OrganisationMatcher()
    for where, sanction in sanctions:
        try:
            target_ids = sanction.get("entity")
            if not target_ids:
                raise ValueError(f"sanction {sanction.id} names no entity")
            target = targets.get(target_ids[0])
            if target is None:
                raise ValueError(f"sanction {sanction.id} targets {target_ids[0]}, which is not in the file")
            name = target.caption or (target.get("name") or [""])[0]
            if not name:
                raise ValueError(f"the target {target.id} of sanction {sanction.id} has no name")
            identifiers = sorted(set(target.get_type_values(registry.identifier)))
            start = min(sanction.get("startDate") or sanction.get("listingDate") or [""]) or None
            ends = sanction.get("endDate")
            grounds = "; ".join(
                dict.fromkeys(
                    sanction.get("reason")
                    + sanction.get("program")
                    + sanction.get("summary")
                    + sanction.get("provisions")
                )
            )
            values = {
                "organisation_id": matcher.match(name, identifiers),
                "name": name[:500],
                "identifiers": [{"id": i} for i in identifiers],
                "country": ", ".join(sorted(set(target.get("country") + target.get("jurisdiction"))))[:8],
                "authority": "; ".join(sanction.get("authority"))[:300],
                "start_date": _parse_date(start, "startDate"),
                "end_date": _parse_date(max(ends), "endDate") if ends else None,
                "grounds": grounds,
                "source": Debarment.Source.FTM,
                "source_name": source[:300],
            }
            with transaction.atomic():
                _store(report, f"ftm:{sanction.id}"[:300], values)
        except ValueError as exc:
            report.errors.append((f"{where} (sanction {sanction.id})", str(exc)))
    _summarise(report, actor)
    return report


# --- indicator runs ------------------------------------------------------------------------------


@dataclass
class DetectReport:
    processes: int
    indicators: dict[str, dict[str, int]]  # code → outcome → count
    findings_for: list[str]
    runs: dict[str, int]  # code → DetectorRun id
    seconds: float


def register_rows() -> list[tuple[str, date | None]]:
    """(company registry number, founding date) of every organisation Probity knows."""
    rows = Identifier.objects.filter(organisation__isnull=False, scheme=Identifier.Scheme.COMPANY_REGISTER).values_list(
        "value", "organisation__founded"
    )
    return [(value, founded) for value, founded in rows.iterator() if value and founded]


def debarment_rows() -> list[dict[str, Any]]:
    """The debarment register as the indicator reads it (with the matched organisation's identifiers)."""
    organisation_ids: dict[int, list[str]] = {}
    for value, organisation_id in Identifier.objects.filter(
        organisation__debarments__isnull=False,
        scheme__in=[Identifier.Scheme.COMPANY_REGISTER, Identifier.Scheme.TAX_ID],
    ).values_list("value", "organisation_id"):
        if value:
            organisation_ids.setdefault(organisation_id, []).append(value)
    rows = []
    for debarment in Debarment.objects.all().iterator():
        identifiers = [str(i.get("id")) for i in debarment.identifiers if isinstance(i, Mapping) and i.get("id")]
        identifiers += organisation_ids.get(debarment.organisation_id or 0, [])
        rows.append(
            {
                "id": debarment.pk,
                "name": debarment.name,
                "identifiers": sorted(set(identifiers)),
                "start": debarment.start_date,
                "end": debarment.end_date,
                "authority": debarment.authority,
            }
        )
    return rows


def write_inputs(
    *,
    warehouse: Warehouse,
    releases: Iterable[Mapping[str, Any]] | None = None,
    flattened: beyond_inputs.InputRows | None = None,
    register: Iterable[tuple[str, date | None]] | None = None,
    debarments: Iterable[Mapping[str, Any]] | None = None,
    append: bool = False,
) -> Inputs:
    """Flattens compiled releases into the indicators' input tables and writes them to the warehouse.

    The company register and the debarment register come from the Django database unless given.
    The release tables are replaced, or with ``append`` the releases' contracting processes are
    added to those already there (an OCID already there is replaced by the new rows).
    """
    import ibis

    if flattened is None:
        flattened = beyond_inputs.input_rows(releases or [])
    tables: dict[str, pa.Table] = flattened.tables()
    present = set(warehouse.list_tables()) if append else set()
    for name, table in tables.items():
        if TABLES[name] in present:
            merged = merged_by_key(warehouse.table(TABLES[name]), ibis.memtable(table), "ocid")
            warehouse.create_table(TABLES[name], merged)
        else:
            warehouse.create_table(TABLES[name], table)
    warehouse.create_table(
        TABLES["register"], beyond_inputs.register_table(register_rows() if register is None else register)
    )
    warehouse.create_table(
        TABLES["debarments"],
        beyond_inputs.debarment_table(debarment_rows() if debarments is None else debarments),
    )
    return read_inputs(warehouse=warehouse)


def write_inputs_from_tables(*, warehouse: Warehouse) -> Inputs:
    """Builds the indicators' input tables from the flattened ``procurement_*`` warehouse tables
    (``probity.procurement.tables``, written by ``flatten``), inside the warehouse engine."""
    present = set(warehouse.list_tables())
    needed = ("processes", "awards", "award_suppliers", "parties", "contracts", "bids", "bid_tenderers")
    missing = [warehouse_name(t) for t in needed if warehouse_name(t) not in present]
    if missing:
        raise LookupError(
            f"The warehouse has no {', '.join(missing)}: flatten compiled releases first "
            "(`probity procurement indicators FILE --warehouse`)."
        )
    tables = {t: warehouse.table(warehouse_name(t)) for t in PROCUREMENT_TABLES if warehouse_name(t) in present}
    warehouse.create_table(TABLES["awards"], beyond_inputs.awards_from_tables(tables))
    warehouse.create_table(TABLES["bids"], beyond_inputs.bids_from_tables(tables))
    warehouse.create_table(TABLES["register"], beyond_inputs.register_table(register_rows()))
    warehouse.create_table(TABLES["debarments"], beyond_inputs.debarment_table(debarment_rows()))
    return read_inputs(warehouse=warehouse)


_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)  # one encoder: json.dumps(**options) builds one per call


def _matrix(code: str, frame: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    indicator = INDICATORS[code]
    evidence = evidence_records(indicator, frame)
    reasons = frame["reason"].astype(object).where(frame["reason"].notna(), None).tolist()
    outcome = frame["outcome"]
    return pd.DataFrame(
        {
            "indicator": code,
            "subject_type": "process",
            "subject_id": frame["ocid"].astype("string"),
            "award_id": frame["award_id"].astype("string"),
            "buyer_id": frame["buyer_id"].astype("string"),
            "buyer_name": frame["buyer_name"].astype("string"),
            "supplier_key": frame["supplier_key"].astype("string"),
            "supplier_name": frame["supplier_name"].astype("string"),
            "year": frame["year"].astype("Int64"),
            "outcome": outcome.astype("string"),
            "reason": pd.Series(reasons, dtype="string"),
            "score": outcome.map({"flag": 1.0, "pass": 0.0}).astype("float64"),
            "evidence": [_JSON.encode(e) for e in evidence],
            "message": [indicator.messages[o] for o in outcome],
            "message_params": [_JSON.encode(message_params(e, r)) for e, r in zip(evidence, reasons, strict=True)],
        }
    )


# --- the Cardinal indicators in the matrix --------------------------------------------------------

CARDINAL_CODES = cardinal.PROCESS_OUTCOME_CODES


def _cardinal_matrix(code: str, frame: pd.DataFrame, attributes: pd.DataFrame) -> pd.DataFrame:
    """A Cardinal outcome frame in the matrix's columns; buyer, supplier and year per OCID come
    from ``attributes`` (indexed by OCID)."""
    import pandas as pd

    evidence = cardinal.evidence_records(frame)
    reasons = frame["reason"].astype(object).where(frame["reason"].notna(), None).tolist()
    values = [cardinal.plain(v) for v in frame["value"].tolist()]
    outcome = frame["outcome"].astype(str)
    ocids = frame["subject_id"].astype(str)
    known = attributes.reindex(ocids)

    def column(name: str, dtype: str) -> Any:
        return pd.array(known[name].tolist(), dtype=dtype) if name in known else pd.array([None] * len(frame), dtype)

    return pd.DataFrame(
        {
            "indicator": code,
            "subject_type": "process",
            "subject_id": pd.array(ocids.tolist(), dtype="string"),
            "award_id": column("award_id", "string"),
            "buyer_id": column("buyer_id", "string"),
            "buyer_name": column("buyer_name", "string"),
            "supplier_key": column("supplier_key", "string"),
            "supplier_name": column("supplier_name", "string"),
            "year": column("year", "Int64"),
            "outcome": pd.array(outcome.tolist(), dtype="string"),
            "reason": pd.Series(reasons, dtype="string"),
            "score": outcome.map({"flag": 1.0, "pass": 0.0}).astype("float64").tolist(),
            "evidence": [_JSON.encode(e) for e in evidence],
            "message": [cardinal.message_for(code, o) for o in outcome],
            "message_params": [
                _JSON.encode(cardinal.evidence_params(code, e, r, v))
                for e, r, v in zip(evidence, reasons, values, strict=True)
            ],
        }
    )


def _process_attributes(warehouse: Warehouse, matrices: list[pd.DataFrame]) -> pd.DataFrame:
    """Per OCID: award, buyer, supplier and year from the beyond indicators' rows, else the buyer
    of the flattened ``procurement_processes`` table."""
    import pandas as pd

    columns = ["award_id", "buyer_id", "buyer_name", "supplier_key", "supplier_name", "year"]
    parts = []
    if matrices:
        beyond = pd.concat(matrices, ignore_index=True)
        parts.append(beyond.groupby("subject_id", sort=False)[columns].first())
    processes = warehouse.table("procurement_processes")
    buyers = warehouse.execute(
        processes.select(subject_id=processes.ocid, buyer_id=processes.buyer_id, buyer_name=processes.buyer_name)
    )
    parts.append(buyers.dropna(subset=["subject_id"]).drop_duplicates("subject_id").set_index("subject_id"))
    merged = parts[0] if len(parts) == 1 else parts[0].combine_first(parts[1])
    return merged


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# --- codelist mappings ----------------------------------------------------------------------------


def codelist_mapping_set(
    *, field: str, local_value: str, code: str, note: str = "", actor: User | None = None
) -> CodelistMapping:
    """Maps a publisher's ``local_value`` of ``field`` to ``code`` (replacing an earlier mapping of it).

    ``ValueError`` with a plain reason for an unknown field, an empty value or a code outside the codelist.
    """
    local_value = local_value.strip()
    code = code.strip()
    if field not in CODELISTS:
        raise ValueError(
            f"{field!r} is not a codelist field the indicators read; choose one of {', '.join(CODELISTS)}."
        )
    if not local_value or len(local_value) > 200:
        raise ValueError("The publisher's value must be between 1 and 200 characters.")
    if code not in CODELISTS[field]:
        raise ValueError(f"{code!r} is not a code of {field}; choose one of {', '.join(sorted(CODELISTS[field]))}.")
    with audit_actor(actor_name(actor)), transaction.atomic():
        mapping, _created = CodelistMapping.objects.update_or_create(
            field=field, local_value=local_value, defaults={"code": code, "note": note[:300]}
        )
    return mapping


def codelist_mapping_delete(*, field: str, local_value: str, actor: User | None = None) -> bool:
    """Removes the mapping of ``local_value`` of ``field``; whether there was one."""
    with audit_actor(actor_name(actor)), transaction.atomic():
        found = CodelistMapping.objects.filter(field=field, local_value=local_value.strip()).first()
        if found is None:
            return False
        found.delete()
    return True


def mapped_inputs(inputs: Inputs, mapping: Mapping_) -> Inputs:
    """The beyond-Cardinal indicators' inputs with the publisher's local names read as their codes."""
    awards, bids = inputs.awards, inputs.bids
    for field_name, column in BEYOND_COLUMNS.items():
        awards = map_column(awards, column, mapping.get(field_name, {}))
    for field_name, column in BEYOND_BID_COLUMNS.items():
        bids = map_column(bids, column, mapping.get(field_name, {}))
    return Inputs(awards=awards, bids=bids, register=inputs.register, debarments=inputs.debarments)


def _mapped_tables(tables: ProcurementTables, mapping: Mapping_) -> ProcurementTables:
    """Cardinal's tables with the publisher's local names read as their codes."""
    if not mapping:
        return tables
    changed = dict(tables.items())
    for field_name, (table, column) in CARDINAL_COLUMNS.items():
        if table in changed:
            changed[table] = map_column(changed[table], column, mapping.get(field_name, {}))
    return ProcurementTables(changed, materialize=tables.materialize)


def procurement_detect(
    *,
    releases: Iterable[Mapping[str, Any]] | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    codes: Iterable[str] | None = None,
    findings_for: list[str] | None = None,
    actor: User | None = None,
    warehouse: Warehouse | None = None,
    from_tables: bool = False,
    progress: Callable[[str], object] | None = None,
    cardinal_settings: IndicatorSettings | None = None,
    append: bool = False,
) -> DetectReport:
    """Runs the beyond-Cardinal indicators, writes the matrix and scores, and stores findings.

    ``releases``: compiled releases to (re)build the input tables from; ``from_tables``: build
    them inside the warehouse from the flattened ``procurement_*`` tables instead; with neither,
    the input tables already in the warehouse are used. ``parameters``: per indicator code, values overriding
    the defaults (and the installation's ``PROBITY_DETECTOR_PARAMETERS``). ``findings_for``: the
    outcomes stored as Django findings; by default all of them up to
    ``PROBITY_PROCUREMENT_FINDINGS_ALL_MAX`` processes, flags only above.

    The Cardinal indicators of ``CARDINAL_CODES`` (settings: ``cardinal_settings``, else Cardinal's
    defaults) read the flattened ``procurement_*`` tables: with ``releases`` they are rebuilt from
    the same releases; with neither ``releases`` nor those tables, the Cardinal indicators are skipped.

    ``releases`` replace the releases judged before, unless ``append``: then their contracting
    processes are added to those already in the warehouse's input and ``procurement_*`` tables (a
    process already there, same OCID, is replaced by the new release), and every indicator judges
    the whole. The matrix and the scores are always computed afresh over all processes.

    The detector runs are recorded as started by ``actor``, or (``None``) by the current ``audit_actor``.
    """
    clock = time.perf_counter()
    known = [*INDICATORS, *CARDINAL_CODES]
    selected = list(codes or known)
    unknown = [c for c in selected if c not in known]
    if unknown:
        raise ValueError(f"unknown indicator code(s) {', '.join(unknown)}; known: {', '.join(known)}")
    selected_cardinal = [c for c in selected if c in CARDINAL_CODES]
    selected = [c for c in selected if c in INDICATORS]
    mapping = codelist_mapping()  # a publisher's local names for codes, read as the codes

    # Flatten before connecting: the releases may be read from the same warehouse. The releases
    # are copied to a file as they are read, for the Cardinal indicators' flattening.
    copy = None
    if releases is not None and selected_cardinal:
        copy = tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".jsonl", delete=False)  # noqa: SIM115

        def tee(items: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
            for item in items:
                copy.write(json.dumps(item, default=_json_default) + "\n")
                yield item

        releases = tee(releases)
    try:
        flattened = beyond_inputs.input_rows(releases) if releases is not None else None
    finally:
        if copy is not None:
            copy.close()
    if progress and flattened is not None:
        progress("inputs")

    def work(wh: Warehouse) -> DetectReport:
        import pandas as pd

        if flattened is not None:
            write_inputs(warehouse=wh, flattened=flattened, append=append)
        elif from_tables:
            write_inputs_from_tables(warehouse=wh)
        inputs = mapped_inputs(read_inputs(warehouse=wh), mapping)
        processes = int(wh.execute(inputs.awards.ocid.nunique()).iat[0, 0])
        limit = int(getattr(settings, "PROBITY_PROCUREMENT_FINDINGS_ALL_MAX", FINDINGS_ALL_MAX))
        outcomes = list(findings_for or (["flag", "pass", "not_applicable"] if processes <= limit else ["flag"]))
        matrices = []
        counts: dict[str, dict[str, int]] = {}
        runs: dict[str, int] = {}
        with run_frames() as frames:
            for code in selected:
                if progress:
                    progress(code)
                detector = get_detector(code)
                values = detector.resolve_parameters((parameters or {}).get(code))
                indicator_values = {k: v for k, v in values.items() if k != "findings_for"}
                frame = wh.execute(indicator_expression(INDICATORS[code], inputs, indicator_values))
                frames[code] = (indicator_values, frame)
                matrices.append(_matrix(code, frame))
                counts[code] = {str(k): int(v) for k, v in frame["outcome"].value_counts().items()}
                run = detector_run(code=code, parameters={**indicator_values, "findings_for": outcomes}, actor=actor)
                runs[code] = run.pk
            matrices += run_cardinal(wh, matrices, counts, runs, outcomes, frames)
        matrix = pd.concat(matrices, ignore_index=True)
        results = wh.create_table(RESULTS_TABLE, matrix)
        scored = wh.create_table(PROCESS_SCORES_TABLE, process_scores(results))
        wh.create_table(BUYER_SCORES_TABLE, buyer_scores(scored))
        wh.create_table(SUPPLIER_SCORES_TABLE, supplier_scores(scored))
        return DetectReport(processes, counts, outcomes, runs, round(time.perf_counter() - clock, 3))

    def run_cardinal(
        wh: Warehouse,
        matrices: list[pd.DataFrame],
        counts: dict[str, dict[str, int]],
        runs: dict[str, int],
        outcomes: list[str],
        frames: dict[str, tuple[dict[str, Any], pd.DataFrame]],
    ) -> list[pd.DataFrame]:
        if not selected_cardinal:
            return []
        names = needed_tables(selected_cardinal)
        if copy is not None:
            # Every procurement_* table, not only those the indicators read: the pages, the entities
            # export and other modules' detectors (DECL-COI-AWARD, bidder links) read parties and
            # contracts too. They are recorded in the catalogue, as `indicators --warehouse` does.
            flatten_into_warehouse(wh, copy.name, tables=list(PROCUREMENT_TABLES), append=append)
            for table, spec in PROCUREMENT_TABLES.items():
                name = warehouse_name(table)
                warehouse_register_table(
                    name=name,
                    row_count=int(wh.table(name).count().execute()),
                    engine=wh.engine,
                    description=spec.description,
                )
        elif any(warehouse_name(name) not in wh.list_tables() for name in names):
            return []  # nothing flattened to judge
        chosen = cardinal_settings or IndicatorSettings.defaults(list(CARDINAL_CODES))
        tables = _mapped_tables(warehouse_tables(wh, names), mapping)
        attributes = _process_attributes(wh, matrices)
        added = []
        for code in selected_cardinal:
            if progress:
                progress(code)
            frame = cardinal_outcome_frame(warehouse=wh, code=code, settings=chosen, tables=tables)
            frames[code] = ({}, frame)
            added.append(_cardinal_matrix(code, frame, attributes))
            counts[code] = {str(k): int(v) for k, v in frame["outcome"].value_counts().items()}
            runs[code] = detector_run(code=code, parameters={"findings_for": outcomes}, actor=actor).pk
        return added

    try:
        if warehouse is not None:
            return work(warehouse)
        with warehouse_connection() as wh:
            return work(wh)
    finally:
        if copy is not None:
            Path(copy.name).unlink(missing_ok=True)

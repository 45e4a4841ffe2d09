"""Data coverage: which fields each procurement indicator needs, and how often the data has them.

Two views, as in Cardinal (the Open Contracting Partnership's red-flag calculator):

* ``json_coverage(lines)`` walks compiled releases and counts every non-empty node by path, with
  exactly the semantics and path notation of ``ocdscardinal coverage``: empty nodes are ``""``,
  ``[]``, ``{}``, ``null`` and containers holding only empty nodes (``0`` and ``false`` are values);
  the path ``""`` is a line, a path ending in ``/`` an object, a path ending in ``[]`` an array
  element, other paths object members. ``{"a": [{"b": 1}]}`` gives
  ``{"": 1, "/": 1, "/a": 1, "/a[]": 1, "/a[]/": 1, "/a[]/b": 1}``.
* ``indicator_coverage(report)`` reads, for every registered procurement indicator (the detectors in
  ``probity.core.detectors`` whose module is in ``probity.procurement``, and P2's ``INDICATORS``
  registry when it is importable), the OCDS fields it declares (``fields = ("tender.numberOfTenderers",
  "bids.details.value.amount")``) and says in how many compiled releases each is present (non-empty at
  least once), and the share of releases that have *all* of an indicator's fields.

``coverage_compute(*, path=None)`` runs the walk over a JSON Lines file of compiled releases, or over
the warehouse table ``ocds_compiled_release`` written by the ingest, and ``coverage_store`` keeps the
result in the warehouse table ``procurement_field_coverage`` (columns: ``path`` — Cardinal's path,
``field`` — the dotted OCDS field, ``nodes`` — Cardinal's count, ``releases`` — releases where the path
is non-empty, ``total_releases``, ``source``, ``computed_at``), which the Coverage page and
``GET /api/v1/procurement/coverage`` read. ``probity procurement coverage [FILE] [--format cardinal]``
prints either the per-indicator table or Cardinal's JSON.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.utils.translation import gettext, gettext_noop

from probity.core.detectors import detector_registry
from probity.procurement.indicators import indicators
from probity.warehouse.services import warehouse_load_table

COVERAGE_TABLE = "procurement_field_coverage"
COMPILED_RELEASE_TABLE = "ocds_compiled_release"
# Column names under which the ingest may keep the compiled release JSON, in order of preference.
COMPILED_JSON_COLUMNS = ("compiled_release", "compiled", "release", "data", "json", "document")


# --- Cardinal's walk -------------------------------------------------------------------------


def _walk(value: Any, path: str, nodes: Counter[str]) -> bool:
    """Counts ``value`` and its descendants at ``path``; returns whether ``value`` is non-empty."""
    if isinstance(value, dict):  # a duplicated member name kept only its last value when parsed
        non_empty = False
        for key, member in value.items():
            non_empty |= _walk(member, f"{path}/{key}", nodes)
        if non_empty:
            nodes[f"{path}/"] += 1
            nodes[path] += 1
        return non_empty
    if isinstance(value, list):
        non_empty = False
        for element in value:
            non_empty |= _walk(element, f"{path}[]", nodes)
        if non_empty:
            nodes[path] += 1
        return non_empty
    if value is None or value == "":
        return False
    nodes[path] += 1
    return True


def json_value_coverage(value: Any) -> Counter[str]:
    """Cardinal's counts for one JSON value (one line)."""
    nodes: Counter[str] = Counter()
    _walk(value, "", nodes)
    return nodes


def _object_pairs_last(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return dict(pairs)  # later duplicates replace earlier ones, as in Cardinal


@dataclass
class CoverageReport:
    """Counts for a set of compiled releases."""

    total_releases: int = 0
    nodes: Counter[str] = field(default_factory=Counter)  # Cardinal's path → non-empty node count
    releases: Counter[str] = field(default_factory=Counter)  # dotted field → releases having it
    invalid_lines: list[int] = field(default_factory=list)  # 1-based numbers of lines that are not JSON
    source: str = ""
    computed_at: datetime | None = None

    def add(self, value: Any) -> None:
        counts = json_value_coverage(value)
        self.total_releases += 1
        self.nodes.update(counts)
        self.releases.update({dotted_field(path) for path in counts} - {""})

    def cardinal(self) -> dict[str, int]:
        """The JSON object ``ocdscardinal coverage`` prints."""
        return dict(self.nodes)

    def share(self, field_name: str) -> float | None:
        if not self.total_releases:
            return None
        return self.releases.get(field_name, 0) / self.total_releases


@functools.lru_cache(maxsize=65_536)
def dotted_field(path: str) -> str:
    """Cardinal's path (``/bids/details[]/value/amount``) as an OCDS field (``bids.details.value.amount``)."""
    return ".".join(part for part in path.replace("[]", "").split("/") if part)


def json_coverage(lines: Iterable[str | bytes], *, source: str = "") -> CoverageReport:
    """Cardinal's ``coverage`` over JSON lines; blank lines are skipped, invalid ones are listed."""
    report = CoverageReport(source=source)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line, object_pairs_hook=_object_pairs_last)
        except ValueError:
            report.invalid_lines.append(number)
            continue
        report.add(value)
    report.computed_at = datetime.now(UTC)
    return report


def releases_coverage(releases: Iterable[dict[str, Any]], *, source: str = "") -> CoverageReport:
    """The same counts over compiled releases already parsed."""
    report = CoverageReport(source=source)
    for release in releases:
        report.add(release)
    report.computed_at = datetime.now(UTC)
    return report


# --- what each indicator needs ---------------------------------------------------------------


# The fields Cardinal's indicators read (from its documentation and source), for the indicators that
# do not declare their own ``fields``. Paths are OCDS fields with array steps left out.
CARDINAL_FIELDS: dict[str, tuple[str, ...]] = {
    "R003": ("tender.procurementMethod", "tender.tenderPeriod.startDate", "tender.tenderPeriod.endDate"),
    "R018": ("tender.procurementMethod", "tender.numberOfTenderers"),
    "R024": (
        "bids.details.status",
        "bids.details.value.amount",
        "bids.details.tenderers.id",
        "awards.status",
        "awards.suppliers.id",
    ),
    "R025": ("bids.details.status", "bids.details.tenderers.id", "awards.status", "awards.suppliers.id"),
    "R028": ("bids.details.value.amount", "bids.details.tenderers.id"),
    "R030": (
        "tender.tenderPeriod.endDate",
        "bids.details.date",
        "bids.details.tenderers.id",
        "awards.status",
        "awards.suppliers.id",
    ),
    "R035": ("bids.details.status", "bids.details.tenderers.id", "awards.status", "awards.suppliers.id"),
    "R036": ("tender.awardCriteria", "bids.details.status", "bids.details.value.amount"),
    "R038": ("buyer.id", "bids.details.status", "bids.details.tenderers.id"),
    "R048": ("awards.status", "awards.suppliers.id", "awards.items.classification.id"),
    "R058": (
        "bids.details.status",
        "bids.details.value.amount",
        "bids.details.tenderers.id",
        "awards.status",
        "awards.suppliers.id",
    ),
}


# Cardinal's indicator titles, marked here so that the procurement catalogue translates them
# (the indicator classes keep them as plain text, as Cardinal names them).
CARDINAL_TITLES = (
    gettext_noop("Short submission period"),
    gettext_noop("Single bid received"),
    gettext_noop("Price close to winning bid"),
    gettext_noop("Excessive unsuccessful bids"),
    gettext_noop("Identical bid prices"),
    gettext_noop("Late bid won"),
    gettext_noop("All except winning bid disqualified"),
    gettext_noop("Lowest bid disqualified"),
    gettext_noop("Excessive disqualified bids"),
    gettext_noop("Heterogeneous supplier"),
    gettext_noop("Heavily discounted bid"),
)


@dataclass(frozen=True)
class IndicatorFields:
    code: str
    title: str
    fields: tuple[str, ...]


def indicator_requirements() -> list[IndicatorFields]:
    """Every procurement indicator with the OCDS fields it declares, by code."""
    found: dict[str, IndicatorFields] = {}
    for indicator in indicators().values():
        code = str(getattr(indicator, "code", "") or "")
        if code:
            fields = tuple(getattr(indicator, "fields", ()) or ()) or CARDINAL_FIELDS.get(code, ())
            found[code] = IndicatorFields(code, gettext(str(getattr(indicator, "title", "") or code)), fields)
    for code, detector in detector_registry().items():
        if not detector.__module__.startswith("probity.procurement"):
            continue
        fields = tuple(detector.fields) or (found[code].fields if code in found else ())
        found[code] = IndicatorFields(code, gettext(str(detector.title)), fields)
    return [found[code] for code in sorted(found)]


@dataclass
class FieldCoverage:
    field: str
    releases: int
    share: float | None


@dataclass
class IndicatorCoverage:
    code: str
    title: str
    fields: list[FieldCoverage]
    releases_with_all: int | None  # None when it cannot be known from per-field counts
    share_with_all: float | None


def indicator_coverage(
    report: CoverageReport,
    requirements: list[IndicatorFields] | None = None,
    *,
    all_fields: dict[str, int] | None = None,
) -> list[IndicatorCoverage]:
    """For each indicator: each field's presence, and how many releases have all its fields.

    ``all_fields`` maps indicator code → releases having all its fields, when the caller counted it
    during the walk (``coverage_compute`` does); otherwise the minimum over the fields is an upper bound
    and is given as ``None`` for indicators with more than one field.
    """
    requirements = indicator_requirements() if requirements is None else requirements
    result = []
    for indicator in requirements:
        fields = [FieldCoverage(name, report.releases.get(name, 0), report.share(name)) for name in indicator.fields]
        if all_fields is not None:
            with_all: int | None = all_fields.get(indicator.code, 0)
        elif len(fields) == 1:
            with_all = fields[0].releases
        else:
            with_all = None
        share = None if with_all is None or not report.total_releases else with_all / report.total_releases
        result.append(IndicatorCoverage(indicator.code, indicator.title, fields, with_all, share))
    return result


def count_releases_with_all(
    releases: Iterable[dict[str, Any]], requirements: list[IndicatorFields]
) -> tuple[CoverageReport, dict[str, int]]:
    """Walks the releases once; also counts, per indicator, the releases that have all its fields."""
    report = CoverageReport()
    with_all: Counter[str] = Counter()
    for release in releases:
        counts = json_value_coverage(release)
        present = {dotted_field(path) for path in counts} - {""}
        report.total_releases += 1
        report.nodes.update(counts)
        report.releases.update(present)
        for indicator in requirements:
            if indicator.fields and all(name in present for name in indicator.fields):
                with_all[indicator.code] += 1
    report.computed_at = datetime.now(UTC)
    return report, dict(with_all)


# --- sources and storage ---------------------------------------------------------------------


def iter_jsonl(path: Path, invalid_lines: list[int] | None = None) -> Iterator[dict[str, Any]]:
    """Compiled releases from a JSON Lines file (plain or gzip).

    A line that is not a JSON object raises ``ValueError`` naming the line, unless ``invalid_lines`` is
    given: then its number is appended there and the line is skipped (as Cardinal does, with a warning).
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line, object_pairs_hook=_object_pairs_last)
            except ValueError as exc:
                if invalid_lines is None:
                    raise ValueError(f"{path}, line {number}: not JSON ({exc.args[0]})") from exc
                invalid_lines.append(number)
                continue
            if not isinstance(value, dict):
                if invalid_lines is None:
                    raise ValueError(f"{path}, line {number}: not a JSON object")
                invalid_lines.append(number)
                continue
            yield value


def iter_warehouse_compiled_releases(warehouse: Any, *, batch: int = 5_000) -> Iterator[dict[str, Any]]:
    """Compiled releases from the ingest's ``ocds_compiled_release`` table, in batches."""
    table = warehouse.table(COMPILED_RELEASE_TABLE)
    column = next((name for name in COMPILED_JSON_COLUMNS if name in table.columns), None)
    if column is None:
        raise LookupError(
            f"The table {COMPILED_RELEASE_TABLE} has none of the columns {', '.join(COMPILED_JSON_COLUMNS)}."
        )
    total = int(warehouse.execute(table.count()).iat[0, 0])
    order = table.ocid if "ocid" in table.columns else table[column]
    for offset in range(0, total, batch):
        frame = warehouse.execute(table.order_by(order).select(column).limit(batch, offset=offset))
        for value in frame[column]:
            if isinstance(value, str | bytes):
                yield json.loads(value)
            elif isinstance(value, dict):
                yield value


def coverage_compute(
    *, path: Path | None = None, warehouse: Any = None
) -> tuple[CoverageReport, list[IndicatorCoverage]]:
    """Walks a JSONL file, or the warehouse's compiled releases, and judges each indicator's coverage."""
    requirements = indicator_requirements()
    if path is not None:
        invalid: list[int] = []
        report, with_all = count_releases_with_all(iter_jsonl(path, invalid), requirements)
        report.source = str(path)
        report.invalid_lines = invalid
    else:
        if warehouse is None:
            raise ValueError("Give a JSON Lines file or a warehouse connection.")
        report, with_all = count_releases_with_all(iter_warehouse_compiled_releases(warehouse), requirements)
        report.source = f"warehouse:{COMPILED_RELEASE_TABLE}"
    return report, indicator_coverage(report, requirements, all_fields=with_all)


def coverage_store(*, warehouse: Any, report: CoverageReport) -> int:
    """Writes ``report`` to ``procurement_field_coverage`` (replacing it); returns the rows written."""
    import pyarrow as pa  # a sixth of a second to import: only when a report is stored

    computed_at = report.computed_at or datetime.now(UTC)
    paths = sorted(report.nodes)
    rows = {
        "path": paths,
        "field": [dotted_field(path) for path in paths],
        "nodes": [int(report.nodes[path]) for path in paths],
        "releases": [int(report.releases.get(dotted_field(path), 0)) for path in paths],
        "total_releases": [report.total_releases] * len(paths),
        "source": [report.source] * len(paths),
        "computed_at": [computed_at.replace(tzinfo=None)] * len(paths),
    }
    schema = pa.schema(
        [
            ("path", pa.string()),
            ("field", pa.string()),
            ("nodes", pa.int64()),
            ("releases", pa.int64()),
            ("total_releases", pa.int64()),
            ("source", pa.string()),
            ("computed_at", pa.timestamp("us")),
        ]
    )
    warehouse_load_table(
        warehouse=warehouse,
        name=COVERAGE_TABLE,
        data=pa.table(rows, schema=schema),
        description="How often each OCDS field is present in the compiled releases (probity procurement coverage)",
        source=report.source,
    )
    return len(paths)


def coverage_load(*, warehouse: Any) -> CoverageReport | None:
    """The stored report, or ``None`` when ``probity procurement coverage`` has not been run."""
    if COVERAGE_TABLE not in warehouse.list_tables():
        return None
    frame = warehouse.execute(warehouse.table(COVERAGE_TABLE))
    report = CoverageReport()
    if frame.empty:
        return report
    report.total_releases = int(frame["total_releases"].iloc[0])
    report.source = str(frame["source"].iloc[0])
    stamp = frame["computed_at"].iloc[0]
    report.computed_at = stamp.to_pydatetime().replace(tzinfo=UTC) if hasattr(stamp, "to_pydatetime") else None
    for path, dotted, nodes, releases in zip(
        frame["path"], frame["field"], frame["nodes"], frame["releases"], strict=True
    ):
        report.nodes[str(path)] = int(nodes)
        if dotted:
            report.releases[str(dotted)] = int(releases)
    return report

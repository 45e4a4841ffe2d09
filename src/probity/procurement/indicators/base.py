"""The building blocks of the red-flag indicators: the ``Indicator`` interface, its registry and the
portable helpers every indicator uses (Ibis, for DuckDB and Spark alike).

The interface, for anyone adding an indicator (in its own module of this package):

1. Subclass ``Indicator``; set ``code`` (stable, e.g. ``"R003"``), ``title``, ``description`` (what
   it measures and why that signals risk), ``tables`` (the ``probity.procurement.tables`` it reads)
   and ``parameters`` (setting name → ``Setting`` with its type and default; the names are the keys
   of the indicator's ``[CODE]`` section in the Cardinal-style settings file).
2. Implement ``results(tables, settings)``: it receives a ``ProcurementTables`` (Ibis tables by name,
   e.g. ``tables["bids"]``) and the ``IndicatorSettings``, and returns an Ibis table with exactly
   ``RESULT_SCHEMA``: one row per *flagged* subject — ``subject_type`` (one of ``SUBJECT_TYPES``:
   ``OCID``, ``Buyer``, ``ProcuringEntity``, ``Tenderer``), ``subject_id``, ``code`` and ``value``
   (float64; what Cardinal prints for that subject). Use ``result_table(...)`` to build it.
   Start from ``contracting_processes(tables, settings)``: the processes every indicator may judge
   (not cancelled, not excluded by ``[exclusions] procurement_method_details``).
3. Optionally implement ``outcomes(tables, settings)`` (``OUTCOME_SCHEMA``): every judged subject
   with ``outcome`` ``flag`` / ``pass`` / ``not_applicable`` and a ``reason`` in plain words, for
   Probity's findings. The default returns the flags of ``results`` only.
4. Decorate the class with ``@register`` and add the module to ``_MODULES`` in the package's
   ``__init__`` so that ``indicators()`` loads it. Import the building blocks from this module, never
   from the package (whose ``indicators()`` imports the indicator modules).

Helpers for portable statistics live here too: ``quantile_type8`` (Cardinal's quartiles,
Hyndman–Fan type 8) works on both engines; ``pipe_set`` reads the settings' ``a|b`` sets.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

# Ibis is imported in the functions that build expressions (see ``lazy_module``).
if TYPE_CHECKING:
    import ibis.expr.types as ir

    from probity.procurement.indicators.settings import IndicatorSettings


def lazy_module(name: str) -> ModuleType:
    """``name`` imported on first attribute access (``importlib.util.LazyLoader``), or the module
    itself if it is already imported. Registering the indicators (at Django's start-up) then does
    not import Ibis, which costs a fifth of a second; running one does."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"No module named {name!r}.")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


SUBJECT_TYPES = ("OCID", "Buyer", "ProcuringEntity", "Tenderer")
RESULT_SCHEMA = {"subject_type": "string", "subject_id": "string", "code": "string", "value": "float64"}
OUTCOME_SCHEMA = {**RESULT_SCHEMA, "outcome": "string", "reason": "string"}


def pipe_set(value: str | None) -> frozenset[str]:
    """``a|b`` → {"a", "b"}; like Rust's ``split_terminator('|')``, a trailing ``|`` adds nothing."""
    if value is None or value == "":
        return frozenset()
    parts = value.split("|")
    if parts and parts[-1] == "":
        parts.pop()
    return frozenset(parts)


@dataclass(frozen=True)
class Setting:
    """One key of an indicator's settings section: its type (``float``, ``int``, ``str`` or a map
    of such, written ``dict``), its default (``None``: computed from the data, e.g. a fence) and
    what it does."""

    kind: type
    default: Any
    description: str
    minimum: float | None = None


class ProcurementTables(Mapping[str, "ir.Table"]):
    """The procurement tables (``tables.TABLES``) as Ibis tables, by their short name."""

    def __init__(
        self, tables: Mapping[str, ir.Table], *, materialize: Callable[[ir.Table], ir.Table] | None = None
    ) -> None:
        self._tables = dict(tables)
        self.materialize = materialize
        self._derived: dict[object, ir.Table] = {}

    def derived(self, key: object, build: Callable[[], ir.Table], *, store: bool = True) -> ir.Table:
        """A relation several indicators share (e.g. second-lowest bid ratios), built once per run.

        With ``materialize`` (see ``run.materializer``: a temporary table on DuckDB, a cached
        DataFrame on Spark) it is computed once, so quantiles and later queries read the result
        instead of recomputing it. ``key`` must identify the relation and the settings it used.
        ``store=False`` keeps a relation that is cheaper to recompute than to copy (a filter of one
        table) as an expression.
        """
        if key not in self._derived:
            table = build()
            self._derived[key] = self.materialize(table) if self.materialize and store else table
        return self._derived[key]

    def reuse(self, key: object, table: ir.Table) -> ir.Table:
        """``derived`` for a relation already built: materialised once, for several queries."""
        return self.derived(key, lambda: table)

    def __getitem__(self, name: str) -> ir.Table:
        try:
            return self._tables[name]
        except KeyError:
            raise KeyError(f"The procurement table {name!r} was not loaded.") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)


class Indicator:
    """One red flag. Subclasses set the class attributes and implement ``results``."""

    code: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    tables: ClassVar[tuple[str, ...]] = ("processes",)
    parameters: ClassVar[dict[str, Setting]] = {}
    cardinal: ClassVar[bool] = False  # True: Cardinal's semantics, checked by its conformance suite

    def results(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        raise NotImplementedError

    def outcomes(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        import ibis

        flags = self.results(tables, settings)
        return flags.mutate(outcome=ibis.literal("flag"), reason=ibis.literal(self.title))


INDICATORS: dict[str, type[Indicator]] = {}


def register(cls: type[Indicator]) -> type[Indicator]:
    """Class decorator: adds an indicator to ``INDICATORS`` (codes must be unique)."""
    if cls.code in INDICATORS and INDICATORS[cls.code] is not cls:
        raise ValueError(f"Two indicators have the code {cls.code}.")
    INDICATORS[cls.code] = cls
    return cls


# --- building blocks shared by indicators -------------------------------------------------------


def result_table(table: ir.Table, subject_type: str, subject_id: ir.Value, code: str, value: Any) -> ir.Table:
    """``table`` reduced to ``RESULT_SCHEMA``: one row per subject, with a value each."""
    import ibis

    if subject_type not in SUBJECT_TYPES:
        raise ValueError(f"Unknown subject type {subject_type!r}.")
    value_expr = value if isinstance(value, ibis.Expr) else ibis.literal(float(value))
    return table.select(
        subject_type=ibis.literal(subject_type, type="string"),
        subject_id=subject_id.cast("string"),
        code=ibis.literal(code, type="string"),
        value=value_expr.cast("float64"),
    )


def empty_results() -> ir.Table:
    import ibis

    return ibis.memtable({name: [] for name in RESULT_SCHEMA}, schema=RESULT_SCHEMA)


def contracting_processes(tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
    """The processes indicators judge: not ``tender.status = cancelled`` and whose
    ``procurementMethodDetails`` is not excluded (``[exclusions] procurement_method_details``)."""
    # A filter of one table: each query reads the few columns it needs instead of a copy of them all.
    return tables.derived(
        ("contracting_processes", id(settings)), lambda: _contracting_processes(tables, settings), store=False
    )


def _contracting_processes(tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
    processes = tables["processes"]
    keep = processes.ocid.notnull() & (processes.tender_status.isnull() | (processes.tender_status != "cancelled"))
    excluded = sorted(settings.exclude_procurement_method_details)
    if excluded:
        keep &= processes.procurement_method_details.isnull() | ~processes.procurement_method_details.isin(excluded)
    return processes.filter(keep)


def quantiles_type8(values: ir.Column, fractions: Mapping[str, float]) -> ir.Table:
    """Quantiles of a column, Hyndman–Fan type 8 (statrs, numpy "median_unbiased"), as one row
    with a column per name in ``fractions`` (e.g. ``{"q1": 0.25, "q3": 0.75}``).

    NULL for an empty column (comparisons with it are then false, as with Cardinal's NaN).
    Portable and cheap on both engines: one window pass (rank and count) and one aggregate; join
    the row to the data with ``cross_join``.
    """
    import ibis

    table = values.name("v").as_table()
    table = table.filter(table.v.notnull())
    ranked = table.mutate(rank=ibis.row_number().over(order_by=table.v) + 1, n=table.v.count().over())
    n = ranked.n
    parts: dict[str, ir.Value] = {}
    for name, fraction in fractions.items():
        h = (n.cast("float64") + 1.0 / 3.0) * fraction + 1.0 / 3.0
        whole = h.floor().cast("int64")
        low_rank = ibis.greatest(ibis.least(whole, n), 1)
        high_rank = ibis.greatest(ibis.least(whole + 1, n), 1)
        parts[f"{name}__low"] = ranked.v.max(where=ranked["rank"] == low_rank)
        parts[f"{name}__high"] = ranked.v.max(where=ranked["rank"] == high_rank)
        parts[f"{name}__part"] = (h - whole.cast("float64")).max()
    row = ranked.aggregate(**parts)
    return row.select(
        **{
            name: row[f"{name}__low"] + row[f"{name}__part"] * (row[f"{name}__high"] - row[f"{name}__low"])
            for name in fractions
        }
    )


def quantile_type8(values: ir.Column, fraction: float) -> ir.Scalar:
    """One type-8 quantile as a scalar expression (see ``quantiles_type8``)."""
    return quantiles_type8(values, {"q": fraction}).q.as_scalar()

"""Cardinal's 11 red flags (R003 … R058) as Ibis expressions, with Cardinal's semantics and settings.

Each class follows the Rust source of open-contracting/cardinal-rs (``src/indicators/*.rs`` and
``src/lib.rs``) rule for rule; the docstrings say what is measured and why it signals risk, and
``../shared/data/cardinal`` (Cardinal's own fixtures) is the conformance suite in the tests.

Where Cardinal depends on the order in which a parallel reader meets releases (with no
``currency`` setting, "the first currency observed"), Probity picks the currency of the most
bids, ties by code order: the same result on every run and engine (see
docs/reference/procurement-indicators.md).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_noop

from probity.procurement.codelists import CODELISTS
from probity.procurement.indicators.base import (
    Indicator,
    ProcurementTables,
    Setting,
    contracting_processes,
    lazy_module,
    pipe_set,
    quantiles_type8,
    register,
    result_table,
)

if TYPE_CHECKING:
    import ibis
    import ibis.expr.types as ir

    from probity.procurement.indicators.settings import IndicatorSettings
else:
    ibis = lazy_module("ibis")  # imported when an indicator is built, not when it is registered

FINAL_AWARD_STATUSES = ("active", "cancelled", "unsuccessful")
NOT_SUBMITTED_BID_STATUSES = ("invited", "withdrawn")


# --- shared relations -----------------------------------------------------------------------------


def _price_comparison(processes: ir.Table, settings: IndicatorSettings) -> ir.Table:
    """Processes whose method compares prices (``price_comparison_procurement_methods`` allow list,
    else not in ``no_price_comparison_procurement_methods``); Cardinal's
    ``matches_procurement_method_details(include, exclude)``."""
    details = processes.procurement_method_details
    include = sorted(settings.price_comparison_procurement_methods)
    exclude = sorted(settings.no_price_comparison_procurement_methods)
    if include:
        return processes.filter(details.notnull() & details.isin(include))
    if exclude:
        return processes.filter(details.isnull() | ~details.isin(exclude))
    return processes


def _matches_procurement_method(processes: ir.Table, methods: frozenset[str]) -> ir.Table:
    if not methods:
        return processes
    return processes.filter(processes.procurement_method.notnull() & processes.procurement_method.isin(sorted(methods)))


def _submitted_bids(tables: ProcurementTables) -> ir.Table:
    """Pending, valid and disqualified bids: a text status other than invited or withdrawn."""
    bids = tables["bids"]
    return bids.filter(bids.status.notnull() & ~bids.status.isin(NOT_SUBMITTED_BID_STATUSES))


def _awards_final(tables: ProcurementTables, processes: ir.Table) -> ir.Table:
    """Processes with awards and bids.details whose every award with a status is in a final state
    (Cardinal's ``get_complete_awards_and_bids_if_all_awards_final``); columns ``ocid``."""
    awards = tables["awards"]
    open_awards = awards.filter(awards.status.notnull() & ~awards.status.isin(FINAL_AWARD_STATUSES))
    candidates = processes.filter(processes.has_awards & processes.has_bid_details).select("ocid")
    return candidates.anti_join(open_awards.select("ocid"), "ocid")


def _sole_supplier(tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
    """Judged processes with a sole supplier (see ``_build_sole_supplier``)."""
    return tables.derived(
        ("sole_supplier", id(settings)), lambda: _build_sole_supplier(tables, contracting_processes(tables, settings))
    )


def _build_sole_supplier(tables: ProcurementTables, processes: ir.Table) -> ir.Table:
    """Final processes with exactly one active award, to exactly one supplier with an id:
    columns ``ocid``, ``supplier_id``."""
    awards = tables["awards"]
    active = awards.filter(awards.status == "active")
    one_active = active.group_by("ocid").aggregate(active_awards=ibis._.count()).filter(ibis._.active_awards == 1)
    sole = active.filter(active.has_suppliers & (active.supplier_count == 1)).select("ocid", "award_index")
    sole = sole.join(one_active.select("ocid"), "ocid")
    suppliers = tables["award_suppliers"]
    suppliers = suppliers.filter((suppliers.supplier_index == 1) & suppliers.supplier_id.notnull())
    sole = sole.join(suppliers, ["ocid", "award_index"]).select("ocid", "supplier_id")
    return _awards_final(tables, processes).join(sole, "ocid")


def _single_tenderer_bids(tables: ProcurementTables) -> ir.Table:
    return tables.derived("single_tenderer_bids", lambda: _build_single_tenderer_bids(tables))


def _build_single_tenderer_bids(tables: ProcurementTables) -> ir.Table:
    """Bids with exactly one tenderer that has an id: ``ocid``, ``bid_index``, ``status``,
    ``tenderer_id``, ``value_amount``, ``value_currency``."""
    bids = tables["bids"]
    bids = bids.filter(bids.has_tenderers & (bids.tenderer_count == 1))
    tenderers = tables["bid_tenderers"]
    tenderers = tenderers.filter((tenderers.tenderer_index == 1) & tenderers.tenderer_id.notnull())
    return bids.join(tenderers, ["ocid", "bid_index"]).select(
        "ocid", "bid_index", "status", "tenderer_id", "value_amount", "value_currency"
    )


def _currency(tables: ProcurementTables, settings: IndicatorSettings) -> ir.Value:
    """The currency compared: the ``currency`` setting, else the currency of the most bids."""
    if settings.currency is not None:
        return ibis.literal(settings.currency)
    bids = tables["bids"]
    priced = bids.filter(bids.value_amount.notnull() & bids.value_currency.notnull())
    counts = priced.group_by("value_currency").aggregate(bids=ibis._.count())
    return counts.order_by([ibis.desc("bids"), "value_currency"]).limit(1).value_currency.as_scalar()


def _second_lowest_bid_ratios(tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
    return tables.derived(("second_lowest_bid_ratios", id(settings)), lambda: _build_ratios(tables, settings))


def _build_ratios(tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
    """Per process: the winner, the lowest valid non-winning bid's tenderer, and
    ``(lowest non-winning amount - winning amount) / winning amount`` when the lowest bid won
    (Cardinal's ``SecondLowestBidRatio``). Columns ``ocid``, ``winner``, ``runner_up``, ``ratio``."""
    priced = _price_comparison(contracting_processes(tables, settings), settings).select("ocid")
    sole = _sole_supplier(tables, settings).join(priced, "ocid")
    bids = _single_tenderer_bids(tables)
    bids = bids.filter(
        (bids.status == "valid") & bids.value_amount.notnull() & (bids.value_currency == _currency(tables, settings))
    )
    bids = bids.join(sole, "ocid")
    winning = (
        bids.filter(bids.tenderer_id == bids.supplier_id)
        .group_by("ocid")
        .aggregate(winner=ibis._.supplier_id.max(), winner_amount=ibis._.value_amount.min())
    )
    others = bids.filter(bids.tenderer_id != bids.supplier_id)
    # The first of the lowest bids, in release order, as Cardinal keeps the first strict minimum.
    others = others.mutate(
        position=ibis.row_number().over(group_by="ocid", order_by=[others.value_amount, others.bid_index])
    )
    runner_up = others.filter(others.position == 0).select(
        "ocid", runner_up=others.tenderer_id, runner_up_amount=others.value_amount
    )
    pairs = winning.join(runner_up, "ocid")
    pairs = pairs.filter(pairs.runner_up_amount >= pairs.winner_amount)
    return pairs.select(
        "ocid",
        "winner",
        "runner_up",
        ratio=(pairs.runner_up_amount - pairs.winner_amount) / pairs.winner_amount,
    )


def _with_lower_fence(table: ir.Table, values: ir.Column, threshold: float | None) -> ir.Table:
    """``table`` with ``q1`` and ``lower_fence`` (the threshold, else Q1 - 1.5 IQR of ``values``);
    with a threshold ``q1`` is 1, a dummy that passes Cardinal's ``q1 > 0`` guard."""
    if threshold is not None:
        return table.mutate(q1=ibis.literal(1.0), lower_fence=ibis.literal(float(threshold)))
    fences = quantiles_type8(values, {"q1": 0.25, "q3": 0.75})
    fences = fences.select("q1", lower_fence=fences.q1 - 1.5 * (fences.q3 - fences.q1))
    return table.cross_join(fences)


def _with_upper_fence(table: ir.Table, values: ir.Column, threshold: float | None) -> ir.Table:
    """``table`` with ``upper_fence``: the threshold, else Q3 + 1.5 IQR of ``values``."""
    if threshold is not None:
        return table.mutate(upper_fence=ibis.literal(float(threshold)))
    fences = quantiles_type8(values, {"q1": 0.25, "q3": 0.75})
    return table.cross_join(fences.select(upper_fence=fences.q3 + 1.5 * (fences.q3 - fences.q1)))


def _union(*parts: ir.Table) -> ir.Table:
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def _whole_days(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.IntegerValue:
    """Whole days from ``start`` to ``end``, truncated towards zero (chrono's ``num_days``)."""
    seconds = end.epoch_seconds() - start.epoch_seconds()
    return ibis.ifelse(seconds >= 0, seconds // 86400, -((-seconds) // 86400))


def _fewer_whole_days(start: ir.TimestampValue, end: ir.TimestampValue, days: int | ir.Value) -> ir.BooleanValue:
    """``_whole_days(start, end) < days``, with the seconds between the two computed once: for a
    whole number of days N, the truncated day count is below N exactly when the seconds are below
    N × 86 400 (N > 0) or at most (N - 1) × 86 400 (N <= 0). Reading each timestamp once matters:
    turning a time-zone-aware timestamp into seconds is the costly part of the comparison."""
    seconds = end.epoch_seconds() - start.epoch_seconds()
    if isinstance(days, int):
        return seconds < days * 86400 if days > 0 else seconds <= (days - 1) * 86400
    return ibis.ifelse(days > 0, seconds < days * 86400, seconds <= (days - 1) * 86400)


# --- pass / not applicable ------------------------------------------------------------------------
# ``outcomes`` of the process-level indicators: every process of the file, with ``outcome`` flag
# (exactly the OCIDs ``results`` flags), not_applicable (the first reason, in the order Cardinal
# skips a process) or pass; ``value`` is Cardinal's value for flags; ``evidence_*`` columns hold
# the numbers that decided (see ``evidence_columns``).

EVIDENCE_PREFIX = "evidence_"

Reason = tuple["ir.BooleanValue", "str | ir.StringValue"]


def _text(value: str | ir.StringValue) -> ir.StringValue:
    return ibis.literal(value, type="string") if isinstance(value, str) else value


def _judged(tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
    """Every process with an OCID and ``base_reason``: why no indicator judges it (a cancelled
    tender, or ``[exclusions] procurement_method_details``), else NULL."""
    processes = tables["processes"]
    processes = processes.filter(processes.ocid.notnull())
    cases: list[tuple[ir.BooleanValue, ir.StringValue]] = [
        (processes.tender_status == "cancelled", _text("excluded_procedure: cancelled (tender.status)"))
    ]
    excluded = sorted(settings.exclude_procurement_method_details)
    if excluded:
        details = processes.procurement_method_details
        cases.append((details.isin(excluded), "excluded_procedure: " + details))
    return processes.mutate(base_reason=ibis.cases(*cases, else_=ibis.null("string")))


def _method_reasons(frame: ir.Table, methods: frozenset[str]) -> list[Reason]:
    """The ``procurement_methods`` setting: processes of other methods are not judged."""
    if not methods:
        return []
    method = frame.procurement_method
    known = sorted(CODELISTS["tender.procurementMethod"] | methods)
    return [
        (method.isnull(), "missing_field: tender.procurementMethod"),
        (~method.isin(known), "unknown_code: tender.procurementMethod = " + method),
        (~method.isin(sorted(methods)), "excluded_procedure: " + method),
    ]


def _price_comparison_reasons(frame: ir.Table, settings: IndicatorSettings) -> list[Reason]:
    """``price_comparison_procurement_methods`` / ``no_price_comparison_procurement_methods``."""
    details = frame.procurement_method_details
    include = sorted(settings.price_comparison_procurement_methods)
    exclude = sorted(settings.no_price_comparison_procurement_methods)
    if include:
        return [
            (details.isnull(), "no_price_comparison: no tender.procurementMethodDetails"),
            (~details.isin(include), "no_price_comparison: " + details),
        ]
    if exclude:
        return [(details.isin(exclude), "no_price_comparison: " + details)]
    return []


def _awards_and_bids_reasons(frame: ir.Table) -> list[Reason]:
    return [
        (~frame.has_awards.fill_null(False), "missing_field: awards"),
        (~frame.has_bid_details.fill_null(False), "missing_field: bids.details"),
    ]


def _attach(frame: ir.Table, table: ir.Table) -> ir.Table:
    """``frame`` left-joined on ``ocid`` with a table of at most one row per OCID."""
    other = table.rename(attached_ocid="ocid")
    return frame.left_join(other, frame.ocid == other.attached_ocid).drop("attached_ocid")


def _marked(table: ir.Table, name: str) -> ir.Table:
    """The distinct OCIDs of ``table`` with a column ``name`` (true): NULL after ``_attach`` = absent."""
    return table.select("ocid").distinct().mutate(**{name: ibis.literal(True)})


def _outcome_rows(
    indicator: Indicator,
    tables: ProcurementTables,
    settings: IndicatorSettings,
    frame: ir.Table,
    reasons: list[Reason],
    evidence: dict[str, ir.Value],
) -> ir.Table:
    """``frame`` (from ``_judged``) as ``OUTCOME_SCHEMA`` rows plus ``evidence_*`` columns."""
    cases = [(frame.base_reason.notnull(), frame.base_reason)]
    cases += [(condition.fill_null(False), _text(reason)) for condition, reason in reasons]
    frame = frame.mutate(
        reason=ibis.cases(*cases, else_=ibis.null("string")),
        **{EVIDENCE_PREFIX + name: value for name, value in evidence.items()},
    )
    flags = indicator.results(tables, settings)
    flags = flags.filter(flags.subject_type == "OCID").select(flag_ocid=ibis._.subject_id, flag_value=ibis._.value)
    joined = frame.left_join(flags, frame.ocid == flags.flag_ocid)
    outcome = ibis.cases(
        (joined.flag_ocid.notnull(), "flag"), (joined.reason.notnull(), "not_applicable"), else_="pass"
    )
    return joined.select(
        subject_type=ibis.literal("OCID", type="string"),
        subject_id=joined.ocid.cast("string"),
        code=ibis.literal(indicator.code, type="string"),
        value=ibis.ifelse(joined.flag_ocid.notnull(), joined.flag_value, ibis.null("float64")),
        outcome=outcome,
        reason=ibis.ifelse(joined.flag_ocid.isnull() & joined.reason.notnull(), joined.reason, ibis.null("string")),
        **{name: joined[name] for name in joined.columns if name.startswith(EVIDENCE_PREFIX)},
    )


def _ratio_outcomes(
    indicator: Indicator, tables: ProcurementTables, settings: IndicatorSettings, fenced: ir.Table, fence_name: str
) -> ir.Table:
    """R024 and R058: judged when the process has a second-lowest bid ratio and the fence is usable."""
    frame = _judged(tables, settings)
    final = _awards_final(tables, contracting_processes(tables, settings))
    sole = _sole_supplier(tables, settings)
    ratios = fenced.select("ocid", "ratio", "fence", "usable")
    frame = _attach(_attach(_attach(frame, _marked(final, "final")), _marked(sole, "sole")), ratios)
    reasons = [
        *_price_comparison_reasons(frame, settings),
        *_awards_and_bids_reasons(frame),
        (frame.final.isnull(), "awards_not_final"),
        (frame.sole.isnull(), "insufficient_data: not exactly one active award to one supplier"),
        (frame.ratio.isnull(), "insufficient_data: no valid lowest winning bid and valid losing bid"),
        (~frame.usable, "insufficient_data: the fence is not positive"),
    ]
    evidence = {"ratio": frame.ratio, fence_name: frame.fence}
    return _outcome_rows(indicator, tables, settings, frame, reasons, evidence)


def _party_outcome_rows(
    indicator: Indicator,
    frame: ir.Table,
    reasons: list[Reason],
    evidence: dict[str, ir.Value],
    flagged: ir.BooleanValue,
    value: ir.Value,
) -> ir.Table:
    """``_outcome_rows`` for the indicators that judge parties (R025 tenderers, R038 buyers,
    procuring entities and tenderers, R048 suppliers): a process is flagged when ``flagged`` (one
    of the parties it involves, in the data the indicator counted from it, is flagged), with
    ``value`` (that party's Cardinal value); Cardinal's JSON output is unchanged (``results``)."""
    cases = [(frame.base_reason.notnull(), frame.base_reason)]
    cases += [(condition.fill_null(False), _text(reason)) for condition, reason in reasons]
    frame = frame.mutate(
        reason=ibis.cases(*cases, else_=ibis.null("string")),
        is_flagged=flagged.fill_null(False),
        flag_value=value.cast("float64"),
        **{EVIDENCE_PREFIX + name: item for name, item in evidence.items()},
    )
    flag = frame.is_flagged & frame.base_reason.isnull()
    return frame.select(
        subject_type=ibis.literal("OCID", type="string"),
        subject_id=frame.ocid.cast("string"),
        code=ibis.literal(indicator.code, type="string"),
        value=ibis.ifelse(flag, frame.flag_value, ibis.null("float64")),
        outcome=ibis.cases((flag, "flag"), (frame.reason.notnull(), "not_applicable"), else_="pass"),
        reason=ibis.ifelse(~flag & frame.reason.notnull(), frame.reason, ibis.null("string")),
        **{name: frame[name] for name in frame.columns if name.startswith(EVIDENCE_PREFIX)},
    )


# --- the indicators -------------------------------------------------------------------------------


@register
class R003(Indicator):
    """Short submission period: the tender period is shorter than the threshold (in days, by
    procurement method details), which can keep out all but insiders who knew in advance."""

    code = "R003"
    title = "Short submission period"
    description = __doc__ or ""
    cardinal = True
    parameters = {
        "threshold": Setting(int, 15, "minimum number of days of the tender period"),
        "procurement_methods": Setting(str, "", "procurement methods judged, e.g. open|selective (all if empty)"),
        "procurement_method_details": Setting(dict, {}, "minimum days by procurement method details"),
    }

    def results(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        methods = pipe_set(settings.value(self.code, "procurement_methods"))
        processes = _matches_procurement_method(contracting_processes(tables, settings), methods)
        processes = processes.filter(
            processes.tender_period_start_at.notnull() & processes.tender_period_end_at.notnull()
        )
        threshold = self._threshold(processes, settings)
        flagged = processes.filter(
            _fewer_whole_days(processes.tender_period_start_at, processes.tender_period_end_at, threshold)
        )
        return result_table(flagged, "OCID", flagged.ocid, self.code, 1.0)

    def _threshold(self, processes: ir.Table, settings: IndicatorSettings) -> int | ir.Value:
        """The minimum days: the ``threshold`` setting (an int), or by procurement method details (an expression)."""
        threshold = int(settings.value(self.code, "threshold"))
        by_details = settings.value(self.code, "procurement_method_details")
        if not by_details:
            return threshold
        cases = [(processes.procurement_method_details == name, days) for name, days in sorted(by_details.items())]
        return ibis.cases(*cases, else_=ibis.literal(threshold, type="int64"))

    def outcomes(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        frame = _judged(tables, settings)
        start, end = frame.tender_period_start_at, frame.tender_period_end_at
        reasons = [
            *_method_reasons(frame, pipe_set(settings.value(self.code, "procurement_methods"))),
            (start.isnull(), "missing_field: tender.tenderPeriod.startDate"),
            (end.isnull(), "missing_field: tender.tenderPeriod.endDate"),
        ]
        minimum = self._threshold(frame, settings)
        if isinstance(minimum, int):
            minimum = ibis.literal(minimum, type="int64")
        evidence = {"days": _whole_days(start, end), "minimum_days": minimum}
        return _outcome_rows(self, tables, settings, frame, reasons, evidence)


@register
class R018(Indicator):
    """Single bid received: a competitive process (open or selective by default) drew one
    tenderer, a sign that competition was discouraged or the specification tailored."""

    code = "R018"
    title = "Single bid received"
    description = __doc__ or ""
    cardinal = True
    parameters = {
        "procurement_methods": Setting(str, "open|selective", "procurement methods judged (all if empty)"),
    }

    def results(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        methods = pipe_set(settings.value(self.code, "procurement_methods"))
        processes = _matches_procurement_method(contracting_processes(tables, settings), methods)
        flagged = processes.filter(processes.number_of_tenderers == 1)
        return result_table(flagged, "OCID", flagged.ocid, self.code, 1.0)

    def outcomes(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        frame = _judged(tables, settings)
        reasons = [
            *_method_reasons(frame, pipe_set(settings.value(self.code, "procurement_methods"))),
            (frame.number_of_tenderers.isnull(), "missing_field: tender.numberOfTenderers"),
        ]
        return _outcome_rows(self, tables, settings, frame, reasons, {"tenderers": frame.number_of_tenderers})


@register
class R024(Indicator):
    """Price close to winning bid: the lowest losing bid is very close to the winning bid
    (at or below the lower fence of all such gaps), a sign of cover bidding."""

    code = "R024"
    title = "Price close to winning bid"
    description = __doc__ or ""
    tables = ("processes", "bids", "bid_tenderers", "awards", "award_suppliers")
    cardinal = True
    parameters = {"threshold": Setting(float, None, "maximum ratio; default: Q1 - 1.5 IQR of the ratios")}

    def _fenced(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        ratios = _second_lowest_bid_ratios(tables, settings)
        fenced = _with_lower_fence(ratios, ratios.ratio, settings.value(self.code, "threshold"))
        return fenced.mutate(usable=(fenced.q1 > 0) & (fenced.lower_fence > 0), fence=fenced.lower_fence)

    def results(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        ratios = self._fenced(tables, settings)
        flagged = ratios.filter((ratios.q1 > 0) & (ratios.lower_fence > 0) & (ratios.ratio <= ratios.lower_fence))
        return _union(
            result_table(flagged, "OCID", flagged.ocid, self.code, flagged.ratio),
            result_table(flagged, "Tenderer", flagged.winner, self.code, 0.0),
            result_table(flagged, "Tenderer", flagged.runner_up, self.code, 0.0),
        ).distinct()

    def outcomes(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        return _ratio_outcomes(self, tables, settings, self._fenced(tables, settings), "maximum_ratio")


@register
class R025(Indicator):
    """Excessive unsuccessful bids: a tenderer that bids often (at or above the percentile of
    bids per tenderer) but rarely wins (at or below the lower fence of win ratios), a sign of a
    cover bidder in a bid-rigging ring."""

    code = "R025"
    title = "Excessive unsuccessful bids"
    description = __doc__ or ""
    tables = ("processes", "bids", "bid_tenderers", "awards", "award_suppliers")
    cardinal = True
    parameters = {
        "percentile": Setting(int, 75, "percentile of the number of bids a tenderer must reach", minimum=0),
        "threshold": Setting(float, None, "maximum win ratio; default: Q1 - 1.5 IQR of the win ratios"),
    }

    def _bids(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        """The (process, tenderer) pairs Cardinal counts: valid bids of one tenderer, in processes
        with a sole supplier; columns ``ocid``, ``tenderer_id``, ``supplier_id``."""
        bids = _single_tenderer_bids(tables)
        bids = bids.filter(bids.status == "valid").select("ocid", "tenderer_id").distinct()
        return bids.join(_sole_supplier(tables, settings), "ocid")

    def _tenderers(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        """Every tenderer counted, with ``bids``, ``wins``, ``ratio``, the fences and ``flagged``."""
        bids = self._bids(tables, settings)
        per_tenderer = bids.group_by("tenderer_id").aggregate(
            wins=(bids.tenderer_id == bids.supplier_id).cast("int64").sum(), bids=ibis._.count()
        )
        per_tenderer = per_tenderer.mutate(ratio=per_tenderer.wins.cast("float64") / per_tenderer.bids)
        per_tenderer = tables.reuse(("R025", id(settings)), per_tenderer)
        percentile = settings.value(self.code, "percentile") / 100
        upper = quantiles_type8(per_tenderer.bids.cast("float64"), {"upper_fence": percentile})
        judged = _with_lower_fence(per_tenderer, per_tenderer.ratio, settings.value(self.code, "threshold"))
        judged = judged.cross_join(upper)
        usable = (judged.q1 > 0) & (judged.lower_fence > 0)
        return judged.mutate(
            usable=usable.fill_null(False),
            flagged=(usable & (judged.bids >= judged.upper_fence) & (judged.ratio <= judged.lower_fence)).fill_null(
                False
            ),
        )

    def results(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        judged = self._tenderers(tables, settings)
        flagged = judged.filter(judged.flagged)
        return result_table(flagged, "Tenderer", flagged.tenderer_id, self.code, flagged.ratio)

    def outcomes(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        """A process is flagged when one of the tenderers of its counted bids is flagged."""
        frame = _judged(tables, settings)
        final = _awards_final(tables, contracting_processes(tables, settings))
        sole = _sole_supplier(tables, settings)
        tenderers = self._tenderers(tables, settings)
        pairs = self._bids(tables, settings).select("ocid", "tenderer_id").join(tenderers, "tenderer_id")
        flagged_ratio = ibis.ifelse(pairs.flagged, pairs.ratio, ibis.null("float64"))
        per_process = pairs.group_by("ocid").aggregate(
            bidders=ibis._.count(),
            flagged_bidders=pairs.flagged.cast("int64").sum(),
            flagged_ratio=flagged_ratio.min(),
            lowest_ratio=pairs.ratio.min(),
            usable=pairs.usable.cast("int64").max(),
            maximum_ratio=pairs.lower_fence.max(),
            minimum_bids=pairs.upper_fence.max(),
        )
        frame = _attach(_attach(_attach(frame, _marked(final, "final")), _marked(sole, "sole")), per_process)
        reasons = [
            *_awards_and_bids_reasons(frame),
            (frame.final.isnull(), "awards_not_final"),
            (frame.sole.isnull(), "insufficient_data: not exactly one active award to one supplier"),
            (frame.bidders.isnull(), "insufficient_data: no valid bid with one identified tenderer"),
            (frame.usable != 1, "insufficient_data: the fence is not positive"),
        ]
        evidence = {
            "bidders": frame.bidders,
            "flagged_bidders": frame.flagged_bidders,
            "win_ratio": frame.flagged_ratio.fill_null(frame.lowest_ratio),
            "maximum_ratio": frame.maximum_ratio,
            "minimum_bids": frame.minimum_bids,
        }
        return _party_outcome_rows(self, frame, reasons, evidence, frame.flagged_bidders > 0, frame.flagged_ratio)


@register
class R028(Indicator):
    """Identical bid prices: different tenderers submitted bids with the same amount and currency,
    a sign of collusion (the price was agreed, or one party wrote both bids)."""

    code = "R028"
    title = "Identical bid prices"
    description = __doc__ or ""
    tables = ("processes", "bids", "bid_tenderers")
    cardinal = True

    def _priced_bids(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        processes = _price_comparison(contracting_processes(tables, settings), settings).select("ocid")
        bids = _submitted_bids(tables)
        bids = bids.filter(bids.has_tenderers & bids.value_amount.notnull() & bids.value_currency.notnull())
        return bids.join(processes, "ocid")

    def _clashes(self, tables: ProcurementTables, settings: IndicatorSettings) -> tuple[ir.Table, ir.Table]:
        """The bids whose price the previous bid at the same price (by ``bid_index``) offered with
        other tenderers (with ``previous_index``), and the tenderers of every bid at a repeated
        price. The three relations behind them are computed once per run: each is read several
        times."""
        key = id(settings)
        bids = tables.derived(("R028_repeated_price_bids", key), lambda: self._repeated_price_bids(tables, settings))
        members = tables.derived(("R028_members", key), lambda: self._members(tables, bids))
        ordered = tables.derived(("R028_same_price", key), lambda: self._same_price(bids, members))
        clashes = ordered.filter(ordered.previous_index.notnull() & (ordered.tenderer_ids != ordered.previous_ids))
        return clashes, members

    @staticmethod
    def _tenderers(tables: ProcurementTables) -> ir.Table:
        tenderers = tables["bid_tenderers"]
        return tenderers.filter(tenderers.tenderer_id.notnull()).select("ocid", "bid_index", "tenderer_id")

    def _repeated_price_bids(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        """Priced bids with a tenderer id, at a price (amount and currency) offered more than once in
        their process: only those can clash."""
        bids = self._priced_bids(tables, settings)
        price = ["ocid", "value_amount", "value_currency"]
        bids = bids.join(self._tenderers(tables).select("ocid", "bid_index").distinct(), ["ocid", "bid_index"])
        repeated = bids.group_by(price).aggregate(offers=ibis._.count()).filter(ibis._.offers > 1).select(price)
        return bids.join(repeated, price).select("ocid", "bid_index", "value_amount", "value_currency")

    def _members(self, tables: ProcurementTables, bids: ir.Table) -> ir.Table:
        return self._tenderers(tables).join(bids.select("ocid", "bid_index"), ["ocid", "bid_index"])

    @staticmethod
    def _same_price(bids: ir.Table, members: ir.Table) -> ir.Table:
        groups = members.group_by(["ocid", "bid_index"]).aggregate(
            tenderer_ids=members.tenderer_id.collect().unique().sort()
        )
        bids = bids.join(groups, ["ocid", "bid_index"])
        same_price = ibis.window(group_by=[bids.ocid, bids.value_amount, bids.value_currency], order_by=bids.bid_index)
        return bids.mutate(
            previous_index=bids.bid_index.lag().over(same_price),
            previous_ids=bids.tenderer_ids.lag().over(same_price),
        )

    def results(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        clashes, members = self._clashes(tables, settings)
        involved = _union(
            clashes.select("ocid", "bid_index"),
            clashes.select("ocid", bid_index=clashes.previous_index),
        ).distinct()
        flagged_tenderers = members.join(involved, ["ocid", "bid_index"]).select("tenderer_id").distinct()
        flagged_processes = clashes.select("ocid").distinct()
        return _union(
            result_table(flagged_processes, "OCID", flagged_processes.ocid, self.code, 1.0),
            result_table(flagged_tenderers, "Tenderer", flagged_tenderers.tenderer_id, self.code, 1.0),
        )

    def outcomes(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        frame = _judged(tables, settings)
        clashes, _members = self._clashes(tables, settings)
        identical = clashes.group_by("ocid").aggregate(
            identical_amount=clashes.value_amount.min(), identical_currency=clashes.value_currency.min()
        )
        priced = self._priced_bids(tables, settings)
        members = tables["bid_tenderers"]
        members = members.filter(members.tenderer_id.notnull()).select("ocid", "bid_index").distinct()
        priced = priced.join(members, ["ocid", "bid_index"])
        priced = priced.group_by("ocid").aggregate(priced_bids=ibis._.count())
        frame = _attach(_attach(frame, identical), priced)
        reasons = [
            *_price_comparison_reasons(frame, settings),
            (~frame.has_bid_details.fill_null(False), "missing_field: bids.details"),
            (frame.priced_bids.isnull(), "missing_field: bids.details.value (no priced bid with a tenderer id)"),
            (frame.priced_bids < 2, "insufficient_data: fewer than two priced bids"),
        ]
        evidence = {
            "priced_bids": frame.priced_bids,
            "identical_amount": frame.identical_amount,
            "currency": frame.identical_currency,
        }
        return _outcome_rows(self, tables, settings, frame, reasons, evidence)


@register
class R030(Indicator):
    """Late bid won: a valid bid dated after the tender period ended belongs to a winning supplier,
    a sign that the winner was favoured (or the bid replaced after others were opened)."""

    code = "R030"
    title = "Late bid won"
    description = __doc__ or ""
    tables = ("processes", "bids", "bid_tenderers", "awards", "award_suppliers")
    cardinal = True

    def _late_winners(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        """Valid bids dated after the tender period by a winning supplier: ``ocid``, ``tenderer_id``,
        ``date``, ``end_date``."""
        processes = contracting_processes(tables, settings)
        processes = processes.filter(
            processes.tender_period_end_date.notnull() & processes.has_awards & processes.has_bid_details
        ).select("ocid", end_date=processes.tender_period_end_date)
        awards = tables["awards"]
        active = awards.filter((awards.status == "active") & awards.has_suppliers).select("ocid", "award_index")
        suppliers = tables["award_suppliers"]
        winners = (
            active.join(suppliers.filter(suppliers.supplier_id.notnull()), ["ocid", "award_index"])
            .select("ocid", tenderer_id=ibis._.supplier_id)
            .distinct()
        )
        bids = tables["bids"]
        bids = bids.filter((bids.status == "valid") & bids.date.notnull() & bids.has_tenderers)
        bids = bids.join(processes, "ocid")
        # Text comparison, as Cardinal compares the two dates as strings.
        late = bids.filter(bids.date > bids.end_date).select("ocid", "bid_index", "date", "end_date")
        tenderers = tables["bid_tenderers"].select("ocid", "bid_index", "tenderer_id")
        return late.join(tenderers, ["ocid", "bid_index"]).join(winners, ["ocid", "tenderer_id"])

    def results(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        late_winners = self._late_winners(tables, settings)
        flagged_processes = late_winners.select("ocid").distinct()
        flagged_tenderers = late_winners.select("tenderer_id").distinct()
        return _union(
            result_table(flagged_processes, "OCID", flagged_processes.ocid, self.code, 1.0),
            result_table(flagged_tenderers, "Tenderer", flagged_tenderers.tenderer_id, self.code, 1.0),
        )

    def outcomes(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        frame = _judged(tables, settings)
        late = self._late_winners(tables, settings)
        late = late.group_by("ocid").aggregate(late_bid_date=late.date.max())
        frame = _attach(frame, late)
        reasons = [
            (frame.tender_period_end_date.isnull(), "missing_field: tender.tenderPeriod.endDate"),
            *_awards_and_bids_reasons(frame),
        ]
        evidence = {"tender_end": frame.tender_period_end_date, "late_bid_date": frame.late_bid_date}
        return _outcome_rows(self, tables, settings, frame, reasons, evidence)


@register
class R035(Indicator):
    """All except winning bid disqualified: one tenderer's bids were valid and awarded, and at least
    ``threshold`` other tenderers were disqualified — disqualification used to hand over the award."""

    code = "R035"
    title = "All except winning bid disqualified"
    description = __doc__ or ""
    tables = ("processes", "bids", "bid_tenderers", "awards", "award_suppliers")
    cardinal = True
    parameters = {"threshold": Setting(int, 1, "minimum number of disqualified tenderers (at least 1)", minimum=0)}

    def _counts(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        """Per judged process whose one valid tenderer is the one supplier: ``ocid``, ``valid_id``,
        ``disqualified_tenderers`` (other tenderers disqualified)."""
        final = _awards_final(tables, contracting_processes(tables, settings))
        awards = tables["awards"]
        active = awards.filter(awards.status == "active").select("ocid", "award_index")
        suppliers = tables["award_suppliers"]
        award_suppliers = (
            active.join(suppliers.filter(suppliers.supplier_id.notnull()), ["ocid", "award_index"])
            .select("ocid", "supplier_id")
            .distinct()
            .join(final, "ocid")
        )
        supplier_sets = award_suppliers.group_by("ocid").aggregate(
            supplier_count=ibis._.count(), supplier_id=ibis._.supplier_id.max()
        )
        bids = tables["bids"]
        bids = bids.filter(bids.status.isin(["valid", "disqualified"]) & bids.has_tenderers)
        tenderers = tables["bid_tenderers"]
        statuses = (
            bids.select("ocid", "bid_index", "status")
            .join(tenderers.filter(tenderers.tenderer_id.notnull()), ["ocid", "bid_index"])
            .select("ocid", "status", "tenderer_id")
            .distinct()
            .join(final, "ocid")
        )
        valid = statuses.filter(statuses.status == "valid")
        valid_sets = valid.group_by("ocid").aggregate(valid_count=ibis._.count(), valid_id=ibis._.tenderer_id.max())
        winners = valid_sets.join(supplier_sets, "ocid").filter(
            lambda t: (t.valid_count == 1) & (t.supplier_count == 1) & (t.valid_id == t.supplier_id)
        )
        disqualified = statuses.filter(statuses.status == "disqualified").select("ocid", "tenderer_id")
        others = disqualified.join(winners.select("ocid", "valid_id"), "ocid").filter(
            lambda t: t.tenderer_id != t.valid_id
        )
        return others.group_by(["ocid", "valid_id"]).aggregate(disqualified_tenderers=ibis._.count())

    def results(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        threshold = max(int(settings.value(self.code, "threshold")), 1)
        counts = self._counts(tables, settings)
        flagged = counts.filter(counts.disqualified_tenderers >= threshold)
        tenderers_flagged = flagged.select("valid_id").distinct()
        return _union(
            result_table(flagged, "OCID", flagged.ocid, self.code, flagged.disqualified_tenderers),
            result_table(tenderers_flagged, "Tenderer", tenderers_flagged.valid_id, self.code, 0.0),
        )

    def outcomes(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        frame = _judged(tables, settings)
        final = _awards_final(tables, contracting_processes(tables, settings))
        counts = self._counts(tables, settings).select("ocid", "disqualified_tenderers")
        frame = _attach(_attach(frame, _marked(final, "final")), counts)
        reasons = [*_awards_and_bids_reasons(frame), (frame.final.isnull(), "awards_not_final")]
        evidence = {
            "disqualified_tenderers": frame.disqualified_tenderers.fill_null(0),
            "minimum_disqualified": ibis.literal(max(int(settings.value(self.code, "threshold")), 1)),
        }
        return _outcome_rows(self, tables, settings, frame, reasons, evidence)


@register
class R036(Indicator):
    """Lowest bid disqualified: the lowest submitted bid was disqualified while a valid bid was
    priced, and the process was awarded — a cheaper offer was set aside."""

    code = "R036"
    title = "Lowest bid disqualified"
    description = __doc__ or ""
    tables = ("processes", "bids", "awards")
    cardinal = True

    def _per_process(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        """Per awarded price-comparison process with priced bids: ``has_valid``,
        ``lowest_disqualified`` (1/0) and ``lowest_amount``."""
        processes = _price_comparison(contracting_processes(tables, settings), settings).select("ocid")
        awards = tables["awards"]
        awarded = awards.filter(awards.status == "active").select("ocid").distinct()
        bids = _submitted_bids(tables)
        bids = bids.filter(bids.value_amount.notnull() & (bids.value_currency == _currency(tables, settings)))
        bids = bids.join(processes, "ocid").join(awarded, "ocid")
        bids = bids.mutate(
            position=ibis.row_number().over(group_by="ocid", order_by=[bids.value_amount, bids.bid_index])
        )
        return bids.group_by("ocid").aggregate(
            has_valid=(bids.status == "valid").cast("int64").max(),
            lowest_disqualified=(bids.status == "disqualified").cast("int64").max(where=bids.position == 0),
            lowest_amount=bids.value_amount.min(),
        )

    def results(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        per_process = self._per_process(tables, settings)
        flagged = per_process.filter((per_process.has_valid == 1) & (per_process.lowest_disqualified == 1))
        return result_table(flagged, "OCID", flagged.ocid, self.code, 1.0)

    def outcomes(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        frame = _judged(tables, settings)
        awards = tables["awards"]
        awarded = awards.filter(awards.status == "active").select("ocid").distinct()
        frame = _attach(_attach(frame, _marked(awarded, "awarded")), self._per_process(tables, settings))
        reasons = [
            *_price_comparison_reasons(frame, settings),
            (frame.awarded.isnull(), "missing_field: awards (no active award)"),
            (frame.has_valid.isnull(), "missing_field: bids.details.value (no priced bid in the currency)"),
            (frame.has_valid != 1, "insufficient_data: no valid priced bid"),
        ]
        evidence = {"lowest_amount": frame.lowest_amount, "lowest_disqualified": frame.lowest_disqualified == 1}
        return _outcome_rows(self, tables, settings, frame, reasons, evidence)


@register
class R038(Indicator):
    """Excessive disqualified bids: a buyer, procuring entity or tenderer has a share of
    disqualified bids at or above the upper fence, a sign of arbitrary disqualification."""

    code = "R038"
    title = "Excessive disqualified bids"
    description = __doc__ or ""
    tables = ("processes", "bids", "bid_tenderers")
    cardinal = True
    parameters = {
        "threshold": Setting(float, None, "minimum ratio; default: Q3 + 1.5 IQR of the ratios"),
        "minimum_submitted_bids": Setting(int, 2, "bids a tenderer needs to be judged", minimum=0),
        "minimum_contracting_processes": Setting(
            int, 2, "submitted bids a buyer or procuring entity needs to be judged", minimum=0
        ),
    }

    def _fenced(self, ratios: ir.Table, settings: IndicatorSettings) -> ir.Table:
        judged = _with_upper_fence(ratios, ratios.ratio, settings.value(self.code, "threshold"))
        return judged.mutate(
            usable=(judged.upper_fence > 0).fill_null(False),
            flagged=((judged.upper_fence > 0) & (judged.ratio >= judged.upper_fence)).fill_null(False),
        )

    def _flag(self, ratios: ir.Table, subject_type: str, settings: IndicatorSettings) -> ir.Table:
        judged = self._fenced(ratios, settings)
        flagged = judged.filter(judged.flagged)
        return result_table(flagged, subject_type, flagged.subject_id, self.code, flagged.ratio)

    def _ratios(self, tables: ProcurementTables, settings: IndicatorSettings) -> tuple[ir.Table, dict[str, ir.Table]]:
        """The submitted bids counted (with ``disqualified``) and, by subject type, each subject's
        ``numerator``, ``denominator`` and ``ratio`` (subjects with enough bids only)."""
        processes = contracting_processes(tables, settings)
        bids = _submitted_bids(tables).join(processes.select("ocid"), "ocid")
        bids = bids.mutate(disqualified=(bids.status == "disqualified").cast("int64"))
        per_process = bids.group_by("ocid").aggregate(disqualified=ibis._.disqualified.sum(), submitted=ibis._.count())
        per_process = per_process.join(processes.select("ocid", "buyer_id", "procuring_entity_id"), "ocid")
        minimum_processes = int(settings.value(self.code, "minimum_contracting_processes"))
        ratios: dict[str, ir.Table] = {}
        for column, subject_type in (("buyer_id", "Buyer"), ("procuring_entity_id", "ProcuringEntity")):
            grouped = (
                per_process.filter(per_process[column].notnull())
                .group_by(subject_id=per_process[column])
                .aggregate(numerator=ibis._.disqualified.sum(), denominator=ibis._.submitted.sum())
            )
            grouped = grouped.filter(grouped.denominator >= minimum_processes)
            grouped = grouped.mutate(ratio=grouped.numerator.cast("float64") / grouped.denominator)
            ratios[subject_type] = tables.reuse(("R038", subject_type, id(settings)), grouped)
        tenderers = tables["bid_tenderers"]
        tenderers = tenderers.filter(tenderers.tenderer_id.notnull())
        by_tenderer = (
            bids.join(tenderers, ["ocid", "bid_index"])
            .group_by(subject_id=ibis._.tenderer_id)
            .aggregate(numerator=ibis._.disqualified.sum(), denominator=ibis._.count())
        )
        by_tenderer = by_tenderer.filter(
            by_tenderer.denominator >= int(settings.value(self.code, "minimum_submitted_bids"))
        )
        by_tenderer = by_tenderer.mutate(ratio=by_tenderer.numerator.cast("float64") / by_tenderer.denominator)
        ratios["Tenderer"] = tables.reuse(("R038", "Tenderer", id(settings)), by_tenderer)
        return bids, ratios

    def outcomes(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        """A process is flagged when its buyer, its procuring entity or a tenderer of one of its
        submitted bids is flagged."""
        frame = _judged(tables, settings)
        bids, ratios = self._ratios(tables, settings)
        per_process = bids.group_by("ocid").aggregate(disqualified=ibis._.disqualified.sum(), submitted=ibis._.count())
        fenced = {subject_type: self._fenced(table, settings) for subject_type, table in ratios.items()}
        links = []
        processes = contracting_processes(tables, settings).join(per_process.select("ocid"), "ocid")
        for column, subject_type in (("buyer_id", "Buyer"), ("procuring_entity_id", "ProcuringEntity")):
            subjects = fenced[subject_type]
            linked = processes.join(subjects, processes[column] == subjects.subject_id)
            links.append(linked.select("ocid", "usable", "flagged", "ratio", kind=ibis.literal(subject_type)))
        tenderers = tables["bid_tenderers"]
        pairs = bids.join(tenderers.filter(tenderers.tenderer_id.notnull()), ["ocid", "bid_index"])
        pairs = pairs.select("ocid", "tenderer_id").distinct()
        subjects = fenced["Tenderer"]
        linked = pairs.join(subjects, pairs.tenderer_id == subjects.subject_id)
        links.append(linked.select("ocid", "usable", "flagged", "ratio", kind=ibis.literal("Tenderer")))
        link = _union(*links)
        link = link.filter(link.usable)
        flagged_ratio = ibis.ifelse(link.flagged, link.ratio, ibis.null("float64"))
        judged = link.group_by("ocid").aggregate(
            judged_parties=ibis._.count(),
            flagged_parties=link.flagged.cast("int64").sum(),
            flagged_ratio=flagged_ratio.max(),
            highest_ratio=link.ratio.max(),
            buyer_flagged=(link.flagged & (link.kind == "Buyer")).cast("int64").max(),
            procuring_entity_flagged=(link.flagged & (link.kind == "ProcuringEntity")).cast("int64").max(),
            flagged_tenderers=(link.flagged & (link.kind == "Tenderer")).cast("int64").sum(),
        )
        frame = _attach(_attach(frame, per_process), judged)
        reasons = [
            (~frame.has_bid_details.fill_null(False), "missing_field: bids.details"),
            (frame.submitted.isnull(), "insufficient_data: no submitted bid (status pending, valid or disqualified)"),
            (
                frame.judged_parties.isnull(),
                "insufficient_data: neither its buyer, its procuring entity nor its tenderers have enough "
                "submitted bids to be judged (or the fence is not positive)",
            ),
        ]
        evidence = {
            "disqualified": frame.disqualified,
            "submitted": frame.submitted,
            "flagged_parties": frame.flagged_parties,
            "highest_ratio": frame.highest_ratio,
            "buyer_flagged": frame.buyer_flagged == 1,
            "procuring_entity_flagged": frame.procuring_entity_flagged == 1,
            "flagged_tenderers": frame.flagged_tenderers,
        }
        return _party_outcome_rows(self, frame, reasons, evidence, frame.flagged_parties > 0, frame.flagged_ratio)

    def results(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        _bids, ratios = self._ratios(tables, settings)
        return _union(*(self._flag(table, subject_type, settings) for subject_type, table in ratios.items()))


@register
class R048(Indicator):
    """Heterogeneous supplier: a supplier wins awards across an unusual number of item classification
    groups (at or above the upper fence), a sign of a shell or front company."""

    code = "R048"
    title = "Heterogeneous supplier"
    description = __doc__ or ""
    tables = ("processes", "awards", "award_suppliers", "award_items")
    cardinal = True
    parameters = {
        "digits": Setting(int, 2, "leading characters of the classification code that form a group", minimum=0),
        "threshold": Setting(int, None, "minimum number of groups; default: Q3 + 1.5 IQR", minimum=0),
        "minimum_contracting_processes": Setting(int, 20, "processes a supplier needs to be judged", minimum=0),
    }

    def _rows(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        """What Cardinal counts: ``ocid``, ``supplier_id`` and classification ``group`` of the
        items of active awards to one supplier, in judged processes."""
        processes = contracting_processes(tables, settings).select("ocid")
        awards = tables["awards"]
        awards = awards.filter(
            (awards.status == "active") & awards.has_items & awards.has_suppliers & (awards.supplier_count == 1)
        ).select("ocid", "award_index")
        suppliers = tables["award_suppliers"]
        suppliers = suppliers.filter((suppliers.supplier_index == 1) & suppliers.supplier_id.notnull())
        items = tables["award_items"]
        items = items.filter(items.classification_id.notnull())
        digits = int(settings.value(self.code, "digits"))
        return (
            awards.join(processes, "ocid")
            .join(suppliers, ["ocid", "award_index"])
            .join(items, ["ocid", "award_index"])
            .select("ocid", "supplier_id", group=items.classification_id.substr(0, digits))
        )

    def outcomes(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        """A process is flagged when the supplier of one of its active awards (with classified
        items) is flagged; not applicable while that supplier has too few processes to be judged."""
        frame = _judged(tables, settings)
        rows = self._rows(tables, settings)
        minimum = int(settings.value(self.code, "minimum_contracting_processes"))
        per_supplier = rows.group_by("supplier_id").aggregate(
            processes=rows.ocid.nunique(), groups=rows.group.nunique()
        )
        judged = per_supplier.filter(per_supplier.processes >= minimum)
        judged = judged.mutate(length=judged.groups.cast("float64"))
        judged = _with_upper_fence(judged, judged.length, settings.value(self.code, "threshold"))
        judged = judged.mutate(flagged=(judged.length >= judged.upper_fence).fill_null(False))
        pairs = rows.select("ocid", "supplier_id").distinct()
        counted = (
            pairs.join(per_supplier, "supplier_id")
            .group_by("ocid")
            .aggregate(supplier_processes=ibis._.processes.max())
        )
        linked = pairs.join(judged, "supplier_id")
        flagged_length = ibis.ifelse(linked.flagged, linked.length, ibis.null("float64"))
        per_process = linked.group_by("ocid").aggregate(
            flagged_suppliers=linked.flagged.cast("int64").sum(),
            flagged_groups=flagged_length.max(),
            groups=linked.length.max(),
            minimum_groups=linked.upper_fence.max(),
        )
        frame = _attach(_attach(frame, counted), per_process)
        reasons = [
            (~frame.has_awards.fill_null(False), "missing_field: awards"),
            (
                frame.supplier_processes.isnull(),
                "insufficient_data: no active award to one supplier with classified items",
            ),
            (
                frame.flagged_suppliers.isnull(),
                f"insufficient_data: the supplier has fewer than {minimum} contracting processes",
            ),
        ]
        evidence = {
            "groups": frame.flagged_groups.fill_null(frame.groups),
            "minimum_groups": frame.minimum_groups,
            "supplier_processes": frame.supplier_processes,
        }
        return _party_outcome_rows(self, frame, reasons, evidence, frame.flagged_suppliers > 0, frame.flagged_groups)

    def results(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        rows = self._rows(tables, settings)
        per_supplier = rows.group_by("supplier_id").aggregate(
            processes=rows.ocid.nunique(), groups=rows.group.nunique()
        )
        per_supplier = per_supplier.filter(
            per_supplier.processes >= int(settings.value(self.code, "minimum_contracting_processes"))
        )
        lengths = per_supplier.mutate(length=per_supplier.groups.cast("float64"))
        lengths = tables.reuse(("R048", id(settings)), lengths)
        judged = _with_upper_fence(lengths, lengths.length, settings.value(self.code, "threshold"))
        flagged = judged.filter(judged.length >= judged.upper_fence)
        return result_table(flagged, "Tenderer", flagged.supplier_id, self.code, flagged.length)


@register
class R058(Indicator):
    """Heavily discounted bid: the winning bid is far below the next lowest bid (the gap at or
    above the upper fence), a sign of an insider who knew the others' prices, or of underbidding
    to be recouped through later amendments."""

    code = "R058"
    title = "Heavily discounted bid"
    description = __doc__ or ""
    tables = ("processes", "bids", "bid_tenderers", "awards", "award_suppliers")
    cardinal = True
    parameters = {"threshold": Setting(float, None, "minimum ratio; default: Q3 + 1.5 IQR of the ratios")}

    def _fenced(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        ratios = _second_lowest_bid_ratios(tables, settings)
        fenced = _with_upper_fence(ratios, ratios.ratio, settings.value(self.code, "threshold"))
        return fenced.mutate(usable=fenced.upper_fence > 0, fence=fenced.upper_fence)

    def results(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        ratios = self._fenced(tables, settings)
        flagged = ratios.filter((ratios.upper_fence > 0) & (ratios.ratio >= ratios.upper_fence))
        winners = flagged.select("winner").distinct()
        return _union(
            result_table(flagged, "OCID", flagged.ocid, self.code, flagged.ratio),
            result_table(winners, "Tenderer", winners.winner, self.code, 0.0),
        )

    def outcomes(self, tables: ProcurementTables, settings: IndicatorSettings) -> ir.Table:
        return _ratio_outcomes(self, tables, settings, self._fenced(tables, settings), "minimum_ratio")


CARDINAL_CODES = ("R003", "R018", "R024", "R025", "R028", "R030", "R035", "R036", "R038", "R048", "R058")
# The indicators whose ``outcomes`` judge every process (flag / pass / not_applicable): all eleven.
# R025, R038 and R048 judge parties (tenderers, buyers, suppliers) in Cardinal's output; their
# ``outcomes`` judge each process by the parties it involves (see ``_party_outcome_rows``).
PROCESS_OUTCOME_CODES = CARDINAL_CODES

NOT_APPLICABLE_MESSAGE = gettext_noop("Not applicable: %(reason)s.")  # shared with the beyond indicators

# outcome → untranslated message, filled from the evidence (``evidence_params``).
MESSAGES: dict[str, dict[str, str]] = {
    "R003": {
        "flag": gettext_noop("A tender period of %(days)s days, shorter than the minimum of %(minimum_days)s days."),
        "pass": gettext_noop("A tender period of %(days)s days (minimum %(minimum_days)s days)."),
    },
    "R018": {
        "flag": gettext_noop("A competitive procedure with a single tenderer."),
        "pass": gettext_noop("%(tenderers)s tenderers."),
    },
    "R024": {
        "flag": gettext_noop(
            "The lowest losing bid is only %(ratio)s above the winning bid (flagged at or below %(maximum_ratio)s)."
        ),
        "pass": gettext_noop("The lowest losing bid is %(ratio)s above the winning bid (fence %(maximum_ratio)s)."),
    },
    "R025": {
        "flag": gettext_noop(
            "%(flagged_bidders)s of the %(bidders)s tenderers bid often (at least %(minimum_bids)s bids) but "
            "rarely win: a win ratio of %(win_ratio)s, at or below %(maximum_ratio)s."
        ),
        "pass": gettext_noop(
            "None of the %(bidders)s tenderers both bids often and rarely wins (lowest win ratio "
            "%(win_ratio)s; flagged at or below %(maximum_ratio)s with at least %(minimum_bids)s bids)."
        ),
    },
    "R028": {
        "flag": gettext_noop("Different tenderers bid the same price: %(identical_amount)s %(currency)s."),
        "pass": gettext_noop("No two different tenderers bid the same price (%(priced_bids)s priced bids)."),
    },
    "R030": {
        "flag": gettext_noop(
            "A winning supplier's valid bid is dated %(late_bid_date)s, after the tender closed on %(tender_end)s."
        ),
        "pass": gettext_noop("No winning bid is dated after the tender closed on %(tender_end)s."),
    },
    "R035": {
        "flag": gettext_noop(
            "The only valid bid won and %(disqualified_tenderers)s other tenderer(s) were disqualified."
        ),
        "pass": gettext_noop(
            "The award did not follow the disqualification of all other tenderers "
            "(%(disqualified_tenderers)s disqualified)."
        ),
    },
    "R036": {
        "flag": gettext_noop("The lowest bid (%(lowest_amount)s) was disqualified while a valid bid was priced."),
        "pass": gettext_noop("The lowest bid (%(lowest_amount)s) was not disqualified."),
    },
    "R038": {
        "flag": gettext_noop(
            "%(flagged_parties)s of the parties of this process (its buyer, procuring entity or tenderers) "
            "have an excessive share of disqualified bids, up to %(highest_ratio)s; here %(disqualified)s "
            "of %(submitted)s bids were disqualified."
        ),
        "pass": gettext_noop(
            "No party of this process has an excessive share of disqualified bids (highest %(highest_ratio)s); "
            "here %(disqualified)s of %(submitted)s bids were disqualified."
        ),
    },
    "R048": {
        "flag": gettext_noop(
            "The supplier won items in %(groups)s classification groups, at or above the fence of "
            "%(minimum_groups)s (over %(supplier_processes)s processes)."
        ),
        "pass": gettext_noop(
            "The supplier won items in %(groups)s classification groups (fence %(minimum_groups)s, over "
            "%(supplier_processes)s processes)."
        ),
    },
    "R058": {
        "flag": gettext_noop(
            "The next lowest bid is %(ratio)s above the winning bid (flagged at or above %(minimum_ratio)s)."
        ),
        "pass": gettext_noop("The next lowest bid is %(ratio)s above the winning bid (fence %(minimum_ratio)s)."),
    },
}


def message_for(code: str, outcome: str) -> str:
    """The untranslated message of an outcome (translated in the procurement catalogue)."""
    if outcome == "not_applicable":
        return NOT_APPLICABLE_MESSAGE
    return MESSAGES[code][outcome]


def plain(value: Any) -> Any:
    """A pandas / numpy cell as JSON-ready Python (None for missing; floats rounded to 6 places)."""
    import pandas as pd  # a third of a second: only where frames are read, not at start-up

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if value != value:  # pandas NA-like
        return None
    return value


def evidence_records(frame: Any) -> list[dict[str, Any]]:
    """The ``evidence_*`` columns of an ``outcomes`` frame as one dict per row (missing values left out)."""
    columns = [name for name in frame.columns if name.startswith(EVIDENCE_PREFIX)]
    records = []
    for row in frame[columns].itertuples(index=False, name=None):
        record = {}
        for name, value in zip(columns, row, strict=True):
            cell = plain(value)
            if cell is not None:
                record[name[len(EVIDENCE_PREFIX) :]] = cell
        records.append(record)
    return records


def evidence_params(
    code: str, evidence: dict[str, Any], reason: str | None, value: float | None = None
) -> dict[str, Any]:
    """Every placeholder of the indicator's messages, filled from the evidence ("" when missing)."""
    names = {name for text in MESSAGES[code].values() for name in re.findall(r"%\((\w+)\)s", text)}
    params = {name: "" if evidence.get(name) is None else evidence[name] for name in names}
    params["reason"] = reason or ""
    params["value"] = value if value is not None else ""
    return params

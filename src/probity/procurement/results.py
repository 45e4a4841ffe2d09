"""Where the indicator results and the risk scores live (for pages, API and exports).

The matrix and the scores cover the 13 beyond-Cardinal indicators (``indicators.beyond``) and
Cardinal's eleven (``indicators.cardinal.PROCESS_OUTCOME_CODES``; R025, R038 and R048 judge a
process by the tenderers, buyer, procuring entity or suppliers it involves; their message is in
``indicators.cardinal.MESSAGES``).

Written by ``probity.procurement.services.procurement_detect`` (command ``probity procurement
detect``); every table is computed afresh over all processes on each run (``detect FILE
--append`` adds a file's processes to the ones judged before). All are warehouse tables (read them with
``warehouse_connection()`` and Ibis, or ``probity warehouse query``):

``procurement_indicator_results`` — the full pass / flag / not-applicable matrix, one row per
contracting process × indicator:
    indicator (text, e.g. ``P-SPLIT``, ``R018``), subject_type (``process``), subject_id (the OCID),
    award_id, buyer_id, buyer_name, supplier_key, supplier_name, year (int, of the award, else of
    the tender), outcome (``flag`` | ``pass`` | ``not_applicable``), reason (text or NULL: why not
    applicable, e.g. ``missing_field: tender.value.amount``, ``excluded_procedure: direct``,
    ``insufficient_data: buyer awards``), score (float: 1 flag, 0 pass, NULL not applicable),
    evidence (JSON text: the numbers and dates that decided, e.g. ``{"days": 1, "tender_end":
    "2023-04-02", "award_date": "2023-04-03", "minimum_days": 5}``), message (the untranslated
    explanation, a ``gettext_noop`` msgid of ``probity.procurement.indicators.beyond`` or
    ``.cardinal``) and
    message_params (JSON text filling its ``%(name)s`` placeholders). Translate with
    ``gettext(message) % json.loads(message_params)``.

``procurement_risk_process`` — the composite risk score of each process (as GTI's Corruption
Risk Index: the mean of the available components):
    ocid, buyer_id, buyer_name, supplier_key, supplier_name, year, risk_score (float in [0, 1], NULL
    when no indicator applied), flagged (int), available (int: indicators not N.A.), total (int:
    indicators run), coverage (float: available / total).

``procurement_risk_buyer`` and ``procurement_risk_supplier`` — the mean over their processes, by
year and for all years (``year`` NULL):
    buyer_id, buyer_name (resp. supplier_key, supplier_name), year, processes (int), scored (int:
    processes with a risk score), flagged_processes (int: with at least one flag), flags (int),
    risk_score (float: mean of the process scores), coverage (float: mean process coverage).

``procurement_risk_awards``, ``procurement_risk_bids``, ``procurement_risk_register`` and
``procurement_risk_debarments`` are the indicators' inputs (see ``indicators.beyond_inputs``).

Django ``Finding`` rows (``probity.core.models.Finding``, ``subject_type="process"``,
``subject_id`` = OCID, ``detector_code`` = the indicator code, ``evidence`` = the same JSON plus
``reason``) are stored for every outcome when a run judges at most
``settings.PROBITY_PROCUREMENT_FINDINGS_ALL_MAX`` processes (default 50 000), and for flags only
above that (the matrix above always holds everything).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# Ibis is imported in the functions that build expressions, not at start-up (a fifth of a second).
if TYPE_CHECKING:
    import ibis.expr.types as ir

RESULTS_TABLE = "procurement_indicator_results"
PROCESS_SCORES_TABLE = "procurement_risk_process"
BUYER_SCORES_TABLE = "procurement_risk_buyer"
SUPPLIER_SCORES_TABLE = "procurement_risk_supplier"
SCORE_TABLES = (PROCESS_SCORES_TABLE, BUYER_SCORES_TABLE, SUPPLIER_SCORES_TABLE)


def process_scores(results: ir.Table) -> ir.Table:
    """Per process: the mean of available indicator scores, with the coverage (available / total)."""
    import ibis

    per = results.group_by("subject_id").aggregate(
        buyer_id=results.buyer_id.min(),
        buyer_name=results.buyer_name.min(),
        supplier_key=results.supplier_key.min(),
        supplier_name=results.supplier_name.min(),
        year=results.year.min(),
        risk_score=results.score.mean(),
        flagged=(results.outcome == "flag").cast("int64").sum(),
        available=results.score.count(),
        total=results.indicator.nunique(),
    )
    return per.select(
        ocid=per.subject_id,
        buyer_id=per.buyer_id,
        buyer_name=per.buyer_name,
        supplier_key=per.supplier_key,
        supplier_name=per.supplier_name,
        year=per.year,
        risk_score=per.risk_score,
        flagged=per.flagged,
        available=per.available.cast("int64"),
        total=per.total.cast("int64"),
        coverage=ibis.cases(
            (per.total > 0, per.available.cast("float64") / per.total.cast("float64")), else_=ibis.null("float64")
        ),
    )


def _group_scores(processes: ir.Table, key: str, name: str) -> ir.Table:
    import ibis

    def summary(table: ir.Table, by: list[str]) -> ir.Table:
        return table.group_by(by).aggregate(
            **{name: table[name].min()},
            processes=table.count(),
            scored=table.risk_score.count(),
            flagged_processes=(table.flagged > 0).cast("int64").sum(),
            flags=table.flagged.sum(),
            risk_score=table.risk_score.mean(),
            coverage=table.coverage.mean(),
        )

    known = processes.filter(processes[key].notnull())
    by_year = summary(known.filter(known.year.notnull()), [key, "year"])
    all_years = summary(known, [key]).mutate(year=ibis.null("int64"))
    columns = [key, name, "year", "processes", "scored", "flagged_processes", "flags", "risk_score", "coverage"]
    return by_year.select(*columns).union(all_years.select(*columns))


def buyer_scores(processes: ir.Table) -> ir.Table:
    return _group_scores(processes, "buyer_id", "buyer_name")


def supplier_scores(processes: ir.Table) -> ir.Table:
    return _group_scores(processes, "supplier_key", "supplier_name")

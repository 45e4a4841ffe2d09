"""Codelist values an indicator does not know give "not applicable" with the reason, a publisher's local
names can be mapped to the codelist (model, service, page, API, command), and ``awards`` written as one
object is read as a list of one award, with a warning."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from probity.procurement import services
from probity.procurement.codelists import CODELISTS, codelist_mapping
from probity.procurement.indicators import beyond_inputs
from probity.procurement.indicators.beyond import INDICATORS
from probity.procurement.models import CodelistMapping
from probity.warehouse.services import Warehouse
from tests.procurement.test_beyond import DELETE, direct, duckdb, release, run

__all__ = ["duckdb"]  # the fixture

LOCAL_OPEN = "公開招標"

# Indicator → (release whose codelist value is unknown, field named in the reason)
UNKNOWN_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "P-NONOPEN": (release("x", tender__procurementMethod=LOCAL_OPEN), "tender.procurementMethod"),
    "P-NOCALL": (release("x", tender__procurementMethod=LOCAL_OPEN), "tender.procurementMethod"),
    "P-DECISION": (
        release("x", tender__procurementMethod="adjudicación directa", awards__0__date="2023-02-02T00:00:00Z"),
        "tender.procurementMethod",
    ),
    "P-REPEATDIRECT": (
        {**direct("x", "2023-02-02", 1000.0), "tender": {"procurementMethod": "trato directo"}},
        "tender.procurementMethod",
    ),
}


@pytest.mark.parametrize("code", sorted(UNKNOWN_CASES))
def test_an_unknown_procurement_method_is_not_applicable_with_the_reason(duckdb: Warehouse, code: str) -> None:
    data, field = UNKNOWN_CASES[code]
    frame = run(duckdb, code, [data])
    value = data["tender"]["procurementMethod"]
    assert frame.loc["x", "outcome"] == "not_applicable", frame.loc["x"].to_dict()
    assert frame.loc["x", "reason"] == f"unknown_code: {field} = {value}"


def test_a_method_named_in_the_indicators_parameters_is_known(duckdb: Warehouse) -> None:
    frame = run(duckdb, "P-NONOPEN", [release("x", tender__procurementMethod=LOCAL_OPEN)], open_methods=[LOCAL_OPEN])
    assert frame.loc["x", "outcome"] == "pass"


def test_an_unknown_award_status_is_not_applicable_not_a_missing_award(duckdb: Warehouse) -> None:
    frame = run(duckdb, "P-DECISION", [release("x", awards__0__status="adjudicada")])
    assert frame.loc["x", "outcome"] == "not_applicable"
    assert frame.loc["x", "reason"] == "unknown_code: awards.status = adjudicada"
    cancelled = run(duckdb, "P-DECISION", [release("y", awards__0__status="cancelled")])
    assert cancelled.loc["y", "reason"] == "missing_field: awards"


def test_every_indicator_reading_a_codelist_field_declares_it() -> None:
    """Each beyond-Cardinal indicator that reads the method names it among its fields (so the coverage page
    lists it) and, per the test above, gives not applicable for unknown values."""
    readers = {code for code, indicator in INDICATORS.items() if "tender.procurementMethod" in indicator.fields}
    assert {"P-NONOPEN", "P-NOCALL"} <= readers
    assert set(CODELISTS["tender.procurementMethod"]) == {"open", "selective", "limited", "direct"}


def test_cardinal_method_setting_gives_unknown_code_for_a_local_method() -> None:
    import ibis

    from probity.procurement.indicators.cardinal import _method_reasons

    table = ibis.memtable({"procurement_method": [LOCAL_OPEN, "limited", None]})
    reasons = _method_reasons(table, frozenset({"open", "selective"}))
    expression = ibis.cases(*[(cond, why) for cond, why in reasons], else_=ibis.null("string"))
    values = table.select(reason=expression).execute()["reason"].tolist()
    assert values == [
        f"unknown_code: tender.procurementMethod = {LOCAL_OPEN}",
        "excluded_procedure: limited",
        "missing_field: tender.procurementMethod",
    ]


# --- the mapping -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_mapped_local_name_is_judged_as_its_code(duckdb: Warehouse) -> None:
    services.codelist_mapping_set(field="tender.procurementMethod", local_value=LOCAL_OPEN, code="open")
    mapping = codelist_mapping()
    assert mapping == {"tender.procurementMethod": {LOCAL_OPEN: "open"}}
    inputs = services.mapped_inputs(
        beyond_inputs_for(duckdb, [release("x", tender__procurementMethod=LOCAL_OPEN)]), mapping
    )
    from probity.procurement.indicators.beyond import indicator_expression

    frame = duckdb.execute(indicator_expression(INDICATORS["P-NONOPEN"], inputs, {})).set_index("ocid")
    assert frame.loc["x", "outcome"] == "pass"


def beyond_inputs_for(warehouse: Warehouse, releases: list[dict[str, Any]]) -> Any:
    from tests.procurement.test_beyond import make_inputs

    return make_inputs(warehouse, releases)


@pytest.mark.django_db
def test_mapping_refuses_a_code_outside_the_codelist_and_an_unknown_field() -> None:
    with pytest.raises(ValueError, match="not a code"):
        services.codelist_mapping_set(field="tender.procurementMethod", local_value="x", code="opened")
    with pytest.raises(ValueError, match="field"):
        services.codelist_mapping_set(field="tender.colour", local_value="x", code="open")
    services.codelist_mapping_set(field="awards.status", local_value="adjudicada", code="active")
    services.codelist_mapping_set(field="awards.status", local_value="adjudicada", code="pending")  # replaces
    assert CodelistMapping.objects.get().code == "pending"
    assert services.codelist_mapping_delete(field="awards.status", local_value="adjudicada") is True
    assert not CodelistMapping.objects.exists()


@pytest.mark.django_db
def test_codelist_map_command_sets_lists_and_deletes() -> None:
    out = StringIO()
    call_command("procurement", "codelist-map", "set", "tender.procurementMethod", LOCAL_OPEN, "open", stdout=out)
    call_command("procurement", "codelist-map", "list", stdout=out)
    assert LOCAL_OPEN in out.getvalue() and "open" in out.getvalue()
    with pytest.raises(CommandError) as refused:
        call_command("procurement", "codelist-map", "set", "tender.procurementMethod", "x", "opened", stdout=out)
    assert refused.value.returncode == 2
    call_command("procurement", "codelist-map", "delete", "tender.procurementMethod", LOCAL_OPEN, stdout=out)
    assert not CodelistMapping.objects.exists()


@pytest.mark.django_db
def test_codelist_mapping_api(verified_client: Callable[..., Client]) -> None:
    client = verified_client("analyst")
    answer = client.post(
        "/api/v1/procurement/codelist-mappings",
        data=json.dumps({"field": "tender.procurementMethod", "local_value": LOCAL_OPEN, "code": "open"}),
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    listed = client.get("/api/v1/procurement/codelist-mappings").json()
    assert listed["count"] == 1 and listed["items"][0]["local_value"] == LOCAL_OPEN
    wrong = client.post(
        "/api/v1/procurement/codelist-mappings",
        data=json.dumps({"field": "tender.procurementMethod", "local_value": "x", "code": "opened"}),
        content_type="application/json",
    )
    assert wrong.status_code == 422
    gone = client.delete(
        "/api/v1/procurement/codelist-mappings",
        data=json.dumps({"field": "tender.procurementMethod", "local_value": LOCAL_OPEN}),
        content_type="application/json",
    )
    assert gone.status_code == 200 and not CodelistMapping.objects.exists()
    assert verified_client("declarant").get("/api/v1/procurement/codelist-mappings").status_code == 403


@pytest.mark.django_db
def test_codelist_page_lists_adds_and_deletes(verified_client: Callable[..., Client]) -> None:
    client = verified_client("analyst")
    page = client.get("/procurement/codelists/")
    assert page.status_code == 200
    added = client.post(
        "/procurement/codelists/",
        {"action": "set", "field": "tender.procurementMethod", "local_value": LOCAL_OPEN, "code": "open"},
        follow=True,
    )
    assert added.status_code == 200 and LOCAL_OPEN in added.content.decode()
    refused = client.post(
        "/procurement/codelists/",
        {"action": "set", "field": "tender.procurementMethod", "local_value": "x", "code": "opened"},
        follow=True,
    )
    assert "not a code" in refused.content.decode()
    client.post(
        "/procurement/codelists/",
        {"action": "delete", "field": "tender.procurementMethod", "local_value": LOCAL_OPEN},
    )
    assert not CodelistMapping.objects.exists()
    assert verified_client("declarant").get("/procurement/codelists/").status_code == 403


# --- awards as an object ---------------------------------------------------------------------------


def test_awards_written_as_an_object_are_read_as_one_award(duckdb: Warehouse) -> None:
    data = release("x", tender__procurementMethod="direct")
    data["awards"] = data["awards"][0]
    frame = run(duckdb, "P-NONOPEN", [data])
    assert frame.loc["x", "award_id"] == "a1"
    rows, _bids = beyond_inputs.release_rows(data)
    assert rows[0]["award_id"] == "a1"


def test_ingest_reads_awards_written_as_an_object_with_a_warning(tmp_path: Path, settings: Any) -> None:
    import duckdb as duck

    from probity.config import WarehouseSetting
    from probity.procurement.ingest import procurement_ingest

    path = tmp_path / "w.duckdb"
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(path))
    data = release("ocds-x-1", tender__procurementMethod="open", bids=DELETE)
    data["tag"] = ["award"]
    data["awards"] = data["awards"][0]
    (tmp_path / "p.json").write_text(json.dumps({"version": "1.1", "releases": [data]}), encoding="utf-8")

    report = procurement_ingest(paths=[tmp_path / "p.json"], register=False)

    assert report.rejected == 0
    con = duck.connect(str(path), read_only=True)
    try:
        row = con.execute("SELECT compiled_release::VARCHAR FROM ocds_compiled_release").fetchone()
        warnings = con.execute("SELECT code, path, message FROM ocds_ingest_warning").fetchall()
    finally:
        con.close()
    assert row is not None and json.loads(row[0])["awards"][0]["id"] == "a1"
    assert ("object_for_list", "awards") in [(code, where) for code, where, _m in warnings]

"""The procurement pages: the process list and its filters, a process explained, profiles, coverage,
ingest runs, debarments; who may see them; and no English on them in Chinese."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from probity.config import WarehouseSetting
from tests.core.test_i18n import untranslated_words

pytestmark = pytest.mark.django_db

BUYER = {"id": "XD-GOV-ROADS", "name": "道路部"}
OTHER_BUYER = {"id": "XD-GOV-HEALTH", "name": "卫生部"}
WINNER = {"id": "XD-CO-100", "name": "甲建设公司"}
LOSER = {"id": "XD-CO-200", "name": "乙工程公司"}


def _release(
    ocid: str,
    *,
    buyer: dict[str, str],
    method: str,
    published: str,
    value: float,
    bids: list[tuple[dict[str, str], float, str]],
    winner: dict[str, str] | None,
    award_value: float | None = None,
) -> dict[str, Any]:
    parties = [{**buyer, "roles": ["buyer"], "identifier": {"scheme": "XD-GOV", "id": buyer["id"]}}]
    for tenderer, _amount, _status in bids:
        parties.append({**tenderer, "roles": ["tenderer"], "identifier": {"scheme": "XD-REG", "id": tenderer["id"]}})
    release: dict[str, Any] = {
        "ocid": ocid,
        "id": f"{ocid}-1",
        "date": f"{published}T09:00:00Z",
        "tag": ["compiled"],
        "initiationType": "tender",
        "buyer": buyer,
        "parties": parties,
        "tender": {
            "id": f"{ocid}-t",
            "title": f"道路维修 {ocid[-3:]}",
            "status": "complete",
            "procurementMethod": method,
            "procurementMethodDetails": method,
            "mainProcurementCategory": "works",
            "value": {"amount": value, "currency": "XTS"},
            "datePublished": f"{published}T09:00:00Z",
            "tenderPeriod": {"startDate": f"{published}T09:00:00Z", "endDate": f"{published[:8]}28T09:00:00Z"},
            "numberOfTenderers": len(bids),
        },
        "bids": {
            "details": [
                {
                    "id": f"{ocid}-b{i}",
                    "status": status,
                    "date": f"{published[:8]}20T09:00:00Z",
                    "value": {"amount": amount, "currency": "XTS"},
                    "tenderers": [tenderer],
                }
                for i, (tenderer, amount, status) in enumerate(bids, start=1)
            ]
        },
    }
    if winner is not None:
        release["awards"] = [
            {
                "id": f"{ocid}-a1",
                "status": "active",
                "date": f"{published[:8]}28T10:00:00Z",
                "value": {"amount": award_value or value, "currency": "XTS"},
                "suppliers": [winner],
            }
        ]
        release["contracts"] = [
            {
                "id": f"{ocid}-c1",
                "awardID": f"{ocid}-a1",
                "status": "active",
                "value": {"amount": award_value or value, "currency": "XTS"},
                "dateSigned": f"{published[:8]}28T12:00:00Z",
            }
        ]
    return release


RELEASES = [
    # A direct award with a single bid: the non-open and single-bid indicators flag it.
    _release(
        "ocds-xd-000-001",
        buyer=BUYER,
        method="direct",
        published="2023-03-01",
        value=49_000.0,
        bids=[(WINNER, 48_900.0, "valid")],
        winner=WINNER,
    ),
    # An open tender with two bids, won by the lowest.
    _release(
        "ocds-xd-000-002",
        buyer=BUYER,
        method="open",
        published="2024-05-01",
        value=200_000.0,
        bids=[(WINNER, 150_000.0, "valid"), (LOSER, 180_000.0, "valid")],
        winner=WINNER,
        award_value=150_000.0,
    ),
    # Another buyer, an open tender won by the other company.
    _release(
        "ocds-xd-000-003",
        buyer=OTHER_BUYER,
        method="open",
        published="2022-07-01",
        value=90_000.0,
        bids=[(WINNER, 95_000.0, "valid"), (LOSER, 85_000.0, "valid")],
        winner=LOSER,
        award_value=85_000.0,
    ),
]


def build_procurement_data(folder: Path, releases: list[dict[str, Any]] = RELEASES) -> Path:
    """Flattens the releases (P2's flatten), runs every indicator (P3a's detect) and the coverage."""
    from probity.procurement.coverage import coverage_compute, coverage_store
    from probity.procurement.flatten import flatten_into_warehouse
    from probity.procurement.services import procurement_detect
    from probity.warehouse.services import warehouse_connection

    path = folder / "compiled.jsonl"
    path.write_text("".join(json.dumps(release, ensure_ascii=False) + "\n" for release in releases), encoding="utf-8")
    with warehouse_connection() as warehouse:
        flatten_into_warehouse(warehouse, path)
        procurement_detect(releases=releases, warehouse=warehouse)
        report, _indicators = coverage_compute(path=path)
        coverage_store(warehouse=warehouse, report=report)
    return path


@pytest.fixture(scope="session")
def procurement_warehouse(
    tmp_path_factory: pytest.TempPathFactory, django_db_setup: None, django_db_blocker: Any
) -> Path:
    """One warehouse for the whole run: flattening and running every indicator takes a while.

    The indicators' findings are written inside a transaction that is rolled back, so no test sees
    rows it did not make; the pages read the explanations from the warehouse's matrix.
    """
    from django.db import transaction
    from django.test import override_settings

    folder = tmp_path_factory.mktemp("procurement")
    setting = WarehouseSetting("duckdb", str(folder / "warehouse.duckdb"))
    with django_db_blocker.unblock(), override_settings(PROBITY_WAREHOUSE=setting), transaction.atomic():
        build_procurement_data(folder)
        transaction.set_rollback(True)
    return folder / "warehouse.duckdb"


@pytest.fixture
def procurement_data(settings: Any, procurement_warehouse: Path) -> Path:
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(procurement_warehouse))
    return procurement_warehouse


@pytest.fixture
def empty_warehouse(settings: Any, tmp_path: Path) -> None:
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "none" / "warehouse.duckdb"))


def test_analyst_sees_every_process_with_its_flags(
    procurement_data: Path, verified_client: Callable[..., Client]
) -> None:
    response = verified_client("analyst").get(reverse("procurement:index"))
    assert response.status_code == 200
    html = response.content.decode()
    for release in RELEASES:
        assert release["ocid"] in html
    assert "3 contracting processes" in html
    assert "P-NONOPEN" in html  # the direct award is flagged


def test_filter_by_flag_keeps_only_the_flagged_process(
    procurement_data: Path, verified_client: Callable[..., Client]
) -> None:
    html = verified_client("analyst").get(reverse("procurement:index"), {"flag": "P-NONOPEN"}).content.decode()
    assert "ocds-xd-000-001" in html
    assert "ocds-xd-000-002" not in html and "ocds-xd-000-003" not in html
    assert "1 contracting process" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"buyer": "XD-GOV-HEALTH"}, {"ocds-xd-000-003"}),
        ({"buyer": "道路"}, {"ocds-xd-000-001", "ocds-xd-000-002"}),
        ({"supplier": "XD-CO-200"}, {"ocds-xd-000-003"}),
        ({"supplier": "甲建设"}, {"ocds-xd-000-001", "ocds-xd-000-002"}),
        ({"date_from": "2023-01-01", "date_to": "2023-12-31"}, {"ocds-xd-000-001"}),
        ({"date_from": "2024-01-01"}, {"ocds-xd-000-002"}),
        ({"score_min": "0.1"}, {"ocds-xd-000-001"}),
        ({"score_max": "0.1"}, {"ocds-xd-000-002", "ocds-xd-000-003"}),
    ],
)
def test_filters_narrow_the_list(
    procurement_data: Path, verified_client: Callable[..., Client], query: dict[str, str], expected: set[str]
) -> None:
    from probity.procurement.selectors import ProcessFilters, process_list

    html = verified_client("analyst").get(reverse("procurement:index"), query).content.decode()
    shown = {release["ocid"] for release in RELEASES if release["ocid"] in html}
    assert shown == expected
    filters = ProcessFilters(
        **{
            key: (
                date.fromisoformat(value)
                if key.startswith("date")
                else float(value)
                if key.startswith("score")
                else value
            )
            for key, value in query.items()
        }
    )
    assert {row["ocid"] for row in process_list(filters=filters).rows} == expected


def test_sorting_and_paging_run_in_the_warehouse(procurement_data: Path) -> None:
    from probity.procurement.selectors import ProcessFilters, process_list

    by_value = process_list(filters=ProcessFilters(sort="-value"), limit=2)
    assert by_value.total == 3 and by_value.page_count == 2
    assert [row["ocid"] for row in by_value.rows] == ["ocds-xd-000-002", "ocds-xd-000-003"]
    second = process_list(filters=ProcessFilters(sort="-value"), offset=2, limit=2)
    assert [row["ocid"] for row in second.rows] == ["ocds-xd-000-001"]
    oldest = process_list(filters=ProcessFilters(sort="date"))
    assert [row["ocid"] for row in oldest.rows] == ["ocds-xd-000-003", "ocds-xd-000-001", "ocds-xd-000-002"]


def test_invalid_filters_are_explained(procurement_data: Path, verified_client: Callable[..., Client]) -> None:
    response = verified_client("analyst").get(reverse("procurement:index"), {"score_min": "0.9", "score_max": "0.1"})
    assert response.status_code == 200
    assert "The lowest score is above the highest score." in response.content.decode()


def test_process_page_explains_each_flag_with_its_values(
    procurement_data: Path, verified_client: Callable[..., Client]
) -> None:
    response = verified_client("analyst").get(reverse("procurement:process", args=["ocds-xd-000-001"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Procured by a non-open method: direct (direct)." in html  # the flag's explanation
    assert 'id="indicator-P-NONOPEN"' in html and "outcome-flag" in html
    assert "<code>method</code>" in html and "<code>direct</code>" in html  # the evidence that triggered it
    assert "道路部" in html and "甲建设公司" in html and "49,000" in html.replace("\u00a0", ",")
    assert "Risk score" in html and "coverage" in html


def test_process_page_shows_why_an_indicator_did_not_apply(
    procurement_data: Path, verified_client: Callable[..., Client]
) -> None:
    html = verified_client("analyst").get(reverse("procurement:process", args=["ocds-xd-000-002"])).content.decode()
    assert "outcome-pass" in html
    assert "outcome-not_applicable" in html or "Not applicable" in html


def test_unknown_process_is_404(procurement_data: Path, verified_client: Callable[..., Client]) -> None:
    assert verified_client("analyst").get(reverse("procurement:process", args=["nope"])).status_code == 404


def test_buyer_profile_shows_score_chart_and_processes(
    procurement_data: Path, verified_client: Callable[..., Client]
) -> None:
    response = verified_client("analyst").get(reverse("procurement:buyer", args=[BUYER["id"]]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "道路部" in html and "ocds-xd-000-001" in html and "ocds-xd-000-002" in html
    assert "ocds-xd-000-003" not in html
    assert "<svg" in html and 'class="bar"' in html and ">2023<" in html and ">2024<" in html


def test_supplier_profile_lists_the_processes_it_won(
    procurement_data: Path, verified_client: Callable[..., Client]
) -> None:
    html = verified_client("analyst").get(reverse("procurement:supplier", args=[LOSER["id"]])).content.decode()
    assert "乙工程公司" in html and "ocds-xd-000-003" in html and "ocds-xd-000-001" not in html


def test_buyer_and_supplier_lists(procurement_data: Path, verified_client: Callable[..., Client]) -> None:
    client = verified_client("analyst")
    buyers = client.get(reverse("procurement:buyers")).content.decode()
    assert "道路部" in buyers and "卫生部" in buyers and "2 organisations" in buyers
    suppliers = client.get(reverse("procurement:suppliers"), {"q": "乙"}).content.decode()
    assert "乙工程公司" in suppliers and "甲建设公司" not in suppliers


def test_coverage_page_shows_fields_per_indicator(
    procurement_data: Path, verified_client: Callable[..., Client]
) -> None:
    html = verified_client("analyst").get(reverse("procurement:coverage")).content.decode()
    assert "<code>tender.numberOfTenderers</code>" in html and "R018" in html
    assert "<code>contracts.amendments</code>" in html  # no release has amendments
    assert ">0<" in html and ">3<" in html


def test_pages_say_plainly_when_there_is_no_data(empty_warehouse: None, verified_client: Callable[..., Client]) -> None:
    client = verified_client("analyst")
    assert "No procurement data yet." in client.get(reverse("procurement:index")).content.decode()
    assert "Coverage has not been computed yet." in client.get(reverse("procurement:coverage")).content.decode()
    assert "No ingest has run yet." in client.get(reverse("procurement:ingest")).content.decode()


def test_ingest_page_lists_runs_and_rejections(
    settings: Any, tmp_path: Path, verified_client: Callable[..., Client]
) -> None:
    from probity.procurement.ingest import procurement_ingest

    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "warehouse.duckdb"))
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(RELEASES[0]) + "\n{not json\n" + json.dumps({"id": "no-ocid"}) + "\n")
    procurement_ingest(paths=[source])
    html = verified_client("analyst").get(reverse("procurement:ingest")).content.decode()
    assert "in.jsonl" in html
    assert "2 rejected records" in html


def test_debarment_register_lists_and_searches(procurement_data: Path, verified_client: Callable[..., Client]) -> None:
    from probity.procurement.models import Debarment

    Debarment.objects.create(
        name="丙公司",
        authority="公共采购局",
        start_date=date(2020, 1, 1),
        end_date=date(2021, 1, 1),
        grounds="欺诈",
        source_key="test:1",
    )
    Debarment.objects.create(name="丁公司", authority="公共采购局", start_date=date(2020, 1, 1), source_key="test:2")
    client = verified_client("auditor")
    html = client.get(reverse("procurement:debarments")).content.decode()
    assert "丙公司" in html and "丁公司" in html and "2 debarments" in html
    current = client.get(reverse("procurement:debarments"), {"current": "1"}).content.decode()
    assert "丁公司" in current and "丙公司" not in current


@pytest.mark.parametrize("name", ["index", "buyers", "suppliers", "coverage", "ingest", "debarments"])
def test_declarants_are_refused(empty_warehouse: None, verified_client: Callable[..., Client], name: str) -> None:
    assert verified_client("declarant").get(reverse(f"procurement:{name}")).status_code == 403


@pytest.mark.parametrize("role", ["analyst", "verifier", "administrator", "auditor"])
def test_staff_roles_may_read(empty_warehouse: None, verified_client: Callable[..., Client], role: str) -> None:
    assert verified_client(role).get(reverse("procurement:index")).status_code == 200


def test_anonymous_is_sent_to_sign_in(client: Client) -> None:
    response = client.get(reverse("procurement:index"))
    assert response.status_code == 302 and reverse("core:login") in response["Location"]


def test_pages_show_no_english_in_chinese(
    procurement_data: Path, verified_client: Callable[..., Client], make_user: Callable[..., Any]
) -> None:
    from probity.core.services import user_create
    from tests.core.test_i18n import untranslated_words

    user = user_create(username="分析员", password="x" * 20, roles=["analyst"])
    client = verified_client(user=user)
    client.cookies["django_language"] = "zh-hans"
    pages = [
        reverse("procurement:index"),
        reverse("procurement:index") + "?flag=P-NONOPEN",
        reverse("procurement:process", args=["ocds-xd-000-001"]),
        reverse("procurement:process", args=["ocds-xd-000-002"]),
        reverse("procurement:buyer", args=[BUYER["id"]]),
        reverse("procurement:supplier", args=[WINNER["id"]]),
        reverse("procurement:buyers"),
        reverse("procurement:suppliers"),
        reverse("procurement:coverage"),
        reverse("procurement:ingest"),
        reverse("procurement:debarments"),
    ]
    for url in pages:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 200, url
        html = response.content.decode()
        assert 'lang="zh-hans"' in html, url
        assert untranslated_words(html) == [], (url, untranslated_words(html))


def test_pages_work_on_flattened_tables_before_any_indicator_ran(
    settings: Any, tmp_path: Path, verified_client: Callable[..., Client]
) -> None:
    from probity.procurement.flatten import flatten_into_warehouse
    from probity.warehouse.services import warehouse_connection

    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "warehouse.duckdb"))
    path = tmp_path / "compiled.jsonl"
    path.write_text("".join(json.dumps(release) + "\n" for release in RELEASES), encoding="utf-8")
    with warehouse_connection() as warehouse:
        flatten_into_warehouse(warehouse, path)
    client = verified_client("analyst")
    listing = client.get(reverse("procurement:index"), {"sort": "-value"}).content.decode()
    assert "3 contracting processes" in listing
    assert listing.index("ocds-xd-000-002") < listing.index("ocds-xd-000-003") < listing.index("ocds-xd-000-001")
    detail = client.get(reverse("procurement:process", args=["ocds-xd-000-001"])).content.decode()
    assert "No indicator has judged this process yet." in detail
    profile = client.get(reverse("procurement:buyer", args=[BUYER["id"]])).content.decode()
    assert "ocds-xd-000-001" in profile and "No scores yet" in profile
    assert "No procurement data yet." not in listing


def test_cardinal_flags_appear_on_the_list_and_the_process_page(
    settings: Any, tmp_path: Path, verified_client: Callable[..., Client]
) -> None:
    """Cardinal's R018 (single bid in an open procedure) is computed on the tables and explained."""
    from probity.procurement.flatten import flatten_into_warehouse
    from probity.warehouse.services import warehouse_connection

    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "warehouse.duckdb"))
    single = _release(
        "ocds-xd-000-009",
        buyer=BUYER,
        method="open",
        published="2024-02-01",
        value=10_000.0,
        bids=[(WINNER, 9_000.0, "valid")],
        winner=WINNER,
    )
    path = tmp_path / "compiled.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [*RELEASES, single]), encoding="utf-8")
    with warehouse_connection() as warehouse:
        flatten_into_warehouse(warehouse, path)
    client = verified_client("analyst")
    listing = client.get(reverse("procurement:index"), {"flag": "R018"}).content.decode()
    assert "ocds-xd-000-009" in listing and "1 contracting process" in listing
    detail = client.get(reverse("procurement:process", args=["ocds-xd-000-009"])).content.decode()
    assert 'id="indicator-R018"' in detail and "Single bid received" in detail
    assert "Cardinal&#x27;s indicator flagged this process; its value is 1.0." in detail
    client.cookies["django_language"] = "zh-hans"
    chinese = client.get(reverse("procurement:process", args=["ocds-xd-000-009"])).content.decode()
    assert "仅收到一份投标" in chinese
    assert [word for word in untranslated_words(chinese) if "analyst-" not in word] == []  # but the user name


def test_case_handlers_read_the_debarment_register_only(
    empty_warehouse: None, verified_client: Callable[..., Client]
) -> None:
    client = verified_client("case_handler")
    assert client.get(reverse("procurement:debarments")).status_code == 200
    assert client.get(reverse("procurement:index")).status_code == 403

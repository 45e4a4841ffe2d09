"""On the demo country: every planted bid-rigging scheme is flagged by OWN-COI-BIDDER-LINKS, and every
planted family-supplier scheme whose official holds a politically exposed position by OWN-COI-PEP-SUPPLIER."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings
from pytest_django import DjangoDbBlocker

from probity.config import WarehouseSetting
from probity.core.models import Finding, Person, Position
from probity.core.services import detector_run
from probity.demo.services import demo_load
from probity.ownership.services import ownership_ingest
from probity.procurement.flatten import flatten_into_warehouse
from probity.warehouse.services import warehouse_connection
from tests.conftest import DemoCountry, rolled_back

# Seed 3 plants a family-supplier scheme whose official holds a politically exposed position (seed 20260 none).
SEED = 3
SCALE = 0.05


@pytest.fixture(scope="module")
def demo_in_the_database(
    demo_countries: Callable[[int, float], DemoCountry],
    tmp_path_factory: pytest.TempPathFactory,
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
) -> Iterator[dict[str, Any]]:
    """The demo country loaded once for this file's tests (rolled back after them): core tables, ownership
    register, procurement warehouse. Yields its ground truth."""
    warehouse_file = tmp_path_factory.mktemp("conflicts-demo") / "warehouse.duckdb"
    with (
        override_settings(PROBITY_WAREHOUSE=WarehouseSetting("duckdb", str(warehouse_file))),
        rolled_back(django_db_blocker),
    ):
        yield _load(demo_countries(SEED, SCALE))


@pytest.fixture
def demo_loaded(db: None, demo_in_the_database: dict[str, Any]) -> dict[str, Any]:
    return demo_in_the_database


def _load(demo: DemoCountry) -> dict[str, Any]:
    demo_files = demo.out
    demo_load(country=demo.country)
    result = ownership_ingest(path=demo_files / "bods" / "statements.json", dataset="demo")
    assert result.errors == 0
    # The demo writes one release per contracting process holding tender, bids, award and contract:
    # each release is already the whole process, so it is flattened as a compiled release.
    releases = demo_files / "ocds" / "releases.jsonl"
    ocids = [json.loads(line)["ocid"] for line in releases.read_text(encoding="utf-8").splitlines() if line]
    assert len(ocids) == len(set(ocids))
    with warehouse_connection() as warehouse:
        flatten_into_warehouse(warehouse, releases)
    truth = json.loads((demo_files / "ground_truth.json").read_text(encoding="utf-8"))
    return truth


def _schemes(truth: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s for s in truth["schemes"] if s["type"] == kind]


def test_every_planted_bid_rigging_process_is_flagged_with_the_pair_and_what_they_share(
    demo_loaded: dict[str, Any],
) -> None:
    run = detector_run(code="OWN-COI-BIDDER-LINKS")
    assert run.status == "succeeded", run.error
    schemes = _schemes(demo_loaded, "BID-RIGGING")
    assert {s["variant"] for s in schemes} == {"shared-address", "shared-director"}
    for scheme in schemes:
        pair = {p for p in scheme["refs"]["ocds"]["parties"] if p.startswith("XD-CR-")}
        assert len(pair) == 2
        expected = "address" if scheme["variant"] == "shared-address" else "director"
        for ocid in scheme["refs"]["ocds"]["ocids"]:
            finding = Finding.objects.get(run=run, subject_id=ocid)
            assert finding.outcome == "flag", (scheme["id"], ocid, finding.explanation)
            linked = [p for p in finding.evidence["pairs"] if {b["party_id"] for b in p["bidders"]} == pair]
            assert linked, (scheme["id"], finding.evidence["pairs"])
            assert expected in {s["what"] for s in linked[0]["shared"]}, linked[0]
    # The detector does not flag everything: most processes pass or have a single bidder.
    assert Finding.objects.filter(run=run, outcome="pass").count() > run.findings.filter(outcome="flag").count()


def test_planted_family_suppliers_of_pep_officials_are_flagged_with_the_chain(demo_loaded: dict[str, Any]) -> None:
    run = detector_run(code="OWN-COI-PEP-SUPPLIER")
    assert run.status == "succeeded", run.error
    schemes = _schemes(demo_loaded, "CONFLICT-FAMILY-SUPPLIER")
    assert schemes
    checked = 0
    for scheme in schemes:
        official_keys = scheme["refs"]["core"]["person"]
        officials = Person.objects.filter(source_key__in=official_keys)
        if not Position.objects.filter(holder__in=officials, is_pep=True).exists():
            continue
        registry = {p.removeprefix("XD-CR-") for p in scheme["refs"]["ocds"]["parties"] if p.startswith("XD-CR-")}
        flagged = [
            f
            for f in Finding.objects.filter(run=run, outcome="flag")
            if f.evidence["supplier"]["identifier"] in registry
        ]
        assert flagged, scheme["id"]
        exposed = flagged[0].evidence["exposed_owners"]
        assert any(r["source"] == "family" for o in exposed for r in o["pep_reasons"]), exposed
        assert all(o["chains"] for o in exposed)
        checked += 1
    assert checked
    assert Finding.objects.filter(run=run, outcome="pass").exists()

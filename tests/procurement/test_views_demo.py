"""Every planted procurement scheme of the demo country is flagged, and its process page says why."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from probity.config import WarehouseSetting
from tests.conftest import DemoCountry

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_each_planted_scheme_is_explained_on_its_process_page(
    settings: Any, tmp_path: Path, demo_country: DemoCountry, verified_client: Callable[..., Client]
) -> None:
    from probity.demo.services import demo_load
    from probity.demo.writers import ground_truth
    from probity.procurement.flatten import flatten_into_warehouse
    from probity.procurement.indicators import beyond_inputs, indicators
    from probity.procurement.indicators.beyond import INDICATORS
    from probity.procurement.services import debarment_import_csv, procurement_detect
    from probity.warehouse.services import warehouse_connection

    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "w.duckdb"))
    country = demo_country.country
    demo_load(country=country)
    debarment_import_csv(path=demo_country.out / "debarments" / "debarments.csv")
    releases_path = demo_country.out / "ocds" / "releases.jsonl"
    with warehouse_connection() as warehouse:
        flatten_into_warehouse(warehouse, releases_path)
        procurement_detect(
            releases=list(beyond_inputs.read_releases(releases_path)), warehouse=warehouse, findings_for=["flag"]
        )
    known = set(indicators()) | set(INDICATORS)  # Cardinal's and the beyond-Cardinal indicators
    client = verified_client("analyst")
    checked = 0
    for scheme in ground_truth(country)["schemes"]:
        codes = [code for code in scheme["indicators"] if code in known]
        for ocid in scheme["refs"]["ocds"]["ocids"] if codes else []:
            html = client.get(reverse("procurement:process", args=[ocid])).content.decode()
            for code in codes:
                article = re.search(
                    rf'<article class="indicator indicator-(\w+)" id="indicator-{re.escape(code)}">'
                    r"(.*?)</article>",
                    html,
                    re.S,
                )
                assert article, f"{scheme['type']}: {code} missing on {ocid}"
                assert article.group(1) == "flag", f"{scheme['type']}: {code} is {article.group(1)} on {ocid}"
                explanation = re.search(r'<p class="explanation">(.+?)</p>', article.group(2), re.S)
                assert explanation and explanation.group(1).strip(), f"{code} on {ocid} has no explanation"
                assert '<dl class="evidence-list"' in article.group(2), f"{code} on {ocid} shows no values"
                checked += 1
    assert checked >= 13

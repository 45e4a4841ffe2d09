"""The warehouse status page: who may see it, and what it shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from django.test import Client
from django.urls import reverse

from probity.config import WarehouseSetting
from probity.warehouse.services import warehouse_connection, warehouse_load_table

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["analyst", "administrator"])
def test_analysts_and_administrators_see_the_status(verified_client: Callable[..., Client], role: str) -> None:
    with warehouse_connection() as warehouse:
        warehouse_load_table(
            warehouse=warehouse, name="contracts", data=pa.table({"a": list(range(1234))}), source="ocds-sample.jsonl"
        )
    response = verified_client(role).get(reverse("warehouse:status"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "The warehouse answers: the connection works." in html
    assert "DuckDB" in html and "Ibis version" in html
    assert "<caption>" in html and 'scope="col"' in html and 'scope="row"' in html
    assert "<code>contracts</code>" in html and "1,234" in html and "ocds-sample.jsonl" in html


def test_declarant_is_forbidden(verified_client: Callable[..., Client]) -> None:
    assert verified_client("declarant").get(reverse("warehouse:status")).status_code == 403


def test_anonymous_is_sent_to_sign_in(client: Client) -> None:
    response = client.get(reverse("warehouse:status"))
    assert response.status_code == 302
    assert reverse("core:login") in response["Location"]


def test_broken_warehouse_is_shown_plainly(
    verified_client: Callable[..., Client], settings: object, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(blocker / "w.duckdb"))  # type: ignore[attr-defined]
    response = verified_client("analyst").get(reverse("warehouse:status"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html and "The warehouse cannot be reached." in html
    assert "cannot be created" in html
    assert "No tables yet." in html

"""``GET /api/v1/warehouse/status``: the router's view, called as the API calls it."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.test import RequestFactory
from ninja.errors import HttpError

from probity.warehouse.api import WarehouseStatusOut, router, status
from probity.warehouse.services import warehouse_connection, warehouse_load_table

pytestmark = pytest.mark.django_db


def call(user: object) -> WarehouseStatusOut:
    request = RequestFactory().get("/api/v1/warehouse/status")
    request.auth = user  # type: ignore[attr-defined]
    return status(request)


def test_router_offers_get_status() -> None:
    operation = router.path_operations["/status"]
    assert [method for op in operation.operations for method in op.methods] == ["GET"]
    assert router.tags == ["warehouse"]


def test_analyst_gets_engine_versions_and_tables(make_user: Callable[..., User]) -> None:
    with warehouse_connection() as warehouse:
        warehouse_load_table(warehouse=warehouse, name="contracts", data=pa.table({"a": [1, 2, 3]}))
    result = call(make_user("analyst"))
    body = result.model_dump(mode="json")
    assert body["engine"] == "duckdb" and body["connected"] is True
    assert body["ibis_version"] and body["engine_version"]
    assert body["tables"] == [
        {
            "name": "contracts",
            "engine": "duckdb",
            "row_count": 3,
            "refreshed_at": body["tables"][0]["refreshed_at"],
            "description": "",
            "source": "",
            "catalogued": True,
            "present": True,
        }
    ]


@pytest.mark.parametrize("who", ["declarant", "verifier", "anonymous"])
def test_others_get_403(make_user: Callable[..., User], who: str) -> None:
    user = AnonymousUser() if who == "anonymous" else make_user(who)
    with pytest.raises(HttpError) as caught:
        call(user)
    assert caught.value.status_code == 403
    with pytest.raises(HttpError):
        call(None)

"""The BODS ingest writes in bulk: the number of database queries does not grow with the statements."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from probity.ownership.models import Interest, Party, Relationship
from probity.ownership.services import IngestResult
from tests.ownership.test_ingest import entity, holds, person


def _statements(count: int) -> list[dict[str, object]]:
    """``count`` companies, each with an owner and the relationship between them."""
    out: list[dict[str, object]] = []
    for number in range(count):
        company, owner = entity(f"c{number}", f"Company {number}"), person(f"o{number}", f"Owner {number}")
        out += [company, owner, holds(f"r{number}", owner["recordId"], company["recordId"], share=50)]
    return out


@pytest.mark.django_db
def test_ingest_queries_do_not_grow_with_the_statements(ingest_statements: Callable[..., IngestResult]) -> None:
    """1 200 statements are written and projected in a few dozen queries (one ``executemany`` per
    thousand rows), not in a query per handful of rows: before, ``bulk_create`` sent one ``INSERT`` per
    90 statements on SQLite and the projection built its model rows one by one."""
    with CaptureQueriesContext(connection) as few:
        ingest_statements(_statements(100), dataset="small")
    with CaptureQueriesContext(connection) as many:
        result = ingest_statements(_statements(400), dataset="large")
    assert result.batch.statements_stored == 1200
    assert Party.objects.filter(dataset="large").count() == 800
    assert Relationship.objects.filter(dataset="large", subject__isnull=False).count() == 400
    assert Interest.objects.filter(relationship__dataset="large", share_exact=50).count() == 400
    assert len(many.captured_queries) <= len(few.captured_queries) + 4, (
        len(few.captured_queries),
        len(many.captured_queries),
    )

"""The batched write path of ``declaration_import``: plain multi-row INSERTs instead of model instances, the
same rows as one declaration at a time, and a content hash byte-identical to ``content_hash``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from probity.core.models import AuditEntry, Person
from probity.declarations import services
from probity.declarations.models import Declaration, DeclarationVersion
from probity.declarations.services import content_hash, declaration_import

pytestmark = pytest.mark.django_db

# JSON as a parsed file holds it: the floats Python writes with an exponent (below 10^-4) and the text
# (keys too) that sorts differently by UTF-16 unit, code point or UTF-8 byte are the ones to get right.
_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1)
    | st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e-05, -2.5e-07, 9.9e-05, 0.0001, 1e-300, 5e-324, -0.0, 0.1, 123456789012345.67])
    | _text
)
_json = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4), max_leaves=30
)


@settings(max_examples=400, deadline=None, database=None)
@given(st.dictionaries(_text, _json, max_size=6))
def test_the_import_hash_is_byte_identical_to_content_hash_and_the_text_reads_back_equal(
    content: dict[str, Any],
) -> None:
    digest, text = services._encoded(content)
    assert digest == content_hash(content=content)
    assert json.loads(text) == content
    assert list(json.loads(text)) == list(content)  # the keys keep the file's order


def test_values_orjson_cannot_write_are_hashed_as_before() -> None:
    for content in ({"n": 10**30}, {"n": 1e-7, "s": "é"}, {"a": [1e-05, {"b": 2.5e-300}]}):
        digest, text = services._encoded(content)
        assert digest == content_hash(content=content)
        assert json.loads(text) == content


def _records(payload: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for n in range(12):
        record = copy.deepcopy(payload)
        record["external_id"] = f"w-{n}"
        record["declarant"] = {"id": f"person-{n % 5}", "name": f"Person {n % 5}", "birth_date": "1970-05-01"}
        record["period"] = {"year": 2010 + n, "start": f"{2010 + n}-01-01", "end": f"{2010 + n}-12-31"}
        record["position"]["body"] = {"name": "Ministry of Roads"}
        record["real_estate"][0]["description"] = "Дом 家 بيت"
        out.append(record)
    return out


def _rows() -> dict[str, list[tuple[Any, ...]]]:
    people = {p.pk: p.source_key for p in Person.objects.all()}
    declarations = {d.pk: d.external_id for d in Declaration.objects.all()}
    return {
        "persons": sorted(
            Person.objects.values_list("name", "birth_date", "gender", "nationality", "source_key", "user_id")
        ),
        "declarations": sorted(
            (people[row[0]], *row[1:])
            for row in Declaration.objects.values_list(
                "declarant_id",
                "body_id",
                "body_name",
                "position_title",
                "declaration_type",
                "year",
                "period_start",
                "period_end",
                "status",
                "external_id",
            )
        ),
        "versions": sorted(
            (declarations[row[0]], *row[1:-1], json.dumps(row[-1], sort_keys=True))
            for row in DeclarationVersion.objects.values_list(
                "declaration_id", "number", "schema_version", "content_hash", "submitted_by", "source", "content"
            )
        ),
    }


def test_a_batch_stores_the_rows_one_at_a_time_stores_without_building_model_instances(
    payload: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "many.jsonl"
    records = _records(payload)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    slow = declaration_import(path=path, batch_size=1)
    expected = _rows()
    DeclarationVersion.objects.all()._raw_delete(DeclarationVersion.objects.db)  # immutable: raw delete in tests
    Declaration.objects.all().delete()
    Person.objects.all().delete()

    built: list[str] = []
    for model in (Person, Declaration, DeclarationVersion):
        original = model.__init__

        def counting(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            built.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(model, "__init__", counting)
    with CaptureQueriesContext(connection) as queries:
        report = declaration_import(path=path)
    monkeypatch.undo()
    assert (report.created, report.unchanged, report.errors) == (slow.created, slow.unchanged, slow.errors)
    assert report.created == 12
    assert _rows() == expected
    assert built == []  # plain rows: no model instance per record
    # Queueing the linking job once per import (``core.links.link_queue``) is not the batch's own work.
    queueing = ("core_job", "django_tasks")
    own = [
        q["sql"]
        for q in queries.captured_queries
        if "core_audit" not in q["sql"] and "SAVEPOINT" not in q["sql"] and not any(t in q["sql"] for t in queueing)
    ]
    inserts = [sql.split(" (")[0].replace("INSERT OR IGNORE", "INSERT") for sql in own if sql.startswith("INSERT")]
    assert sorted(inserts) == [  # one statement per table, whatever the batch's size
        'INSERT INTO "core_linktouch"',  # the declarations it touched, for linking
        'INSERT INTO "core_person"',
        'INSERT INTO "declarations_declaration"',
        'INSERT INTO "declarations_declarationversion"',
    ]
    assert len(own) <= 9, own  # and a few reads
    for version in DeclarationVersion.objects.select_related("declaration"):
        assert version.content == records[int(str(version.declaration.external_id)[2:])]
    entry = AuditEntry.objects.get(details__event="declarations_imported")
    assert entry.object_label == "import batch of 12 versions"
    assert len(entry.details["persons_created"]) == 5 and len(entry.details["declarations_created"]) == 12
    assert {row[0] for row in entry.details["versions"]} == set(DeclarationVersion.objects.values_list("pk", flat=True))
    assert entry.object_id == str(min(row[0] for row in entry.details["versions"]))

    again = declaration_import(path=path)
    assert (again.created, again.unchanged, again.errors) == (0, 12, [])

"""The demo files read into the modules (``demo_ingest``): declarations linked to the core tables, and a
failing step reported without stopping the others. The whole of ``probity bootstrap`` is tested end to end
in ``tests/core/test_config.py``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from probity.core.models import Person, Position
from probity.declarations.models import Declaration
from probity.demo.generator import generate_country
from probity.demo.services import (
    IngestStep,
    declaration_with_core_ids,
    demo_ingest,
    demo_load,
    demo_source_prefix,
)
from tests.conftest import DEMO_SCALE, DEMO_SEED, DemoCountry

SEED, SCALE = DEMO_SEED, DEMO_SCALE


def test_declaration_ids_are_mapped_to_core_source_keys_consistently() -> None:
    document: dict[str, Any] = {
        "id": "declaration-1-2023",
        "declarant": {"id": "demo-person-1", "name": "A"},
        "position": {"id": "demo-position-0001", "body": {"id": "demo-body-001", "name": "B"}},
        "family": [{"id": "demo-person-2", "relation": "spouse"}, {"id": "fm-x", "relation": "child"}],
        "real_estate": [{"owner": {"id": "demo-person-2", "relation": "spouse"}}, {"owner": "declarant"}],
    }
    prefix = demo_source_prefix(seed=SEED, scale=SCALE)
    mapped = declaration_with_core_ids(document=document, prefix=prefix)
    assert prefix == generate_country(SEED, SCALE).source_key("")
    assert mapped["declarant"]["id"] == f"{prefix}person-1"
    assert mapped["position"]["id"] == f"{prefix}position-0001"
    assert mapped["position"]["body"]["id"] == f"{prefix}body-001"
    assert [m["id"] for m in mapped["family"]] == [f"{prefix}person-2", "fm-x"]  # only the demo's ids
    assert mapped["real_estate"] == [
        {"owner": {"id": f"{prefix}person-2", "relation": "spouse"}},
        {"owner": "declarant"},
    ]
    assert mapped["id"] == "declaration-1-2023"  # the declaration's own id is its external id: unchanged
    assert document["declarant"]["id"] == "demo-person-1"  # the input is not changed


@pytest.fixture
def demo_dir(demo_country: DemoCountry, tmp_path: Path, settings: Any) -> Path:
    """A copy of the demo country's files (the tests remove some), its core records loaded."""
    demo_load(country=demo_country.country)
    settings.VAR_DIR = tmp_path
    return demo_country.copy_to(tmp_path / "demo")


@pytest.mark.django_db
def test_demo_ingest_links_declarations_and_a_failing_step_does_not_stop_the_others(demo_dir: Path) -> None:
    (demo_dir / "bods" / "statements.json").unlink()  # the ownership step cannot run
    people = Person.objects.count()
    seen: list[IngestStep] = []
    steps = demo_ingest(demo_dir=demo_dir, steps=["ownership", "declarations"], on_step=seen.append)
    assert seen == steps and [s.name for s in steps] == ["ownership", "declarations"]
    ownership, declarations = steps
    assert not ownership.ok and "statements.json" in ownership.error
    assert declarations.ok and declarations.problems == 0, declarations
    files = len(list((demo_dir / "declarations").glob("*.json")))
    assert declarations.counts["stored"] == files == Declaration.objects.count() > 0
    assert declarations.counts["published"] == files
    # every declaration belongs to the core person and body `demo load` wrote; nobody new was created
    assert Person.objects.count() == people
    for declaration in Declaration.objects.select_related("declarant", "body"):
        assert declaration.body is not None and declaration.body.country == "XD"
        assert (declaration.declarant.source_key or "").startswith(demo_source_prefix(seed=SEED, scale=SCALE))
        assert Position.objects.filter(holder=declaration.declarant, body=declaration.body).exists()
    # again: nothing new
    again = demo_ingest(demo_dir=demo_dir, steps=["declarations"])[0]
    assert (again.counts["stored"], again.counts["unchanged"]) == (0, files)


@pytest.mark.django_db
def test_demo_ingest_command_reports_a_failed_step_and_exits_1(demo_dir: Path, capsys: Any) -> None:
    (demo_dir / "debarments" / "debarments.csv").unlink()
    with pytest.raises(SystemExit) as exit_info:
        call_command("demo", "ingest", "--dir", str(demo_dir), "--steps", "debarments,declarations")
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert "debarments: FAILED after" in out and "debarments.csv" in err
    assert "declarations: " in out and "published" in out
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    assert Declaration.objects.count() == manifest["counts"]["declaration_files"]


def test_demo_ingest_command_refuses_unknown_steps(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown step"):
        call_command("demo", "ingest", "--dir", str(tmp_path), "--steps", "ownership,nonsense")

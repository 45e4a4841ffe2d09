"""probity entities: names, match, link and export from the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from probity.entities import services

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("entities", *args, verbosity=0, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_names_shows_forms_and_keys() -> None:
    shown = json.loads(_run("names", "张伟").splitlines()[0])
    assert shown["scripts"] == ["Hani"]
    assert "zhang wei" in shown["transliterations"]
    assert shown["keys"]


def test_match_and_link_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "pep.ftm.jsonl"
    path.write_text(
        "\n".join(
            [
                '{"id": "a", "schema": "Person", "properties": {"name": ["Владимир Путин"], "birthDate": ["1952-10-07"]}}',  # noqa: E501
                '{"id": "b", "schema": "Person", "properties": {"name": ["Vladimir Putin"], "birthDate": ["1952-10-07"]}}',  # noqa: E501
            ]
        ),
        encoding="utf-8",
    )
    assert "2 created" in _run("import-ftm", str(path))
    assert "MATCH" in _run("match", "Wladimir Putin")
    assert "1 new candidate pairs" in _run("link")
    exported = tmp_path / "out.ftm.jsonl"
    services.entities_sync_core()
    _run("export-ftm", "--out", str(exported))
    assert exported.read_text(encoding="utf-8") == ""  # no people in Probity's own registers here

"""The `probity demo` command: generate files, load the database, report, and fail with a clear message."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError

from probity.core.models import PublicBody


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_help_starts_with_a_one_line_summary() -> None:
    command = load_command_class(get_commands()["demo"], "demo")
    first_line = command.help.splitlines()[0]
    assert first_line.startswith("Generate the synthetic demo country")
    assert "demo load" in first_line


def test_generate_writes_the_files_and_prints_a_summary(tmp_path: Path) -> None:
    out, _ = _run("generate", "--seed", "4", "--scale", "0.05", "--out", str(tmp_path))
    for name in (
        "ocds/releases.jsonl",
        "bods/statements.json",
        "ftm/entities.ftm.jsonl",
        "ground_truth.json",
        "manifest.json",
    ):
        assert (tmp_path / name).is_file(), name
    assert list((tmp_path / "declarations").glob("declaration-*.json"))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"] == 4 and manifest["scale"] == 0.05
    assert f"written to {tmp_path}" in out
    assert "planted schemes" in out


def test_generating_again_into_the_same_folder_gives_the_same_files(tmp_path: Path) -> None:
    _run("generate", "--seed", "4", "--scale", "0.05", "--out", str(tmp_path))
    first = (tmp_path / "manifest.json").read_bytes()
    _run("generate", "--seed", "5", "--scale", "0.05", "--out", str(tmp_path))
    _run("generate", "--seed", "4", "--scale", "0.05", "--out", str(tmp_path))
    assert (tmp_path / "manifest.json").read_bytes() == first
    listed = set(json.loads(first)["files"])
    on_disk = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()} - {"manifest.json"}
    assert on_disk == listed, "declarations of the other seed were removed"


@pytest.mark.django_db
def test_load_fills_the_database_and_says_so_when_run_again() -> None:
    out, _ = _run("load", "--seed", "4", "--scale", "0.05")
    assert "loaded into the database" in out and "created:" in out
    assert PublicBody.objects.exists()
    again, _ = _run("load", "--seed", "4", "--scale", "0.05")
    assert "Nothing new" in again


@pytest.mark.parametrize("scale", ["abc", "0", "-2"])
def test_a_bad_scale_is_a_command_error(scale: str, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--scale"):
        _run("generate", "--scale", scale, "--out", str(tmp_path))


def test_an_output_folder_that_cannot_be_written_is_a_command_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CommandError):
        _run("generate", "--scale", "0.05", "--out", str(blocker / "demo"))


def test_a_missing_subcommand_is_a_command_error() -> None:
    with pytest.raises(CommandError):
        _run()

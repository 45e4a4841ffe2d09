"""probity backup and probity restore: a whole installation (database, encrypted report files, warehouse) goes
into one archive without any key, and comes back into an empty installation where the audit chain verifies and
a reporter's receipt still opens their report. Damaged archives and non-empty targets are refused."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from probity.config import warehouse_setting
from probity.reporting import services
from probity.warehouse.services import warehouse_connection
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db

ANSWER = "The road agency split one tender into four to stay under the threshold."
EVIDENCE = b"Minutes of the tender committee, 3 March: four lots, one winner."

# Opens the report with its receipt in the restored installation, reads its first answer and its file, and
# counts the rows of the restored warehouse table.
OPEN_WITH_RECEIPT = """
import json, sys
import django
django.setup()
from probity.reporting import selectors, services
from probity.reporting.models import Attachment
from probity.warehouse.services import warehouse_connection
session = services.reporter_sign_in(receipt=sys.argv[1])
timeline = selectors.report_timeline(keys=session.keys, for_reporter=True)
attachment = Attachment.objects.get(report=session.report)
_info, chunks = selectors.attachment_open(attachment=attachment, keys=session.keys)
with warehouse_connection(read_only=True) as warehouse:
    rows = len(warehouse.execute(warehouse.table("backup_probe")))
print(json.dumps({"what": timeline[0].body["what"], "file": b"".join(chunks).decode(), "warehouse_rows": rows}))
"""


@dataclass
class Installation:
    var_dir: Path
    receipt: str
    report_reference: str


def the_keys() -> dict[str, str]:
    """Every key of the running installation, by the variable that sets it."""
    return {
        "PROBITY_SECRET_KEY": django_settings.SECRET_KEY,
        "PROBITY_AUDIT_KEY": django_settings.AUDIT_KEY,
        "PROBITY_IDENTIFIER_KEY": django_settings.IDENTIFIER_KEY,
        "PROBITY_REPORTING_PEPPER": django_settings.PROBITY_REPORTING_PEPPER,
    }


@pytest.fixture
def installation(settings: Any, tmp_path: Path, make_user: Callable[..., User]) -> Installation:
    """A small installation with its own var/: users, a channel, a report with a file, and a warehouse table.
    A ``secret_key`` file lies in its var/ as it does where PROBITY_SECRET_KEY is not set."""
    var = tmp_path / "source-var"
    var.mkdir()
    (var / "secret_key").write_text(django_settings.SECRET_KEY)
    settings.VAR_DIR = var
    settings.PROBITY_WAREHOUSE = warehouse_setting(None, var)
    settings.PROBITY_REPORTING_STORE = str(var / "reporting-store")
    settings.PROBITY_REPORTING_KDF = "min"
    settings.PROBITY_REPORTING_RECEIPT_KDF = "min"
    with warehouse_connection() as warehouse:
        warehouse.create_table("backup_probe", pa.table({"n": [1, 2, 3]}))

    handler = make_user("case_handler", username="handler-b")
    custodian = make_user("administrator", username="custodian-b")
    services.staff_keys_create(user=handler, password=TEST_PASSWORD)
    services.staff_keys_create(user=custodian, password=TEST_PASSWORD)
    channel = services.channel_save(
        slug="general",
        name="General",
        actor=custodian,
        recipients=[handler],
        custodians=[custodian],
        max_attachments=3,
        max_attachment_bytes=200_000,
    )
    report, receipt = services.report_submit(
        channel=channel,
        answers={"what": ANSWER},
        attachments=[SimpleUploadedFile("minutes.txt", EVIDENCE)],
        identity={"name": "Jane Roe"},
    )
    return Installation(var_dir=var, receipt=receipt, report_reference=report.reference)


@pytest.fixture
def archive(installation: Installation, tmp_path: Path) -> Path:
    path = tmp_path / "backup.tar"
    call_command("backup", "--output", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    return path


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the test database: a new SQLite file, or a new PostgreSQL database
    on the same server (dropped afterwards)."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    import psycopg

    params = connection.settings_dict
    name = f"probity_restore_{uuid.uuid4().hex[:12]}"
    server = {
        "host": params["HOST"] or "127.0.0.1",
        "port": params["PORT"] or 5432,
        "user": params["USER"] or "postgres",
        "password": params["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    try:
        yield f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{name}"
    finally:
        with psycopg.connect(**server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def probity(*args: str, database_url: str, var_dir: Path) -> subprocess.CompletedProcess[str]:
    """A ``probity`` command in another installation: its own database and var/, the same keys."""
    environment = {**os.environ, **the_keys(), "DATABASE_URL": database_url, "PROBITY_VAR_DIR": str(var_dir)}
    for name in ("PROBITY_TESTING", "PROBITY_WAREHOUSE"):
        environment.pop(name, None)
    environment["DJANGO_SETTINGS_MODULE"] = "probity.settings"
    command = [sys.executable, *args] if args[0] == "-c" else [sys.executable, "-m", "probity.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600)


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


@pytest.mark.slow
def test_a_restored_installation_verifies_its_audit_log_and_opens_a_report_with_its_receipt(
    installation: Installation, archive: Path, empty_database_url: str, tmp_path: Path
) -> None:
    manifest = json.loads(members(archive)["manifest.json"])
    assert manifest["database"]["engine"] == connection.vendor
    assert manifest["audit_head"]["sequence"] > 0 and len(manifest["audit_head"]["entry_hash"]) == 64
    assert manifest["reporting_store"]["files"] == 1 and manifest["warehouse"]["included"]
    assert "core" in manifest["database"]["migrations"]

    target_var = tmp_path / "target-var"
    target_var.mkdir()
    restored = probity("restore", str(archive), database_url=empty_database_url, var_dir=target_var)
    assert restored.returncode == 0, restored.stderr
    assert "head matches the archive's seal" in restored.stdout
    assert "1 encrypted report files" in restored.stdout

    verified = probity("audit", "verify", database_url=empty_database_url, var_dir=target_var)
    assert verified.returncode == 0, verified.stderr
    assert "audit log intact" in verified.stdout

    opened = probity("-c", OPEN_WITH_RECEIPT, installation.receipt, database_url=empty_database_url, var_dir=target_var)
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout) == {"what": ANSWER, "file": EVIDENCE.decode(), "warehouse_rows": 3}
    assert not (target_var / "secret_key").exists()  # the keys came from the environment, as they must

    again = probity("restore", str(archive), database_url=empty_database_url, var_dir=target_var)
    assert again.returncode == 2
    assert "already holds data" in again.stderr


def test_a_changed_archive_is_refused_naming_the_file(archive: Path, tmp_path: Path) -> None:
    contents = members(archive)
    stored = next(name for name in contents if name.startswith("reporting-store/"))
    contents[stored] = bytes([contents[stored][0] ^ 1]) + contents[stored][1:]
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(tampered, "w") as tar:
        for name, data in contents.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

    call_command("backup", "--check", str(archive), stdout=io.StringIO())
    for command in (("backup", "--check", str(tampered)), ("restore", str(tampered))):
        with pytest.raises(CommandError) as refused:
            call_command(*command, stdout=io.StringIO(), stderr=io.StringIO())
        assert refused.value.returncode == 2
        assert stored in str(refused.value) and "does not match its manifest" in str(refused.value)


def test_restore_into_a_database_that_holds_data_is_refused(archive: Path) -> None:
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    assert refused.value.returncode == 2
    assert "already holds data" in str(refused.value)
    assert User.objects.filter(username="handler-b").exists()  # nothing was touched


def test_the_archive_holds_no_key(installation: Installation, archive: Path, tmp_path: Path) -> None:
    folder = tmp_path / "backup-folder"
    call_command("backup", "--output", str(folder), stdout=io.StringIO(), stderr=io.StringIO())
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(
        members(archive)
    )
    call_command("backup", "--check", str(folder), stdout=io.StringIO())

    keys = {name: value.encode() for name, value in the_keys().items()}
    for name, data in members(archive).items():
        # Only table dumps, store files, the warehouse export and the manifest; no var/secret_key, no key file.
        assert name == "manifest.json" or name.startswith(("database/", "reporting-store/", "warehouse/")), name
        assert "secret" not in name and not name.endswith((".key", ".pem")), name
        readable = gzip.decompress(data) if name.endswith(".gz") else data
        for key_name, key in keys.items():
            assert key not in readable, f"{key_name} is in {name}"
    manifest = json.loads(members(archive)["manifest.json"])
    assert manifest["keys_included"] is False
    assert any("PROBITY_SECRET_KEY" in line for line in manifest["not_included"])

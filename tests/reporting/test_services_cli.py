"""probity reporting …: channels, keys, deadlines, retention, statistics, export; exit codes."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from probity.reporting import services
from probity.reporting.models import Channel, Report
from tests.conftest import TEST_PASSWORD
from tests.reporting.conftest import Staff

pytestmark = pytest.mark.django_db


def run(*args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch | None = None) -> str:
    out, err = io.StringIO(), io.StringIO()
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("reporting", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_channel_setup_and_check(make_user: Callable[..., User], tmp_path: Path) -> None:
    handler = make_user("case_handler", username="h1")
    questionnaire = tmp_path / "q.json"
    questionnaire.write_text(json.dumps([{"id": "what", "kind": "text", "label": "What?", "required": True}]))
    output = run(
        "channels",
        "setup",
        "judiciary",
        "--name",
        "Judiciary",
        "--recipient",
        "h1",
        "--feedback-days",
        "180",
        "--questionnaire",
        str(questionnaire),
    )
    assert "channel judiciary saved" in output
    channel = Channel.objects.get(slug="judiciary")
    assert channel.feedback_days == 180 and list(channel.recipients.all()) == [handler]
    assert "judiciary" in run("channels", "list")
    with pytest.raises(CommandError) as caught:
        run("channels", "check")
    assert caught.value.returncode == 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"id": "x", "kind": "essay", "label": "?"}]))
    with pytest.raises(CommandError, match="unknown kind"):
        run("channels", "setup", "judiciary", "--name", "J", "--questionnaire", str(bad))
    with pytest.raises(CommandError) as usage:
        run("channels", "setup", "judiciary", "--name", "J", "--questionnaire", str(tmp_path / "missing.json"))
    assert usage.value.returncode == 2


def test_keys_create_and_recover(make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch) -> None:
    make_user("case_handler", username="h2")
    recovery = run("keys", "create", "h2", "--stdin", stdin=TEST_PASSWORD + "\n", monkeypatch=monkeypatch).strip()
    assert len(recovery.replace("-", "")) == 32
    with pytest.raises(CommandError, match="recovery key does not open"):
        run("keys", "recover", "h2", "--stdin", stdin="WRONG\nnew password 12345\n", monkeypatch=monkeypatch)
    new_recovery = run(
        "keys", "recover", "h2", "--stdin", stdin=f"{recovery}\nnew password 12345\n", monkeypatch=monkeypatch
    ).strip()
    assert new_recovery != recovery
    user = User.objects.get(username="h2")
    assert user.check_password("new password 12345")
    assert services.staff_keys_unlock(user=user, password="new password 12345")


def test_deadlines_retention_statistics_export(
    channel: Channel, handler: Staff, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, _receipt = services.report_submit(channel=channel, answers={"what": "cli case"})
    later = (report.received_on + timedelta(days=8)).isoformat()
    assert f"{report.reference}\tprocurement\tacknowledge overdue" in run("deadlines", "--today", later)
    assert "year" in run("statistics")
    figures = json.loads(run("statistics", "--json"))
    assert figures["total"]["received"] == "<3"

    target = tmp_path / "export"
    output = run(
        "export",
        report.reference,
        "--user",
        handler.user.username,
        "--output",
        str(target),
        "--stdin",
        stdin=TEST_PASSWORD + "\n",
        monkeypatch=monkeypatch,
    )
    assert "exported" in output
    assert json.loads((target / "case.json").read_text())["timeline"][0]["body"] == {"what": "cli case"}
    with pytest.raises(CommandError) as not_empty:
        run(
            "export",
            report.reference,
            "--user",
            handler.user.username,
            "--output",
            str(target),
            "--stdin",
            stdin=TEST_PASSWORD + "\n",
            monkeypatch=monkeypatch,
        )
    assert not_empty.value.returncode == 2
    with pytest.raises(CommandError, match="no report"):
        run("export", "R-NOPE", "--user", handler.user.username, "--output", str(tmp_path / "x"))

    services.report_close(report=report, user=handler.user, outcome=Report.Outcome.WITHDRAWN)
    report.refresh_from_db()
    assert report.delete_after is not None
    day = report.delete_after.isoformat()
    assert f"would delete: {report.reference}" in run("retention", "--dry-run", "--today", day)
    assert Report.objects.filter(pk=report.pk).exists()
    assert f"delete: {report.reference}" in run("retention", "--today", day)
    assert not Report.objects.filter(pk=report.pk).exists()

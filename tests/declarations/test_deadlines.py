"""Deadlines, who must file, reminders, overdue and non-filer lists: services, pages, CLI and API."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from probity.core.models import Person, Position, PublicBody
from probity.declarations import deadlines
from probity.declarations.models import Declaration, DeclarationVersion, FilingDeadline, FilingReminder
from probity.declarations.services import declaration_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user: Any, payload: dict[str, Any]) -> dict[str, Any]:
    roads = PublicBody.objects.create(name="Ministry of Roads", kind="ministry")
    health = PublicBody.objects.create(name="Ministry of Health", kind="ministry")

    def official(name: str, body: PublicBody, start: date | None, end: date | None, email: str = "") -> Person:
        user = make_user("declarant", username=name.split()[0].lower()) if email else None
        if user is not None:
            user.email = email
            user.save()
        person = Person.objects.create(name=name, user=user)
        Position.objects.create(body=body, title="Director", holder=person, start_date=start, end_date=end)
        return person

    result = {
        "roads": roads,
        "health": health,
        "ana": official("Ana Annual", roads, date(2019, 1, 1), None, "ana@example.org"),
        "eve": official("Eve Entry", roads, date(2024, 6, 1), None, "eve@example.org"),
        "xavier": official("Xavier Exit", health, date(2015, 1, 1), date(2024, 3, 31), "xavier@example.org"),
        "old": official("Olga Old", health, date(2010, 1, 1), date(2022, 12, 31)),
        "late": official("Lena Late", health, date(2018, 1, 1), None),
    }
    deadlines.deadline_set(declaration_type="annual", year=2024, due_date=date(2025, 4, 1), reminder_days="30,7,1")
    deadlines.deadline_set(declaration_type="entry", year=2024, due_date=date(2024, 12, 31))
    deadlines.deadline_set(declaration_type="exit", year=2024, due_date=date(2024, 12, 31))
    # Lena filed her annual declaration, but after the due date.
    payload.pop("external_id")
    payload["period"] = {"year": 2024}
    declaration_submit(declarant=result["late"], payload=payload)
    DeclarationVersion.objects.filter(declaration__declarant=result["late"]).update(
        submitted_at=datetime(2025, 4, 20, 10, tzinfo=UTC)
    )
    return result


def _names(items: list[deadlines.Obligation]) -> set[tuple[str, str]]:
    return {(o.person.name, o.deadline.declaration_type) for o in items}


def test_who_must_file_follows_the_positions(people: dict[str, Any]) -> None:
    assert _names(deadlines.obligations(year=2024)) == {
        ("Ana Annual", "annual"),
        ("Eve Entry", "annual"),
        ("Xavier Exit", "annual"),
        ("Lena Late", "annual"),
        ("Eve Entry", "entry"),
        ("Xavier Exit", "exit"),
    }
    # A deadline for one body overrides the one for every body, for that body's holders only.
    special, _created = deadlines.deadline_set(
        declaration_type="annual", year=2024, due_date=date(2025, 2, 1), body=people["health"]
    )
    by_person = {o.person.name: o for o in deadlines.obligations(declaration_type="annual", year=2024)}
    assert by_person["Xavier Exit"].deadline == special
    assert by_person["Ana Annual"].deadline.body is None
    assert _names(deadlines.obligations(year=2024, body=people["roads"])) == {
        ("Ana Annual", "annual"),
        ("Eve Entry", "annual"),
        ("Eve Entry", "entry"),
    }


def test_overdue_nonfilers_and_late_filers(people: dict[str, Any]) -> None:
    assert _names(deadlines.overdue(date(2025, 1, 5))) == {("Eve Entry", "entry"), ("Xavier Exit", "exit")}
    items = deadlines.nonfilers(date(2025, 5, 1), declaration_type="annual", year=2024)
    assert _names(items) == {
        ("Ana Annual", "annual"),
        ("Eve Entry", "annual"),
        ("Xavier Exit", "annual"),
        ("Lena Late", "annual"),
    }
    lena = next(o for o in items if o.person.name == "Lena Late")
    assert lena.late and lena.status == "submitted" and not lena.overdue(date(2025, 5, 1))
    without_late = deadlines.nonfilers(date(2025, 5, 1), declaration_type="annual", year=2024, include_late=False)
    assert "Lena Late" not in {o.person.name for o in without_late}
    rows = list(csv.reader(io.StringIO(deadlines.to_csv(items))))
    assert rows[0] == list(deadlines.CSV_HEADER)
    assert {r[1] for r in rows[1:]} == {"Ana Annual", "Eve Entry", "Xavier Exit", "Lena Late"}
    # Once Ana submits (in time), she is neither overdue nor late.
    content = Declaration.objects.get(declarant=people["late"]).latest_version().content  # type: ignore[union-attr]
    declaration_submit(declarant=people["ana"], payload=content)
    DeclarationVersion.objects.filter(declaration__declarant=people["ana"]).update(
        submitted_at=datetime(2025, 3, 20, tzinfo=UTC)
    )
    after = deadlines.nonfilers(date(2025, 5, 1), declaration_type="annual", year=2024)
    assert "Ana Annual" not in {o.person.name for o in after}


def test_csv_cells_cannot_become_formulas(people: dict[str, Any]) -> None:
    Person.objects.filter(pk=people["ana"].pk).update(name='=HYPERLINK("http://x")')
    text = deadlines.to_csv(deadlines.nonfilers(date(2025, 5, 1), year=2024))
    assert "'=HYPERLINK" in text


def test_reminders_are_sent_once_per_window_and_once_when_overdue(people: dict[str, Any]) -> None:
    report = deadlines.send_reminders(date(2025, 3, 2))  # 30 days before the annual due date
    recipients = sorted({m.to[0] for m in mail.outbox})
    assert recipients == ["ana@example.org", "eve@example.org", "xavier@example.org"]  # Lena filed; Olga not obligated
    # Eve and Xavier are overdue for entry/exit as well: one mail per obligation.
    assert report.sent == 3 + 2 and len(mail.outbox) == 5
    assert report.no_address == 0
    overdue = [m for m in mail.outbox if "overdue" in m.subject]
    assert len(overdue) == 2
    for message in mail.outbox:
        assert "120000" not in message.body and "Ben Test" not in message.body  # no declaration content
        assert "/declarations/file/" in message.body
    # The same day again, or the next day in the same window: nothing new.
    mail.outbox.clear()
    again = deadlines.send_reminders(date(2025, 3, 3))
    assert again.sent == 0 and again.already_sent == 5 and mail.outbox == []
    # The 7-day window, then the 1-day window.
    deadlines.send_reminders(date(2025, 3, 25))
    assert len(mail.outbox) == 3
    mail.outbox.clear()
    deadlines.send_reminders(date(2025, 3, 31))
    deadlines.send_reminders(date(2025, 4, 2))  # overdue
    assert len(mail.outbox) == 6
    kinds = set(FilingReminder.objects.filter(person=people["ana"]).values_list("kind", "days_before"))
    assert kinds == {("due_soon", 30), ("due_soon", 7), ("due_soon", 1), ("overdue", 0)}


def test_a_failed_mail_is_not_recorded_and_is_tried_again(people: dict[str, Any]) -> None:
    with mock.patch("probity.declarations.deadlines.send_mail", side_effect=OSError("refused")):
        report = deadlines.send_reminders(date(2025, 3, 2))
    assert report.sent == 0 and len(report.failed or []) == 5
    assert all("@" not in f for f in report.failed or [])  # no address in the report
    assert FilingReminder.objects.count() == 0
    assert deadlines.send_reminders(date(2025, 3, 2)).sent == 5


def test_deadline_validation() -> None:
    with pytest.raises(ValueError, match="not a declaration type"):
        deadlines.deadline_set(declaration_type="monthly", year=2024, due_date=date(2025, 1, 1))
    with pytest.raises(ValueError, match="whole numbers"):
        deadlines.deadline_set(declaration_type="annual", year=2024, due_date=date(2025, 1, 1), reminder_days="x")
    deadline, created = deadlines.deadline_set(
        declaration_type="annual", year=2024, due_date=date(2025, 1, 1), reminder_days=[1, 30, 7]
    )
    assert created and deadline.reminder_days == [30, 7, 1]
    again, created = deadlines.deadline_set(declaration_type="annual", year=2024, due_date=date(2025, 2, 1))
    assert not created and again.pk == deadline.pk and again.due_date == date(2025, 2, 1)
    assert FilingDeadline.objects.count() == 1


# --- pages ---------------------------------------------------------------------------------------


def test_admin_sets_deadlines_and_downloads_nonfilers(people: dict[str, Any], verified_client: Any) -> None:
    admin = verified_client("administrator")
    page = admin.get(reverse("declarations:deadlines"))
    assert page.status_code == 200 and b"Set a deadline" in page.content
    bad = admin.post(
        reverse("declarations:deadlines"),
        {"declaration_type": "annual", "year": "2025", "due_date": "2026-13-01", "reminder_days": "30"},
    )
    assert bad.status_code == 400 and b"There is a problem" in bad.content
    done = admin.post(
        reverse("declarations:deadlines"),
        {
            "declaration_type": "annual",
            "year": "2025",
            "due_date": "2026-04-01",
            "reminder_days": "14, 3",
            "body": people["roads"].pk,
        },
    )
    assert done.status_code == 302
    assert FilingDeadline.objects.get(year=2025).reminder_days == [14, 3]
    listing = admin.get(reverse("declarations:nonfilers"), {"declaration_type": "annual", "year": "2024"})
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Ana Annual" in html and "Lena Late" in html and "Eve Entry" in html
    download = admin.get(reverse("declarations:nonfilers"), {"year": "2024", "show": "late", "format": "csv"})
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert [r[1] for r in rows[1:]] == ["Lena Late"]


def test_declarants_and_analysts_cannot_set_deadlines(people: dict[str, Any], verified_client: Any) -> None:
    declarant = Client()
    declarant.force_login(people["ana"].user)
    assert declarant.get(reverse("declarations:deadlines")).status_code == 403
    assert declarant.get(reverse("declarations:nonfilers")).status_code == 403
    verifier = verified_client("verifier")
    assert verifier.get(reverse("declarations:deadlines")).status_code == 200
    post = verifier.post(
        reverse("declarations:deadlines"), {"declaration_type": "annual", "year": "2030", "due_date": "2031-01-01"}
    )
    assert post.status_code == 403 and not FilingDeadline.objects.filter(year=2030).exists()


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_deadlines_remind_and_nonfilers(people: dict[str, Any], capsys: Any) -> None:
    call_command(
        "declarations",
        "deadlines",
        "set",
        "--type",
        "annual",
        "--year",
        "2025",
        "--due",
        "2026-04-01",
        "--reminders",
        "10,2",
    )
    assert FilingDeadline.objects.get(year=2025, body=None).reminder_days == [10, 2]
    call_command("declarations", "deadlines", "list", "--year", "2024", "--today", "2025-05-01")
    out = capsys.readouterr().out
    assert "annual\t2024\t(every body)\t2025-04-01\t30,7,1\t4\t1\t3" in out
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "declarations",
            "deadlines",
            "set",
            "--type",
            "annual",
            "--year",
            "2025",
            "--due",
            "2026-04-01",
            "--body",
            "99999",
        )
    assert exit_info.value.code == 2
    call_command("declarations", "remind", "--today", "2025-03-02")
    assert "5 reminders sent" in capsys.readouterr().out
    call_command("declarations", "remind", "--today", "2025-03-02")
    assert "0 reminders sent, 5 already sent" in capsys.readouterr().out
    call_command("declarations", "nonfilers", "--type", "annual", "--year", "2024", "--today", "2025-05-01", "--csv")
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][0] == "person_id" and len(rows) == 5
    call_command("declarations", "nonfilers", "--year", "2024", "--today", "2025-05-01", "--overdue-only")
    out = capsys.readouterr().out
    assert "Lena Late" not in out and "Ana Annual" in out


# --- API -----------------------------------------------------------------------------------------


def test_api_declarant_files_section_by_section(people: dict[str, Any], payload: dict[str, Any]) -> None:
    client = Client()
    client.force_login(people["ana"].user)
    base = "/api/v1/declarations/filing"
    obligations = client.get(f"{base}/obligations").json()
    assert [(o["declaration_type"], o["year"], o["status"]) for o in obligations] == [("annual", 2024, "not_started")]
    opened = client.post(
        f"{base}/drafts", {"declaration_type": "annual", "year": 2024}, content_type="application/json"
    )
    assert opened.status_code == 201, opened.content
    declaration_id = opened.json()["declaration_id"]
    again = client.post(f"{base}/drafts", {"declaration_type": "annual", "year": 2024}, content_type="application/json")
    assert again.status_code == 200 and again.json()["declaration_id"] == declaration_id
    bad_income = [{"owner": "declarant", "kind": "salary", "amount": {"amount": "12,5", "currency": "EUR"}}]
    put = client.put(
        f"{base}/drafts/{declaration_id}/sections/income", json.dumps(bad_income), content_type="application/json"
    )
    assert put.status_code == 200
    assert [p["path"] for p in put.json()["problems"]] == ["income[0].amount"]
    submit = client.post(f"{base}/drafts/{declaration_id}/submit")
    assert submit.status_code == 422 and submit.json()["error"]["code"] == "validation_error"
    assert any(d["path"] == "income[0].amount" for d in submit.json()["error"]["details"])
    bad_income[0]["amount"]["amount"] = "12.5"
    client.put(
        f"{base}/drafts/{declaration_id}/sections/income", json.dumps(bad_income), content_type="application/json"
    )
    client.put(
        f"{base}/drafts/{declaration_id}/sections/reporting_currency",
        json.dumps("EUR"),
        content_type="application/json",
    )
    wrong = client.put(
        f"{base}/drafts/{declaration_id}/sections/income", json.dumps({"x": 1}), content_type="application/json"
    )
    assert wrong.status_code == 422
    assert client.get(f"{base}/drafts/{declaration_id}/sections/nonsense").status_code == 404
    draft = client.get(f"{base}/drafts/{declaration_id}").json()
    assert draft["problems"] == [] and draft["content"]["income"] == bad_income
    done = client.post(f"{base}/drafts/{declaration_id}/submit")
    assert done.status_code == 201, done.content
    assert done.json()["version"] == 1
    version = DeclarationVersion.objects.get(declaration_id=declaration_id)
    assert version.content["income"] == bad_income and version.source == "api"
    assert client.post(f"{base}/drafts/{declaration_id}/submit").status_code == 404  # the draft is gone
    # Another declarant sees nothing of it.
    other = Client()
    other.force_login(people["eve"].user)
    assert other.get(f"{base}/drafts/{declaration_id}").status_code == 404
    assert Declaration.objects.filter(declarant=people["ana"]).count() == 1


def test_api_admin_deadlines_and_nonfilers(people: dict[str, Any], verified_client: Any) -> None:
    admin = verified_client("administrator")
    base = "/api/v1/declarations/filing"
    created = admin.post(
        f"{base}/deadlines",
        {"declaration_type": "annual", "year": 2025, "due_date": "2026-04-01", "reminder_days": [30, 7]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    deadline_id = created.json()["id"]
    changed = admin.put(
        f"{base}/deadlines/{deadline_id}",
        {"declaration_type": "annual", "year": 2025, "due_date": "2026-05-01"},
        content_type="application/json",
    )
    assert changed.status_code == 200 and changed.json()["due_date"] == "2026-05-01"
    assert len(admin.get(f"{base}/deadlines", {"year": 2025}).json()) == 1
    nonfilers = admin.get(f"{base}/nonfilers", {"declaration_type": "annual", "year": 2024, "show": "late"}).json()
    assert [n["name"] for n in nonfilers] == ["Lena Late"]
    assert admin.delete(f"{base}/deadlines/{deadline_id}").status_code == 204
    declarant = Client()
    declarant.force_login(people["ana"].user)
    refused = declarant.get(f"{base}/nonfilers")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    schema = admin.get("/api/v1/openapi.json").json()
    for path in (
        "/obligations",
        "/drafts",
        "/drafts/{declaration_id}/sections/{section}",
        "/drafts/{declaration_id}/submit",
        "/deadlines",
        "/nonfilers",
    ):
        assert f"/api/v1/declarations/filing{path}" in schema["paths"], path

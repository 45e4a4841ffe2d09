"""Watchlists: names re-screened when the lists change, with a notice (page, dashboard, e-mail) on a new
match and none for a match already known."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from probity.core.jobs import inbox_save, job_enqueue
from probity.core.models import Job
from probity.core.selectors import dashboard_cards
from probity.core.services import api_token_create
from probity.entities import batch, services, watchlists
from probity.entities.models import Watchlist, WatchlistHit

pytestmark = pytest.mark.django_db

FIRST_LIST = (
    '{"id": "NK-putin", "schema": "Person", "properties": {"name": ["Владимир Владимирович Путин"],'
    ' "alias": ["Vladimir Putin"], "birthDate": ["1952-10-07"], "topics": ["sanction"]}}'
)
NEW_ENTRY = (
    '{"id": "NK-medvedev", "schema": "Person", "properties": {"name": ["Дмитрий Анатольевич Медведев"],'
    ' "birthDate": ["1965-09-14"], "topics": ["role.pep"]}}'
)


def _token_client(user: Any) -> Client:
    _token, secret = api_token_create(user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _import_job(name: str, text: str) -> Job:
    file = inbox_save(name=name, chunks=[text.encode()])
    return job_enqueue(kind="entities.import_ftm", parameters={"file": file, "dataset": "sanctions"}, actor=None)


@pytest.fixture
def owner(make_user: Callable[..., Any]) -> Any:
    user = make_user("analyst")
    user.email = "analyst@example.org"
    user.save()
    return user


def test_a_new_list_entry_is_a_new_match_noticed_once_on_the_page_the_dashboard_and_by_email(
    owner: Any, run_jobs: Callable[[], list[Any]], verified_client: Callable[..., Client]
) -> None:
    services.ftm_import(source=io.StringIO(FIRST_LIST), dataset="sanctions")
    client = _token_client(owner)
    created = client.post(
        "/api/v1/entities/watchlists",
        data=json.dumps(
            {
                "name": "Suppliers' owners",
                "names": [
                    {"name": "Vladimir Putin", "kind": "person"},
                    {"name": "Dmitry Medvedev", "kind": "person", "reference": "S-2"},
                ],
            }
        ),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["names_screened"], body["matches"]) == (2, 1)
    # what is found when the names are added is shown at once, not announced as news
    assert body["watchlist"]["new_matches"] == 0
    assert mail.outbox == []

    _import_job("more.ftm.jsonl", FIRST_LIST + "\n" + NEW_ENTRY)
    ran = run_jobs()
    assert any(job.kind == "entities.import_ftm" for job in ran)
    rescreen = Job.objects.get(kind="entities.watchlists_rescreen")
    assert rescreen.status == Job.Status.SUCCEEDED, rescreen.error
    assert rescreen.trigger == Job.Trigger.EVENT
    assert "1 new" in rescreen.summary

    hit = WatchlistHit.objects.get(seen_at__isnull=True)
    assert hit.entity.ftm_id == "NK-medvedev" and hit.entry.reference == "S-2"
    assert hit.notified_at is not None
    (message,) = mail.outbox
    assert message.to == ["analyst@example.org"]
    assert "Suppliers' owners" in message.subject
    assert "Medvedev" not in message.body and "Медведев" not in message.body  # no names in e-mail
    assert f"/entities/watchlists/{body['watchlist']['id']}/" in message.body
    assert ("New watchlist matches", 1) in [(str(label), n) for label, n in dashboard_cards(user=owner)]

    page = verified_client(user=owner).get(f"/entities/watchlists/{body['watchlist']['id']}/")
    html = page.content.decode()
    assert "1 new match since you last looked" in html
    assert "Дмитрий Анатольевич Медведев" in html

    # the same lists again: nothing new, nobody told twice
    _import_job("again.ftm.jsonl", FIRST_LIST + "\n" + NEW_ENTRY.replace("role.pep", "sanction"))
    run_jobs()
    assert Job.objects.filter(kind="entities.watchlists_rescreen").count() == 2
    assert WatchlistHit.objects.count() == 2
    assert len(mail.outbox) == 1

    seen = client.post(f"/api/v1/entities/watchlists/{body['watchlist']['id']}/matches/seen")
    assert seen.json()["new_matches"] == 0
    assert watchlists.new_hit_count(owner) == 0


def test_no_rescreen_is_queued_when_nobody_watches(run_jobs: Callable[[], list[Any]]) -> None:
    _import_job("list.ftm.jsonl", FIRST_LIST)
    run_jobs()
    assert not Job.objects.filter(kind="entities.watchlists_rescreen").exists()


def test_a_watchlist_is_its_owners_alone(owner: Any, make_user: Callable[..., Any], verified_client: Any) -> None:
    record = watchlists.watchlist_create(actor=owner, name="Mine")
    other = make_user("analyst")
    assert _token_client(other).get(f"/api/v1/entities/watchlists/{record.pk}").status_code == 404
    assert verified_client(user=other).get(f"/entities/watchlists/{record.pk}/").status_code == 404
    assert _token_client(other).get("/api/v1/entities/watchlists").json() == []
    with pytest.raises(ValueError, match="already have a watchlist"):
        watchlists.watchlist_create(actor=owner, name="Mine")


def test_uploaded_names_with_broken_rows_are_added_around_them(owner: Any) -> None:
    services.ftm_import(source=io.StringIO(FIRST_LIST), dataset="sanctions")
    record = watchlists.watchlist_create(actor=owner, name="Upload")
    upload = io.BytesIO(b"name,birth_date\nVladimir Putin,1952\n,\nIvan,31.31.1990\n")
    upload.name = "watch.csv"
    response = _token_client(owner).post(f"/api/v1/entities/watchlists/{record.pk}/upload", {"file": upload})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["names_screened"] == 1 and body["matches"] == 1
    assert len(body["problems"]) == 1 and body["problems"][0].startswith("Line 4:")
    assert record.entries.count() == 1


def test_the_pages_create_a_watchlist_and_add_names(owner: Any, verified_client: Callable[..., Client]) -> None:
    services.ftm_import(source=io.StringIO(FIRST_LIST), dataset="sanctions")
    client = verified_client(user=owner)
    created = client.post("/entities/watchlists/", {"name": "Board", "dataset": "default", "threshold": "0.7"})
    assert created.status_code == 302
    record = Watchlist.objects.get(name="Board")
    added = client.post(
        f"/entities/watchlists/{record.pk}/",
        {"action": "add", "names": "Vladimir Putin\n\nJohn Smith\n", "kind": "person"},
        follow=True,
    )
    html = added.content.decode()
    assert "2 name(s) screened: 1 match(es)." in html
    assert "Владимир Владимирович Путин" in html
    assert watchlists.new_hit_count(owner) == 0
    empty = client.post(f"/entities/watchlists/{record.pk}/", {"action": "add", "names": ""})
    assert "Write at least one name" in empty.content.decode()


def test_cli_creates_lists_and_rescreens_watchlists(owner: Any, tmp_path: Path) -> None:
    services.ftm_import(source=io.StringIO(FIRST_LIST), dataset="sanctions")
    names = tmp_path / "watch.csv"
    names.write_text("name\nDmitry Medvedev\n", encoding="utf-8")
    out = io.StringIO()
    call_command(
        "entities", "watchlist", "create", "Board", "--owner", owner.username, "--file", str(names), stdout=out
    )
    assert "1 names screened, 0 matches" in out.getvalue()
    services.ftm_import(source=io.StringIO(NEW_ENTRY), dataset="sanctions")
    call_command("entities", "watchlist", "screen", verbosity=0, stdout=out)
    assert "1 names screened: 1 matches, 1 new; 1 owner(s) e-mailed" in out.getvalue()
    call_command("entities", "watchlist", "list", stdout=out)
    assert "Board (owner" in out.getvalue() and "1 new matches" in out.getvalue()
    with pytest.raises(CommandError) as missing:
        call_command("entities", "watchlist", "create", "X", "--owner", "nobody", stdout=out)
    assert missing.value.returncode == 2


def test_rows_are_checked_like_the_screening_upload() -> None:
    with pytest.raises(ValueError, match="no name and no identifier"):
        batch.row_check(line=1, name=" ")

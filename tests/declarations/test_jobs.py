"""The declarations module's background jobs: a submission queues its verification (one job for many
submissions), the worker stores findings and risk scores, the pages say "queued" meanwhile and never rank an
unjudged declaration as clean; import, publication, reminders and non-filers run as jobs and on schedules."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from probity.core.jobs import inbox_save, job_enqueue, job_kinds
from probity.core.models import DetectorRun, Finding, Job, Person, Position, PublicBody, Schedule
from probity.core.scheduler import schedule_fire, schedules_sync
from probity.declarations.deadlines import deadline_set
from probity.declarations.events import VERIFY, VERIFY_DEDUPE
from probity.declarations.filing.services import draft_start, draft_submit
from probity.declarations.models import Declaration, DeclarationVersion, PublishedDeclaration
from probity.declarations.selectors import not_judged, risk_scores, verification_codes
from probity.declarations.services import declaration_submit
from probity.declarations.verification.selectors import risk_queue

pytestmark = pytest.mark.django_db

RunJobs = Callable[[], list[Job]]


def _verify_jobs(status: str = Job.Status.QUEUED) -> list[Job]:
    return list(Job.objects.filter(kind=VERIFY, status=status))


def _two_years(payload: dict[str, Any], person: Person) -> Declaration:
    """A 2022 declaration, then a 2023 one whose bank balance jumps (DECL-WEALTH flags it)."""
    before = copy.deepcopy(payload)
    before["external_id"], before["period"]["year"], before["submitted"] = "b-2022", 2022, "2023-03-01"
    declaration_submit(declarant=person, payload=before)
    payload["cash_and_accounts"][0]["amount"]["amount"] = "900000"
    return declaration_submit(declarant=person, payload=payload).declaration


def test_the_kinds_and_their_permissions_are_registered() -> None:
    kinds = job_kinds()
    assert kinds[VERIFY].queue == "default"
    assert kinds["declarations.import"].permission == "declarations.add_declarationversion"
    assert kinds["declarations.publish"].permission == "declarations.add_publisheddeclaration"
    assert kinds["declarations.remind"].permission == "declarations.add_filingreminder"
    assert kinds["declarations.nonfilers"].permission == "declarations.view_filingdeadline"
    from probity.core.detectors import detector_registry

    registry = detector_registry()
    assert "declarations" in registry["DECL-WEALTH"].reads
    assert set(registry["DECL-COI-AWARD"].reads) == {"declarations", "ownership", "procurement"}
    assert "DECL-COI-AWARD" not in verification_codes()


def test_submissions_queue_exactly_one_verification_while_it_waits(payload: dict[str, Any]) -> None:
    person = Person.objects.create(name="Ana Test")
    first = declaration_submit(declarant=person, payload=payload)
    again = copy.deepcopy(payload)
    again["cash_and_accounts"][0]["amount"]["amount"] = "10001"  # a correction a moment later
    second = declaration_submit(declarant=person, payload=again)
    assert first.created and second.created
    other = copy.deepcopy(payload)
    other["external_id"], other["declarant"] = "other-1", {"id": "p-2", "name": "Bo"}
    declaration_submit(declarant=Person.objects.create(name="Bo"), payload=other)
    jobs = _verify_jobs()
    assert len(jobs) == 1
    job = jobs[0]
    assert job.trigger == Job.Trigger.EVENT and job.requested_by is None and job.dedupe_key == VERIFY_DEDUPE
    assert job.parameters == {"detectors": []}  # every declarations detector
    # Submitting the same content again stores nothing and queues nothing.
    declaration_submit(declarant=person, payload=again)
    assert Job.objects.filter(kind=VERIFY).count() == 1


def test_a_failed_submission_queues_nothing(payload: dict[str, Any]) -> None:
    from probity.declarations.schema import DeclarationInvalid

    payload["income"][0]["amount"]["amount"] = "12 000"
    with pytest.raises(DeclarationInvalid):
        declaration_submit(declarant=Person.objects.create(name="Ana Test"), payload=payload)
    assert not Job.objects.exists()


def test_e_filing_submission_queues_the_verification_in_its_transaction(
    make_user: Any, payload: dict[str, Any]
) -> None:
    user = make_user("declarant")
    body = PublicBody.objects.create(name="Ministry of Roads", kind="ministry")
    person = Person.objects.create(name="Ana Test", user=user, birth_date=date(1970, 5, 1))
    Position.objects.create(body=body, title="Head of Procurement", holder=person, start_date=date(2020, 1, 1))
    draft = draft_start(person=person, declaration_type="annual", year=2024, actor=user)
    draft.content.update(
        {k: v for k, v in payload.items() if k not in {"external_id", "period", "declarant", "submitted"}}
    )
    draft.save()
    result = draft_submit(draft=draft, actor=user)
    assert result.created
    assert len(_verify_jobs()) == 1


def test_after_the_worker_ran_the_declaration_has_findings_and_a_risk_score_on_its_page(
    payload: dict[str, Any], verified_client: Callable[..., Client], run_jobs: RunJobs
) -> None:
    person = Person.objects.create(name="Ana Test")
    declaration = _two_years(payload, person)
    verifier = verified_client("verifier")
    page = verifier.get(reverse("declarations:detail", args=[declaration.pk])).content.decode()
    assert "Verification is queued; findings will appear here within a minute." in page
    assert "have not judged" not in page
    assert "not judged yet" in page  # the risk score
    assert declaration.pk in not_judged(declaration_ids=[declaration.pk])

    run_jobs()
    job = Job.objects.get(kind=VERIFY)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["declarations"] == 2 and job.result["warehouse_queued"] == 1
    # DECL-COI-AWARD went to the warehouse queue as its own job (and ran there).
    assert Job.objects.get(kind="core.detector_run").parameters["detector"] == "DECL-COI-AWARD"
    assert {run.detector_code for run in DetectorRun.objects.all()} >= set(verification_codes())
    score = risk_scores(declaration_ids=[declaration.pk])[declaration.pk]
    assert score > 0
    assert Finding.objects.filter(detector_code="DECL-WEALTH", subject_id=str(declaration.pk), outcome="flag").exists()
    assert not not_judged(declaration_ids=[declaration.pk])

    page = verifier.get(reverse("declarations:detail", args=[declaration.pk])).content.decode()
    assert "Verification is queued" not in page and "not judged yet" not in page
    assert "DECL-WEALTH" in page and f"{score:.1f}" in page
    for log_line in job.log:
        assert "Ana" not in log_line["message"]


def test_the_queue_shows_a_declaration_not_judged_yet_instead_of_ranking_it_clean(
    payload: dict[str, Any], verified_client: Callable[..., Client], run_jobs: RunJobs
) -> None:
    person = Person.objects.create(name="Ana Test")
    flagged = _two_years(payload, person)
    run_jobs()
    time.sleep(0.01)
    newcomer = copy.deepcopy(payload)
    newcomer["external_id"], newcomer["declarant"] = "new-1", {"id": "p-new", "name": "Cy New"}
    fresh = declaration_submit(declarant=Person.objects.create(name="Cy New"), payload=newcomer).declaration
    rows = risk_queue()
    by_id = {row.declaration.pk: row for row in rows}
    assert by_id[flagged.pk].judged and by_id[flagged.pk].score > 0
    assert not by_id[fresh.pk].judged
    order = [row.declaration.pk for row in rows]
    clean = [pk for pk, row in by_id.items() if row.judged and row.score == 0]
    assert order.index(flagged.pk) < order.index(fresh.pk) < min(order.index(pk) for pk in clean)
    page = verified_client("verifier").get(reverse("declarations:verification_queue")).content.decode()
    assert "not judged yet" in page
    api = verified_client("verifier").get("/api/v1/declarations/verification/queue")
    if api.status_code == 200:
        items = {item["declaration_id"]: item for item in api.json()["items"]}
        assert items[fresh.pk]["judged"] is False and items[flagged.pk]["judged"] is True

    # Selection by risk waits for the verification; after it, the newcomer is ranked by its own score.
    from probity.declarations.verification.services import select_by_risk

    assert fresh.pk not in {c.declaration_id for c in select_by_risk(top=10).created}
    run_jobs()
    assert all(row.judged for row in risk_queue())


# --- import ---------------------------------------------------------------------------------------------


def _jsonl(payload: dict[str, Any]) -> bytes:
    good = copy.deepcopy(payload)
    bad = copy.deepcopy(payload)
    bad["external_id"], bad["period"]["year"] = "decl-bad", 2020
    bad["income"][0]["amount"]["amount"] = "12 000"
    return (json.dumps(good) + "\n" + json.dumps(bad) + "\n").encode()


def test_an_import_job_keeps_the_valid_records_names_the_bad_one_and_adds_nothing_the_second_time(
    payload: dict[str, Any], make_user: Any, run_jobs: RunJobs
) -> None:
    name = inbox_save(name="declarations.jsonl", chunks=[_jsonl(payload)])
    admin = make_user("administrator")
    job = job_enqueue(kind="declarations.import", parameters={"file": name}, actor=admin)
    run_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["stored"] == 1 and job.result["rejected"] == 1
    assert "line 2" in job.result["first_rejected"]
    rejected = [line["message"] for line in job.log if line["message"].startswith("Rejected")]
    assert len(rejected) == 1 and "line 2" in rejected[0] and "income" in rejected[0]
    assert "Ana Test" not in json.dumps(job.log)
    assert DeclarationVersion.objects.count() == 1
    # The import queued the verification, and the worker ran it.
    assert Job.objects.get(kind=VERIFY).status == Job.Status.SUCCEEDED
    assert risk_scores() is not None and not not_judged(
        declaration_ids=Declaration.objects.values_list("pk", flat=True)
    )

    again = job_enqueue(kind="declarations.import", parameters={"file": name}, actor=admin)
    run_jobs()
    again.refresh_from_db()
    assert again.result["stored"] == 0 and again.result["unchanged"] == 1 and again.result["rejected"] == 1
    assert DeclarationVersion.objects.count() == 1
    assert Job.objects.filter(kind=VERIFY).count() == 1  # nothing new: no verification


def test_an_import_job_refuses_a_file_that_is_not_in_the_inbox(make_user: Any) -> None:
    from probity.core.jobs import JobRefused

    with pytest.raises(JobRefused, match="inbox"):
        job_enqueue(kind="declarations.import", parameters={"file": "../etc/passwd"}, actor=make_user("administrator"))
    with pytest.raises(JobRefused, match="may not start"):
        job_enqueue(kind="declarations.import", parameters={"file": "x"}, actor=make_user("verifier"))


# --- publication, reminders, non-filers, schedules --------------------------------------------------------


def test_publication_runs_in_the_background_from_the_page_and_the_api(
    payload: dict[str, Any], verified_client: Callable[..., Client], run_jobs: RunJobs, settings: Any
) -> None:
    declaration = declaration_submit(declarant=Person.objects.create(name="Ana Test"), payload=payload).declaration
    admin = verified_client("administrator")
    page = admin.get(reverse("declarations:publication_manage")).content.decode()
    assert "Run in the background" in page
    response = admin.post(
        reverse("declarations:publication_publish"),
        {"year": "2023", "type": "", "ids": "", "profile": "", "background": "publish"},
    )
    assert response.status_code == 302
    job = Job.objects.get(kind="declarations.publish")
    assert job.parameters["action"] == "publish" and job.requested_by == admin.user  # type: ignore[attr-defined]
    run_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["published"] == 1
    assert PublishedDeclaration.objects.filter(declaration=declaration).exists()

    answered = admin.post(
        "/api/v1/declarations/public/publish", json.dumps({"background": True}), content_type="application/json"
    )
    assert answered.status_code == 202, answered.content
    queued = Job.objects.get(pk=answered.json()["job"])
    assert queued.kind == "declarations.publish" and queued.status == Job.Status.QUEUED

    export = admin.post(reverse("declarations:publication_publish"), {"background": "export"})
    assert export.status_code == 302
    run_jobs()
    exported = Job.objects.filter(kind="declarations.publish", parameters__action="export").get()
    assert exported.status == Job.Status.SUCCEEDED, exported.error
    assert exported.result["declarations"] == 1
    assert (settings.VAR_DIR / "open-data" / "declarations" / "declarations.json").is_file()


def test_reminders_and_non_filers_run_on_their_schedules_with_counts_only(
    make_user: Any, run_jobs: RunJobs, payload: dict[str, Any]
) -> None:
    body = PublicBody.objects.create(name="Ministry of Roads", kind="ministry")
    for n, email in enumerate(["late@example.org", ""]):
        user = make_user("declarant")
        user.email = email
        user.save()
        person = Person.objects.create(name=f"Obligated Person {n}", user=user)
        Position.objects.create(body=body, title="Inspector", holder=person, start_date=date(2020, 1, 1))
    deadline_set(declaration_type="annual", year=2023, due_date=date(2024, 4, 1))

    schedules_sync()  # created on migrate already; this never changes them
    codes = {"declarations-remind", "declarations-nonfilers", "declarations-verify"}
    schedules = {s.code: s for s in Schedule.objects.filter(code__in=codes)}
    assert set(schedules) == codes
    assert all(s.cron.split()[2:] == ["*", "*", "*"] for s in schedules.values())  # daily / nightly
    jobs = [schedule_fire(s.pk) for s in schedules.values()]
    run_jobs()
    for job in jobs:
        assert job is not None
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, (job.kind, job.error)
        assert job.trigger == Job.Trigger.SCHEDULE
        shown = json.dumps({"log": job.log, "result": job.result, "summary": job.summary})
        assert "Obligated Person" not in shown and "late@example.org" not in shown
    by_kind = {job.kind: job for job in jobs if job is not None}
    assert by_kind["declarations.nonfilers"].result["not_filed"] == 2
    assert by_kind["declarations.remind"].result["sent"] == 1
    assert by_kind["declarations.remind"].result["no_address"] == 1

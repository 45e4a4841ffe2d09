"""The cases API at /api/v1/cases: every operation, its refusals, what each role may see, and the schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from probity.cases import services
from probity.cases.models import Case, CaseDocument, CustodyEvent, Draw, Pool, PoolMember, Recusal
from probity.core.models import AuditEntry, Finding, Organisation
from tests.core.test_api import API, assert_error, bearer

pytestmark = pytest.mark.django_db

CASES = f"{API}/cases"

EXPECTED_CASE_OPERATIONS = {
    ("get", "/api/v1/cases"),
    ("post", "/api/v1/cases"),
    ("get", "/api/v1/cases/my-work"),
    ("post", "/api/v1/cases/promote"),
    ("get", "/api/v1/cases/draws"),
    ("post", "/api/v1/cases/draws/verify"),
    ("get", "/api/v1/cases/allocation-report"),
    ("get", "/api/v1/cases/recusals"),
    ("post", "/api/v1/cases/recusals"),
    ("post", "/api/v1/cases/recusals/{recusal_id}/withdraw"),
    ("get", "/api/v1/cases/types"),
    ("get", "/api/v1/cases/statistics"),
    ("get", "/api/v1/cases/{reference}"),
    ("post", "/api/v1/cases/{reference}/findings"),
    ("post", "/api/v1/cases/{reference}/draw"),
    ("post", "/api/v1/cases/{reference}/assign"),
    ("post", "/api/v1/cases/{reference}/take"),
    ("post", "/api/v1/cases/{reference}/status"),
    ("post", "/api/v1/cases/{reference}/notes"),
    ("post", "/api/v1/cases/{reference}/tasks"),
    ("post", "/api/v1/cases/{reference}/tasks/{number}/done"),
    ("post", "/api/v1/cases/{reference}/documents"),
    ("get", "/api/v1/cases/{reference}/documents/{number}"),
    ("post", "/api/v1/cases/{reference}/outcome"),
    ("post", "/api/v1/cases/{reference}/outcome/approve"),
    ("post", "/api/v1/cases/{reference}/outcome/reject"),
}


class Api:
    """A client acting as one user with a bearer token; ``post`` sends JSON."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.client = Client()
        self.headers = bearer(user)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"{CASES}{path}", params, headers=self.headers)

    def post(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        return self.client.post(
            f"{CASES}{path}", json.dumps(payload or {}), content_type="application/json", headers=self.headers
        )


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def no_internals(body: Any) -> None:
    text = json.dumps(body)
    assert "object at 0x" not in text and "<Case" not in text and "Traceback" not in text


# --- the schema ------------------------------------------------------------------------------------------------


def test_the_openapi_schema_lists_every_cases_operation_with_the_error_body() -> None:
    schema = Client().get(f"{API}/openapi.json").json()
    operations = {(method, path) for path, item in schema["paths"].items() for method in item if path.startswith(CASES)}
    assert operations == EXPECTED_CASE_OPERATIONS
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}
    for path, item in schema["paths"].items():
        if not path.startswith(CASES):
            continue
        for method, operation in item.items():
            assert operation["tags"] == ["cases"], (method, path)
            assert operation["security"] == [{"BearerTokenAuth": []}, {"VerifiedSessionAuth": []}]
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    assert answer["content"]["application/json"]["schema"] == error_ref, (method, path, status)
    detail = schema["components"]["schemas"]["CaseDetailOut"]["properties"]
    assert {"timeline", "tasks", "documents", "parties", "findings", "outcomes", "draws"} <= set(detail)


# --- the whole flow ------------------------------------------------------------------------------------------------


def test_a_finding_goes_to_a_closed_case_through_the_api(
    make_officer: Callable[..., User],
    case_admin: User,
    flagged_finding: Finding,
    organisation: Organisation,
) -> None:
    first, second = make_officer("analyst", username="ana-lyst"), make_officer("analyst", username="bo-lyst")
    with_pool = Pool.objects.create(name="Reviewers", case_type_code="procurement-review")
    for officer in (first, second):
        PoolMember.objects.create(pool=with_pool, officer=officer)
    analyst, admin = Api(first), Api(case_admin)

    case = ok(analyst.post("/promote", {"finding_ids": [flagged_finding.pk]}), 201)
    reference = case["reference"]
    assert reference.startswith(f"CASE-{timezone.localdate().year}-")
    assert case["type"] == "procurement-review" and case["status"] == "new" and case["assignee"] is None
    assert [f["id"] for f in case["findings"]] == [flagged_finding.pk]
    assert case["parties"] == [
        {"kind": "organisation", "id": organisation.pk, "name": "Blue River Construction Ltd", "role": ""}
    ]
    assert [t["title"] for t in case["tasks"]] == ["Obtain the tender file", "Check the bidders' ownership"]

    draw = ok(admin.post(f"/{reference}/draw"), 201)
    assert draw["case"] == reference and draw["method"] == "random" and draw["pool"] == "Reviewers"
    assert {e["officer"] for e in draw["eligible"]} == {"ana-lyst", "bo-lyst"}
    assert len(draw["inputs_hash"]) == 64 and draw["seed"]
    worker = analyst if draw["chosen"] == "ana-lyst" else Api(second)
    checker = Api(second) if worker is analyst else analyst

    assert ok(worker.post(f"/{reference}/take"))["assignee"] == worker.user.get_username()  # already theirs
    moved = ok(worker.post(f"/{reference}/status", {"status": "investigation", "reason": "Prices twice the market"}))
    assert moved["status"] == "investigation" and moved["status_name"] == "Investigation"
    note = ok(worker.post(f"/{reference}/notes", {"text": "Call the buyer first."}), 201)
    assert note["handlers_only"] is True and note["kind"] == "note"
    task = ok(worker.post(f"/{reference}/tasks", {"title": "Visit the site", "assignee": "bo-lyst"}), 201)
    assert task == {**task, "number": 3, "assignee": "bo-lyst", "done": False}
    done = ok(worker.post(f"/{reference}/tasks/3/done"))
    assert done["done"] is True and done["done_by"] == worker.user.get_username()

    upload = worker.client.post(
        f"{CASES}/{reference}/documents",
        {
            "file": SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 invoice", "application/pdf"),
            "document_type": "evidence",
        },
        headers=worker.headers,
    )
    document = ok(upload, 201)
    assert document["number"] == 1 and document["document_type"] == "evidence" and document["size"] == 16
    assert len(document["sha256"]) == 64 and [c["action"] for c in document["custody"]] == ["added"]
    download = worker.client.get(f"{CASES}/{reference}/documents/1", headers=worker.headers)
    assert download.status_code == 200 and download.content == b"%PDF-1.4 invoice"
    assert download["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert download["X-Content-SHA256"] == document["sha256"]
    assert CustodyEvent.objects.filter(document__case__reference=reference, action="exported").count() == 1

    missing = worker.post(f"/{reference}/outcome", {"outcome": "fine", "reasoning": "Overpriced."})
    assert "needs: amount of the fine" in assert_error(missing, 400, "bad_request")["message"]
    proposed = ok(
        worker.post(
            f"/{reference}/outcome", {"outcome": "fine", "reasoning": "Overpriced.", "details": {"amount": "5000"}}
        ),
        201,
    )
    assert proposed["state"] == "pending" and proposed["details"] == {"amount": "5000"}
    own = worker.post(f"/{reference}/outcome/approve")
    assert "second officer" in assert_error(own, 409, "conflict")["message"]

    closed = ok(checker.post(f"/{reference}/outcome/approve", {"reason": "Agreed."}))
    assert closed["closed"] is True and closed["status"] == "closed" and closed["retain_until"]
    assert closed["outcomes"][0]["state"] == "approved"
    assert closed["outcomes"][0]["decided_by"] == checker.user.get_username()
    assert "note" not in [event["kind"] for event in closed["timeline"]]  # the approver is not the case's officer
    kinds = [event["kind"] for event in ok(worker.get(f"/{reference}"))["timeline"]]
    for kind in ("opened", "finding", "assigned", "status", "note", "task", "document", "outcome"):
        assert kind in kinds, kind
    assert kinds[-2:] == ["approved", "closed"]
    assert closed["draws"][0]["method"] == "random"
    no_internals(closed)

    again = worker.post(f"/{reference}/status", {"status": "assessment", "reason": "Reopen"})
    assert "is closed" in assert_error(again, 409, "conflict")["message"]


# --- lists, the queue, visibility ------------------------------------------------------------------------------------


def test_the_case_list_filters_and_pages_with_a_cursor(
    make_case: Callable[..., Case], case_admin: User, officers: list[User]
) -> None:
    made = [make_case(title=f"Contract {n}") for n in range(5)]
    services.case_assign(case=made[0], officer=officers[0], reason="Knows the buyer", actor=case_admin)
    Case.objects.filter(pk=made[1].pk).update(due_on=timezone.localdate() - timedelta(days=1))
    screening = make_case(case_type="screening-review", title="Sanctions hit on a supplier")
    admin = Api(case_admin)

    seen: list[str] = []
    cursor = ""
    for _page in range(4):
        page = ok(admin.get("", limit=2, cursor=cursor))
        seen += [c["reference"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c.reference for c in sorted([*made, screening], key=lambda c: -c.pk)]
    assert cursor is None

    def references(**params: Any) -> list[str]:
        return [c["reference"] for c in ok(admin.get("", **params))["items"]]

    assert references(type="screening-review") == [screening.reference]
    assert references(assignee="officer-1") == [made[0].reference]
    assert references(overdue="true") == [made[1].reference]
    assert references(q="contract 3") == [made[3].reference]
    assert references(q=made[2].reference.lower()) == [made[2].reference]
    assert references(status="new", open="true") == [
        c.reference for c in sorted([*made, screening], key=lambda c: -c.pk)
    ]
    assert references(open="false") == []
    row = ok(admin.get("", assignee="officer-1"))["items"][0]
    assert row["assignee"] == "officer-1" and row["type_name"] == "Procurement red-flag review" and not row["overdue"]
    assert_error(admin.get("", cursor="not-a-cursor"), 422, "validation_error")
    assert_error(admin.get("", limit=0), 422, "validation_error")


def test_a_case_the_caller_may_not_see_is_404_and_a_role_without_cases_is_403(
    make_case: Callable[..., Case], make_officer: Callable[..., User], case_auditor: User, officers: list[User]
) -> None:
    report_case = make_case(case_type="protected-report", title="Report about a tender", source="report")
    analyst = Api(make_officer("analyst"))
    assert "There is no case" in assert_error(analyst.get(f"/{report_case.reference}"), 404, "not_found")["message"]
    for path in ("/take", "/notes", "/draw"):
        assert_error(analyst.post(f"/{report_case.reference}{path}", {"text": "x"}), 404, "not_found")
    assert [c["reference"] for c in ok(analyst.get(""))["items"]] == []
    assert_error(analyst.get("/CASE-1999-000001"), 404, "not_found")

    handler = Api(officers[0])  # case handlers work protected reports, but a confidential type only when theirs
    assert_error(handler.get(f"/{report_case.reference}"), 404, "not_found")

    declarant = Api(make_officer("declarant"))
    assert_error(declarant.get(""), 403, "permission_denied")
    assert_error(declarant.get(f"/{report_case.reference}"), 403, "permission_denied")

    services.case_assign(case=report_case, officer=officers[0], reason="On duty", actor=None)
    assert ok(handler.get(f"/{report_case.reference}"))["type"] == "protected-report"
    assert_error(Api(officers[1]).get(f"/{report_case.reference}"), 404, "not_found")  # not theirs

    review = make_case(case_type="procurement-review", title="Tender review")
    services.case_assign(case=review, officer=officers[0], reason="On duty", actor=None)
    services.case_note(case=review, text="Supplier seems afraid.", actor=officers[0])
    services.case_note(case=review, text="Shared line.", actor=officers[0], handlers_only=False)
    colleague_view = ok(Api(officers[1]).get(f"/{review.reference}"))  # works the type, not this case
    texts = [e["text"] for e in colleague_view["timeline"]]
    assert "Shared line." in texts and "Supplier seems afraid." not in texts
    for reader in (officers[0], case_auditor):
        timeline = ok(Api(reader).get(f"/{review.reference}"))["timeline"]
        assert "Supplier seems afraid." in [e["text"] for e in timeline]


def test_my_work_lists_my_cases_my_tasks_and_what_i_may_take(
    make_case: Callable[..., Case], case_admin: User, officers: list[User]
) -> None:
    mine = make_case(title="Mine")
    services.case_assign(case=mine, officer=officers[0], reason="Specialist", actor=case_admin)
    other = make_case(title="Someone else's")
    services.case_assign(case=other, officer=officers[1], reason="Specialist", actor=case_admin)
    services.task_add(case=other, title="Help with the figures", actor=officers[1], assignee=officers[0])
    queue = ok(Api(officers[0]).get("/my-work"))
    assert [c["reference"] for c in queue["cases"]] == [mine.reference]
    titles = {(t["case"], t["title"]) for t in queue["tasks"]}
    assert (other.reference, "Help with the figures") in titles
    assert (mine.reference, "Obtain the tender file") in titles
    assert next(t for t in queue["tasks"] if t["title"] == "Help with the figures")["number"] == 3
    free = make_case(title="Nobody's yet")
    queue = ok(Api(officers[0]).get("/my-work"))
    assert [c["reference"] for c in queue["unassigned"]] == [free.reference]
    taken = ok(Api(officers[0]).post(f"/{free.reference}/take"))
    assert taken["assignee"] == "officer-1" and taken["timeline"][-1]["kind"] == "taken"
    assert ok(Api(officers[0]).get("/my-work"))["unassigned"] == []
    assert_error(Api(case_admin).get("/my-work"), 403, "permission_denied")


# --- refusals --------------------------------------------------------------------------------------------------------


def test_refusals_answer_the_error_body_with_the_services_sentence(
    make_case: Callable[..., Case],
    make_officer: Callable[..., User],
    case_admin: User,
    officers: list[User],
    pool: Pool,
    flagged_finding: Finding,
) -> None:
    case = make_case(case_type="conflict-of-interest", title="No pool for this type")
    admin, handler = Api(case_admin), Api(officers[0])
    no_pool = admin.post(f"/{case.reference}/draw")
    assert "There is no pool of officers" in assert_error(no_pool, 409, "conflict")["message"]
    no_reason = admin.post(f"/{case.reference}/assign", {"username": "officer-1", "reason": " "})
    assert "needs a reason" in assert_error(no_reason, 400, "bad_request")["message"]
    nobody = admin.post(f"/{case.reference}/assign", {"username": "nobody", "reason": "x"})
    assert "There is no user nobody" in assert_error(nobody, 400, "bad_request")["message"]
    assert_error(handler.post(f"/{case.reference}/draw"), 403, "permission_denied")

    ok(admin.post(f"/{case.reference}/assign", {"username": "officer-2", "reason": "Knows the field"}), 201)
    taken = handler.post(f"/{case.reference}/take")
    assert "already assigned to officer-2" in assert_error(taken, 409, "conflict")["message"]
    not_mine = handler.post(f"/{case.reference}/status", {"status": "assessment", "reason": "x"})
    assert "Only the officer assigned" in assert_error(not_mine, 403, "permission_denied")["message"]
    second = Api(officers[1])
    final = second.post(f"/{case.reference}/status", {"status": "closed", "reason": "Done"})
    assert "closes only with an outcome" in assert_error(final, 409, "conflict")["message"]
    unknown = second.post(f"/{case.reference}/status", {"status": "nowhere", "reason": "x"})
    assert "has no status 'nowhere'" in assert_error(unknown, 400, "bad_request")["message"]
    assert_error(second.post(f"/{case.reference}/notes", {"text": "  "}), 400, "bad_request")
    assert_error(second.post(f"/{case.reference}/tasks/9/done"), 404, "not_found")
    assert_error(second.post(f"/{case.reference}/outcome/approve"), 409, "conflict")  # nothing proposed
    assert_error(second.post(f"/{case.reference}/outcome", {"outcome": "fine"}), 422, "validation_error")
    bad_type = second.client.post(
        f"{CASES}/{case.reference}/documents",
        {"file": SimpleUploadedFile("a.txt", b"a"), "document_type": "tender-file"},
        headers=second.headers,
    )
    assert "has no document type tender-file" in assert_error(bad_type, 400, "bad_request")["message"]

    analyst = Api(make_officer("analyst"))
    ok(analyst.post("/promote", {"finding_ids": [flagged_finding.pk]}), 201)
    twice = analyst.post("/promote", {"finding_ids": [flagged_finding.pk]})
    assert "is already in case" in assert_error(twice, 409, "conflict")["message"]
    assert_error(analyst.post("/promote", {"finding_ids": [987654]}), 404, "not_found")
    assert_error(handler.post("/promote", {"finding_ids": [flagged_finding.pk]}), 403, "permission_denied")
    unknown_type = analyst.post("", {"type": "no-such-type", "title": "x"})
    assert "There is no case type 'no-such-type'" in assert_error(unknown_type, 400, "bad_request")["message"]
    assert_error(
        analyst.post("", {"type": "procurement-review", "title": "x", "complexity": 9}), 422, "validation_error"
    )


def test_opening_by_hand_and_joining_findings(
    make_officer: Callable[..., User], make_finding: Callable[..., Finding], person: Any, body: Any
) -> None:
    analyst = Api(make_officer("analyst"))
    opened = ok(
        analyst.post(
            "",
            {
                "type": "conflict-of-interest",
                "title": "Minister's brother wins contracts",
                "body_id": body.pk,
                "person_ids": [person.pk],
                "priority": "high",
                "complexity": 3,
            },
        ),
        201,
    )
    assert opened["body"] == "Ministry of Roads" and opened["priority"] == "high"
    assert opened["parties"][0]["name"] == "Ana Petrović" and opened["source"] == "manual"
    findings = [make_finding(), make_finding()]
    services.case_assign(
        case=Case.objects.get(reference=opened["reference"]), officer=analyst.user, reason="Opened it", actor=None
    )
    joined = ok(analyst.post(f"/{opened['reference']}/findings", {"finding_ids": [f.pk for f in findings]}))
    assert joined == {"joined": 2, "message": f"2 findings joined case {opened['reference']}."}
    assert len(ok(analyst.get(f"/{opened['reference']}"))["findings"]) == 2


# --- documents -----------------------------------------------------------------------------------------------------


def test_a_document_whose_bytes_changed_is_refused_and_the_mismatch_logged(
    open_case: Case, officers: list[User], case_admin: User, case_files: Path
) -> None:
    services.case_assign(case=open_case, officer=officers[0], reason="Evidence clerk", actor=case_admin)
    handler = Api(officers[0])
    upload = handler.client.post(
        f"{CASES}/{open_case.reference}/documents",
        {"file": SimpleUploadedFile("ledger.csv", b"date,amount\n2026-01-01,5\n", "text/csv")},
        headers=handler.headers,
    )
    sha = ok(upload, 201)["sha256"]
    stored = case_files / sha[:2] / sha
    stored.chmod(0o600)
    stored.write_bytes(b"date,amount\n2026-01-01,500\n")
    answer = handler.client.get(f"{CASES}/{open_case.reference}/documents/1", headers=handler.headers)
    message = assert_error(answer, 409, "conflict")["message"]
    assert "ledger.csv" in message and "no longer matches" in message
    document = CaseDocument.objects.get(case=open_case)
    assert list(document.custody.values_list("action", flat=True)) == ["added", "mismatch"]
    assert AuditEntry.objects.filter(action="document_mismatch").exists()
    assert_error(
        handler.client.get(f"{CASES}/{open_case.reference}/documents/2", headers=handler.headers), 404, "not_found"
    )


# --- allocation: draws, verification, report, recusals --------------------------------------------------------------


def test_the_allocation_register_re_runs_draws_and_finds_a_tampered_one(
    make_case: Callable[..., Case], case_admin: User, case_auditor: User, officers: list[User], pool: Pool
) -> None:
    cases = [make_case(title=f"Draw {n}") for n in range(3)]
    for case in cases:
        services.case_draw(case=case, actor=case_admin)
    services.case_assign(case=cases[0], officer=officers[2], reason="Urgent", actor=case_admin)
    auditor = Api(case_auditor)

    register = ok(auditor.get("/draws"))
    assert [d["method"] for d in register["items"]] == ["manual", "random", "random", "random"]
    assert register["items"][0]["reason"] == "Urgent" and register["items"][0]["chosen"] == "officer-3"
    assert ok(auditor.get("/draws", case=cases[1].reference))["items"][0]["case"] == cases[1].reference
    first_page = ok(auditor.get("/draws", limit=3))
    assert len(first_page["items"]) == 3
    assert len(ok(auditor.get("/draws", limit=3, cursor=first_page["next_cursor"]))["items"]) == 1

    verified = ok(auditor.post("/draws/verify", {"all": True}))
    assert verified == {**verified, "checked": 3, "failed": 0, "problems": []}
    assert verified["message"] == "All 3 draws give the same officer when run again."

    tampered = Draw.objects.get(case=cases[1], method="random")
    other = next(o for o in officers if o.pk != tampered.chosen_id)
    Draw.objects.filter(pk=tampered.pk).update(chosen=other)
    checked = ok(auditor.post("/draws/verify", {"cases": [cases[1].reference, cases[2].reference]}))
    assert checked["checked"] == 2 and checked["failed"] == 1
    assert checked["problems"][0]["case"] == cases[1].reference
    assert "picks a different officer" in checked["problems"][0]["sentence"]
    assert checked["message"] == "1 of 2 draws failed the re-run."
    assert_error(auditor.post("/draws/verify", {}), 400, "bad_request")
    assert_error(auditor.post("/draws/verify", {"cases": ["CASE-1999-000009"]}), 404, "not_found")
    assert_error(Api(officers[0]).get("/draws"), 403, "permission_denied")

    admin = Api(case_admin)
    no_reason = admin.post(f"/{cases[2].reference}/draw")
    assert "drawing it again needs a reason" in assert_error(no_reason, 409, "conflict")["message"]
    holder = cases[2].assignee
    assert holder is not None
    again = ok(admin.post(f"/{cases[2].reference}/draw", {"reason": "The officer fell ill"}), 201)
    assert again["reason"] == "The officer fell ill" and again["chosen"] != holder.get_username()
    assert {"officer": holder.get_username(), "reason": "held the case before this draw"} in again["excluded"]

    report = ok(auditor.get("/allocation-report"))
    assert report["allocators"] == [
        {"allocated_by": "case-admin", "random": 4, "manual": 1, "total": 5, "manual_share": 0.2}
    ]
    assert report["pools"][0]["pool"] == "Procurement reviewers" and report["pools"][0]["available"] == 3
    assert report["pools"][0]["warning"] == ""


def test_recusals_are_declared_listed_withdrawn_and_keep_an_officer_out_of_a_draw(
    make_case: Callable[..., Case],
    make_pool: Callable[..., Pool],
    officers: list[User],
    case_admin: User,
    organisation: Organisation,
) -> None:
    make_pool("procurement-review", officers[:2], name="Two reviewers")
    case = make_case(organisations=[organisation])
    declared = ok(
        Api(officers[0]).post("/recusals", {"organisation_id": organisation.pk, "reason": "My brother owns it"}), 201
    )
    assert declared["officer"] == "officer-1" and declared["organisation"] == "Blue River Construction Ltd"
    assert declared["withdrawn_at"] is None
    assert_error(Api(officers[0]).post("/recusals", {"reason": "Vague"}), 400, "bad_request")
    stranger = Organisation.objects.create(name="Unrelated Ltd")
    unseen = Api(officers[0]).post("/recusals", {"organisation_id": stranger.pk, "reason": "x"})
    assert "There is no organisation" in assert_error(unseen, 404, "not_found")["message"]
    assert_error(
        Api(officers[0]).post("/recusals", {"officer": "officer-2", "reason": "x", "organisation_id": organisation.pk}),
        403,
        "permission_denied",
    )
    assert [r["id"] for r in ok(Api(officers[1]).get("/recusals"))] == []
    assert [r["officer"] for r in ok(Api(case_admin).get("/recusals"))] == ["officer-1"]

    admin = Api(case_admin)
    single = admin.post(f"/{case.reference}/draw")
    assert "only one officer" in assert_error(single, 409, "conflict")["message"]
    drawn = ok(admin.post(f"/{case.reference}/draw", {"allow_single": True}), 201)
    assert drawn["chosen"] == "officer-2"
    assert drawn["excluded"] == [
        {"officer": "officer-1", "reason": "recused: conflict with Blue River Construction Ltd"}
    ]

    assert_error(Api(officers[1]).post(f"/recusals/{declared['id']}/withdraw"), 404, "not_found")
    withdrawn = ok(Api(officers[0]).post(f"/recusals/{declared['id']}/withdraw"))
    assert withdrawn["withdrawn_at"] is not None
    assert_error(Api(officers[0]).post(f"/recusals/{declared['id']}/withdraw"), 409, "conflict")
    assert ok(Api(case_admin).get("/recusals")) == []
    assert len(ok(Api(case_admin).get("/recusals", current="false"))) == 1
    assert Recusal.objects.get().withdrawn_at is not None


# --- catalogue and statistics ---------------------------------------------------------------------------------------


def test_case_types_and_statistics(
    make_case: Callable[..., Case],
    case_admin: User,
    case_auditor: User,
    officers: list[User],
    make_officer: Callable[..., User],
) -> None:
    used = make_case()
    services.case_type_revise(case_type=used.case_type, changes={"lead_time_days": 45}, actor=case_admin)
    types = {t["code"]: t for t in ok(Api(officers[0]).get("/types"))}
    assert set(types) >= {
        "declaration-verification",
        "procurement-review",
        "conflict-of-interest",
        "protected-report",
        "screening-review",
    }
    review = types["procurement-review"]
    assert review["current_version"] == 2 and [v["version"] for v in review["versions"]] == [2, 1]
    assert review["versions"][0]["current"] and review["versions"][0]["lead_time_days"] == 45
    assert review["versions"][1]["cases"] == 1
    fine = next(o for o in review["versions"][0]["outcome_types"] if o["code"] == "fine")
    assert fine["fields"] == [{"name": "amount", "label": "Amount of the fine"}]
    assert types["protected-report"]["versions"][0]["acknowledge_days"] == 7
    assert_error(Api(make_officer("declarant")).get("/types"), 403, "permission_denied")

    services.case_assign(case=used, officer=officers[0], reason="x", actor=case_admin)
    services.outcome_propose(case=used, outcome_type="no-violation", reasoning="Prices were fair.", actor=officers[0])
    services.outcome_approve(outcome=used.outcomes.get(), actor=officers[1])
    make_case(title="Still open")
    figures = ok(Api(case_auditor).get("/statistics"))
    assert (figures["opened"], figures["open"], figures["closed"]) == (2, 1, 1)
    assert figures["closed_on_time_share"] == 1.0
    assert figures["by_outcome"] == [{"key": "no_violation", "label": "No violation", "cases": 1}]
    assert {"key": "procurement-review", "label": "Procurement red-flag review", "cases": 2} in figures["by_type"]
    assert {"key": "", "label": "No body", "cases": 2} in figures["by_body"]
    assert_error(Api(make_officer("declarant")).get("/statistics"), 403, "permission_denied")

"""The set-up and oversight pages of cases: the case-type catalogue (editing a used type makes a new version),
pools and their warnings, declared conflicts, the allocation register with its re-runs, and the statistics;
each refused to those without the permission."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from probity.cases import manage_forms, services
from probity.cases.models import Case, CaseType, Draw, Pool, PoolMember, Recusal
from probity.core.models import AuditEntry, Person, PublicBody
from tests.reporting.test_accessibility import check_structure

pytestmark = pytest.mark.django_db

TYPE = "procurement-review"


def text_of(response: Any) -> str:
    """The page as a reader sees it: tags dropped, spaces collapsed."""
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def ok(response: Any) -> str:
    assert response.status_code == 200, (response.status_code, response.content.decode()[:800])
    html = response.content.decode()
    assert "Traceback" not in html
    return str(html)


def form_data(case_type: CaseType) -> dict[str, Any]:
    """What the edit page posts when nothing is changed: the type's fields and its four formsets."""
    data: dict[str, Any] = {}
    form = manage_forms.CaseTypeForm(case_type=case_type)
    for field in form:
        value = field.value()
        if isinstance(value, list):
            data[field.html_name] = value
        elif isinstance(value, date):
            data[field.html_name] = value.isoformat()
        elif value is not None:
            data[field.html_name] = str(value)
    for _prefix, _caption, formset in manage_forms.case_type_formsets(case_type):
        for field in formset.management_form:
            data[field.html_name] = str(field.value())
        for row in formset.forms:
            for field in row:
                value = field.value()
                if field.name == "DELETE":
                    continue
                if isinstance(value, bool):
                    if value:
                        data[field.html_name] = "on"
                elif value is not None:
                    data[field.html_name] = str(value)
    return data


def rows_of(data: dict[str, Any], prefix: str) -> int:
    return int(data[f"{prefix}-TOTAL_FORMS"])


@pytest.fixture
def admin(verified_client: Callable[..., Client]) -> Client:
    return verified_client("administrator")


@pytest.fixture
def auditor(verified_client: Callable[..., Client]) -> Client:
    return verified_client("auditor")


@pytest.fixture
def handler(verified_client: Callable[..., Client]) -> Client:
    return verified_client("case_handler")


@pytest.fixture
def outsider(verified_client: Callable[..., Client]) -> Client:
    """Signed in, second factor passed, and no right to any page of cases."""
    return verified_client("declarant")


# --- refusals ----------------------------------------------------------------------------------------------------


def test_each_page_is_refused_without_its_permission(outsider: Client, handler: Client) -> None:
    for name, args in (
        ("cases:types", []),
        ("cases:type_detail", [TYPE]),
        ("cases:type_edit", [TYPE]),
        ("cases:pools", []),
        ("cases:recusals", []),
        ("cases:allocation", []),
        ("cases:statistics", []),
    ):
        assert outsider.get(reverse(name, args=args)).status_code == 403, name
    # Case handlers read the catalogue and the pools but edit neither and audit no allocation.
    assert handler.get(reverse("cases:type_edit", args=[TYPE])).status_code == 403
    assert handler.post(reverse("cases:type_edit", args=[TYPE]), {}).status_code == 403
    assert handler.get(reverse("cases:allocation")).status_code == 403
    assert handler.post(reverse("cases:allocation"), {"action": "rerun_all"}).status_code == 403
    assert handler.post(reverse("cases:pools"), {"name": "Mine", "case_type_code": TYPE}).status_code == 403
    assert not Pool.objects.exists()


# --- the catalogue ------------------------------------------------------------------------------------------------


def test_readers_see_the_catalogue_without_editing_it(handler: Client) -> None:
    page = text_of(handler.get(reverse("cases:types")))
    assert "Procurement red-flag review" in page
    assert "Declaration verification" in page
    assert "New cases get version 1." in page
    assert "administrators edit it" in page
    html = ok(handler.get(reverse("cases:type_detail", args=[TYPE])))
    assert reverse("cases:type_edit", args=[TYPE]) not in html
    detail = text_of(handler.get(reverse("cases:type_detail", args=[TYPE])))
    assert "Investigation" in detail and "Referral to prosecution" in detail and "Tender file" in detail
    assert handler.get(reverse("cases:type_detail", args=["no-such-type"])).status_code == 404


def test_editing_a_used_type_makes_version_2_and_the_case_keeps_version_1(admin: Client) -> None:
    actor = admin.user  # type: ignore[attr-defined]
    first = CaseType.objects.get(code=TYPE, version=1)
    case = services.case_open(case_type=TYPE, title="Split contracts at the port", actor=actor)
    edit = reverse("cases:type_edit", args=[TYPE])
    page = text_of(admin.get(edit))
    assert "1 case was opened under version 1 and keeps it" in page
    assert "new cases get version 2" in page

    data = form_data(first)
    data["lead_time_days"] = "120"
    data["roles"] = ["case_handler"]
    statuses = list(first.statuses.order_by("order", "pk"))
    renamed = next(i for i, s in enumerate(statuses) if s.code == "investigation")
    data[f"statuses-{renamed}-name"] = "Inquiry"
    documents = list(first.document_types.all())
    dropped = next(i for i, d in enumerate(documents) if d.code == "tender-file")
    data[f"documents-{dropped}-DELETE"] = "on"
    extra = rows_of(data, "outcomes") - 1
    data.update(
        {
            f"outcomes-{extra}-code": "",
            f"outcomes-{extra}-kind": "debarment",
            f"outcomes-{extra}-name": "Exclusion from public tenders",
            f"outcomes-{extra}-retention_years": "15",
        }
    )
    response = admin.post(edit, data)
    assert response.status_code == 302, response.content.decode()[:3000]

    second = CaseType.objects.get(code=TYPE, version=2)
    first.refresh_from_db()
    case.refresh_from_db()
    assert case.case_type_id == first.pk, "the case keeps the version it was opened under"
    assert second.lead_time_days == 120 and first.lead_time_days == 90
    assert second.roles == ["case_handler"]
    assert first.valid_until == timezone.localdate() - timedelta(days=1)
    assert second.statuses.get(code="investigation").name == "Inquiry"
    assert first.statuses.get(code="investigation").name == "Investigation"
    assert not second.document_types.filter(code="tender-file").exists()
    assert first.document_types.filter(code="tender-file").exists()
    added = second.outcome_types.get(name="Exclusion from public tenders")
    assert (added.code, added.kind, added.retention_years) == ("exclusion-from-public-tenders", "debarment", 15)
    assert not first.outcome_types.filter(name="Exclusion from public tenders").exists()
    assert second.statuses.count() == first.statuses.count()
    assert second.task_templates.count() == first.task_templates.count()
    assert AuditEntry.objects.filter(action="case_type_changed", object_id=str(second.pk)).exists()

    detail = text_of(admin.get(reverse("cases:type_detail", args=[TYPE])))
    assert "New cases get version 2." in detail
    assert "Version 1" in detail and "Inquiry" in detail
    assert services.case_open(case_type=TYPE, title="Another", actor=actor).case_type_id == second.pk


def test_editing_an_unused_type_changes_it_in_place(admin: Client) -> None:
    unused = CaseType.objects.get(code="conflict-of-interest", version=1)
    data = form_data(unused)
    data["name"] = "Conflict-of-interest inquiry (revised)"
    data["valid_until"] = (timezone.localdate() + timedelta(days=365)).isoformat()
    extra = rows_of(data, "tasks") - 1
    data.update(
        {f"tasks-{extra}-order": "9", f"tasks-{extra}-title": "Hear the official", f"tasks-{extra}-due_days": "5"}
    )
    response = admin.post(reverse("cases:type_edit", args=["conflict-of-interest"]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert CaseType.objects.filter(code="conflict-of-interest").count() == 1
    unused.refresh_from_db()
    assert unused.name == "Conflict-of-interest inquiry (revised)"
    assert unused.task_templates.filter(title="Hear the official", due_days=5).exists()


def test_a_type_without_a_closing_status_is_refused_with_a_sentence(admin: Client) -> None:
    case_type = CaseType.objects.get(code=TYPE, version=1)
    data = form_data(case_type)
    for key in [k for k in data if k.startswith("statuses-") and k.endswith("-final")]:
        del data[key]
    data["lead_time_days"] = "0"
    response = admin.post(reverse("cases:type_edit", args=[TYPE]), data)
    assert response.status_code == 400
    page = text_of(response)
    assert "At least one status must close the case." in page
    assert "Ensure this value is greater than or equal to 1." in page
    assert CaseType.objects.filter(code=TYPE).count() == 1
    assert case_type.statuses.filter(final=True).exists()


def test_unchanged_edit_saves_nothing(admin: Client) -> None:
    case_type = CaseType.objects.get(code=TYPE, version=1)
    services.case_open(case_type=TYPE, title="Used", actor=admin.user)  # type: ignore[attr-defined]
    response = admin.post(reverse("cases:type_edit", args=[TYPE]), form_data(case_type), follow=True)
    assert "Nothing was changed." in text_of(response)
    assert CaseType.objects.filter(code=TYPE).count() == 1


# --- pools --------------------------------------------------------------------------------------------------------


def test_pools_warn_of_too_few_officers_and_every_change_is_audited(
    admin: Client, handler: Client, make_user: Callable[..., User]
) -> None:
    response = admin.post(
        reverse("cases:pools"), {"name": "Procurement reviewers", "case_type_code": TYPE, "body": "", "active": "on"}
    )
    assert response.status_code == 302
    pool = Pool.objects.get()
    detail = reverse("cases:pool_detail", args=[pool.pk])
    assert "No officer in the pool Procurement reviewers can be drawn" in text_of(admin.get(detail))
    assert "No officer in the pool Procurement reviewers can be drawn" in text_of(admin.get(reverse("cases:pools")))

    ana = make_user("case_handler", username="ana")
    ben = make_user("analyst", username="ben")
    make_user("auditor", username="auditor-x")
    choices = admin.get(detail).content.decode()
    assert ">ana<" in choices and ">ben<" in choices and "auditor-x" not in choices, "only officers who work cases"
    assert admin.post(detail, {"action": "add", "add-officer": ana.pk, "add-weight": "1"}).status_code == 302
    page = text_of(admin.get(detail))
    assert "Only one officer in the pool Procurement reviewers can be drawn (ana)" in page
    assert admin.post(detail, {"action": "add", "add-officer": ben.pk, "add-weight": "0.5"}).status_code == 302
    assert "Warning:" not in text_of(admin.get(detail))

    member = PoolMember.objects.get(officer=ana)
    prefix = f"m{member.pk}"
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    refused = admin.post(
        detail,
        {"action": "member", "member": member.pk, f"{prefix}-weight": "1", f"{prefix}-absent_until": tomorrow},
    )
    assert refused.status_code == 400
    assert "Say why the officer is absent." in text_of(refused)
    saved = admin.post(
        detail,
        {
            "action": "member",
            "member": member.pk,
            f"{prefix}-weight": "0.8",
            f"{prefix}-absent_until": tomorrow,
            f"{prefix}-absence_reason": "training",
        },
    )
    assert saved.status_code == 302
    member.refresh_from_db()
    assert (member.weight, member.absent_until, member.absence_reason) == (
        0.8,
        timezone.localdate() + timedelta(days=1),
        "training",
    )
    page = text_of(admin.get(detail))
    assert "Only one officer in the pool Procurement reviewers can be drawn (ben)" in page
    assert "absent until" in page and "training" in page

    # Readers see the pool and change nothing.
    read = ok(handler.get(detail))
    assert "Add an officer" not in read and "ana" in read
    assert handler.post(detail, {"action": "remove", "member": member.pk}).status_code == 403

    assert admin.post(detail, {"action": "remove", "member": member.pk}).status_code == 302
    assert not PoolMember.objects.filter(pk=member.pk).exists()
    entries = AuditEntry.objects.filter(object_type="cases.poolmember")
    assert set(entries.values_list("action", flat=True)) >= {"create", "update", "delete"}
    assert set(entries.values_list("actor", flat=True)) == {admin.user.get_username()}  # type: ignore[attr-defined]
    assert AuditEntry.objects.filter(object_type="cases.pool", action="create").exists()

    duplicate = admin.post(reverse("cases:pools"), {"name": "Again", "case_type_code": TYPE, "body": ""})
    assert duplicate.status_code == 400
    assert "There is already a pool for this case type and body." in text_of(duplicate)


# --- recusals -----------------------------------------------------------------------------------------------------


def test_an_officer_declares_and_withdraws_a_conflict(
    verified_client: Callable[..., Client], admin: Client, auditor: Client, handler: Client
) -> None:
    Person.objects.create(name="Jane Roe")
    Person.objects.create(name="Janet Doe")
    analyst = verified_client("analyst")
    page = text_of(analyst.get(reverse("cases:recusals"), {"what": "person", "q": "jan"}))
    assert "Jane Roe" in page and "Janet Doe" in page
    jane = Person.objects.get(name="Jane Roe")

    missing = analyst.post(
        reverse("cases:recusals"), {"action": "declare", "what": "person", "q": "jan", "target": jane.pk, "reason": ""}
    )
    assert missing.status_code == 400
    response = analyst.post(
        reverse("cases:recusals"),
        {"action": "declare", "what": "person", "q": "jan", "target": jane.pk, "reason": "She is my sister-in-law."},
    )
    assert response.status_code == 302
    recusal = Recusal.objects.get()
    assert (recusal.officer, recusal.person, recusal.reason) == (analyst.user, jane, "She is my sister-in-law.")  # type: ignore[attr-defined]
    mine = text_of(analyst.get(reverse("cases:recusals")))
    assert "Person: Jane Roe" in mine and "She is my sister-in-law." in mine

    # Someone else can neither see nor withdraw it; administrators and auditors see every declaration.
    assert "Jane Roe" not in text_of(handler.get(reverse("cases:recusals")))
    assert handler.post(reverse("cases:recusals"), {"action": "withdraw", "recusal": recusal.pk}).status_code == 404
    for overseer in (admin, auditor):
        seen = text_of(overseer.get(reverse("cases:recusals")))
        assert "Jane Roe" in seen and analyst.user.get_username() in seen  # type: ignore[attr-defined]
    assert auditor.post(reverse("cases:recusals"), {"action": "withdraw", "recusal": recusal.pk}).status_code == 403

    assert analyst.post(reverse("cases:recusals"), {"action": "withdraw", "recusal": recusal.pk}).status_code == 302
    recusal.refresh_from_db()
    assert recusal.withdrawn_at is not None
    assert AuditEntry.objects.filter(object_type="cases.recusal", action="update").exists()


def test_an_officer_who_may_not_browse_people_finds_them_by_full_name_only(handler: Client) -> None:
    jane = Person.objects.create(name="Jane Roe")
    body = PublicBody.objects.create(name="Port Authority")
    assert "Jane Roe" not in text_of(handler.get(reverse("cases:recusals"), {"what": "person", "q": "jan"}))
    assert "Jane Roe" in text_of(handler.get(reverse("cases:recusals"), {"what": "person", "q": "jane roe"}))
    # An id outside what the search found is refused: nobody reads names by guessing ids.
    refused = handler.post(
        reverse("cases:recusals"),
        {"action": "declare", "what": "person", "q": "jan", "target": jane.pk, "reason": "Neighbour."},
    )
    assert refused.status_code == 400 and not Recusal.objects.exists()
    assert "Port Authority" in text_of(handler.get(reverse("cases:recusals"), {"what": "body", "q": "port"}))
    response = handler.post(
        reverse("cases:recusals"),
        {"action": "declare", "what": "body", "q": "port", "target": body.pk, "reason": "I worked there until May."},
    )
    assert response.status_code == 302
    assert Recusal.objects.get().body == body


# --- the allocation register --------------------------------------------------------------------------------------


@pytest.fixture
def allocated(admin: Client, make_user: Callable[..., User]) -> dict[str, Any]:
    """A pool of two officers, a drawn case, a case assigned by hand and a refused draw."""
    actor = admin.user  # type: ignore[attr-defined]
    ana, ben = make_user("case_handler", username="ana"), make_user("case_handler", username="ben")
    pool = Pool.objects.create(name="Reviewers", case_type_code=TYPE)
    PoolMember.objects.create(pool=pool, officer=ana)
    PoolMember.objects.create(pool=pool, officer=ben, absent_until=timezone.localdate(), absence_reason="leave")
    lonely = services.case_open(case_type=TYPE, title="One officer only", actor=actor)
    with pytest.raises(services.CaseError):
        services.case_draw(case=lonely, actor=actor, seed="s0")
    PoolMember.objects.filter(officer=ben).update(absent_until=None, absence_reason="")
    drawn = services.case_open(case_type=TYPE, title="Split contracts", actor=actor)
    draw = services.case_draw(case=drawn, actor=actor, seed="a-known-seed")
    manual = services.case_open(case_type=TYPE, title="Urgent matter", actor=actor)
    services.case_assign(case=manual, officer=ben, reason="Only Ben reads Portuguese.", actor=actor)
    return {"draw": draw, "drawn": drawn, "manual": manual, "lonely": lonely}


def test_the_register_shows_every_allocation_and_the_report(auditor: Client, allocated: dict[str, Any]) -> None:
    draw: Draw = allocated["draw"]
    response = auditor.get(reverse("cases:allocation"))
    html = ok(response)
    page = text_of(response)
    assert allocated["drawn"].reference in page and allocated["manual"].reference in page
    assert "Random draw" in page and "Manual assignment" in page
    assert draw.seed in html and draw.inputs_hash in html
    assert "Only Ben reads Portuguese." in page
    assert draw.chosen is not None and draw.chosen.get_username() in page
    assert page.index(allocated["manual"].reference) < page.index(allocated["drawn"].reference), "newest first"
    # The report: the administrator made one draw and one manual assignment (50 % by hand).
    admin_name = draw.drawn_by
    assert re.search(rf"{admin_name} 1 1 2 50\.0 %", page), page
    # The refused draw, with its reason.
    assert allocated["lonely"].reference in page
    assert "has only one officer who can be drawn" in page
    assert "{" not in page.split("Allocations", 1)[1], "no JSON reaches the reader"


def test_a_rerun_picks_the_same_officer_and_a_tampered_draw_no_longer_matches(
    auditor: Client, allocated: dict[str, Any]
) -> None:
    draw: Draw = allocated["draw"]
    url = reverse("cases:allocation")
    same = text_of(auditor.post(url, {"action": "rerun", "draw": draw.pk}))
    assert "picks the same officer" in same
    everything = text_of(auditor.post(url, {"action": "rerun_all"}))
    assert "1 draw was re-run and picks the same officer." in everything

    inputs = dict(draw.inputs)
    inputs["excluded"] = [*inputs["excluded"], {"officer": 999, "name": "someone", "reason": "quietly removed"}]
    Draw.objects.filter(pk=draw.pk).update(inputs=inputs)
    tampered = auditor.post(url, {"action": "rerun", "draw": draw.pk})
    assert tampered.status_code == 200
    page = text_of(tampered)
    assert "does not match" in page and "no longer match their hash" in page
    assert allocated["drawn"].reference in page
    all_again = text_of(auditor.post(url, {"action": "rerun_all"}))
    assert "1 of 1 re-run draw does not match its record." in all_again
    assert AuditEntry.objects.filter(action="draws_verified").count() == 4
    manual = Draw.objects.get(method=Draw.Method.MANUAL)
    assert auditor.post(url, {"action": "rerun", "draw": manual.pk}).status_code == 404


# --- statistics ---------------------------------------------------------------------------------------------------


def test_statistics_as_labelled_tables_with_a_period(
    auditor: Client, handler: Client, make_user: Callable[..., User]
) -> None:
    officer, second = handler.user, make_user("verifier")  # type: ignore[attr-defined]
    body = PublicBody.objects.create(name="Ministry of Works")
    closed = services.case_open(case_type=TYPE, title="Closed", actor=officer, body=body)
    services.case_open(case_type=TYPE, title="Open", actor=officer)
    services.case_take(case=closed, actor=officer)
    outcome = services.outcome_propose(
        case=closed, outcome_type="no-violation", reasoning="Prices were fair.", actor=officer
    )
    services.outcome_approve(outcome=outcome, actor=second)
    assert Case.objects.filter(closed=True).count() == 1

    response = auditor.get(reverse("cases:statistics"))
    ok(response)
    page = text_of(response)
    assert "Opened 2" in page and "Still open 1" in page and "Closed 1" in page
    assert "Closed within the deadline 100.0 %" in page
    assert "Procurement red-flag review 2" in page
    assert "Ministry of Works 1" in page and "No body named 1" in page
    assert "No violation 1" in page, "outcome kinds by their label"
    assert "no_violation" not in page

    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    later = text_of(auditor.get(reverse("cases:statistics"), {"since": tomorrow}))
    assert "Opened 0" in later
    wrong = auditor.get(reverse("cases:statistics"), {"since": tomorrow, "until": "2000-01-01"})
    assert wrong.status_code == 400
    assert "The end of the period comes before its start." in text_of(wrong)
    assert handler.get(reverse("cases:statistics")).status_code == 200


# --- every page: labelled controls and ordered headings -----------------------------------------------------------


def test_every_page_labels_its_controls_and_links_the_others(admin: Client, allocated: dict[str, Any]) -> None:
    pool = Pool.objects.get()
    Person.objects.create(name="Jane Roe")
    pages = {
        "types": reverse("cases:types"),
        "type": reverse("cases:type_detail", args=[TYPE]),
        "old version": reverse("cases:type_detail", args=[TYPE, 1]),
        "edit": reverse("cases:type_edit", args=[TYPE]),
        "pools": reverse("cases:pools"),
        "pool": reverse("cases:pool_detail", args=[pool.pk]),
        "recusals": reverse("cases:recusals") + "?what=body&q=x",
        "allocation": reverse("cases:allocation"),
        "statistics": reverse("cases:statistics"),
    }
    for name, url in pages.items():
        html = ok(admin.get(url))
        check_structure(html, name)
        for other in ("cases:types", "cases:pools", "cases:allocation", "cases:statistics"):
            assert f'href="{reverse(other)}"' in html, (name, other)

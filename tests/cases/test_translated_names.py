"""Names of the shipped catalogue and timeline lines are stored in English (msgids) and translated when shown:
the Chinese reader sees Chinese, the English reader the same English sentences as before, a name an
administrator typed comes back unchanged, and no translation is ever stored."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from probity.cases import services
from probity.cases.models import Case, CaseEvent, CaseType, StatusType, TaskTemplate
from probity.cases.names import shown
from tests.cases.test_api import Api, ok
from tests.cases.test_manage_pages import form_data, text_of

pytestmark = pytest.mark.django_db

TYPE = "procurement-review"


def chinese(client: Client) -> Client:
    client.cookies["django_language"] = "zh-hans"
    return client


def test_shown_translates_a_shipped_name_and_leaves_any_other_text() -> None:
    with translation.override("zh-hans"):
        assert shown("Procurement red-flag review") != "Procurement red-flag review"
        assert shown("Closed") != "Closed"
        assert shown("Our own kind of case") == "Our own kind of case"
        assert shown("") == ""  # never the catalogue's header
        assert shown(None) == ""
    with translation.override("en"):
        assert shown("Procurement red-flag review") == "Procurement red-flag review"


def test_a_timeline_line_keeps_its_message_and_english_text_and_is_shown_in_the_readers_language(
    open_case: Case, officers: list[User]
) -> None:
    services.case_take(case=open_case, actor=officers[0])
    services.case_status(case=open_case, status="assessment", reason="the file arrived", actor=officers[0])
    note = services.case_note(case=open_case, text="Called the buyer.", actor=officers[0])
    line = open_case.events.get(kind=CaseEvent.Kind.STATUS)
    assert line.message == "%(old_name)s → %(new_name)s: %(reason)s"
    assert line.params == {"old_name": "New", "new_name": "Assessment", "reason": "the file arrived"}
    assert line.text == "New → Assessment: the file arrived"
    opened = open_case.events.get(kind=CaseEvent.Kind.OPENED)
    with translation.override("zh-hans"):
        assert line.shown_text == f"{shown('New')} → {shown('Assessment')}：the file arrived"
        assert "Opened" not in opened.shown_text and "Procurement" not in opened.shown_text
        assert note.message == "" and note.shown_text == "Called the buyer."
    with translation.override("en"):
        assert line.shown_text == line.text
        assert (
            opened.shown_text
            == opened.text
            == "Opened as Procurement red-flag review (version 1). Source: Opened by hand."
        )


def test_a_line_opened_during_a_chinese_request_stores_english(
    verified_client: Callable[..., Client], make_finding: Callable[..., Any], organisation: Any
) -> None:
    client = chinese(verified_client("administrator", "analyst"))
    finding = make_finding(subject=organisation, detector_code="PROC-SINGLE-BID")
    response = client.post(
        reverse("cases:promote"), {"findings": [finding.pk], "mode": "new", "case_type": TYPE, "title": "招标"}
    )
    assert response.status_code == 302
    case = Case.objects.get(title="招标")
    opened = case.events.get(kind=CaseEvent.Kind.OPENED)
    assert opened.params["source_name"] == "Findings of a detector"
    assert opened.text.startswith("Opened as Procurement red-flag review")
    joined = case.events.get(kind=CaseEvent.Kind.FINDING)
    assert joined.params["detector_code"] == "PROC-SINGLE-BID"


def test_the_timeline_escapes_what_people_typed_and_marks_identifiers_as_code(
    open_case: Case, officers: list[User]
) -> None:
    services.case_take(case=open_case, actor=officers[0])
    services.task_add(case=open_case, title="<b>Check</b> the bids", actor=officers[0])
    services.document_add(case=open_case, name="bids.pdf", content=io.BytesIO(b"bids"), actor=officers[0])
    task_line = open_case.events.filter(kind=CaseEvent.Kind.TASK).get()
    assert task_line.shown_html == "Task added: &lt;b&gt;Check&lt;/b&gt; the bids"
    document_line = open_case.events.get(kind=CaseEvent.Kind.DOCUMENT)
    sha = open_case.documents.get().sha256
    assert document_line.shown_html == f"Document added: <code>bids.pdf</code> (SHA-256 <code>{sha[:12]}</code>…)."
    assert document_line.text == f"Document added: bids.pdf (SHA-256 {sha[:12]}…)."


def test_the_english_page_api_and_cli_keep_english_and_the_chinese_ones_translate(
    open_case: Case, officers: list[User], verified_client: Callable[..., Client]
) -> None:
    services.case_take(case=open_case, actor=officers[0])
    task = open_case.tasks.get(title="Obtain the tender file")
    services.task_done(task=task, actor=officers[0])
    english = verified_client(user=officers[0])
    page = text_of(english.get(reverse("cases:detail", args=[open_case.reference])))
    assert "Task done: Obtain the tender file" in page and "Taken by officer-1." in page

    translated = text_of(
        chinese(verified_client(user=officers[0])).get(reverse("cases:detail", args=[open_case.reference]))
    )
    assert "Obtain the tender file" not in translated and "Task done" not in translated
    with translation.override("zh-hans"):
        assert shown("Obtain the tender file") in translated

    api = Api(officers[0])
    texts = [line["text"] for line in ok(api.get(f"/{open_case.reference}"))["timeline"]]
    assert "Task done: Obtain the tender file" in texts
    api.headers["Accept-Language"] = "zh-hans"
    texts = [line["text"] for line in ok(api.get(f"/{open_case.reference}"))["timeline"]]
    assert not any("Task done" in text for text in texts), texts

    out = io.StringIO()
    with translation.override("zh-hans"):
        call_command("cases", "show", open_case.reference, stdout=out)
    assert "Task done" not in out.getvalue() and "Obtain the tender file" not in out.getvalue()


def test_editing_a_type_in_chinese_never_stores_a_translation(verified_client: Callable[..., Client]) -> None:
    client = chinese(verified_client("administrator"))
    case_type = CaseType.objects.get(code=TYPE, version=1)
    with translation.override("zh-hans"):
        data = form_data(case_type)
    assert data["name"] == shown_in_chinese("Procurement red-flag review")
    response = client.post(reverse("cases:type_edit", args=[TYPE]), data)
    assert response.status_code == 302
    case_type.refresh_from_db()
    assert case_type.name == "Procurement red-flag review"  # unchanged: nothing saved

    data["lead_time_days"] = "120"
    data["statuses-0-order"] = "0"  # a row changed too: its name stays the stored one
    data["statuses-0-final"] = ""
    response = client.post(reverse("cases:type_edit", args=[TYPE]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    case_type.refresh_from_db()
    assert case_type.lead_time_days == 120
    assert case_type.name == "Procurement red-flag review"
    assert case_type.description.startswith("Review of a tender")
    assert set(StatusType.objects.filter(case_type=case_type).values_list("name", flat=True)) == {
        "New",
        "Assessment",
        "Investigation",
        "Decision",
        "Closed",
    }
    assert "Obtain the tender file" in TaskTemplate.objects.filter(case_type=case_type).values_list("title", flat=True)

    data["name"] = "采购审查（新）"  # a name typed in Chinese is the administrator's own: stored as typed
    client.post(reverse("cases:type_edit", args=[TYPE]), data)
    case_type.refresh_from_db()
    assert case_type.name == "采购审查（新）"


def shown_in_chinese(text: str) -> str:
    with translation.override("zh-hans"):
        return shown(text)

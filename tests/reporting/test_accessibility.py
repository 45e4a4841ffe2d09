"""The reporting pages meet WCAG 2.1 AA basics (labels, linked errors, headings, language) and speak
Chinese completely when the reader chose Chinese."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from probity.reporting import services
from probity.reporting.models import Channel, DisclosureRequest, Report
from tests.conftest import TEST_PASSWORD
from tests.core.test_i18n import untranslated_words
from tests.reporting.conftest import Staff
from tests.reporting.test_views import file_report, receipt_in, reporter_client, sign_in, step_one

pytestmark = pytest.mark.django_db

# Names of formats and tools that are written in Latin letters in Chinese too (like ALLOWED_LATIN).
LATIN_NAMES = {"PDF", "JSON"}

CHINESE_QUESTIONNAIRE = [
    {
        "id": "what",
        "kind": "textarea",
        "label": "What happened?",
        "label_zh_hans": "发生了什么？",
        "required": True,
        "help": "Say what you saw.",
        "help_zh_hans": "请说明您看到的情况。",
    },
    {"id": "when", "kind": "date", "label": "When?", "label_zh_hans": "何时？"},
    {"id": "who", "kind": "choice", "label": "Who?", "label_zh_hans": "涉及谁？", "choices": ["yes", "no", "unknown"]},
    {
        "id": "detail",
        "kind": "text",
        "label": "Details",
        "label_zh_hans": "详情",
        "show_if": {"question": "who", "equals": "yes"},
    },
    {"id": "kinds", "kind": "multichoice", "label": "Kinds", "label_zh_hans": "类型", "choices": ["yes", "no"]},
    {"id": "amount", "kind": "amount", "label": "Amount", "label_zh_hans": "金额"},
]


@pytest.fixture
def chinese_channel(handler: Staff, custodian: Staff) -> Channel:
    return services.channel_save(
        slug="caigou",
        name="政府采购",
        actor=custodian.user,
        description="关于政府采购的举报",
        questionnaire=CHINESE_QUESTIONNAIRE,
        recipients=[handler.user],
        custodians=[custodian.user],
    )


class PageStructure(HTMLParser):
    """Collects what the checks need: form controls and their labels, headings, the html element."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.headings: list[int] = []
        self.html_lang: str | None = None
        self._in_label = 0
        self._in_fieldset_with_legend = 0
        self._fieldsets: list[bool] = []
        self.wrapped: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.html_lang = attributes.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "label":
            self._in_label += 1
            if attributes.get("for"):
                self.label_for.add(str(attributes["for"]))
        if tag in {"input", "select", "textarea"}:
            kind = attributes.get("type", "text")
            if kind in {"hidden", "submit", "button"}:
                return
            self.controls.append(attributes)
            if self._in_label and attributes.get("id"):
                self.wrapped.add(str(attributes["id"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._in_label -= 1


def check_structure(html: str, page: str) -> None:
    structure = PageStructure()
    structure.feed(html)
    assert structure.html_lang, f"{page}: <html lang> is missing"
    unlabelled = [
        c
        for c in structure.controls
        if c.get("id") not in structure.label_for and c.get("id") not in structure.wrapped and not c.get("aria-label")
    ]
    assert not unlabelled, f"{page}: controls without a label: {unlabelled}"
    assert structure.headings and structure.headings[0] == 1, f"{page}: the first heading is not h1"
    assert structure.headings.count(1) == 1, f"{page}: more than one h1"
    for before, after in zip(structure.headings, structure.headings[1:], strict=False):
        assert after <= before + 1, f"{page}: heading levels skip from h{before} to h{after}"


@pytest.fixture
def pages(
    chinese_channel: Channel,
    handler: Staff,
    custodian: Staff,
    verified_client: Callable[..., Client],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """Every reporting page, filled with Chinese data, as a Chinese reader sees it."""

    def ok(response: Any) -> str:
        assert response.status_code == 200, (response.status_code, response.content.decode()[:500])
        return str(response.content.decode())

    monkeypatch.setattr(services, "CHALLENGE_MIN_WAIT", 0)
    handler.user.username = "承办人"
    handler.user.save()
    custodian.user.username = "保管人"
    custodian.user.save()
    html: dict[str, str] = {}

    reporter = reporter_client()
    reporter.cookies["django_language"] = "zh-hans"
    html["index"] = ok(reporter.get(reverse("reporting:index")))
    html["step 1"] = ok(reporter.get(reverse("reporting:report", args=[chinese_channel.slug])))
    html["step 1 with errors"] = step_one(reporter, chinese_channel, {"what": ""}).content.decode()
    html["step 2"] = ok(step_one(reporter, chinese_channel, {"what": "有人收受贿赂", "who": "yes"}))
    done = file_report(
        reporter,
        chinese_channel,
        {"what": "有人收受贿赂", "who": "yes"},
        second={"q_detail": "采购处处长", "identity_name": "张三", "identity_contact": ""},
        files=[SimpleUploadedFile("证据.txt", b"evidence", "text/plain")],
        solve=False,
    )
    html["receipt shown"] = ok(done)
    receipt = receipt_in(html["receipt shown"])
    html["receipt sign-in"] = ok(reporter.get(reverse("reporting:receipt")))
    html["receipt sign-in with errors"] = sign_in(reporter, "12").content.decode()
    sign_in(reporter, receipt)
    reporter.post(reverse("reporting:reporter_message"), {"text": "补充：合同被拆分。"})
    html["reporter case"] = ok(reporter.get(reverse("reporting:reporter_case")))

    staff = verified_client(user=handler.user)
    staff.cookies["django_language"] = "zh-hans"
    html["keys (locked)"] = ok(staff.get(reverse("reporting:keys")))
    staff.post(reverse("reporting:keys"), {"action": "unlock", "password": TEST_PASSWORD})
    report = Report.objects.get()
    staff.post(reverse("reporting:case_action", args=[report.reference, "reply"]), {"text": "谢谢，请提供合同编号。"})
    staff.post(
        reverse("reporting:case_action", args=[report.reference, "triage"]),
        {"note": "可信。", "retaliation_risk": "high", "retaliation_notes": "同一部门。"},
    )
    staff.post(reverse("reporting:case_action", args=[report.reference, "status"]), {"status": "investigation"})
    staff.post(reverse("reporting:case_action", args=[report.reference, "disclosure"]), {"reason": "需要保护举报人。"})
    html["inbox"] = ok(staff.get(reverse("reporting:inbox")))
    html["case"] = ok(staff.get(reverse("reporting:case", args=[report.reference])))
    html["keys (unlocked)"] = ok(staff.get(reverse("reporting:keys")))
    html["key recovery"] = ok(staff.get(reverse("reporting:key_recover")))
    html["intake"] = ok(staff.get(reverse("reporting:intake")))
    oral = staff.post(
        reverse("reporting:intake"),
        {"channel": chinese_channel.slug, "kind": "oral", "transcript": "来电者称检查员收取现金。"},
    )
    html["intake receipt"] = ok(oral)
    html["statistics"] = ok(staff.get(reverse("reporting:statistics")))

    keeper = verified_client(user=custodian.user)
    keeper.cookies["django_language"] = "zh-hans"
    keeper.post(reverse("reporting:keys"), {"action": "unlock", "password": TEST_PASSWORD})
    html["disclosures"] = ok(keeper.get(reverse("reporting:disclosures")))
    assert DisclosureRequest.objects.count() == 1

    from probity.core.services import user_create

    admin = verified_client(user=user_create(username="管理员", password="x" * 20, roles=["administrator"]))
    admin.cookies["django_language"] = "zh-hans"
    html["channels"] = ok(admin.get(reverse("reporting:channels")))
    html["channel"] = ok(admin.get(reverse("reporting:channel_edit", args=[chinese_channel.slug])))
    html["new channel"] = ok(admin.get(reverse("reporting:channel_new")))
    html["closed case"] = _closed_case(staff, report)
    return html


def _closed_case(staff: Client, report: Report) -> str:
    staff.post(
        reverse("reporting:case_action", args=[report.reference, "close"]),
        {"outcome": "referred", "action_taken": "已移交检察院。"},
    )
    return staff.get(reverse("reporting:case", args=[report.reference])).content.decode()


def test_reporting_pages_show_no_english_in_chinese(pages: dict[str, str]) -> None:
    problems = {}
    for page, html in pages.items():
        assert 'lang="zh-hans"' in html, page
        if page in ("channel", "new channel"):  # the questionnaire's JSON is the administrator's data
            html = re.sub(r"(<textarea[^>]*id=\"id_questions\"[^>]*>).*?(</textarea>)", r"\1\2", html, flags=re.S)
        words = [w for w in untranslated_words(html) if w.split("'")[1] not in LATIN_NAMES]
        if words:
            problems[page] = words[:8]
    assert not problems, problems


def test_every_control_has_a_label_and_headings_are_in_order(pages: dict[str, str]) -> None:
    for page, html in pages.items():
        check_structure(html, page)


def test_errors_are_summarised_at_the_top_and_linked_to_their_fields(pages: dict[str, str]) -> None:
    html = pages["step 1 with errors"]
    summary = html.index('class="error-summary"')
    assert summary < html.index('name="step"'), "the summary comes before the form"
    assert 'href="#id_q_what"' in html
    field = re.search(r"<textarea[^>]*id=\"id_q_what\"[^>]*>", html)
    assert field and 'aria-describedby="id_q_what_help id_q_what_errors"' in field.group(0)
    assert 'aria-invalid="true"' in field.group(0)
    assert 'id="id_q_what_errors"' in html and 'id="id_q_what_help"' in html
    # Errors are written, not only coloured.
    assert "错误：" in html
    receipt = pages["receipt sign-in with errors"]
    assert 'href="#id_receipt"' in receipt and 'aria-describedby="id_receipt_help id_receipt_errors"' in receipt


def test_multiple_choice_is_a_fieldset_with_a_legend(pages: dict[str, str]) -> None:
    html = pages["step 1"]
    assert re.search(r"<fieldset[^>]*>\s*<legend>类型", html)


def test_overdue_is_written_not_only_coloured(
    chinese_channel: Channel, handler: Staff, verified_client: Callable[..., Client]
) -> None:
    import datetime

    report, _receipt = services.report_submit(channel=chinese_channel, answers={"what": "x"})
    Report.objects.filter(pk=report.pk).update(acknowledge_due=datetime.date(2000, 1, 1))
    client = verified_client(user=handler.user)
    html = client.get(reverse("reporting:inbox")).content.decode()
    overdue = html[html.index('id="overdue-heading"') : html.index('id="assigned-heading"')]
    assert report.reference in overdue and "Acknowledgement" in overdue


def test_reporter_pages_work_without_javascript(pages: dict[str, str]) -> None:
    """Scripts are optional: no inline handlers, and every action is a plain form post or link."""
    for page in ("index", "step 1", "step 2", "receipt shown", "receipt sign-in", "reporter case"):
        html = pages[page]
        assert not re.search(r"\son[a-z]+=", html), page
        assert "<script>" not in html, page
    assert 'method="post"' in pages["step 2"] and 'enctype="multipart/form-data"' in pages["step 2"]


def test_focus_is_visible_and_the_stylesheet_is_loaded(pages: dict[str, str]) -> None:
    from pathlib import Path

    import probity

    css = (Path(probity.__file__).parent / "reporting" / "static" / "reporting" / "reporting.css").read_text()
    assert ".error-summary:focus" in css
    assert "reporting/reporting.css" in pages["step 1"]

"""Every page of the cases module speaks Chinese to a Chinese reader: no English words left (names of the shipped
case types, statuses and outcomes included)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from probity.cases import services
from probity.cases.models import Pool, PoolMember, Recusal
from probity.core.models import Finding, Organisation
from probity.core.services import detector_run
from tests.core.test_i18n import untranslated_words

pytestmark = pytest.mark.django_db


def test_every_cases_page_shows_no_english_in_chinese(
    make_user: Callable[..., User], verified_client: Callable[..., Client]
) -> None:
    admin = make_user("administrator", "analyst", username="管理员")
    first = make_user("analyst", username="办案员甲")
    second = make_user("analyst", username="办案员乙")
    company = Organisation.objects.create(name="甲公司")
    twin = Organisation.objects.create(name="乙公司")
    for organisation in (company, twin):
        organisation.identifiers.create(scheme="tax_id", issuer="CN", value="91110000")
    detector_run(code="CORE-ID-SHARED")
    finding = Finding.objects.filter(outcome="flag").first()
    assert finding is not None
    case = services.case_from_findings(
        findings=[finding], actor=admin, case_type="procurement-review", title="招标审查"
    )
    pool = Pool.objects.create(name="采购审查人员库", case_type_code="procurement-review")
    for officer in (first, second):
        PoolMember.objects.create(pool=pool, officer=officer)
    services.case_draw(case=case, actor=admin)
    case.refresh_from_db()
    officer = case.assignee
    assert officer is not None
    services.task_add(case=case, title="核对投标人", actor=officer)
    services.document_add(case=case, name="证据.txt", content=io.BytesIO(b"evidence"), actor=officer)
    services.outcome_propose(
        case=case, outcome_type="fine", reasoning="串通投标。", actor=officer, details={"amount": "1000"}
    )
    Recusal.objects.create(officer=first, organisation=company, reason="亲属在该公司任职。")

    client = verified_client(user=admin)
    client.cookies["django_language"] = "zh-hans"
    paths = [
        reverse("cases:my_work"),
        reverse("cases:list"),
        reverse("cases:new"),
        reverse("cases:promote"),
        reverse("cases:detail", args=[case.reference]),
        reverse("cases:types"),
        reverse("cases:type_detail", args=["procurement-review"]),
        reverse("cases:type_edit", args=["procurement-review"]),
        reverse("cases:pools"),
        reverse("cases:pool_detail", args=[pool.pk]),
        reverse("cases:recusals"),
        reverse("cases:allocation"),
        reverse("cases:statistics"),
    ]
    problems = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        words = untranslated_words(response.content.decode())
        if words:
            problems[path] = words[:30]
    for path, words in problems.items():
        print(path, words)
    assert not problems

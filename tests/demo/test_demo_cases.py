"""The demo country's case flow (``probity.demo.cases``): on the session's demo country with its findings, the
demo handler gets a reporting key and an open channel, the officers pools, and cases exist in every state —
from real findings, with draws that re-run to the same officers, and a protected report case answered by its
handler. The whole ``probity bootstrap`` (which runs this step) is tested end to end in
``tests/core/test_config.py``."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management.base import OutputWrapper
from django.test import override_settings
from pytest_django import DjangoDbBlocker

from probity.cases.models import Case, CaseEvent, CaseOutcome, Draw, OutcomeKind, Pool, PoolMember, Recusal
from probity.cases.services import CaseError, document_open, draws_verify
from probity.core.models import AuditEntry, Finding
from probity.core.services import detector_run, user_create
from probity.demo import cases as demo
from probity.demo.cases import DemoCases, case_states, demo_cases, draw_seed
from probity.demo.management.commands import bootstrap
from probity.demo.services import demo_ingest, demo_load
from probity.reporting.models import Channel, Report, ReportEntry
from probity.reporting.services import report_keys_for_staff, staff_keys_unlock
from tests.conftest import DemoCountry, rolled_back

# Detectors that need no procurement warehouse: the procurement cases fall back to cases opened by hand.
DETECTORS = (
    "CORE-ID-SHARED",
    "OWN-COI-OFFICIAL",
    "OWN-BO-MISMATCH",
    "DECL-ARITHMETIC",
    "DECL-LIFESTYLE",
    "DECL-WEALTH",
    "DECL-UNDECLARED-COMPANY",
)


def _password(username: str) -> str:
    return f"demo password of {username}"


@pytest.fixture(scope="module")
def demo_with_cases(
    demo_country: DemoCountry,
    tmp_path_factory: pytest.TempPathFactory,
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
) -> Iterator[DemoCases]:
    """The session's demo country in the database (core tables, ownership register, declarations), its
    detectors run, the demo accounts created and ``demo_cases`` run once for this file's tests (rolled back
    after them)."""
    folder = tmp_path_factory.mktemp("demo-cases")
    with (
        override_settings(
            PROBITY_REPORTING_KDF="min",
            PROBITY_REPORTING_RECEIPT_KDF="min",
            PROBITY_REPORTING_STORE=str(folder / "reporting-store"),
            PROBITY_CASE_FILES_DIR=str(folder / "case-files"),
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        ),
        rolled_back(django_db_blocker),
    ):
        demo_load(country=demo_country.country)
        steps = demo_ingest(demo_dir=demo_country.out, steps=["ownership", "declarations"])
        assert all(step.ok for step in steps), steps
        for code in DETECTORS:
            detector_run(code=code)
        for username, roles in bootstrap.DEMO_ACCOUNTS.items():
            user_create(username=username, password=_password(username), roles=roles)
        yield demo_cases(password_for=_password)


@pytest.fixture
def made(db: None, demo_with_cases: DemoCases) -> DemoCases:
    return demo_with_cases


def _user(username: str) -> User:
    return User.objects.get(username=username)


def test_the_demo_accounts_include_a_case_handler_and_the_pool_officers() -> None:
    assert bootstrap.DEMO_ACCOUNTS[demo.HANDLER] == ["case_handler"]
    assert set(demo.ACCOUNTS) <= set(bootstrap.DEMO_ACCOUNTS)


def test_cases_exist_in_every_state_from_real_findings(made: DemoCases) -> None:
    states = case_states()
    assert made.counts == {**states, "draws": Draw.objects.count(), "pools": 5}
    assert states["open_unassigned"] >= 3
    assert states["assigned"] >= 3  # drawn, taken, assigned by hand, the report case
    assert states["pending_outcome"] == 1
    assert states["closed"] == 3
    assert (
        states["open_unassigned"] + states["assigned"] + states["pending_outcome"] + states["closed"]
        == (states["cases"])
    )
    # from real findings of several detectors, each finding in one case; the people concerned are parties
    linked = Finding.objects.filter(case_link__isnull=False, outcome=Finding.Outcome.FLAG)
    assert len(set(linked.values_list("detector_code", flat=True))) >= 4
    assert Case.objects.filter(source=Case.Source.FINDING).count() >= 6
    assert Case.objects.filter(source=Case.Source.FINDING, parties__person__isnull=False).exists()
    # the pending outcome waits for a second officer: proposed by the case's officer, not decided
    pending = CaseOutcome.objects.get(decided_at=None)
    assert pending.proposed_by == pending.case.assignee and not pending.case.closed
    # closed: a fine with its amount, a recovery with its three amounts, "no violation"; four eyes each time
    closed = {o.outcome_type.kind: o for o in CaseOutcome.objects.filter(approved_by__isnull=False, rejected=False)}
    assert set(closed) == {OutcomeKind.FINE, OutcomeKind.RECOVERY, OutcomeKind.NO_VIOLATION}
    assert closed[OutcomeKind.FINE].details == {"amount": "25000"}
    assert set(closed[OutcomeKind.RECOVERY].details) == {"amount_frozen", "amount_confiscated", "amount_returned"}
    for outcome in closed.values():
        assert outcome.case.closed and outcome.case.status.final
        assert outcome.approved_by_id != outcome.proposed_by_id
    assert CaseOutcome.objects.filter(rejected=True).count() == 1  # the recovery was proposed twice
    # one case assigned by hand, with its reason
    manual = Draw.objects.get(method=Draw.Method.MANUAL)
    assert manual.reason and manual.chosen == manual.case.assignee == _user(demo.OFFICER_1)


def test_the_worked_case_has_tasks_done_a_document_and_a_note_on_its_timeline(made: DemoCases) -> None:
    taken = Case.objects.exclude(source=Case.Source.REPORT).get(events__kind=CaseEvent.Kind.TAKEN)
    kinds = list(taken.events.values_list("kind", flat=True))
    for kind in ("opened", "taken", "task", "status", "document", "note"):
        assert kind in kinds, (kind, kinds)
    # without a procurement warehouse here, the procurement cases are opened by hand rather than from findings
    assert taken.case_type.code == "procurement-review" and taken.source == Case.Source.MANUAL
    assert taken.status.code == "investigation"
    assert taken.tasks.exclude(done_at=None).exists() and taken.tasks.filter(done_at=None).exists()
    document = taken.documents.get()
    assert b"share a beneficial owner" in document_open(document=document, actor=taken.assignee)


def test_the_recorded_draws_re_run_to_the_same_officers_with_the_absence_and_the_recusal(made: DemoCases) -> None:
    draws = list(Draw.objects.filter(method=Draw.Method.RANDOM).select_related("case"))
    assert len(draws) >= 5
    checks = draws_verify(draws)
    assert all(check.ok for check in checks), [c.sentence for c in checks]
    assert all(draw.seed == draw_seed(draw.case.reference) for draw in draws)  # reproducible
    reasons = [e["reason"] for draw in draws for e in draw.inputs["excluded"]]
    assert any(r.startswith("recused: ") for r in reasons) and any(r.startswith("absent until") for r in reasons)
    recusal = Recusal.objects.get()
    assert recusal.officer == _user(demo.OFFICER_1)
    assert all(draw.chosen != recusal.officer for draw in draws if draw.case.parties.filter(person=recusal.person))
    # a changed record no longer verifies
    tampered = draws[0]
    tampered.seed = draw_seed("CASE-0000-000000")
    assert not draws_verify([tampered])[0].ok


def test_every_case_type_has_a_pool_and_the_report_pool_is_the_handler(made: DemoCases) -> None:
    assert set(Pool.objects.values_list("case_type_code", flat=True)) == set(demo.POOLS)
    report_pool = PoolMember.objects.filter(pool__case_type_code="protected-report")
    assert list(report_pool.values_list("officer__username", flat=True)) == [demo.HANDLER]
    absent = PoolMember.objects.exclude(absent_until=None).get()
    assert absent.absence_reason
    # what the system set up is attributed to the bootstrap; what officers did, to them
    assert AuditEntry.objects.filter(object_type="cases.pool", actor=demo.AUDIT_ACTOR).exists()
    assert AuditEntry.objects.filter(object_type="cases.caseoutcome", actor=demo.ANALYST).exists()


def test_the_handler_unlocks_their_key_with_the_demo_password_and_reads_the_report_case(made: DemoCases) -> None:
    handler = _user(demo.HANDLER)
    private_key = staff_keys_unlock(user=handler, password=_password(demo.HANDLER))
    channel = Channel.objects.get(slug=demo.CHANNEL_SLUG)
    assert channel.active and list(channel.recipients.all()) == [handler]
    case = Case.objects.get(source=Case.Source.REPORT)
    report = Report.objects.get(reference=case.source_key)
    assert case.case_type.code == "protected-report" and case.assignee == handler
    assert case.status.code == "acknowledged"
    assert report_keys_for_staff(report=report, user=handler, private_key=private_key).report == report
    replies = ReportEntry.objects.filter(report=report, kind=ReportEntry.Kind.STAFF_MESSAGE, author=handler)
    assert replies.count() == 2  # the acknowledgement's message and a question to the reporter
    assert report.acknowledged_on is not None
    assert made.recovery_key and len(made.receipt) >= 16
    # the report's content never reaches the case's timeline
    assert not case.events.filter(text__icontains="ten per cent").exists()


def test_running_it_again_changes_nothing(made: DemoCases) -> None:
    before = (Case.objects.count(), Draw.objects.count(), Report.objects.count())
    again = demo_cases(password_for=_password)
    assert again.counts == {"cases": 0} and not again.receipt
    assert (Case.objects.count(), Draw.objects.count(), Report.objects.count()) == before


def test_without_the_demo_accounts_it_refuses_with_a_sentence(monkeypatch: pytest.MonkeyPatch, db: None) -> None:
    monkeypatch.setattr(demo, "ACCOUNTS", (*demo.ACCOUNTS, "demo-nobody"))
    with pytest.raises(CaseError, match="The demo accounts demo-nobody are missing"):
        demo._accounts()


def test_the_bootstrap_step_prints_the_counts_and_writes_the_demo_secrets_to_the_login_file(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.VAR_DIR = tmp_path
    login = tmp_path / "demo-login.json"
    login.write_text(json.dumps({"demo-admin": {"password": "a"}, demo.HANDLER: {"password": "h"}}))
    asked: list[str] = []

    def fake(*, password_for: Callable[[str], str]) -> DemoCases:
        asked.append(password_for(demo.HANDLER))
        return DemoCases(counts={"cases": 11, "closed": 3}, recovery_key="RECOVERY", receipt="1234 5678")

    monkeypatch.setattr(bootstrap, "demo_cases", fake)
    command = bootstrap.Command()
    out = io.StringIO()
    command.stdout = OutputWrapper(out)
    command.failed = []
    assert command._step("cases (demo)", command._create_demo_cases)
    assert asked == ["h"]
    assert "11 cases (" in out.getvalue() and "3 closed" in out.getvalue()
    assert "cases (demo): done" in out.getvalue()
    credentials = json.loads(login.read_text())
    assert credentials[demo.HANDLER]["reporting_recovery_key"] == "RECOVERY"
    assert credentials[bootstrap.DEMO_REPORT] == {"receipt": "1234 5678"}
    assert login.stat().st_mode & 0o777 == 0o600
    # without a login file (the accounts step failed) the step fails plainly and the bootstrap goes on
    login.unlink()
    assert not command._step("cases (demo)", command._create_demo_cases)
    assert command.failed == ["cases (demo)"]
    assert "cases (demo): FAILED" in out.getvalue() and "demo-login.json is missing" in out.getvalue()

"""`probity cases`: every subcommand as an operator sees it — sentences and labelled tables, clean errors, and
exit 1 when a recorded draw or a stored document fails its check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import BytesIO, StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from probity.cases import services
from probity.cases.models import Case, CaseDocument, CaseEvent, CustodyEvent, Draw, Pool
from probity.core.models import AuditEntry, Finding, Organisation, PublicBody

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("cases", *args, stdout=out, stderr=err)
    return out.getvalue()


def no_reprs(text: str) -> None:
    assert "object at 0x" not in text and "<Case" not in text and "<User" not in text and "<lazy" not in text
    assert "{'" not in text and '{"' not in text and "Traceback" not in text


def test_list_and_show_print_labelled_tables(
    make_case: Callable[..., Case], case_admin: User, officers: list[User], organisation: Organisation
) -> None:
    first = make_case(title="Inflated road contract", organisations=[organisation])
    services.case_assign(case=first, officer=officers[0], reason="Knows the buyer", actor=case_admin)
    services.case_note(case=first, text="Ask for the invoices.", actor=officers[0])
    services.task_add(case=first, title="Visit the site", actor=officers[0], assignee=officers[1])
    services.document_add(case=first, name="bid.pdf", content=BytesIO(b"%PDF bid"), actor=officers[0])
    second = make_case(case_type="screening-review", title="Sanctions hit")
    Case.objects.filter(pk=second.pk).update(due_on=timezone.localdate() - timedelta(days=2))

    listing = run("list")
    no_reprs(listing)
    header = listing.splitlines()[0]
    assert header.split() == ["Reference", "Type", "Status", "Assigned", "to", "Due", "Title"]
    assert listing.index(second.reference) < listing.index(first.reference)  # newest first
    assert "officer-1" in listing and "Procurement red-flag review" in listing
    assert first.reference not in run("list", "--overdue") and second.reference in run("list", "--overdue")
    assert second.reference not in run("list", "--assignee", "officer-1")
    assert first.reference in run("list", "--type", "procurement-review", "--open", "-q", "ROAD")
    assert run("list", "--closed") == "No cases match.\n"
    assert "more match" in run("list", "-n", "1")

    shown = run("show", first.reference.lower())
    no_reprs(shown)
    assert shown.startswith(f"{first.reference}: Inflated road contract\n")
    assert "Type:" in shown and "Procurement red-flag review (version 1)" in shown
    assert "Assigned to:" in shown and "officer-1" in shown
    for section in ("Timeline", "Tasks", "Documents", "Parties", "Findings", "Outcomes", "Allocation"):
        assert f"\n{section}\n" in shown, section
    assert "Ask for the invoices." in shown and "(handlers only)" in shown
    assert "Visit the site" in shown and "officer-2" in shown
    assert CaseDocument.objects.get(case=first).sha256 in shown and "8 bytes" in shown
    assert "Blue River Construction Ltd" in shown and "Knows the buyer" in shown and "Manual assignment" in shown
    with pytest.raises(CommandError, match="There is no case CASE-1999-000001"):
        run("show", "CASE-1999-000001")


def test_open_and_promote_open_cases_with_a_sentence(
    case_admin: User, make_finding: Callable[..., Finding], organisation: Organisation, body: PublicBody
) -> None:
    out = run("open", "--type", "conflict-of-interest", "--title", "Minister's brother", "--body", body.name)
    case = Case.objects.get(title="Minister's brother")
    assert out.startswith(f"Case {case.reference} opened as Conflict-of-interest inquiry, due ")
    assert case.body == body and case.opened_by == "system:cli"
    assert run("open", "--type", "screening-review", "--title", "By id", "--body", str(body.pk)).startswith("Case ")
    with pytest.raises(CommandError, match="There is no case type 'nope'"):
        run("open", "--type", "nope", "--title", "x")
    with pytest.raises(CommandError, match="There is no public body Nowhere"):
        run("open", "--type", "screening-review", "--title", "x", "--body", "Nowhere")

    findings = [make_finding(subject=organisation), make_finding()]
    out = run("promote", *(str(f.pk) for f in findings))
    promoted = Case.objects.get(finding_links__finding=findings[0])
    assert out.startswith(f"Case {promoted.reference} opened as Procurement red-flag review from 2 findings")
    assert promoted.parties.get().organisation == organisation
    with pytest.raises(CommandError, match="is already in case"):
        run("promote", str(findings[0].pk))
    with pytest.raises(CommandError, match="There is no finding 987654"):
        run("promote", "987654")


def test_draw_assign_and_status_act_as_the_system(
    make_case: Callable[..., Case], officers: list[User], pool: Pool, organisation: Organisation
) -> None:
    case = make_case(organisations=[organisation])
    services.recusal_declare(officer=officers[2], organisation=organisation, reason="Cousin", actor=officers[2])
    out = run("draw", case.reference)
    draw = Draw.objects.get(case=case)
    assert draw.drawn_by == "system:cli" and draw.chosen in officers[:2]
    assert out.startswith(
        f"{case.reference}: drawn at random from Procurement reviewers: {draw.chosen.get_username()} "
        "(2 eligible, 1 excluded)."
    )
    assert "officer-3  recused: conflict with Blue River Construction Ltd" in out and draw.seed in out
    with pytest.raises(CommandError, match="drawing it again needs a reason"):
        run("draw", case.reference)

    out = run("assign", case.reference, "officer-2", "--reason", "Speaks the language")
    assert out == f"{case.reference} assigned by hand to officer-2: Speaks the language\n"
    with pytest.raises(CommandError, match="declared a conflict"):
        run("assign", case.reference, "officer-3", "--reason", "x")
    with pytest.raises(CommandError, match="There is no user ghost"):
        run("assign", case.reference, "ghost", "--reason", "x")

    assert run("status", case.reference, "assessment", "--reason", "First look") == (
        f"{case.reference} is now at Assessment.\n"
    )
    event = CaseEvent.objects.filter(case=case, kind="status").get()
    assert event.actor == "system:cli" and "First look" in event.text
    with pytest.raises(CommandError, match="Only the officer assigned"):
        run("status", case.reference, "investigation", "--reason", "x", "--user", "officer-1")
    run("status", case.reference, "investigation", "--reason", "Evidence found", "--user", "officer-2")
    assert CaseEvent.objects.filter(case=case, kind="status").last().actor == "officer-2"  # type: ignore[union-attr]
    with pytest.raises(CommandError, match="closes only with an outcome"):
        run("status", case.reference, "closed", "--reason", "x")


def test_verify_draws_re_runs_them_and_exits_1_on_a_tampered_draw(
    make_case: Callable[..., Case],
    case_admin: User,
    officers: list[User],
    pool: Pool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cases = [make_case(title=f"Draw {n}") for n in range(3)]
    for case in cases:
        services.case_draw(case=case, actor=case_admin)
    assert run("verify-draws", "--all") == "All 3 draws give the same officer when run again.\n"
    assert run("verify-draws", cases[0].reference) == "All 1 draws give the same officer when run again.\n"

    tampered = Draw.objects.get(case=cases[1])
    inputs = dict(tampered.inputs)
    inputs["eligible"] = [row for row in inputs["eligible"] if row["officer"] != tampered.chosen_id] + [
        next(row for row in inputs["eligible"] if row["officer"] == tampered.chosen_id)
    ]
    inputs["pool"] = "Someone else's pool"
    Draw.objects.filter(pk=tampered.pk).update(inputs=inputs)
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_status:
        call_command("cases", "verify-draws", "--all", stdout=out, stderr=err)
    assert exit_status.value.code == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{cases[1].reference}, draw of ")
    assert lines[0].endswith("The recorded inputs no longer match their hash: they were changed.")
    assert lines[-1] == "1 of 3 draws failed the re-run."
    bar = capsys.readouterr().err  # the progress bar (tqdm), on standard error
    assert "re-running" in bar and "3/3" in bar
    assert AuditEntry.objects.filter(action="draws_verified", actor="system:cli").count() == 3
    with pytest.raises(CommandError, match="Name the cases whose draws to re-run"):
        run("verify-draws")


def test_allocation_report_statistics_and_types(
    make_case: Callable[..., Case],
    make_pool: Callable[..., Pool],
    case_admin: User,
    officers: list[User],
    pool: Pool,
) -> None:
    make_pool("screening-review", officers[:1], name="Lonely screeners")
    drawn = make_case(title="Drawn")
    services.case_draw(case=drawn, actor=case_admin)
    services.case_assign(case=make_case(title="Picked"), officer=officers[0], reason="Urgent", actor=case_admin)
    report = run("allocation-report")
    no_reprs(report)
    assert report.splitlines()[0].split() == [
        "Allocated",
        "by",
        "Random",
        "draws",
        "Manual",
        "assignments",
        "Total",
        "Manual",
        "share",
    ]
    assert report.splitlines()[1].split() == ["case-admin", "1", "1", "2", "50%"]
    assert "Lonely screeners" in report and "Procurement reviewers" in report
    assert "Warning: Only one officer in the pool Lonely screeners can be drawn now" in report
    assert "No case has been allocated yet." in run("allocation-report", "--since", "2999-01-01")
    with pytest.raises(CommandError, match="is not a date"):
        run("allocation-report", "--since", "yesterday")

    services.outcome_propose(case=drawn, outcome_type="no-violation", reasoning="Fair.", actor=drawn.assignee)
    services.outcome_approve(outcome=drawn.outcomes.get(), actor=next(o for o in officers if o != drawn.assignee))
    stats = run("statistics")
    no_reprs(stats)
    assert "Cases opened:" in stats and "Closed within the deadline:  100%" in stats
    assert "\nBy outcome\n" in stats and "No violation" in stats and "Procurement red-flag review  2" in stats

    types = run("types")
    no_reprs(types)
    assert "procurement-review" in types and "1 *" in types and "90 days" in types
    assert types.rstrip().endswith("* the version new cases are opened under")


def test_documents_verify_finds_a_changed_file_and_exits_1(
    open_case: Case, officers: list[User], case_admin: User, case_files: Path
) -> None:
    services.case_assign(case=open_case, officer=officers[0], reason="Clerk", actor=case_admin)
    kept = services.document_add(case=open_case, name="kept.txt", content=BytesIO(b"kept"), actor=officers[0])
    changed = services.document_add(case=open_case, name="ledger.csv", content=BytesIO(b"a,1"), actor=officers[0])
    assert run("documents-verify") == "All 2 documents match their SHA-256.\n"
    path = case_files / changed.sha256[:2] / changed.sha256
    path.chmod(0o600)
    path.write_bytes(b"a,1000")
    out = StringIO()
    with pytest.raises(SystemExit) as exit_status:
        call_command("cases", "documents-verify", open_case.reference, stdout=out, stderr=StringIO())
    assert exit_status.value.code == 1
    assert out.getvalue().splitlines() == [
        f"{open_case.reference}, ledger.csv: the file no longer matches its SHA-256.",
        "1 of 2 documents failed the check.",
    ]
    assert CustodyEvent.objects.filter(document=kept, action="verified").count() == 2
    assert CustodyEvent.objects.filter(document=changed, action="mismatch").exists()


def test_retention_deletes_only_closed_cases_past_their_date(
    make_case: Callable[..., Case], case_admin: User, officers: list[User]
) -> None:
    expired, kept, still_open = make_case(title="Old"), make_case(title="Recent"), make_case(title="Open")
    today = timezone.localdate()
    for case, retain_until in ((expired, today - timedelta(days=1)), (kept, today + timedelta(days=365))):
        services.case_assign(case=case, officer=officers[0], reason="x", actor=case_admin)
        services.outcome_propose(case=case, outcome_type="no-violation", reasoning="Fair.", actor=officers[0])
        services.outcome_approve(outcome=case.outcomes.get(), actor=officers[1])
        Case.objects.filter(pk=case.pk).update(retain_until=retain_until)
    dry = run("retention", "--dry-run")
    assert expired.reference in dry and kept.reference not in dry and dry.endswith("Nothing was deleted (--dry-run).\n")
    assert Case.objects.filter(pk=expired.pk).exists()
    out = run("retention")
    assert out == "1 closed cases past their retention date were deleted; each deletion is in the audit log.\n"
    assert set(Case.objects.values_list("pk", flat=True)) == {kept.pk, still_open.pk}
    entry = AuditEntry.objects.get(action="case_deleted")
    assert entry.object_label == expired.reference and entry.actor == "system:cli"
    assert run("retention", "--dry-run").startswith("No closed case is past its retention date.")

"""The demo country's case work: what ``probity bootstrap`` adds after the detectors ran, so that ``make run``
shows the whole flow of the cases module, from a signal to an approved outcome.

``demo_cases`` gives the demo case handler (``demo-handler``) a reporting key, opens a reporting channel with
the handler as its recipient, puts the demo officers in a pool for each shipped case type (one of them absent,
one with a declared conflict) and takes real demo findings to cases in every state: new and unassigned, drawn
at random, taken and worked (tasks done, a document added), with an outcome waiting for a second officer,
closed with an approved outcome (a fine, a recovery of assets with its three amounts, "no violation"),
assigned by hand with a reason, and a protected report filed through the channel and opened as a case through
core's ``case_open`` hook, answered by its handler.

Everything goes through the services of the cases and reporting modules, so the audit trail and the case
timelines read as if the officers had done it; what the system sets up itself is attributed to
``system:bootstrap``. Each draw's seed is derived from the case reference, so the demo is reproducible and
every recorded draw re-runs to the same officer.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from probity.cases.models import Case, CaseOutcome, Draw, Pool, PoolMember
from probity.cases.services import (
    CaseError,
    case_assign,
    case_draw,
    case_from_findings,
    case_note,
    case_open,
    case_party_add,
    case_status,
    case_take,
    case_type_current,
    document_add,
    outcome_approve,
    outcome_propose,
    outcome_reject,
    recusal_declare,
    task_add,
    task_done,
)
from probity.core.audit import audit_actor
from probity.core.detectors import get_detector
from probity.core.models import Finding, Person
from probity.core.modules import hook_call
from probity.declarations.models import Declaration
from probity.reporting.models import Channel, StaffKey
from probity.reporting.services import (
    channel_save,
    report_acknowledge,
    report_message_add,
    report_submit,
    staff_keys_create,
)

AUDIT_ACTOR = "system:bootstrap"

HANDLER = "demo-handler"
ADMIN = "demo-admin"
ANALYST = "demo-analyst"
VERIFIER = "demo-verifier"
OFFICER_1 = "demo-officer-1"
OFFICER_2 = "demo-officer-2"
ACCOUNTS = (ADMIN, ANALYST, VERIFIER, HANDLER, OFFICER_1, OFFICER_2)

# The officers of each shipped case type's pool, for every body (weights: 1 is a full share of draws).
POOLS: dict[str, tuple[tuple[str, float], ...]] = {
    "procurement-review": ((ANALYST, 1.0), (OFFICER_1, 1.0), (OFFICER_2, 1.0)),
    "conflict-of-interest": ((ANALYST, 1.0), (OFFICER_1, 0.5), (OFFICER_2, 1.0)),
    "screening-review": ((ANALYST, 1.0), (OFFICER_1, 1.0), (OFFICER_2, 1.0)),
    "declaration-verification": ((VERIFIER, 1.0), (OFFICER_2, 1.0), (HANDLER, 1.0)),
    # The protected report pool: the case handler only. A draw from it is refused (a pool of one is no draw),
    # which the pools page reports; report cases go to the report's handler through the hook.
    "protected-report": ((HANDLER, 1.0),),
}
ABSENT = ("procurement-review", OFFICER_2, 21, "Training course abroad")

CHANNEL_SLUG = "integrity"


@dataclass
class DemoCases:
    """What ``demo_cases`` made: counts for the bootstrap's line, and the two secrets the demo hands out
    (``probity bootstrap`` writes them to ``var/demo-login.json``; they are never stored elsewhere)."""

    counts: dict[str, int] = field(default_factory=dict)
    recovery_key: str = ""  # the handler's reporting recovery key ("" when the handler had a key already)
    receipt: str = ""  # the receipt of the demo protected report: the reporter's way back in

    def sentence(self) -> str:
        c = self.counts
        return (
            f"{c.get('cases', 0)} cases ({c.get('open_unassigned', 0)} new and unassigned, "
            f"{c.get('assigned', 0)} assigned, {c.get('pending_outcome', 0)} waiting for a second officer, "
            f"{c.get('closed', 0)} closed), {c.get('draws', 0)} draws, {c.get('pools', 0)} pools, "
            f"{c.get('reports', 0)} protected report"
        )


def draw_seed(reference: str) -> str:
    """The demo's seed for the draw of case ``reference``: derived from it, so the demo is reproducible."""
    return hashlib.sha256(f"probity-demo-draw:{reference}".encode()).hexdigest()


def demo_cases(*, password_for: Callable[[str], str]) -> DemoCases:
    """Makes the case flow visible on the demo country (after ``demo load``, the demo accounts and the
    detectors). ``password_for(username)`` gives a demo account's password: the handler's reporting key is
    wrapped with it. Refuses (``CaseError``) when a demo account is missing; does nothing when cases exist."""
    made = DemoCases()
    if Case.objects.exists():
        made.counts = {"cases": 0}
        return made
    users = _accounts()
    with audit_actor(AUDIT_ACTOR), transaction.atomic():
        made.recovery_key = _handler_key(users[HANDLER], password_for(HANDLER))
        channel = _channel(users[HANDLER])
        pools = _pools(users)
        made.receipt = _Flow(users).run(channel)
    made.counts = {**case_states(), "draws": Draw.objects.count(), "pools": pools}
    return made


def case_states() -> dict[str, int]:
    """How many cases are in each state: new and unassigned, assigned (and being worked), with an outcome
    waiting for a second officer, closed; with the total and the protected report cases among them."""
    cases = Case.objects.all()
    pending = set(CaseOutcome.objects.filter(decided_at=None, case__closed=False).values_list("case_id", flat=True))
    return {
        "cases": cases.count(),
        "open_unassigned": cases.filter(closed=False, assignee=None).exclude(pk__in=pending).count(),
        "assigned": cases.filter(closed=False, assignee__isnull=False).exclude(pk__in=pending).count(),
        "pending_outcome": len(pending),
        "closed": cases.filter(closed=True).count(),
        "reports": cases.filter(source=Case.Source.REPORT).count(),
    }


def _accounts() -> dict[str, User]:
    users = {u.get_username(): u for u in User.objects.filter(username__in=ACCOUNTS)}
    missing = [name for name in ACCOUNTS if name not in users]
    if missing:
        raise CaseError(f"The demo accounts {', '.join(missing)} are missing; create the demo accounts first.")
    return users


def _handler_key(handler: User, password: str) -> str:
    """The handler's reporting key pair, wrapped with their demo password; returns the recovery key."""
    if StaffKey.objects.filter(user=handler).exists():
        return ""
    return staff_keys_create(user=handler, password=password)


def _channel(handler: User) -> Channel:
    """An open reporting channel whose recipient is the handler (the demo's own, or one that exists)."""
    existing = Channel.objects.filter(active=True, recipients=handler).order_by("pk").first()
    if existing is not None:
        return existing
    return channel_save(
        slug=CHANNEL_SLUG,
        name="Integrity reports",
        description=(
            "Report bribery, fraud, conflicts of interest or misuse of public money in the demo country's public "
            "bodies. You need not give your name; keep the receipt to read the answers."
        ),
        recipients=[handler],
        active=True,
    )


def _pools(users: dict[str, User]) -> int:
    today = timezone.localdate()
    for code, members in POOLS.items():
        case_type = case_type_current(code)
        pool, _created = Pool.objects.get_or_create(
            case_type_code=code, body=None, defaults={"name": f"{case_type.name}: all bodies"}
        )
        for username, weight in members:
            PoolMember.objects.get_or_create(pool=pool, officer=users[username], defaults={"weight": weight})
    code, username, days, reason = ABSENT
    member = PoolMember.objects.get(pool__case_type_code=code, pool__body=None, officer=users[username])
    member.absent_until = today + timedelta(days=days)
    member.absence_reason = reason
    member.save(update_fields=["absent_until", "absence_reason"])
    return len(POOLS)


class _Flow:
    """The demo's cases, one per state, each from the next unused flagged finding of the detectors named."""

    def __init__(self, users: dict[str, User]) -> None:
        self.users = users
        self.admin = users[ADMIN]
        self.used: set[int] = set()
        self.today = timezone.localdate()

    # --- helpers -------------------------------------------------------------------------------------------

    def finding(self, detectors: Sequence[str]) -> list[Finding]:
        """The first unused flagged finding of the first of ``detectors`` that has one, with the other unused
        flags on the same subject (they join the same case); [] when none of them flagged anything."""
        flagged = Finding.objects.filter(outcome=Finding.Outcome.FLAG, case_link__isnull=True).exclude(pk__in=self.used)
        for code in detectors:
            first = flagged.filter(detector_code=code).order_by("subject_id", "pk").first()
            if first is None:
                continue
            same = flagged.filter(subject_type=first.subject_type, subject_id=first.subject_id).order_by(
                "detector_code", "pk"
            )
            found = [first, *[f for f in same[:3] if f.pk != first.pk]]
            self.used.update(f.pk for f in found)
            return found
        return []

    def open(
        self, code: str, detectors: Sequence[str], *, actor: User, fallback: str, people: Sequence[Person] = ()
    ) -> Case:
        """A case of type ``code`` promoted from a finding of ``detectors``; opened by hand (titled
        ``fallback``) when the demo has no such finding, e.g. because a detector step failed."""
        findings = self.finding(detectors)
        if not findings:
            return case_open(case_type=code, title=fallback, actor=actor, people=people)
        first = findings[0]
        try:
            about = str(get_detector(first.detector_code).title)
        except LookupError:
            about = first.detector_code
        case = case_from_findings(
            findings=findings, actor=actor, case_type=code, title=f"{first.subject_label or first.subject_id}: {about}"
        )
        if first.subject_type == "declaration":
            declaration = Declaration.objects.filter(pk=_pk(first.subject_id)).select_related("declarant").first()
            if declaration is not None:
                case_party_add(case=case, person=declaration.declarant, role="declarant", actor=actor)
        for person in people:
            case_party_add(case=case, person=person, actor=actor)
        return case

    def official(self, detector: str) -> Person | None:
        """The person the next case from ``detector`` will be about (any official when it flagged nobody)."""
        peek = self.finding((detector,))
        self.used.difference_update(f.pk for f in peek)  # left for ``open`` to take
        person = (
            Person.objects.filter(pk=_pk(peek[0].subject_id)).first()
            if peek and peek[0].subject_type == "person"
            else None
        )
        return person or Person.objects.filter(positions__isnull=False).order_by("source_key", "pk").first()

    def draw(self, case: Case) -> User:
        """Draws the case's officer (by the administrator, with the demo's seed); returns the officer."""
        draw = case_draw(case=case, actor=self.admin, seed=draw_seed(case.reference))
        case.refresh_from_db()
        assert draw.chosen is not None
        return draw.chosen

    def second(self, case: Case, proposer: User) -> User:
        """A second officer of the case type's pool to decide on ``proposer``'s outcome."""
        names = [name for name, _weight in POOLS[case.case_type.code] if name != proposer.get_username()]
        return self.users[names[0]]

    def work(self, case: Case, officer: User, *, tasks_done: int, status: str, reason: str) -> None:
        for task in case.tasks.filter(done_at=None).order_by("due_on", "pk")[:tasks_done]:
            task_done(task=task, actor=officer)
        case_status(case=case, status=status, reason=reason, actor=officer)

    def close(self, case: Case, officer: User, outcome: str, reasoning: str, details: dict[str, str]) -> CaseOutcome:
        proposed = outcome_propose(case=case, outcome_type=outcome, reasoning=reasoning, details=details, actor=officer)
        outcome_approve(outcome=proposed, actor=self.second(case, officer), reason="Agreed on the file as it stands.")
        return proposed

    # --- the cases -----------------------------------------------------------------------------------------

    def run(self, channel: Channel) -> str:
        analyst, officer_1 = self.users[ANALYST], self.users[OFFICER_1]

        # New and unassigned: promoted from findings, waiting to be drawn or taken.
        self.open(
            "procurement-review", ("P-NONOPEN", "R038", "P-NEARESTIMATE"), actor=analyst, fallback="Non-open tender"
        )
        self.open(
            "declaration-verification",
            ("DECL-ARITHMETIC", "DECL-CROSSYEAR"),
            actor=self.users[VERIFIER],
            fallback="Declaration figures that do not add up",
        )
        self.open(
            "screening-review",
            ("CORE-ID-SHARED", "OWN-DATA-QUALITY"),
            actor=analyst,
            fallback="Identifier shared by two companies",
        )

        # Drawn at random, one officer recused: officer 1 declared a conflict with the official concerned.
        official = self.official("OWN-COI-OFFICIAL")
        if official is not None:
            recusal_declare(
                officer=officer_1,
                person=official,
                reason=f"{official} is a close relative of my spouse.",
                actor=officer_1,
            )
        drawn = self.open(
            "conflict-of-interest",
            ("OWN-COI-OFFICIAL",),
            actor=analyst,
            fallback="Official with a stake in a supplier",
            people=[official] if official is not None else [],
        )
        officer = self.draw(drawn)
        case_status(case=drawn, status="assessment", reason="Drawn; reading the ownership chain first.", actor=officer)

        # Taken and worked: tasks done, a task for a colleague, a document and a note.
        taken = self.open(
            "procurement-review",
            ("OWN-COI-BIDDER-LINKS", "P-SPLIT"),
            actor=analyst,
            fallback="Bidders linked by their owners",
        )
        case_take(case=taken, actor=analyst)
        self.work(taken, analyst, tasks_done=1, status="investigation", reason="The tender file is complete.")
        task_add(
            case=taken,
            title="Compare the bidders' addresses and directors",
            assignee=officer_1,
            due_on=self.today + timedelta(days=10),
            actor=analyst,
        )
        document_add(
            case=taken,
            name="tender-evaluation-report.txt",
            content=io.BytesIO(
                f"Evaluation report of the tender in case {taken.reference}.\n"
                "Three bids received; the two lowest bidders share a beneficial owner.\n".encode()
            ),
            content_type="text/plain",
            document_type=taken.case_type.document_types.filter(code="tender-file").first(),
            actor=analyst,
        )
        case_note(
            case=taken,
            text="The evaluation committee's chair signed both bidders' bank guarantees as a witness.",
            actor=analyst,
        )

        # An outcome proposed, waiting for a second officer (four eyes).
        pending = self.open(
            "declaration-verification",
            ("DECL-LIFESTYLE", "DECL-UNDECLARED-COMPANY"),
            actor=self.users[VERIFIER],
            fallback="Assets beyond the declared income",
        )
        officer = self.draw(pending)
        self.work(pending, officer, tasks_done=2, status="decision", reason="The declarant's explanation came in.")
        outcome_propose(
            case=pending,
            outcome_type="referral",
            reasoning="The explanation does not account for the property abroad; the file goes to the prosecutor.",
            details={"authority": "Office of the Public Prosecutor"},
            actor=officer,
        )

        # Closed with an approved outcome: a fine.
        fined = self.open(
            "procurement-review",
            ("P-SPLIT", "R038", "P-REPEATDIRECT", "P-NONOPEN"),
            actor=analyst,
            fallback="Contract split below the threshold",
        )
        officer = self.draw(fined)
        self.work(fined, officer, tasks_done=2, status="decision", reason="The split is established.")
        self.close(
            fined,
            officer,
            "fine",
            "The purchase was split into three contracts to stay below the open-tender threshold.",
            {"amount": "25000"},
        )

        # Closed with a recovery of assets, after a first proposal was sent back.
        recovered = self.open(
            "declaration-verification",
            ("DECL-WEALTH", "DECL-LIFESTYLE", "DECL-ARITHMETIC"),
            actor=self.users[VERIFIER],
            fallback="Unexplained wealth",
        )
        officer = self.draw(recovered)
        self.work(recovered, officer, tasks_done=2, status="decision", reason="Registers and bank records compared.")
        first = outcome_propose(
            case=recovered,
            outcome_type="administrative",
            reasoning="A warning for the incomplete declaration.",
            actor=officer,
        )
        outcome_reject(
            outcome=first,
            actor=self.second(recovered, officer),
            reason="The unexplained amount calls for recovery, not only a warning.",
        )
        self.close(
            recovered,
            officer,
            "recovery",
            "The declarant could not explain the growth of their assets; the court ordered their recovery.",
            {"amount_frozen": "180000", "amount_confiscated": "120000", "amount_returned": "45000"},
        )

        # Closed with "no violation".
        cleared = self.open(
            "conflict-of-interest",
            ("OWN-COI-PEP-SUPPLIER", "OWN-COI-OFFICIAL", "OWN-BO-MISMATCH"),
            actor=analyst,
            fallback="Supplier owned by a relative of an official",
        )
        officer = self.draw(cleared)
        self.work(cleared, officer, tasks_done=2, status="decision", reason="The official was heard.")
        self.close(
            cleared,
            officer,
            "no-violation",
            "The official declared the interest and stood aside from every decision on the supplier.",
            {},
        )

        # Assigned by hand, with its reason (counted on the allocation report).
        by_hand = self.open(
            "procurement-review",
            ("P-DEBARRED", "P-NOTBIDDER", "P-AMENDED"),
            actor=analyst,
            fallback="Contract with a debarred supplier",
        )
        case_assign(
            case=by_hand,
            officer=officer_1,
            reason="Officer 1 handled the supplier's debarment and knows the file.",
            actor=self.admin,
        )
        return self.report(channel)

    def report(self, channel: Channel) -> str:
        """A protected report filed through the channel, opened as a case through core's hook and answered
        by its handler; returns the report's receipt."""
        handler = self.users[HANDLER]
        report, receipt = report_submit(
            channel=channel,
            answers=_answers(channel, when=self.today - timedelta(days=12)),
        )
        opened = hook_call(
            "case_open",
            source=Case.Source.REPORT,
            source_key=report.reference,
            case_type="protected-report",
            title=f"Protected report {report.reference}",
            actor=handler,
            assignee=handler,
        )
        if not opened:
            raise CaseError("No module answers the case_open hook; the cases module is not installed.")
        case = Case.objects.get(reference=opened[0])
        report_acknowledge(
            report=report,
            user=handler,
            message="Thank you for your report. We have received it and will keep you informed.",
        )
        self.work(case, handler, tasks_done=1, status="acknowledged", reason="Receipt acknowledged to the reporter.")
        report_message_add(
            report=report,
            text="Could you tell us which tender this was and roughly when the payment was asked for?",
            author=handler,
        )
        # The conversation stays sealed in the report; the case's timeline only says that it goes on.
        case_note(case=case, text="Asked the reporter for details through the channel.", actor=handler)
        return receipt


def _answers(channel: Channel, *, when: date) -> dict[str, str]:
    """Answers to the channel's questionnaire: the demo's story for the questions it knows, the rest left out."""
    story = {
        "what": (
            "The head of the roads department asked a contractor for ten per cent of the contract value to "
            "approve the invoices for the bridge repairs."
        ),
        "when": when.isoformat(),
        "ongoing": "yes",
        "amount": "48000",
    }
    questions = {q["id"]: q for q in channel.questionnaire}
    answers = {key: value for key, value in story.items() if key in questions}
    for qid, question in questions.items():
        if question.get("required") and qid not in answers and question["kind"] in {"text", "textarea"}:
            answers[qid] = story["what"]
    return answers


def _pk(value: str) -> int:
    """A finding's subject id as a database id (0, which no row has, when it is not a number)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0

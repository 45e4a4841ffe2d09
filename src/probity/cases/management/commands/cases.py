"""probity cases: cases from the command line — list and show them, open them (by hand or from findings), draw or
assign officers, change a status, re-run recorded draws, check stored documents, and the allocation report,
statistics, catalogue and retention.

    probity cases list [--type CODE] [--status CODE] [--assignee USER] [--open | --closed] [--overdue] [-q TEXT] [-n 50]
    probity cases show CASE-2026-000001
    probity cases open --type CODE --title TITLE [--summary TEXT] [--body NAME|ID] [--priority P] [--complexity N]
    probity cases promote FINDING_ID [FINDING_ID ...] [--type CODE] [--title TITLE]
    probity cases draw REF [--reason TEXT] [--allow-single]
    probity cases assign REF USER --reason TEXT
    probity cases status REF STATUS --reason TEXT [--user USER]
    probity cases verify-draws [REF ...] [--all]      # exit 1 if a draw gives another officer when run again
    probity cases allocation-report [--since DATE]
    probity cases statistics [--since DATE] [--until DATE]
    probity cases types
    probity cases documents-verify [REF ...]          # exit 1 if a stored document no longer matches its SHA-256
    probity cases retention [--today DATE] [--dry-run]

The command acts as the system (``system:cli`` in the audit log and on the timeline), with every right, unless
``status --user`` names the officer who acts. Exit codes: 0 done, 1 a refusal or a failed check, 2 usage.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _g
from tqdm import tqdm

from probity.cases import selectors, services
from probity.cases.api import pool_states, statistics_out
from probity.cases.models import OUTCOME_FIELDS, Case, CaseDocument, CaseType, Draw
from probity.cases.names import shown
from probity.core.audit import audit_actor
from probity.core.commands import SubcommandCommand, Subcommands
from probity.core.models import Finding, PublicBody
from probity.core.roles import ROLE_LABELS

ACTOR = "system:cli"
PRIORITIES = [choice.value for choice in Case.Priority]


class _Operator:
    """Whoever runs commands on the server: every right, named ``system:cli`` in the audit log."""

    pk = None
    is_authenticated = True
    is_active = True
    is_superuser = True
    _probity_roles = {"administrator"}

    def get_username(self) -> str:
        return ACTOR

    def has_perm(self, permission: str, obj: Any = None) -> bool:
        return True


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            _g("%(value)s is not a date (write it as YYYY-MM-DD).") % {"value": text}, returncode=2
        ) from None


def _when(moment: datetime | date | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
    return moment.isoformat()


def _size(size: int) -> str:
    if size < 1024:
        return _g("%(n)d bytes") % {"n": size}
    amount = float(size)
    for unit in ("KB", "MB", "GB"):
        amount /= 1024
        if amount < 1024 or unit == "GB":
            break
    return f"{amount:.1f} {unit}"


class Command(SubcommandCommand):
    help = (
        "Cases: list, show, open, promote findings, draw, assign, status, verify-draws, allocation-report, "
        "statistics, types, documents-verify, retention. Exit codes: 0 ok, 1 refused or a check failed, 2 usage."
    )

    def add_subcommands(self, subcommands: Subcommands) -> None:
        listing = subcommands.add("list", self.list_cases, help="cases, newest first, with filters")
        listing.add_argument("--type", dest="case_type", metavar="CODE", help="a case type's code (see 'types')")
        listing.add_argument("--status", metavar="CODE", help="a status code of the type, e.g. investigation")
        listing.add_argument("--assignee", metavar="USER", help="the assigned officer's user name")
        state = listing.add_mutually_exclusive_group()
        state.add_argument("--open", action="store_true", help="open cases only")
        state.add_argument("--closed", action="store_true", help="closed cases only")
        listing.add_argument("--overdue", action="store_true", help="open cases past their due date")
        listing.add_argument("-q", default="", metavar="TEXT", help="a reference, or words of the title")
        listing.add_argument("-n", type=int, default=50, help="how many (default 50)")

        show = subcommands.add("show", self.show, help="one case: its facts, timeline, tasks, documents and more")
        show.add_argument("reference", metavar="REF")

        opening = subcommands.add("open", self.open_case, help="open a case by hand")
        opening.add_argument("--type", dest="case_type", metavar="CODE", required=True, help="a case type's code")
        opening.add_argument("--title", required=True)
        opening.add_argument("--summary", default="")
        opening.add_argument("--body", metavar="NAME|ID", help="the public body the case concerns")
        opening.add_argument("--priority", choices=PRIORITIES, default=Case.Priority.NORMAL)
        opening.add_argument("--complexity", type=int, default=1, help="1 (simple) to 5")

        promote = subcommands.add("promote", self.promote, help="open a case from findings (their ids)")
        promote.add_argument("finding_ids", type=int, nargs="+", metavar="FINDING_ID")
        promote.add_argument("--type", dest="case_type", metavar="CODE", help="chosen from the findings if left out")
        promote.add_argument("--title", default="")

        draw = subcommands.add("draw", self.draw, help="draw the case's officer at random from its pool")
        draw.add_argument("reference", metavar="REF")
        draw.add_argument("--reason", default="", help="why a case that has an officer is drawn again")
        draw.add_argument("--allow-single", action="store_true", help="draw even when only one officer can be drawn")

        assign = subcommands.add("assign", self.assign, help="assign an officer by hand, with a reason")
        assign.add_argument("reference", metavar="REF")
        assign.add_argument("username", metavar="USER")
        assign.add_argument("--reason", required=True)

        status = subcommands.add("status", self.status, help="move a case to another status, with a reason")
        status.add_argument("reference", metavar="REF")
        status.add_argument("status", metavar="STATUS", help="a status code of the case's type")
        status.add_argument("--reason", required=True)
        status.add_argument("--user", metavar="USER", help="the officer who acts (default: the system)")

        verify = subcommands.add(
            "verify-draws", self.verify_draws, help="re-run recorded random draws; exit 1 if any gives another officer"
        )
        verify.add_argument("references", nargs="*", metavar="REF")
        verify.add_argument("--all", action="store_true", help="every recorded random draw")

        report = subcommands.add(
            "allocation-report", self.allocation_report, help="who allocated how (manual share), and thin pools"
        )
        report.add_argument("--since", type=_day, metavar="DATE")

        stats = subcommands.add("statistics", self.statistics, help="counts by type, body, status and outcome")
        stats.add_argument("--since", type=_day, metavar="DATE", help="cases opened on or after")
        stats.add_argument("--until", type=_day, metavar="DATE", help="cases opened on or before")

        subcommands.add("types", self.types, help="the case-type catalogue with every version")

        documents = subcommands.add(
            "documents-verify",
            self.documents_verify,
            help="re-hash stored documents (of the cases given, or all); exit 1 if any no longer matches",
        )
        documents.add_argument("references", nargs="*", metavar="REF")

        retention = subcommands.add(
            "retention", self.retention, help="delete closed cases past their retention date (audited)"
        )
        retention.add_argument("--today", type=_day, metavar="DATE")
        retention.add_argument("--dry-run", action="store_true", help="only list what would be deleted")

    # --- output --------------------------------------------------------------------------------------------

    def _table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], *, empty: str) -> None:
        if not rows:
            self.stdout.write(empty)
            return
        widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
        for line in (headers, *rows):
            cells = [str(cell).ljust(width) for cell, width in zip(line, widths, strict=False)]
            self.stdout.write("  ".join(cells).rstrip())

    def _facts(self, facts: Sequence[tuple[str, str]]) -> None:
        width = max(len(label) for label, _value in facts)
        for label, value in facts:
            self.stdout.write(f"{(label + ':').ljust(width + 1)}  {value}")

    def _section(self, title: str) -> None:
        self.stdout.write("")
        self.stdout.write(title)

    # --- lookups -------------------------------------------------------------------------------------------

    def _case(self, reference: str) -> Case:
        case = (
            Case.objects.select_related("case_type", "status", "assignee", "body")
            .filter(reference=reference.strip().upper())
            .first()
        )
        if case is None:
            raise CommandError(
                _g("There is no case %(reference)s; see 'probity cases list'.") % {"reference": reference}, returncode=2
            )
        return case

    def _user(self, username: str) -> Any:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_g("There is no user %(name)s.") % {"name": username}, returncode=2)
        return user

    def _body(self, text: str) -> PublicBody:
        found = list(PublicBody.objects.filter(Q(name=text) | Q(pk=int(text) if text.isdigit() else None))[:2])
        if len(found) != 1:
            problem = _g("There is no public body %(body)s.") if not found else _g("Several bodies are named %(body)s.")
            raise CommandError(problem % {"body": text}, returncode=2)
        return found[0]

    def _refused(self, refusal: services.CaseError) -> CommandError:
        return CommandError(str(refusal), returncode=1)

    # --- reading -------------------------------------------------------------------------------------------

    def _case_rows(self, cases: Sequence[Case]) -> list[list[str]]:
        return [
            [
                case.reference,
                shown(case.case_type.name),
                shown(case.status.name),
                case.assignee.get_username() if case.assignee else "—",
                _when(case.due_on),
                case.title,
            ]
            for case in cases
        ]

    def list_cases(
        self,
        *,
        case_type: str | None,
        status: str | None,
        assignee: str | None,
        open: bool,
        closed: bool,
        overdue: bool,
        q: str,
        n: int,
        **options: Any,
    ) -> None:
        cases = Case.objects.select_related("case_type", "status", "assignee")
        if case_type:
            cases = cases.filter(case_type__code=case_type)
        if status:
            cases = cases.filter(status__code=status)
        if assignee:
            cases = cases.filter(assignee__username=assignee)
        if open or closed:
            cases = cases.filter(closed=closed)
        if overdue:
            cases = cases.filter(closed=False, due_on__lt=timezone.localdate())
        if q.strip():
            cases = cases.filter(Q(reference__iexact=q.strip()) | Q(title__icontains=q.strip()))
        found = list(cases.order_by("-pk")[: max(n, 0) + 1])
        listed = found[: max(n, 0)]
        headers = [_g("Reference"), _g("Type"), _g("Status"), _g("Assigned to"), _g("Due"), _g("Title")]
        self._table(headers, self._case_rows(listed), empty=_g("No cases match."))
        if len(found) > len(listed):
            self.stdout.write(
                _g("The %(n)d newest are shown; more match (narrow the filters or raise -n).") % {"n": len(listed)}
            )

    def show(self, *, reference: str, **options: Any) -> None:
        case = self._case(reference)
        today = timezone.localdate()
        self.stdout.write(f"{case.reference}: {case.title}")
        facts = [
            (
                _g("Type"),
                _g("%(name)s (version %(version)d)")
                % {"name": shown(case.case_type.name), "version": case.case_type.version},
            ),
            (_g("Status"), shown(case.status.name) + (f" ({_g('closed')})" if case.closed else "")),
            (_g("Assigned to"), case.assignee.get_username() if case.assignee else _g("nobody yet")),
            (_g("Priority"), str(case.get_priority_display())),
            (_g("Complexity"), str(case.complexity)),
            (_g("Source"), str(case.get_source_display()) + (f" ({case.source_key})" if case.source_key else "")),
            (_g("Body"), case.body.name if case.body else "—"),
            (_g("Opened"), _g("%(when)s by %(who)s") % {"when": _when(case.opened_at), "who": case.opened_by}),
            (
                _g("Due"),
                _when(case.due_on)
                + (f" ({_g('overdue')})" if not case.closed and case.due_on and case.due_on < today else ""),
            ),
        ]
        if case.acknowledge_by:
            facts.append((_g("Acknowledge by"), _when(case.acknowledge_by)))
        if case.feedback_by:
            facts.append((_g("Feedback by"), _when(case.feedback_by)))
        if case.closed:
            facts.append((_g("Closed"), _when(case.closed_at)))
            facts.append((_g("Kept until"), _when(case.retain_until)))
        self._facts(facts)
        if case.summary:
            self._section(_g("Summary"))
            self.stdout.write(case.summary)

        self._section(_g("Timeline"))
        self._table(
            [_g("When"), _g("Who"), _g("What"), _g("Details")],
            [
                [
                    _when(e.at),
                    e.actor,
                    str(e.get_kind_display()) + (f" ({_g('handlers only')})" if e.handlers_only else ""),
                    e.shown_text,
                ]
                for e in case.events.order_by("at", "pk")
            ],
            empty=_g("Nothing has happened yet."),
        )
        self._section(_g("Tasks"))
        self._table(
            [_g("No."), _g("Task"), _g("Assigned to"), _g("Due"), _g("Done")],
            [
                [
                    str(n),
                    shown(t.title),
                    t.assignee.get_username() if t.assignee else "—",
                    _when(t.due_on),
                    _g("%(when)s by %(who)s") % {"when": _when(t.done_at), "who": t.done_by} if t.done_at else _g("no"),
                ]
                for n, t in enumerate(case.tasks.select_related("assignee").order_by("pk"), 1)
            ],
            empty=_g("No tasks."),
        )
        self._section(_g("Documents"))
        self._table(
            [_g("No."), _g("File"), _g("Type"), _g("Size"), _g("SHA-256"), _g("Added by"), _g("Added")],
            [
                [
                    str(n),
                    d.name,
                    shown(d.document_type.name) if d.document_type else "—",
                    _size(d.size),
                    d.sha256,
                    d.added_by,
                    _when(d.added_at),
                ]
                for n, d in enumerate(case.documents.select_related("document_type").order_by("pk"), 1)
            ],
            empty=_g("No documents."),
        )
        self._section(_g("Parties"))
        self._table(
            [_g("Name"), _g("Kind"), _g("Role")],
            [
                [
                    str(p.person or p.organisation),
                    _g("person") if p.person_id else _g("organisation"),
                    p.role or "—",
                ]
                for p in case.parties.select_related("person", "organisation").order_by("pk")
            ],
            empty=_g("No people or organisations linked."),
        )
        self._section(_g("Findings"))
        self._table(
            [_g("Finding"), _g("Detector"), _g("Subject"), _g("Score"), _g("Explanation")],
            [
                [
                    str(link.finding.pk),
                    link.finding.detector_code,
                    link.finding.subject_label or link.finding.subject_id,
                    "—" if link.finding.score is None else f"{link.finding.score:.2f}",
                    link.finding.localized_explanation,
                ]
                for link in case.finding_links.select_related("finding").order_by("added_at", "pk")
            ],
            empty=_g("No findings."),
        )
        self._section(_g("Outcomes"))
        self._table(
            [_g("Outcome"), _g("Details"), _g("Proposed by"), _g("Decision"), _g("Reasoning")],
            [self._outcome_row(o) for o in case.outcomes.select_related("outcome_type", "proposed_by", "approved_by")],
            empty=_g("No outcome proposed yet."),
        )
        self._section(_g("Allocation"))
        self._table(
            [_g("When"), _g("How"), _g("Officer"), _g("Pool"), _g("By"), _g("Reason")],
            [
                [
                    _when(d.drawn_at),
                    str(d.get_method_display()),
                    d.chosen.get_username() if d.chosen else "—",
                    d.pool.name if d.pool else "—",
                    d.drawn_by,
                    d.reason or "—",
                ]
                for d in case.draws.select_related("chosen", "pool").order_by("drawn_at", "pk")
            ],
            empty=_g("No officer drawn or assigned yet."),
        )

    def _outcome_row(self, outcome: Any) -> list[str]:
        labels = dict(OUTCOME_FIELDS.get(outcome.outcome_type.kind, ()))
        details = "; ".join(f"{_g(labels.get(k, k))}: {v}" for k, v in (outcome.details or {}).items()) or "—"
        if outcome.decided_at is None:
            decision = _g("waiting for a second officer")
        elif outcome.rejected:
            decision = _g("sent back by %(who)s: %(why)s") % {
                "who": outcome.approved_by.get_username(),
                "why": outcome.decision_reason,
            }
        else:
            decision = _g("approved by %(who)s") % {"who": outcome.approved_by.get_username()}
        return [
            shown(outcome.outcome_type.name),
            details,
            outcome.proposed_by.get_username(),
            decision,
            outcome.reasoning,
        ]

    # --- opening and allocation ---------------------------------------------------------------------------

    def open_case(
        self,
        *,
        case_type: str,
        title: str,
        summary: str,
        body: str | None,
        priority: str,
        complexity: int,
        **options: Any,
    ) -> None:
        public_body = self._body(body) if body else None
        try:
            with audit_actor(ACTOR):
                case = services.case_open(
                    case_type=case_type,
                    title=title,
                    summary=summary,
                    actor=None,
                    body=public_body,
                    priority=priority,
                    complexity=complexity,
                )
        except services.CaseError as refusal:
            raise self._refused(refusal) from None
        self.stdout.write(
            _g("Case %(reference)s opened as %(type)s, due %(due)s: %(title)s")
            % {
                "reference": case.reference,
                "type": shown(case.case_type.name),
                "due": _when(case.due_on),
                "title": case.title,
            }
        )

    def promote(self, *, finding_ids: list[int], case_type: str | None, title: str, **options: Any) -> None:
        wanted = list(dict.fromkeys(finding_ids))
        found = Finding.objects.in_bulk(wanted)
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            raise CommandError(_g("There is no finding %(id)d.") % {"id": missing[0]}, returncode=2)
        try:
            with audit_actor(ACTOR):
                case = services.case_from_findings(
                    findings=[found[pk] for pk in wanted], actor=None, case_type=case_type or None, title=title
                )
        except services.CaseError as refusal:
            raise self._refused(refusal) from None
        self.stdout.write(
            _g("Case %(reference)s opened as %(type)s from %(n)d findings: %(title)s")
            % {"reference": case.reference, "type": shown(case.case_type.name), "n": len(wanted), "title": case.title}
        )

    def draw(self, *, reference: str, reason: str, allow_single: bool, **options: Any) -> None:
        case = self._case(reference)
        try:
            with audit_actor(ACTOR):
                draw = services.case_draw(case=case, actor=None, allow_single=allow_single, reason=reason)
        except services.CaseError as refusal:
            raise self._refused(refusal) from None
        eligible = draw.inputs.get("eligible") or []
        excluded = draw.inputs.get("excluded") or []
        self.stdout.write(
            _g(
                "%(reference)s: drawn at random from %(pool)s: %(officer)s "
                "(%(eligible)d eligible, %(excluded)d excluded)."
            )
            % {
                "reference": case.reference,
                "pool": draw.pool.name if draw.pool else "—",
                "officer": draw.chosen.get_username() if draw.chosen else "—",
                "eligible": len(eligible),
                "excluded": len(excluded),
            }
        )
        if excluded:
            self._table(
                [_g("Left out"), _g("Why")],
                [[str(row.get("name", "")), str(row.get("reason", ""))] for row in excluded],
                empty="",
            )
        self.stdout.write(
            _g("Seed %(seed)s; SHA-256 of the inputs %(hash)s.") % {"seed": draw.seed, "hash": draw.inputs_hash}
        )

    def assign(self, *, reference: str, username: str, reason: str, **options: Any) -> None:
        case = self._case(reference)
        officer = self._user(username)
        try:
            with audit_actor(ACTOR):
                services.case_assign(case=case, officer=officer, reason=reason, actor=None)
        except services.CaseError as refusal:
            raise self._refused(refusal) from None
        self.stdout.write(
            _g("%(reference)s assigned by hand to %(officer)s: %(reason)s")
            % {"reference": case.reference, "officer": officer.get_username(), "reason": reason.strip()}
        )

    def status(self, *, reference: str, status: str, reason: str, user: str | None, **options: Any) -> None:
        case = self._case(reference)
        actor: Any = self._user(user) if user else _Operator()
        try:
            with audit_actor(ACTOR):
                services.case_status(case=case, status=status, reason=reason, actor=actor)
        except services.CaseError as refusal:
            raise self._refused(refusal) from None
        self.stdout.write(
            _g("%(reference)s is now at %(status)s.") % {"reference": case.reference, "status": shown(case.status.name)}
        )

    def verify_draws(self, *, references: list[str], all: bool, verbosity: int, **options: Any) -> int:
        if not references and not all:
            raise CommandError(_g("Name the cases whose draws to re-run, or give --all."), returncode=2)
        draws: QuerySet[Draw] = Draw.objects.filter(method=Draw.Method.RANDOM).select_related("case", "chosen")
        if references:
            wanted = [self._case(r).reference for r in references]
            draws = draws.filter(case__reference__in=wanted)
        total = draws.count()
        with (
            tqdm(total=total, unit="draw", desc=_g("re-running"), disable=verbosity < 1, file=sys.stderr) as bar,
            audit_actor(ACTOR),
        ):
            checks = services.draws_verify(
                draws.order_by("pk").iterator(chunk_size=500), progress=lambda n: bar.update(1)
            )
        failed = [check for check in checks if not check.ok]
        for check in failed:
            self.stdout.write(
                _g("%(reference)s, draw of %(when)s: %(sentence)s")
                % {
                    "reference": check.draw.case.reference,
                    "when": _when(check.draw.drawn_at),
                    "sentence": check.sentence,
                }
            )
        if failed:
            self.stdout.write(
                _g("%(failed)d of %(checked)d draws failed the re-run.")
                % {"failed": len(failed), "checked": len(checks)}
            )
            return 1
        self.stdout.write(_g("All %(checked)d draws give the same officer when run again.") % {"checked": len(checks)})
        return 0

    def allocation_report(self, *, since: date | None, **options: Any) -> None:
        rows = services.allocation_report(since=since)
        if since:
            self.stdout.write(_g("Allocations since %(day)s") % {"day": since.isoformat()})
        self._table(
            [_g("Allocated by"), _g("Random draws"), _g("Manual assignments"), _g("Total"), _g("Manual share")],
            [
                [
                    row["drawn_by"],
                    str(row["random"]),
                    str(row["manual"]),
                    str(row["total"]),
                    f"{row['manual_share']:.0%}",
                ]
                for row in rows
            ],
            empty=_g("No case has been allocated yet."),
        )
        pools = pool_states()
        self._section(_g("Pools"))
        self._table(
            [_g("Pool"), _g("Case type"), _g("Body"), _g("Officers"), _g("Can be drawn now")],
            [
                [p["pool"], p["case_type"], p["body"] or _g("every body"), str(p["officers"]), str(p["available"])]
                for p in pools
            ],
            empty=_g("No pools of officers are set up."),
        )
        for pool in pools:
            if pool["warning"]:
                self.stdout.write(_g("Warning: %(sentence)s") % {"sentence": pool["warning"]})

    def statistics(self, *, since: date | None, until: date | None, **options: Any) -> None:
        figures = statistics_out(selectors.statistics(since=since, until=until))
        share = figures["closed_on_time_share"]
        mean = figures["mean_days_to_close"]
        self._facts(
            [
                (_g("Cases opened"), str(figures["opened"])),
                (_g("Open"), str(figures["open"])),
                (_g("Closed"), str(figures["closed"])),
                (_g("Overdue"), str(figures["overdue"])),
                (_g("Mean days to close"), "—" if mean is None else f"{mean:.1f}"),
                (_g("Closed within the deadline"), "—" if share is None else f"{share:.0%}"),
            ]
        )
        for key, title, column in (
            ("by_type", _g("By type"), _g("Type")),
            ("by_body", _g("By body"), _g("Body")),
            ("by_status", _g("By status"), _g("Status")),
            ("by_outcome", _g("By outcome"), _g("Outcome")),
        ):
            self._section(title)
            self._table(
                [column, _g("Cases")],
                [[row["label"], str(row["cases"])] for row in figures[key]],
                empty=_g("None."),
            )

    def types(self, **options: Any) -> None:
        rows = []
        for case_type in CaseType.objects.order_by("code", "-version"):
            try:
                current = services.case_type_current(case_type.code).pk == case_type.pk
            except services.CaseError:
                current = False
            rows.append(
                [
                    case_type.code,
                    str(case_type.version) + (" *" if current else ""),
                    shown(case_type.name),
                    _when(case_type.valid_from),
                    _when(case_type.valid_until),
                    _g("%(days)d days") % {"days": case_type.lead_time_days},
                    ", ".join(str(ROLE_LABELS.get(role, role)) for role in case_type.roles or ()) or "—",
                ]
            )
        self._table(
            [_g("Code"), _g("Version"), _g("Name"), _g("Valid from"), _g("Valid until"), _g("Lead time"), _g("Roles")],
            rows,
            empty=_g("The catalogue has no case types."),
        )
        if rows:
            self.stdout.write(_g("* the version new cases are opened under"))

    # --- checks and retention --------------------------------------------------------------------------------

    def documents_verify(self, *, references: list[str], verbosity: int, **options: Any) -> int:
        documents: QuerySet[CaseDocument] = CaseDocument.objects.select_related("case")
        if references:
            documents = documents.filter(case__reference__in=[self._case(r).reference for r in references])
        total = documents.count()
        with (
            tqdm(total=total, unit="file", desc=_g("checking"), disable=verbosity < 1, file=sys.stderr) as bar,
            audit_actor(ACTOR),
        ):

            def counted() -> Any:
                for document in documents.order_by("pk").iterator(chunk_size=500):
                    yield document
                    bar.update(1)

            failed = services.documents_verify(counted())
        for document, problem in failed:
            self.stdout.write(
                _g("%(reference)s, %(name)s: %(problem)s.")
                % {"reference": document.case.reference, "name": document.name, "problem": problem}
            )
        if failed:
            self.stdout.write(
                _g("%(failed)d of %(checked)d documents failed the check.") % {"failed": len(failed), "checked": total}
            )
            return 1
        self.stdout.write(_g("All %(checked)d documents match their SHA-256.") % {"checked": total})
        return 0

    def retention(self, *, today: date | None, dry_run: bool, **options: Any) -> None:
        on = today or timezone.localdate()
        due = Case.objects.filter(closed=True, retain_until__isnull=False, retain_until__lt=on).select_related(
            "case_type"
        )
        if dry_run:
            self._table(
                [_g("Reference"), _g("Type"), _g("Closed"), _g("Kept until"), _g("Title")],
                [
                    [c.reference, shown(c.case_type.name), _when(c.closed_at), _when(c.retain_until), c.title]
                    for c in due.order_by("retain_until", "pk")
                ],
                empty=_g("No closed case is past its retention date."),
            )
            self.stdout.write(_g("Nothing was deleted (--dry-run)."))
            return
        with audit_actor(ACTOR):
            deleted = services.retention_run(actor=_Operator(), on=on)
        self.stdout.write(
            _g("%(n)d closed cases past their retention date were deleted; each deletion is in the audit log.")
            % {"n": deleted}
        )

"""Writes of the cases module: opening and joining cases, allocation, working a case, four-eyes closing.

Every function takes the acting user, writes a timeline line (``CaseEvent``) for what the case's officers
should see, and leaves the audit log to the ``Audited`` models plus explicit ``audit_record`` entries for
actions that change no audited row (a view of a document, a re-run of a draw). Errors a person can fix are
``CaseError`` with a sentence naming the case and the reason.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import Length
from django.utils import timezone, translation
from django.utils.translation import gettext_noop as N_

from probity.cases import allocation
from probity.cases.models import (
    OUTCOME_FIELDS,
    Case,
    CaseDocument,
    CaseEvent,
    CaseFinding,
    CaseOutcome,
    CaseParty,
    CaseTask,
    CaseType,
    CustodyEvent,
    Draw,
    OutcomeKind,
    OutcomeType,
    Pool,
    PoolMember,
    Recusal,
    StatusType,
)
from probity.core.audit import actor_name, audit_actor, audit_as, audit_record
from probity.core.models import Finding, Organisation, Person, PublicBody
from probity.core.modules import hook_call
from probity.core.roles import ALL_ROLES, user_roles

logger = logging.getLogger(__name__)
User = get_user_model()


class CaseError(ValueError):
    """A refusal with a sentence for the person who asked (which case, and why)."""


# --- catalogue ---------------------------------------------------------------------------------------------


def case_type_current(code: str, *, on: date | None = None) -> CaseType:
    """The newest version of ``code`` valid on ``on`` (today by default)."""
    on = on or timezone.localdate()
    found = (
        CaseType.objects.filter(code=code, valid_from__lte=on)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on))
        .order_by("-version")
        .first()
    )
    if found is None:
        raise CaseError(f"There is no case type {code!r} valid on {on.isoformat()}.")
    return found


def case_type_revise(*, case_type: CaseType, changes: Mapping[str, Any], actor: Any) -> CaseType:
    """Applies ``changes`` (fields of the type) to ``case_type``; when cases already use it, to a new version
    instead (statuses, tasks, documents and outcomes copied), valid from today, the old one ending yesterday."""
    allowed = {
        "name",
        "description",
        "lead_time_days",
        "acknowledge_days",
        "feedback_days",
        "remind_days",
        "confidential",
        "roles",
        "sources",
        "valid_until",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise CaseError(f"A case type has no field {sorted(unknown)[0]!r} that can be edited.")
    changes = _clean_type_changes(case_type, changes)
    newest = CaseType.objects.filter(code=case_type.code).order_by("-version").first()
    if newest is not None and newest.version > case_type.version:
        raise CaseError(
            f"{case_type.name} has a newer version ({newest.version}) than {case_type.version}; edit the newest one."
        )
    with transaction.atomic(), audit_as(actor):
        if not case_type.cases.exists():
            for key, value in changes.items():
                setattr(case_type, key, value)
            case_type.save()
            return case_type
        today = timezone.localdate()
        new = CaseType.objects.create(
            code=case_type.code,
            version=case_type.version + 1,
            name=case_type.name,
            description=case_type.description,
            valid_from=today,
            lead_time_days=case_type.lead_time_days,
            acknowledge_days=case_type.acknowledge_days,
            feedback_days=case_type.feedback_days,
            remind_days=case_type.remind_days,
            confidential=case_type.confidential,
            roles=list(case_type.roles),
            sources=list(case_type.sources),
        )
        for key, value in changes.items():
            setattr(new, key, value)
        new.save()
        for status in case_type.statuses.all():
            new.statuses.create(
                order=status.order, code=status.code, name=status.name, final=status.final, questions=status.questions
            )
        for task in case_type.task_templates.all():
            new.task_templates.create(order=task.order, title=task.title, due_days=task.due_days)
        for doc in case_type.document_types.all():
            new.document_types.create(code=doc.code, name=doc.name)
        for outcome in case_type.outcome_types.all():
            new.outcome_types.create(
                code=outcome.code, kind=outcome.kind, name=outcome.name, retention_years=outcome.retention_years
            )
        CaseType.objects.filter(pk=case_type.pk).update(valid_until=today - timedelta(days=1))
        return new


def _clean_type_changes(case_type: CaseType, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes with their values checked: a name, whole numbers of days, known roles and sources."""
    cleaned: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "name":
            value = str(value or "").strip()
            if not value:
                raise CaseError("A case type needs a name.")
            value = value[:200]
        elif key == "description":
            value = str(value or "").strip()
        elif key == "confidential":
            value = bool(value)
        elif key in {"lead_time_days", "acknowledge_days", "feedback_days", "remind_days"}:
            label = key.replace("_", " ")
            if value in (None, "") and key in {"acknowledge_days", "feedback_days"}:
                value = None
            else:
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    raise CaseError(f"The {label} of {case_type.name} must be a whole number.") from None
                if not 0 <= value <= 36500:
                    raise CaseError(f"The {label} of {case_type.name} must be from 0 to 36500 days.")
        elif key in {"roles", "sources"}:
            known = set(ALL_ROLES) if key == "roles" else set(Case.Source.values)
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise CaseError(f"The {key} of {case_type.name} must be a list.")
            items = [str(item) for item in value]
            wrong = sorted(set(items) - known)
            if wrong:
                raise CaseError(f"{wrong[0]!r} is not one of the {key} a case type can name.")
            value = list(dict.fromkeys(items))
        elif key == "valid_until":
            if value in (None, ""):
                value = None
            elif not isinstance(value, date):
                try:
                    value = date.fromisoformat(str(value))
                except ValueError:
                    raise CaseError(f"{value!r} is not a date (YYYY-MM-DD).") from None
        cleaned[key] = value
    return cleaned


# --- opening -----------------------------------------------------------------------------------------------


def _next_reference() -> str:
    """``CASE-<year>-<number>``: six digits, numbered from 1 each year (seven and more past 999 999)."""
    year = timezone.localdate().year
    prefix = f"CASE-{year}-"
    this_year = Case.objects.filter(reference__startswith=prefix)
    last = this_year.order_by("-reference").values_list("reference", flat=True).first()
    if last == f"{prefix}999999":
        # Past six digits the text order no longer follows the numbers (rare: only then is the longest sought).
        last = this_year.order_by(Length("reference").desc(), "-reference").values_list("reference", flat=True).first()
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:06d}"


def _event(
    case: Case,
    kind: str,
    message: str,
    params: Mapping[str, Any],
    actor: str,
    *,
    text: str = "",
    handlers_only: bool = False,
) -> CaseEvent:
    """Writes a timeline line: ``message`` is an untranslated msgid (marked with ``N_``) with ``%(name)s``
    placeholders, shown in the reader's language (``CaseEvent.shown_text``); ``text`` keeps it in English for
    the audit trail. Params whose key ends in ``_name`` are names of the catalogue (translated when shown),
    those ending in ``_code`` identifiers; the rest is shown as given. Free text (a note) has no message, only
    ``text``."""
    values = {key: "" if value is None else str(value) for key, value in params.items()}
    if message:
        text = message % values
    return CaseEvent.objects.create(
        case=case, kind=kind, message=message, params=values, text=text, actor=actor, handlers_only=handlers_only
    )


def _msgid(label: Any) -> str:
    """The untranslated text of a (lazy) label: what a timeline param stores, whatever the request's language."""
    with translation.override(None):
        return str(label)


def case_open(
    *,
    case_type: CaseType | str,
    title: str,
    actor: Any,
    summary: str = "",
    source: str = Case.Source.MANUAL,
    source_key: str = "",
    body: PublicBody | None = None,
    priority: str = Case.Priority.NORMAL,
    complexity: int = 1,
    findings: Sequence[Finding] = (),
    people: Sequence[Person] = (),
    organisations: Sequence[Organisation] = (),
) -> Case:
    """Opens a case of the current version of its type, with the type's tasks and its deadlines."""
    if isinstance(case_type, str):
        case_type = case_type_current(case_type)
    title = title.strip()
    if not title:
        raise CaseError("A case needs a title.")
    if source not in Case.Source.values:
        raise CaseError(f"{source!r} is not a source a case can come from.")
    try:
        complexity = int(complexity)
    except (TypeError, ValueError):
        raise CaseError("Complexity is a number from 1 (simple) to 5.") from None
    if not 1 <= complexity <= 5:
        raise CaseError("Complexity is a number from 1 (simple) to 5.")
    if priority not in Case.Priority.values:
        raise CaseError(f"{priority!r} is not a priority (low, normal or high).")
    first = case_type.statuses.order_by("order").first()
    if first is None:
        raise CaseError(f"The case type {case_type} has no statuses; an administrator must add them first.")
    who = actor_name(actor)
    today = timezone.localdate()
    fields: dict[str, Any] = {
        "case_type": case_type,
        "title": title[:300],
        "summary": summary,
        "source": source,
        "source_key": source_key[:200],
        "body": body,
        "priority": priority,
        "complexity": complexity,
        "status": first,
        "opened_by": who,
        "due_on": today + timedelta(days=case_type.lead_time_days),
        "acknowledge_by": today + timedelta(days=case_type.acknowledge_days) if case_type.acknowledge_days else None,
        "feedback_by": today + timedelta(days=case_type.feedback_days) if case_type.feedback_days else None,
    }
    with transaction.atomic(), audit_as(actor):
        for attempt in range(5):  # two cases opened at the same moment may take the same next reference
            try:
                with transaction.atomic():
                    case = Case.objects.create(reference=_next_reference(), **fields)
                break
            except IntegrityError:
                if attempt == 4:
                    raise CaseError("The case could not be given a reference; try again.") from None
        _event(
            case,
            CaseEvent.Kind.OPENED,
            N_("Opened as %(type_name)s (version %(version)s). Source: %(source_name)s."),
            {
                "type_name": case_type.name,
                "version": case_type.version,
                "source_name": _msgid(Case.Source(source).label),
            },
            who,
        )
        for template in case_type.task_templates.all():
            CaseTask.objects.create(case=case, title=template.title, due_on=today + timedelta(days=template.due_days))
        for person in people:
            case_party_add(case=case, person=person, actor=actor)
        for organisation in organisations:
            case_party_add(case=case, organisation=organisation, actor=actor)
        if findings:
            case_join_findings(case=case, findings=findings, actor=actor)
    return case


def case_join_findings(*, case: Case, findings: Iterable[Finding], actor: Any) -> int:
    """Joins findings to an open case (each finding belongs to one case at most); returns how many joined.
    People and organisations the findings are about become parties of the case."""
    if case.closed:
        raise CaseError(f"Case {case.reference} is closed; findings join only open cases.")
    who = actor_name(actor)
    joined = 0
    with transaction.atomic():
        for finding in findings:
            existing = CaseFinding.objects.filter(finding=finding).select_related("case").first()
            if existing is not None:
                if existing.case_id == case.pk:
                    continue
                raise CaseError(
                    f"The finding {finding.detector_code} on {finding.subject_label or finding.subject_id} is "
                    f"already in case {existing.case.reference}."
                )
            try:
                with transaction.atomic():
                    CaseFinding.objects.create(case=case, finding=finding, added_by=who)
            except IntegrityError:  # joined to another case at the same moment
                raise CaseError(
                    f"The finding {finding.detector_code} on {finding.subject_label or finding.subject_id} was "
                    "just joined to another case."
                ) from None
            _event(
                case,
                CaseEvent.Kind.FINDING,
                N_("Finding of %(detector_code)s on %(subject)s."),
                {"detector_code": finding.detector_code, "subject": finding.subject_label or finding.subject_id},
                who,
            )
            key = _int(finding.subject_id)
            if finding.subject_type == "person" and key is not None:
                person = Person.objects.filter(pk=key).first()
                if person is not None:
                    case_party_add(case=case, person=person, actor=actor, quiet=True)
            elif finding.subject_type == "organisation" and key is not None:
                organisation = Organisation.objects.filter(pk=key).first()
                if organisation is not None:
                    case_party_add(case=case, organisation=organisation, actor=actor, quiet=True)
            joined += 1
    return joined


def _int(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def case_from_findings(
    *, findings: Sequence[Finding], actor: Any, case_type: str | CaseType | None = None, title: str = ""
) -> Case:
    """Promotes findings to a new case (the type is chosen from their subject when not given)."""
    if not findings:
        raise CaseError("Choose at least one finding to open a case from.")
    if case_type is None:
        subjects = {f.subject_type for f in findings}
        case_type = (
            "declaration-verification"
            if subjects & {"declaration"}
            else "procurement-review"
            if subjects & {"process", "tender", "contract", "award", "release", "organisation"}
            else "conflict-of-interest"
        )
    first = findings[0]
    title = title or f"{first.subject_label or first.subject_id}: {first.detector_code}"
    return case_open(case_type=case_type, title=title, actor=actor, source=Case.Source.FINDING, findings=findings)


def case_party_add(
    *,
    case: Case,
    actor: Any,
    person: Person | None = None,
    organisation: Organisation | None = None,
    role: str = "",
    quiet: bool = False,
) -> CaseParty:
    if (person is None) == (organisation is None):
        raise CaseError("Link either a person or an organisation.")
    party, created = CaseParty.objects.get_or_create(
        case=case, person=person, organisation=organisation, defaults={"role": role}
    )
    if created and not quiet:
        _event(
            case, CaseEvent.Kind.PARTY, N_("Linked %(party)s."), {"party": person or organisation}, actor_name(actor)
        )
    return party


def case_open_hook(**arguments: Any) -> str:
    """Receiver of core's ``case_open`` hook: another module asks for a case (a report, a declaration, a
    screening hit) without importing this one. Returns the case reference.

    Idempotent per source record: when a case already came from ``source`` + ``source_key`` (open or closed),
    its reference is returned and nothing is opened. ``assignee`` (e.g. the handler of a protected report, the
    only one who may read it) takes the new case; ``body_id``, ``person_ids`` and ``organisation_ids`` link it
    to the graph."""
    source = str(arguments["source"])
    source_key = str(arguments.get("source_key") or "")[:200]
    if source_key:
        existing = (
            Case.objects.filter(source=source, source_key=source_key)
            .order_by("-opened_at", "-id")
            .values_list("reference", flat=True)
            .first()
        )
        if existing is not None:
            return existing
    people = Person.objects.filter(pk__in=arguments.get("person_ids") or ())
    organisations = Organisation.objects.filter(pk__in=arguments.get("organisation_ids") or ())
    body = PublicBody.objects.filter(pk=arguments["body_id"]).first() if arguments.get("body_id") else None
    with transaction.atomic():
        case = case_open(
            case_type=arguments["case_type"],
            title=str(arguments["title"]),
            actor=arguments.get("actor"),
            summary=str(arguments.get("summary") or ""),
            source=source,
            source_key=source_key,
            body=body,
            people=list(people),
            organisations=list(organisations),
        )
        assignee = arguments.get("assignee")
        if assignee is not None:
            case_take(case=case, actor=assignee)
    return case.reference


# --- allocation --------------------------------------------------------------------------------------------


def pool_for(case: Case) -> Pool | None:
    """The pool of the case's type for its body, or else for every body."""
    pools = Pool.objects.filter(case_type_code=case.case_type.code, active=True)
    return (pools.filter(body=case.body).first() if case.body_id else None) or pools.filter(body=None).first()


def _recused(case: Case) -> dict[int, str]:
    """Officers with a declared conflict touching this case: its parties or its body."""
    people = list(case.parties.exclude(person=None).values_list("person_id", flat=True))
    organisations = list(case.parties.exclude(organisation=None).values_list("organisation_id", flat=True))
    condition = Q(person_id__in=people) | Q(organisation_id__in=organisations)
    if case.body_id:
        condition |= Q(body_id=case.body_id)
    out: dict[int, str] = {}
    for recusal in Recusal.objects.filter(condition, withdrawn_at=None).select_related(
        "person", "organisation", "body"
    ):
        what = recusal.person or recusal.organisation or recusal.body
        out.setdefault(recusal.officer_id, f"recused: conflict with {what}")
    return out


def _loads(officers: Sequence[int] | Pool) -> dict[int, float]:
    """The caseload of each officer (of a list, or of a pool's members): the complexity of the open cases
    they hold."""
    chosen = (
        Q(assignee_id__in=PoolMember.objects.filter(pool=officers).values("officer_id"))
        if isinstance(officers, Pool)
        else Q(assignee_id__in=list(officers))
    )
    rows = Case.objects.filter(chosen, closed=False).values("assignee_id").annotate(load=Sum("complexity"))
    return {row["assignee_id"]: float(row["load"] or 0) for row in rows}


def _draw_refused(case: Case, actor: Any, pool: str, sentence: str) -> CaseError:
    """Records a refused draw in the audit log (an empty or one-person pool is reported, never silently used)
    and returns the error to raise."""
    audit_record(
        action="draw_refused",
        object_type="cases.case",
        object_id=str(case.pk),
        object_label=case.reference,
        details={"pool": pool, "reason": sentence},
        actor=actor_name(actor),
    )
    return CaseError(sentence)


def case_draw(*, case: Case, actor: Any, seed: str | None = None, allow_single: bool = False, reason: str = "") -> Draw:
    """Draws the case's officer at random from its pool, records the draw and assigns the case.

    A case that already has an officer is drawn again only with a ``reason`` (kept with the draw), and the
    officer it had is left out of that draw: drawing until the wanted officer comes up must show. ``seed`` is
    for tests and benchmarks; a draw made for a person always takes a fresh random seed."""
    if case.closed:
        raise CaseError(f"Case {case.reference} is closed.")
    reason = reason.strip()
    if case.assignee is not None and not reason:
        raise CaseError(
            f"Case {case.reference} is already assigned to {case.assignee.get_username()}; "
            "drawing it again needs a reason."
        )
    pool = pool_for(case)
    if pool is None:
        raise _draw_refused(
            case,
            actor,
            "",
            f"There is no pool of officers for {case.case_type.name}; an administrator must set one up.",
        )
    today = timezone.localdate()
    members = pool.members.values_list(
        "officer_id",
        f"officer__{User.USERNAME_FIELD}",
        "officer__is_active",
        "weight",
        "absent_until",
        "absence_reason",
    )
    recused = _recused(case)
    exclusions: list[allocation.Exclusion] = []
    candidates: list[allocation.Candidate] = []
    names: dict[int, str] = {}
    loads = _loads(pool)
    for officer, username, active, share, absent_until, absence_reason in members:
        name = names[officer] = str(username)
        if not active:
            exclusions.append(allocation.Exclusion(officer, name, "account disabled"))
        elif absent_until and absent_until >= today:
            why = f"absent until {absent_until.isoformat()}: {absence_reason}".strip(": ")
            exclusions.append(allocation.Exclusion(officer, name, why))
        elif officer in recused:
            exclusions.append(allocation.Exclusion(officer, name, recused[officer]))
        elif officer == case.assignee_id:
            exclusions.append(allocation.Exclusion(officer, name, "held the case before this draw"))
        candidates.append(allocation.Candidate(officer, name, share=share, load=loads.get(officer, 0.0)))
    try:
        result = allocation.draw(
            case=case.reference,
            pool=pool.name,
            candidates=candidates,
            exclusions=exclusions,
            seed=seed,
            allow_single=allow_single,
        )
    except allocation.DrawRefused as exc:
        raise _draw_refused(case, actor, pool.name, str(exc)) from exc
    who = actor_name(actor)
    with transaction.atomic(), audit_as(actor):
        draw = Draw.objects.create(
            case=case,
            pool=pool,
            method=Draw.Method.RANDOM,
            algorithm=result.algorithm,
            seed=result.seed,
            inputs=result.inputs,
            inputs_hash=result.inputs_hash,
            chosen_id=result.chosen,
            reason=reason,
            drawn_by=who,
        )
        case.assignee_id = result.chosen
        case.save(update_fields=["assignee"])
        drawn = {
            "pool": pool.name,
            "officer": names[result.chosen],
            "eligible": len(result.inputs["eligible"]),
            "excluded": len(result.inputs["excluded"]),
            "reason": reason,
        }
        message = (
            N_(
                "Drawn at random from %(pool)s: %(officer)s (%(eligible)s eligible, %(excluded)s excluded). "
                "Drawn again: %(reason)s"
            )
            if reason
            else N_("Drawn at random from %(pool)s: %(officer)s (%(eligible)s eligible, %(excluded)s excluded).")
        )
        _event(case, CaseEvent.Kind.ASSIGNED, message, drawn, who)
    return draw


def case_assign(*, case: Case, officer: Any, reason: str, actor: Any) -> Draw:
    """Assigns an officer by hand: a separate, reasoned event that the allocation report counts."""
    reason = reason.strip()
    if not reason:
        raise CaseError(f"Assigning case {case.reference} by hand needs a reason.")
    if case.closed:
        raise CaseError(f"Case {case.reference} is closed.")
    if not officer.is_active or not officer.has_perm("cases.work_case"):
        raise CaseError(f"{officer.get_username()} does not work cases and cannot be assigned case {case.reference}.")
    if officer.pk in _recused(case):
        raise CaseError(f"{officer.get_username()} has declared a conflict with a party of case {case.reference}.")
    who = actor_name(actor)
    with transaction.atomic(), audit_as(actor):
        draw = Draw.objects.create(
            case=case, pool=pool_for(case), method=Draw.Method.MANUAL, chosen=officer, reason=reason, drawn_by=who
        )
        case.assignee = officer
        case.save(update_fields=["assignee"])
        _event(
            case,
            CaseEvent.Kind.ASSIGNED,
            N_("Assigned by hand to %(officer)s: %(reason)s"),
            {"officer": officer.get_username(), "reason": reason},
            who,
        )
    return draw


def case_take(*, case: Case, actor: Any) -> Case:
    """The acting officer takes the case (only an unassigned one: a drawn case is not taken over)."""
    if case.closed:
        raise CaseError(f"Case {case.reference} is closed.")
    if case.assignee_id == actor.pk:
        return case
    if case.assignee is not None:
        raise CaseError(f"Case {case.reference} is already assigned to {case.assignee.get_username()}.")
    if not actor.has_perm("cases.work_case") or not user_roles(actor) & set(case.case_type.roles or ()):
        raise CaseError(f"Your roles do not work cases of the type {case.case_type.name}.")
    if actor.pk in _recused(case):
        raise CaseError(f"You have declared a conflict with a party of case {case.reference}.")
    with transaction.atomic(), audit_as(actor):
        case.assignee = actor
        case.save(update_fields=["assignee"])
        _event(
            case,
            CaseEvent.Kind.TAKEN,
            N_("Taken by %(officer)s."),
            {"officer": actor.get_username()},
            actor_name(actor),
        )
    return case


@dataclass(frozen=True)
class DrawCheck:
    draw: Draw
    ok: bool
    sentence: str


def draws_verify(draws: Iterable[Draw], *, actor: Any = None, progress: Any = None) -> list[DrawCheck]:
    """Re-runs recorded random draws (manual assignments have nothing to re-run and are skipped); each gives a
    sentence. The re-run itself is audited."""
    out: list[DrawCheck] = []
    for n, draw in enumerate(draws, 1):
        if draw.method != Draw.Method.RANDOM:
            continue
        result = allocation.verify(
            inputs=draw.inputs, seed=draw.seed, recorded_hash=draw.inputs_hash, chosen=draw.chosen_id
        )
        out.append(DrawCheck(draw, result.ok, result.sentence))
        if progress is not None:
            progress(n)
    audit_record(
        action="draws_verified",
        object_type="cases.draw",
        details={"draws": len(out), "failed": sum(1 for c in out if not c.ok)},
        actor=actor_name(actor) if actor is not None else None,
    )
    return out


def recusal_declare(
    *,
    officer: Any,
    reason: str,
    actor: Any,
    person: Person | None = None,
    organisation: Organisation | None = None,
    body: PublicBody | None = None,
) -> Recusal:
    if not reason.strip():
        raise CaseError("A recusal needs a reason.")
    if person is None and organisation is None and body is None:
        raise CaseError("A recusal names a person, an organisation or a body.")
    with audit_as(actor):
        return Recusal.objects.create(
            officer=officer, person=person, organisation=organisation, body=body, reason=reason.strip()
        )


def recusal_withdraw(*, recusal: Recusal, actor: Any) -> Recusal:
    """The officer withdraws their own declared conflict (audited); draws may pick them again. Nobody else may:
    a conflict is the officer's own statement, and withdrawing it for them would let a draw pick them."""
    if recusal.officer_id != getattr(actor, "pk", None):
        raise CaseError("Only the officer who declared a conflict may withdraw it.")
    if recusal.withdrawn_at is not None:
        raise CaseError("This conflict was already withdrawn.")
    with transaction.atomic(), audit_as(actor):
        recusal.withdrawn_at = timezone.now()
        recusal.save(update_fields=["withdrawn_at"])
    return recusal


def allocation_report(*, since: date | None = None) -> list[dict[str, Any]]:
    """Per person who allocated: random draws, manual assignments and their share (who overrode how often)."""
    draws = Draw.objects.all()
    if since:
        draws = draws.filter(drawn_at__date__gte=since)
    rows = (
        draws.values("drawn_by")
        .annotate(
            random=Count("id", filter=Q(method=Draw.Method.RANDOM)),
            manual=Count("id", filter=Q(method=Draw.Method.MANUAL)),
        )
        .order_by("-manual", "drawn_by")
    )
    out = []
    for row in rows:
        total = row["random"] + row["manual"]
        out.append({**row, "total": total, "manual_share": row["manual"] / total if total else 0.0})
    return out


# --- working a case ----------------------------------------------------------------------------------------


def _require_worker(case: Case, actor: Any) -> None:
    if case.assignee_id != getattr(actor, "pk", None) and not actor.has_perm("cases.allocate_case"):
        raise CaseError(f"Only the officer assigned to case {case.reference} may work it.")


def case_status(*, case: Case, status: StatusType | str, reason: str, actor: Any) -> Case:
    """Moves the case to another status of its type, with a reason. Final statuses are reached only by an
    approved outcome (``outcome_approve``)."""
    _require_worker(case, actor)
    if isinstance(status, str):
        found = case.case_type.statuses.filter(code=status).first()
        if found is None:
            raise CaseError(f"{case.case_type.name} has no status {status!r}.")
        status = found
    if status.case_type_id != case.case_type_id:
        raise CaseError(f"That status belongs to another case type than case {case.reference}.")
    if case.closed:
        raise CaseError(f"Case {case.reference} is closed.")
    if status.final:
        raise CaseError(f"Case {case.reference} closes only with an outcome approved by a second officer.")
    if status.pk == case.status_id:
        raise CaseError(f"Case {case.reference} is already at {status.name}.")
    if not reason.strip():
        raise CaseError("Say why the status changes.")
    with transaction.atomic(), audit_as(actor):
        old = case.status
        case.status = status
        case.save(update_fields=["status"])
        _event(
            case,
            CaseEvent.Kind.STATUS,
            N_("%(old_name)s → %(new_name)s: %(reason)s"),
            {"old_name": old.name, "new_name": status.name, "reason": reason.strip()},
            actor_name(actor),
        )
    return case


def case_note(*, case: Case, text: str, actor: Any, handlers_only: bool = True) -> CaseEvent:
    if not text.strip():
        raise CaseError("A note cannot be empty.")
    if case.closed:
        raise CaseError(f"Case {case.reference} is closed.")
    _require_worker(case, actor)
    return _event(case, CaseEvent.Kind.NOTE, "", {}, actor_name(actor), text=text.strip(), handlers_only=handlers_only)


def task_add(*, case: Case, title: str, actor: Any, assignee: Any = None, due_on: date | None = None) -> CaseTask:
    if not title.strip():
        raise CaseError("A task needs a title.")
    if case.closed:
        raise CaseError(f"Case {case.reference} is closed.")
    _require_worker(case, actor)
    with transaction.atomic(), audit_as(actor):
        task = CaseTask.objects.create(case=case, title=title.strip()[:200], assignee=assignee, due_on=due_on)
        params = {
            "title": task.title,
            "officer": assignee.get_username() if assignee else "",
            "due": due_on.isoformat() if due_on else "",
        }
        if assignee and due_on:
            message = N_("Task added for %(officer)s, due %(due)s: %(title)s")
        elif assignee:
            message = N_("Task added for %(officer)s: %(title)s")
        elif due_on:
            message = N_("Task added, due %(due)s: %(title)s")
        else:
            message = N_("Task added: %(title)s")
        _event(case, CaseEvent.Kind.TASK, message, params, actor_name(actor))
    return task


def task_done(*, task: CaseTask, actor: Any) -> CaseTask:
    if task.done_at:
        return task
    if task.assignee_id != actor.pk:
        _require_worker(task.case, actor)
    with transaction.atomic(), audit_as(actor):
        task.done_at = timezone.now()
        task.done_by = actor_name(actor)
        task.save(update_fields=["done_at", "done_by"])
        # A task copied from the type's templates has a catalogue title: translated when shown.
        _event(
            task.case, CaseEvent.Kind.TASK, N_("Task done: %(task_name)s"), {"task_name": task.title}, actor_name(actor)
        )
    return task


def documents_dir() -> Path:
    folder = Path(getattr(settings, "PROBITY_CASE_FILES_DIR", "") or Path(settings.VAR_DIR) / "case-files")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _document_path(sha256: str) -> Path:
    return documents_dir() / sha256[:2] / sha256


MAX_DOCUMENT_BYTES = 100 * 1024 * 1024


def document_add(
    *,
    case: Case,
    name: str,
    content: IO[bytes],
    actor: Any,
    content_type: str = "",
    document_type: Any = None,
) -> CaseDocument:
    """Stores an evidence document under its SHA-256 (a second copy of the same bytes is stored once)."""
    _require_worker(case, actor)
    if case.closed:
        raise CaseError(f"Case {case.reference} is closed; documents are added to open cases.")
    if document_type is not None and document_type.case_type_id != case.case_type_id:
        raise CaseError(f"That document type belongs to another case type than case {case.reference}.")
    digest = hashlib.sha256()
    folder = documents_dir()
    partial = folder / f".upload-{timezone.now().timestamp()}-{id(content)}"
    size = 0
    try:
        with partial.open("wb") as out:
            for chunk in iter(lambda: content.read(1 << 20), b""):
                size += len(chunk)
                if size > MAX_DOCUMENT_BYTES:
                    raise CaseError(f"{name} is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.")
                digest.update(chunk)
                out.write(chunk)
        sha = digest.hexdigest()
        final = _document_path(sha)
        final.parent.mkdir(exist_ok=True, mode=0o700)
        if final.exists():
            partial.unlink()
        else:
            partial.replace(final)
            final.chmod(0o400)
    finally:
        partial.unlink(missing_ok=True)
    who = actor_name(actor)
    with transaction.atomic(), audit_as(actor):
        document = CaseDocument.objects.create(
            case=case,
            document_type=document_type,
            name=Path(name).name[:255] or "document",
            content_type=content_type[:120],
            size=size,
            sha256=sha,
            added_by=who,
        )
        CustodyEvent.objects.create(document=document, actor=who, action=CustodyEvent.Action.ADDED)
        _event(
            case,
            CaseEvent.Kind.DOCUMENT,
            N_("Document added: %(file_code)s (SHA-256 %(sha_code)s…)."),
            {"file_code": document.name, "sha_code": sha[:12]},
            who,
        )
    return document


def document_open(*, document: CaseDocument, actor: Any, export: bool = False) -> bytes:
    """The document's bytes, after checking them against the stored hash; the access goes in the custody log.
    A document whose bytes no longer match is reported (``CaseError``) and the mismatch logged."""
    who = actor_name(actor)
    path = _document_path(document.sha256)
    data = path.read_bytes() if path.exists() else None
    if data is None or hashlib.sha256(data).hexdigest() != document.sha256:
        CustodyEvent.objects.create(document=document, actor=who, action=CustodyEvent.Action.MISMATCH)
        audit_record(
            action="document_mismatch",
            object_type="cases.casedocument",
            object_id=str(document.pk),
            object_label=document.name,
            details={"case": document.case.reference},
            actor=who,
        )
        state = "is missing" if data is None else "no longer matches the SHA-256 recorded when it was added"
        raise CaseError(f"The document {document.name} of case {document.case.reference} {state}.")
    action = CustodyEvent.Action.EXPORTED if export else CustodyEvent.Action.VIEWED
    CustodyEvent.objects.create(document=document, actor=who, action=action)
    return data


def documents_verify(documents: Iterable[CaseDocument], *, actor: Any = None) -> list[tuple[CaseDocument, str]]:
    """Checks stored documents against their hashes; returns the ones that fail, each with a sentence. Each
    check goes in the document's custody log (hash checked, or no longer matching), and each failure in the
    audit log."""
    who = actor_name(actor)
    failed: list[tuple[CaseDocument, str]] = []
    for document in documents:
        path = _document_path(document.sha256)
        problem = ""
        if not path.exists():
            problem = "the file is missing"
        else:
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            if digest.hexdigest() != document.sha256:
                problem = "the file no longer matches its SHA-256"
        if not problem:
            CustodyEvent.objects.create(document=document, actor=who, action=CustodyEvent.Action.VERIFIED)
            continue
        failed.append((document, problem))
        CustodyEvent.objects.create(document=document, actor=who, action=CustodyEvent.Action.MISMATCH)
        audit_record(
            action="document_mismatch",
            object_type="cases.casedocument",
            object_id=str(document.pk),
            object_label=document.name,
            details={"case": document.case.reference, "problem": problem},
            actor=who,
        )
    return failed


# --- outcome and four-eyes closing -------------------------------------------------------------------------


def _clean_details(outcome_type: OutcomeType, details: Mapping[str, Any], case: Case) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, label in OUTCOME_FIELDS.get(outcome_type.kind, ()):
        raw = str(details.get(key, "") or "").strip()
        if not raw:
            raise CaseError(f"The outcome {outcome_type.name} of case {case.reference} needs: {label.lower()}.")
        if key.startswith("amount") or key == "years":
            try:
                number = Decimal(raw.replace(",", "").replace(" ", ""))
            except InvalidOperation:
                raise CaseError(f"{label} of case {case.reference} must be a number, not {raw!r}.") from None
            if not number.is_finite():
                raise CaseError(f"{label} of case {case.reference} must be a number, not {raw!r}.")
            if number < 0:
                raise CaseError(f"{label} of case {case.reference} cannot be negative.")
            if key == "years" and (number != number.to_integral_value() or not 1 <= number <= 100):
                raise CaseError(f"{label} of case {case.reference} must be a whole number of years from 1 to 100.")
            cleaned[key] = str(int(number)) if key == "years" else str(number)
        else:
            cleaned[key] = raw[:300]
    return cleaned


def outcome_propose(
    *, case: Case, outcome_type: OutcomeType | str, reasoning: str, actor: Any, details: Mapping[str, Any] | None = None
) -> CaseOutcome:
    _require_worker(case, actor)
    if case.closed:
        raise CaseError(f"Case {case.reference} is closed.")
    if isinstance(outcome_type, str):
        found = case.case_type.outcome_types.filter(code=outcome_type).first()
        if found is None:
            raise CaseError(f"{case.case_type.name} has no outcome {outcome_type!r}.")
        outcome_type = found
    if outcome_type.case_type_id != case.case_type_id:
        raise CaseError(f"That outcome belongs to another case type than case {case.reference}.")
    if not reasoning.strip():
        raise CaseError(f"The outcome of case {case.reference} needs its reasoning.")
    if case.outcomes.filter(decided_at=None).exists():
        raise CaseError(f"Case {case.reference} already has an outcome waiting for approval.")
    cleaned = _clean_details(outcome_type, details or {}, case)
    with transaction.atomic(), audit_as(actor):
        outcome = CaseOutcome.objects.create(
            case=case, outcome_type=outcome_type, details=cleaned, reasoning=reasoning.strip(), proposed_by=actor
        )
        _event(
            case,
            CaseEvent.Kind.OUTCOME,
            N_("Proposed: %(outcome_name)s. %(reasoning)s"),
            {"outcome_name": outcome_type.name, "reasoning": outcome.reasoning},
            actor_name(actor),
        )
    return outcome


def _lock_undecided(outcome: CaseOutcome) -> None:
    """Locks the outcome's row (inside a transaction) and refuses it when someone already decided on it: two
    officers deciding at the same moment cannot both do so."""
    current = list(CaseOutcome.objects.select_for_update().filter(pk=outcome.pk).values_list("decided_at", flat=True))
    if not current or current[0] is not None or outcome.decided_at is not None:
        raise CaseError(f"The outcome of case {outcome.case.reference} was already decided.")


def _years_after(day: date, years: int) -> date:
    """The same day ``years`` later (28 February for 29 February in a year that has none)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def outcome_approve(*, outcome: CaseOutcome, actor: Any, reason: str = "") -> Case:
    """A second officer approves the proposed outcome and the case closes (four eyes): never the proposer.
    A debarment asks every module that keeps debarments to record it (hook ``debarment_decided``)."""
    case = outcome.case
    if outcome.proposed_by_id == actor.pk:
        raise CaseError(f"Case {case.reference} needs a second officer to approve the outcome you proposed.")
    if not actor.has_perm("cases.approve_outcome"):
        raise CaseError("You may not approve outcomes.")
    final = case.case_type.statuses.filter(final=True).order_by("order").first()
    if final is None:
        raise CaseError(f"{case.case_type.name} has no closing status.")
    now = timezone.now()
    who = actor_name(actor)
    with transaction.atomic(), audit_as(actor):
        _lock_undecided(outcome)
        case = Case.objects.select_for_update().get(pk=case.pk)
        if case.closed:
            raise CaseError(f"Case {case.reference} is already closed.")
        outcome.case = case
        outcome.approved_by = actor
        outcome.decided_at = now
        outcome.decision_reason = reason.strip()
        outcome.save(update_fields=["approved_by", "decided_at", "decision_reason"])
        case.status = final
        case.closed = True
        case.closed_at = now
        case.retain_until = _years_after(timezone.localdate(), outcome.outcome_type.retention_years)
        case.save(update_fields=["status", "closed", "closed_at", "retain_until"])
        named = {"officer": actor.get_username(), "outcome_name": outcome.outcome_type.name}
        _event(case, CaseEvent.Kind.APPROVED, N_("Approved by %(officer)s: %(outcome_name)s."), named, who)
        _event(case, CaseEvent.Kind.CLOSED, N_("Closed: %(outcome_name)s."), named, who)
        if outcome.outcome_type.kind == OutcomeKind.DEBARMENT:
            for party in case.parties.exclude(organisation=None).select_related("organisation"):
                hook_call(
                    "debarment_decided",
                    organisation=party.organisation,
                    years=outcome.details.get("years"),
                    reference=case.reference,
                    reason=outcome.reasoning,
                    actor=actor,
                )
    return case


def outcome_reject(*, outcome: CaseOutcome, actor: Any, reason: str) -> CaseOutcome:
    case = outcome.case
    if outcome.proposed_by_id == actor.pk:
        raise CaseError("A second officer decides on the outcome you proposed.")
    if not actor.has_perm("cases.approve_outcome"):
        raise CaseError("You may not decide on outcomes.")
    if not reason.strip():
        raise CaseError("Say why the outcome is sent back.")
    with transaction.atomic(), audit_as(actor):
        _lock_undecided(outcome)
        outcome.rejected = True
        outcome.approved_by = actor
        outcome.decided_at = timezone.now()
        outcome.decision_reason = reason.strip()
        outcome.save(update_fields=["rejected", "approved_by", "decided_at", "decision_reason"])
        _event(
            case, CaseEvent.Kind.REJECTED, N_("Sent back: %(reason)s"), {"reason": reason.strip()}, actor_name(actor)
        )
    return outcome


# --- deadlines and retention -------------------------------------------------------------------------------


def overdue(*, on: date | None = None) -> dict[str, int]:
    """Counts of open cases past their deadline, of acknowledgements late (the case still at its type's first
    status past its acknowledge-by date) and of open tasks past their due date."""
    on = on or timezone.localdate()
    open_cases = Case.objects.filter(closed=False)
    earlier_status = StatusType.objects.filter(case_type=OuterRef("case_type"), order__lt=OuterRef("status__order"))
    return {
        "cases": open_cases.filter(due_on__lt=on).count(),
        "acknowledgements": open_cases.filter(acknowledge_by__lt=on).filter(~Exists(earlier_status)).count(),
        "tasks": CaseTask.objects.filter(done_at=None, due_on__lt=on, case__closed=False).count(),
    }


def reminders_due(*, on: date | None = None) -> list[Case]:
    """Open cases whose deadline falls within their type's reminder period (``remind_days`` before it) or has
    passed, soonest first."""
    on = on or timezone.localdate()
    within = Q(pk__in=[])
    for type_id, remind_days in CaseType.objects.values_list("pk", "remind_days"):
        within |= Q(case_type_id=type_id, due_on__lte=on + timedelta(days=remind_days))
    return list(
        Case.objects.filter(within, closed=False, due_on__isnull=False)
        .select_related("assignee", "case_type")
        .order_by("due_on", "id")
    )


def retention_run(*, actor: Any = None, on: date | None = None) -> int:
    """Deletes closed cases past their retention date (``retain_until`` set by the approved outcome), with
    their documents; each deletion is audited, and a stored file is removed once no remaining document uses
    it. Open cases and closed ones still within their retention are never touched. Returns how many."""
    on = on or timezone.localdate()
    deleted = 0
    who = actor_name(actor) if actor is not None else "system:cases.retention"
    expired = Case.objects.filter(closed=True, retain_until__isnull=False, retain_until__lt=on).order_by("id")
    for case in expired.iterator(chunk_size=200):
        reference = case.reference
        retain_until = case.retain_until
        assert retain_until is not None
        hashes = set(case.documents.values_list("sha256", flat=True))
        with transaction.atomic(), audit_actor(who):
            documents = case.documents.count()
            CaseFinding.objects.filter(case=case).delete()
            audit_record(
                action="case_deleted",
                object_type="cases.case",
                object_id=str(case.pk),
                object_label=reference,
                details={
                    "reason": "retention period over",
                    "retain_until": retain_until.isoformat(),
                    "documents": documents,
                },
                actor=who,
            )
            case.delete()
            still_used = set(CaseDocument.objects.filter(sha256__in=hashes).values_list("sha256", flat=True))
        for sha in sorted(hashes - still_used):
            path = _document_path(sha)
            try:
                path.unlink(missing_ok=True)
            except OSError:
                logger.warning("The file of a deleted case document could not be removed: %s", path)
        deleted += 1
    return deleted

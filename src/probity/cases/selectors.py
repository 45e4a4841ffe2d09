"""Reads of the cases module: which cases a user may see, the my-work queue, related cases, statistics."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone

from probity.cases.models import Case, CaseParty, CaseTask, CaseType
from probity.core.roles import user_roles


def case_types_workable(user: Any) -> list[int]:
    """Ids of the case-type versions whose roles include one of the user's roles. Chosen in Python (the
    catalogue holds a few dozen versions), so it is the same on every database, with or without JSON
    containment lookups."""
    roles = user_roles(user)
    if not roles:
        return []
    return [
        pk
        for pk, named, confidential in CaseType.objects.values_list("pk", "roles", "confidential")
        if not confidential and roles & set(named or ())
    ]


def cases_visible(user: Any) -> QuerySet[Case]:
    """Every case for those with ``cases.view_case`` (administrators, auditors); for working roles, the cases
    of the types their role may work, and any case assigned to them. Cases of a confidential type (a protected
    report) only their officer sees, besides those who oversee every case."""
    cases = Case.objects.select_related("case_type", "status", "assignee", "body")
    if not user.is_authenticated:
        return cases.none()
    if user.has_perm("cases.view_case"):
        return cases
    types = case_types_workable(user)
    return cases.filter(Q(case_type_id__in=types) | Q(assignee=user)) if types else cases.filter(assignee=user)


def can_see(user: Any, case: Case) -> bool:
    """The same rule as ``cases_visible`` for one case."""
    if not user.is_authenticated:
        return False
    if user.has_perm("cases.view_case") or case.assignee_id == user.pk:
        return True
    return not case.case_type.confidential and bool(user_roles(user) & set(case.case_type.roles or ()))


def my_work(user: Any) -> dict[str, Any]:
    """The signed-in officer's queue: their open cases by due date, their open tasks, and unassigned cases of
    the types they may work (to take)."""
    today = timezone.localdate()
    mine = cases_visible(user).filter(assignee=user, closed=False).order_by("due_on", "opened_at")
    # The ids of the officer's open cases first (a short list): then an index serves each arm of the condition,
    # where a subquery would make the database read every open task.
    held = list(Case.objects.filter(assignee=user, closed=False).values_list("pk", flat=True))
    tasks = (
        CaseTask.objects.filter(done_at=None, case__closed=False)
        .filter(Q(assignee=user) | Q(assignee=None, case_id__in=held))
        .select_related("case")
        .order_by("due_on", "id")
    )
    unassigned = cases_visible(user).filter(assignee=None, closed=False).order_by("due_on", "opened_at")
    return {"cases": mine, "tasks": tasks, "unassigned": unassigned, "today": today}


def related_cases(case: Case, *, user: Any = None) -> QuerySet[Case]:
    """Other cases that share a person or an organisation with this one."""
    people = CaseParty.objects.filter(case=case).exclude(person=None).values("person_id")
    organisations = CaseParty.objects.filter(case=case).exclude(organisation=None).values("organisation_id")
    others = (
        Case.objects.filter(Q(parties__person_id__in=people) | Q(parties__organisation_id__in=organisations))
        .exclude(pk=case.pk)
        .distinct()
    )
    if user is not None:
        others = others.filter(pk__in=cases_visible(user).values("pk"))
    return others.select_related("case_type", "status")


def statistics(*, since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """Counts of cases by type, body, outcome and status; mean days to close; share closed within the
    deadline. Only counts: the public statistics read these."""
    cases = Case.objects.all()
    if since:
        cases = cases.filter(opened_at__date__gte=since)
    if until:
        cases = cases.filter(opened_at__date__lte=until)
    closed = cases.filter(closed=True)
    duration = ExpressionWrapper(F("closed_at") - F("opened_at"), output_field=DurationField())
    mean = closed.aggregate(mean=Avg(duration))["mean"]
    on_time = closed.filter(closed_at__date__lte=F("due_on")).count()
    by_outcome = (
        closed.filter(outcomes__decided_at__isnull=False, outcomes__rejected=False)
        .values("outcomes__outcome_type__kind")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    return {
        "opened": cases.count(),
        "open": cases.filter(closed=False).count(),
        "closed": closed.count(),
        "overdue": cases.filter(closed=False, due_on__lt=timezone.localdate()).count(),
        "mean_days_to_close": round(mean.total_seconds() / 86400, 1) if mean is not None else None,
        "closed_on_time_share": round(on_time / closed.count(), 3) if closed.exists() else None,
        "by_type": list(cases.values("case_type__code", "case_type__name").annotate(n=Count("id")).order_by("-n")),
        "by_body": list(cases.values("body__name").annotate(n=Count("id")).order_by("-n")),
        "by_status": list(cases.values("status__name").annotate(n=Count("id")).order_by("-n")),
        "by_outcome": [{"kind": row["outcomes__outcome_type__kind"], "n": row["n"]} for row in by_outcome],
    }

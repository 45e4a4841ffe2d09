"""Write operations of the core app: running detectors, triaging findings, users and API tokens."""

from __future__ import annotations

import gc
import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connections, router, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation

from probity.core.audit import actor_name, audit_actor, audit_as, audit_record, current_actor
from probity.core.detectors import Judgement, get_detector
from probity.core.models import APIToken, AuditEntry, DetectorRun, Finding, FindingNote
from probity.core.modules import hook_call
from probity.core.roles import ALL_ROLES

FINDING_BATCH = 1000


def _stored_explanation(judgement: Any) -> str:
    """Stored explanations use the installation's language, whoever started the run."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(judgement.explanation())


def detector_run(
    *,
    code: str,
    parameters: Mapping[str, Any] | None = None,
    actor: User | None = None,
    progress: Callable[[int], object] | None = None,
    total_hint: Callable[[int | None], None] | None = None,
) -> DetectorRun:
    """Runs one detector over its data and stores one finding per judged subject.

    A subject whose earlier finding from the same detector was dismissed keeps that triage, so a
    dismissed alert is not raised again, and its assignee (whoever works the subject keeps it); the run record
    holds the parameters and the counts.
    Findings are written in batches of ``FINDING_BATCH`` rows (one INSERT each); explanations are
    rendered in the installation's language, each message translated once per run. The run is
    recorded as started by ``actor``, or (``None``) by the current ``audit_actor`` such as ``system:cli``.
    """
    detector_class = get_detector(code)
    values = detector_class.resolve_parameters(parameters)
    detector = detector_class()
    started_by = actor_name(actor)
    run = DetectorRun.objects.create(
        detector_code=code,
        started_at=timezone.now(),
        dataset=detector.dataset(),
        parameters=values,
        started_by=started_by,
    )
    if total_hint is not None:
        total_hint(detector.count_subjects())
    previous_triage = dict(
        Finding.objects.filter(detector_code=code, triage=Finding.Triage.DISMISSED).values_list(
            "subject_id", "triage_reason"
        )
    )
    # Whoever was working a subject's finding keeps the subject's new finding of the same detector.
    previous_assignee = dict(
        Finding.objects.filter(detector_code=code, assignee__isnull=False)
        .order_by("created_at", "pk")
        .values_list("subject_id", "assignee_id")
    )
    clock = time.perf_counter()
    counts = {Finding.Outcome.FLAG: 0, Finding.Outcome.PASS: 0, Finding.Outcome.NOT_APPLICABLE: 0}
    outcomes = {str(outcome): outcome for outcome in counts}
    # Rows go in with one INSERT per batch, as bulk_create would write them, but without building a
    # model instance and compiling every field of every row: at a million findings that was most of a run.
    alias = router.db_for_write(Finding)
    connection = connections[alias]
    operations = connection.ops
    columns = (
        "run",
        "detector_code",
        "subject_type",
        "subject_id",
        "subject_label",
        "outcome",
        "score",
        "evidence",
        "explanation",
        "message_id",
        "message_params",
        "triage",
        "triage_reason",
        "assignee",
        "created_at",
    )
    insert = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608  (model names only; values are parameters)
        operations.quote_name(Finding._meta.db_table),
        ", ".join(operations.quote_name(cast(Any, Finding._meta.get_field(name)).column) for name in columns),
        ", ".join(["%s"] * len(columns)),
    )

    def write(rows: list[tuple[Any, ...]]) -> None:
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.executemany(insert, rows)

    json_value = operations.adapt_json_value
    evidence_encoder = Finding._meta.get_field("evidence").encoder
    params_encoder = Finding._meta.get_field("message_params").encoder
    templates: dict[str, str] = {}  # message id -> its translation in the installation's language
    batch: list[tuple[Any, ...]] = []
    now = operations.adapt_datetimefield_value(timezone.now())  # created_at: the time its batch was built
    # A run allocates millions of small objects that live no longer than one batch: the objects that
    # already exist (Django, the detector registry) are moved out of the collector's way meanwhile.
    gc.freeze()
    try:
        for judgement in detector.evaluate(values):
            outcome = outcomes.get(judgement.outcome)
            if outcome is None:
                raise ValueError(f"detector {code} returned the unknown outcome {judgement.outcome!r}")
            counts[outcome] += 1
            dismissed_reason = previous_triage.get(judgement.subject_id)
            if type(judgement).explanation is Judgement.explanation:
                template = templates.get(judgement.message)
                if template is None:
                    with translation.override(settings.LANGUAGE_CODE):
                        template = templates[judgement.message] = translation.gettext(judgement.message)
                explanation = template % judgement.params
            else:
                explanation = _stored_explanation(judgement)
            batch.append(
                (
                    run.pk,
                    code,
                    judgement.subject_type,
                    judgement.subject_id,
                    judgement.subject_label[:300],
                    judgement.outcome,
                    judgement.score,
                    json_value(judgement.evidence, evidence_encoder),
                    explanation,
                    judgement.message,
                    json_value(judgement.params, params_encoder),
                    Finding.Triage.DISMISSED.value if dismissed_reason is not None else Finding.Triage.OPEN.value,
                    dismissed_reason or "",
                    previous_assignee.get(judgement.subject_id),
                    now,
                )
            )
            if len(batch) >= FINDING_BATCH:
                write(batch)
                if progress is not None:
                    progress(len(batch))
                batch = []
                now = operations.adapt_datetimefield_value(timezone.now())
        if batch:
            write(batch)
            if progress is not None:
                progress(len(batch))
        run.status = DetectorRun.Status.SUCCEEDED
    except Exception as exc:
        run.status = DetectorRun.Status.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        gc.unfreeze()
        run.finished_at = timezone.now()
        run.duration_seconds = round(time.perf_counter() - clock, 3)
        run.flagged = counts[Finding.Outcome.FLAG]
        run.passed = counts[Finding.Outcome.PASS]
        run.not_applicable = counts[Finding.Outcome.NOT_APPLICABLE]
        run.subjects_checked = sum(counts.values())
        run.save()
        audit_record(
            action=AuditEntry.Action.DETECTOR_RUN,
            actor=started_by,
            object_type="core.detectorrun",
            object_id=str(run.pk),
            object_label=code,
            details={
                "status": run.status,
                "parameters": values,
                "flagged": run.flagged,
                "passed": run.passed,
                "not_applicable": run.not_applicable,
            },
        )
    return run


def finding_triage(*, finding: Finding, decision: str, reason: str, actor: User | None) -> Finding:
    """Confirms or dismisses a finding; a dismissal needs a reason and stays with the subject."""
    if decision not in (Finding.Triage.CONFIRMED, Finding.Triage.DISMISSED, Finding.Triage.OPEN):
        raise ValueError(f"unknown triage decision {decision!r}")
    if decision == Finding.Triage.DISMISSED and not reason.strip():
        raise ValueError("a dismissal needs a reason")
    with audit_as(actor):
        finding.triage = decision
        finding.triage_reason = reason.strip()
        finding.save(update_fields=["triage", "triage_reason"])
    return finding


def finding_assignees() -> QuerySet[User]:
    """Who may be given a finding to look into: active users who may view findings, by user name."""
    return User.objects.with_perm(
        "core.view_finding", is_active=True, backend="django.contrib.auth.backends.ModelBackend"
    ).order_by("username")


def finding_assign(*, finding: Finding, assignee: User | None, actor: User | None) -> Finding:
    """Gives a finding to someone to look into (``None``: to no one); only users who may view findings."""
    if assignee is not None and not finding_assignees().filter(pk=assignee.pk).exists():
        raise ValueError(f"{assignee.get_username()} may not see findings, so cannot be given one")
    if finding.assignee_id == (assignee.pk if assignee is not None else None):
        return finding
    with audit_as(actor):
        finding.assignee = assignee
        finding.save(update_fields=["assignee"])
    return finding


def finding_cases(finding_ids: list[int]) -> dict[int, dict[str, str]]:
    """The case each finding is in, ``{finding id: {"reference", "url"}}``, as the modules that keep cases answer
    core's ``finding_cases`` hook (merged; none installed: no findings are in a case). A read, kept here beside
    the writes on findings because the pages and the API both need it."""
    if not finding_ids:
        return {}
    merged: dict[int, dict[str, str]] = {}
    for answer in hook_call("finding_cases", finding_ids=list(finding_ids)):
        merged.update(answer or {})
    return merged


def finding_note_add(*, finding: Finding, text: str, actor: User | None) -> FindingNote:
    """Adds a note to a finding, written by ``actor`` (the system's name when ``None``)."""
    text = text.strip()
    if not text:
        raise ValueError("a note needs some text")
    with audit_as(actor):
        return FindingNote.objects.create(finding=finding, author=actor_name(actor), text=text)


def user_create(*, username: str, password: str, roles: list[str], email: str = "") -> User:
    """Creates a user with the given roles; administrators also get access to the admin site."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(sorted(unknown))}; roles are: {', '.join(ALL_ROLES)}")
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        if "administrator" in roles:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        user.groups.set(Group.objects.filter(name__in=roles))
    return user


TOKEN_PREFIX = "prb_"  # noqa: S105  (a public prefix, not a secret)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, user: User, name: str, expires_at: datetime | None = None) -> tuple[APIToken, str]:
    """Creates a token and returns it with its secret, which is shown once and never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with audit_actor(current_actor() if current_actor() != "system" else user.get_username()):
        token = APIToken.objects.create(
            user=user, name=name[:100], prefix=secret[:10], token_hash=_token_digest(secret), expires_at=expires_at
        )
    return token, secret


def api_token_authenticate(*, secret: str) -> User | None:
    """The active user behind a bearer token, or None; records when the token was last used."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = APIToken.objects.select_related("user").filter(token_hash=_token_digest(secret)).first()
    now = timezone.now()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    if not token.user.is_active:
        return None
    # last_used_at is bookkeeping, not a change worth an audit entry: update without the model hooks.
    APIToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def api_token_revoke(*, token: APIToken, actor: User | None) -> APIToken:
    with audit_as(actor):
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token

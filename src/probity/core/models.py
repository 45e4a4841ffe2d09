"""Core domain models: who holds public office, who owns what, and what every detector concluded.

Models hold data and simple invariants only; writes that involve more than one object go through
``services.py`` (see docs/developer.md).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from probity.core.modules import subject_type_choices


class Audited(models.Model):
    """Base for every sensitive model: creates, changes and deletes are written to the audit log.

    ``audit_redacted_fields`` names fields whose values never go into the log (only the fact
    that they changed).
    """

    audit_redacted_fields: ClassVar[frozenset[str]] = frozenset()
    _audit_loaded: dict[str, Any]

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Any:
        instance = super().from_db(db, field_names, values)
        instance._audit_loaded = dict(zip(field_names, values, strict=False))
        return instance


class PublicBody(Audited):
    """A ministry, agency, municipality, state company or other body, placed in a hierarchy."""

    class Kind(models.TextChoices):
        MINISTRY = "ministry", _("Ministry")
        AGENCY = "agency", _("Agency")
        REGULATOR = "regulator", _("Regulator")
        MUNICIPALITY = "municipality", _("Municipality")
        STATE_ENTERPRISE = "state_enterprise", _("State-owned enterprise")
        JUDICIARY = "judiciary", _("Judicial body")
        LEGISLATURE = "legislature", _("Legislative body")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=300)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices, default=Kind.OTHER)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2"))
    source_key = models.CharField(
        _("source key"),
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text=_("stable key of the record in the source it was imported from; makes re-imports idempotent"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("public body")
        verbose_name_plural = _("public bodies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> list[PublicBody]:
        """Parents up to the root, nearest first; stops on a loop instead of spinning."""
        chain: list[PublicBody] = []
        seen = {self.pk}
        node = self.parent
        while node is not None and node.pk not in seen:
            chain.append(node)
            seen.add(node.pk)
            node = node.parent
        return chain

    def clean(self) -> None:
        if (
            self.pk
            and self.parent_id
            and (
                self.parent_id == self.pk or any(a.pk == self.pk for a in self.parent.ancestors())  # type: ignore[union-attr]
            )
        ):
            raise ValidationError({"parent": _("A body cannot be placed under itself.")})


class Person(Audited):
    """A natural person: an official, a family member, an owner, a director."""

    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")
        UNKNOWN = "", _("Not recorded")

    name = models.CharField(_("name"), max_length=300)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    nationality = models.CharField(_("nationality"), max_length=2, blank=True)
    source_key = models.CharField(
        _("source key"),
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text=_("stable key of the record in the source it was imported from; makes re-imports idempotent"),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
        verbose_name=_("user account"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PersonName(models.Model):
    """Another spelling of a person's or organisation's name: another script, a transliteration, a maiden name."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="names")
    organisation = models.ForeignKey(
        "Organisation", on_delete=models.CASCADE, null=True, blank=True, related_name="names"
    )
    name = models.CharField(_("name"), max_length=300)
    script = models.CharField(_("script"), max_length=4, blank=True, help_text=_("ISO 15924, e.g. Latn, Cyrl, Hans"))

    class Meta:
        verbose_name = _("alternative name")
        verbose_name_plural = _("alternative names")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=False, organisation__isnull=True)
                | models.Q(person__isnull=True, organisation__isnull=False),
                name="personname_exactly_one_owner",
            )
        ]

    def __str__(self) -> str:
        return self.name


class FamilyRelation(Audited):
    """A family tie that declarations and conflict-of-interest checks need (spouse, child, parent …)."""

    class Kind(models.TextChoices):
        SPOUSE = "spouse", _("Spouse or partner")
        CHILD = "child", _("Child")
        PARENT = "parent", _("Parent")
        SIBLING = "sibling", _("Sibling")
        OTHER = "other", _("Other relative")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="relatives")
    relative = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="relative_of")
    kind = models.CharField(_("relation"), max_length=16, choices=Kind.choices)

    class Meta:
        verbose_name = _("family relation")
        verbose_name_plural = _("family relations")
        constraints = [
            models.UniqueConstraint(fields=["person", "relative", "kind"], name="familyrelation_unique"),
            models.CheckConstraint(condition=~models.Q(person=models.F("relative")), name="familyrelation_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.person} → {self.relative} ({self.get_kind_display()})"


class Organisation(Audited):
    """A company, association, foundation, trust, or foreign public body that is not one of ours."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        PARTNERSHIP = "partnership", _("Partnership")
        ASSOCIATION = "association", _("Association")
        FOUNDATION = "foundation", _("Foundation")
        TRUST = "trust", _("Trust or arrangement")
        STATE_ENTERPRISE = "state_enterprise", _("State-owned enterprise")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=300)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices, default=Kind.COMPANY)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=2, blank=True)
    founded = models.DateField(_("founded"), null=True, blank=True)
    dissolved = models.DateField(_("dissolved"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=500, blank=True)
    source_key = models.CharField(
        _("source key"),
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text=_("stable key of the record in the source it was imported from; makes re-imports idempotent"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Position(Audited):
    """An office in a public body (minister, head of procurement …) held by a person for a period."""

    body = models.ForeignKey(PublicBody, on_delete=models.PROTECT, related_name="positions", verbose_name=_("body"))
    title = models.CharField(_("title"), max_length=300)
    holder = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="positions", verbose_name=_("holder")
    )
    start_date = models.DateField(_("start"), null=True, blank=True)
    end_date = models.DateField(_("end"), null=True, blank=True)
    is_pep = models.BooleanField(_("politically exposed"), default=False)
    source_key = models.CharField(
        _("source key"),
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text=_("stable key of the record in the source it was imported from; makes re-imports idempotent"),
    )

    class Meta:
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        ordering = ["body__name", "title"]

    def __str__(self) -> str:
        return f"{self.title}, {self.body}"

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("The end of a term cannot be before its start.")})


class Identifier(Audited):
    """An identifier of a person, organisation or body under a named scheme.

    National identity numbers are never stored in clear: only a keyed hash (``value_hash``) so
    that two records can be matched without the number being readable in a database copy.
    """

    class Scheme(models.TextChoices):
        NATIONAL_ID = "national_id", _("National identity number")
        COMPANY_REGISTER = "company_register", _("Company registry number")
        LEI = "lei", _("Legal Entity Identifier (LEI)")
        TAX_ID = "tax_id", _("Tax identification number")
        VAT = "vat", _("VAT number")
        PROCUREMENT = "procurement", _("Procurement system identifier")
        OTHER = "other", _("Other")

    HASHED_SCHEMES: ClassVar[frozenset[str]] = frozenset({Scheme.NATIONAL_ID})
    audit_redacted_fields = frozenset({"value", "value_hash"})

    scheme = models.CharField(_("scheme"), max_length=32, choices=Scheme.choices)
    issuer = models.CharField(_("issuing country or register"), max_length=64, blank=True)
    value = models.CharField(_("value"), max_length=200, blank=True)
    value_hash = models.CharField(max_length=64, db_index=True, editable=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="identifiers")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="identifiers"
    )
    body = models.ForeignKey(PublicBody, on_delete=models.CASCADE, null=True, blank=True, related_name="identifiers")

    class Meta:
        verbose_name = _("identifier")
        verbose_name_plural = _("identifiers")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(person__isnull=False, organisation__isnull=True, body__isnull=True)
                    | models.Q(person__isnull=True, organisation__isnull=False, body__isnull=True)
                    | models.Q(person__isnull=True, organisation__isnull=True, body__isnull=False)
                ),
                name="identifier_exactly_one_subject",
            ),
        ]
        indexes = [models.Index(fields=["scheme", "issuer", "value_hash"], name="identifier_lookup")]

    def __str__(self) -> str:
        # Language-neutral: this text is also what the audit log records as the object's label.
        return f"{self.scheme}: {self.display_value}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Keep the invariant "a national ID is never stored in clear" at the lowest level.
        if self.value:
            self.value_hash = self.hash_value(self.scheme, self.issuer, self.value)
            if self.scheme in self.HASHED_SCHEMES:
                self.value = ""
        super().save(*args, **kwargs)

    @property
    def display_value(self) -> str:
        """The value as it may be shown: national ID numbers are never readable."""
        return "••••" if self.scheme in self.HASHED_SCHEMES else self.value

    @staticmethod
    def normalise(value: str) -> str:
        """Registry numbers are compared without spaces, dots, dashes or letter case."""
        return "".join(ch for ch in value.upper() if ch.isalnum())

    @staticmethod
    def hash_value(scheme: str, issuer: str, value: str) -> str:
        key = settings.IDENTIFIER_KEY.encode()
        message = f"{scheme}|{issuer.upper()}|{Identifier.normalise(value)}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()


# --- audit log -------------------------------------------------------------------------------


class AuditEntry(models.Model):
    """One append-only entry of the audit log.

    ``entry_hash`` is an HMAC over this entry's content and ``previous_hash``, so editing or
    deleting any entry breaks the chain from that point on (``probity audit verify``). Entries
    carry who, what and which object, and the names of changed fields; never secrets, national ID
    numbers or report content.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Changed")
        DELETE = "delete", _("Deleted")
        SIGN_IN = "sign_in", _("Signed in")
        SIGN_IN_FAILED = "sign_in_failed", _("Sign-in failed")
        SIGN_OUT = "sign_out", _("Signed out")
        SECOND_FACTOR = "second_factor", _("Second factor verified")
        SECOND_FACTOR_ENROLLED = "second_factor_enrolled", _("Second factor enrolled")
        TOKEN_CREATED = "token_created", _("API token created")
        TOKEN_REVOKED = "token_revoked", _("API token revoked")
        DETECTOR_RUN = "detector_run", _("Detector run")
        EXPORT = "export", _("Data exported")
        JOB_START = "job_start", _("Job started")
        JOB_CANCEL = "job_cancel", _("Job cancelled")
        ANCHOR = "anchor", _("Audit anchor written")
        TAMPER_DETECTED = "tamper_detected", _("Tampering found; log continued")
        OTHER = "other", _("Other")

    sequence = models.PositiveBigIntegerField(_("sequence"), unique=True)
    recorded_at = models.DateTimeField(_("recorded at"))
    actor = models.CharField(_("actor"), max_length=150, help_text=_("user name, or system:<job>"))
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_label = models.CharField(_("object"), max_length=200, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["sequence"]
        default_permissions = ("view",)
        permissions = [("verify_auditentry", "Can verify the audit log")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Audit entries are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Audit entries are append-only and cannot be deleted.")


class AuditHead(models.Model):
    """A single row holding the chain's tip; locking it serialises writers so the chain never forks.

    ``seal`` is an HMAC (audit key) over the sequence and hash, so the head cannot be rewritten to a
    shorter chain without the key; an empty seal marks a head that was missing and has just been created.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.PositiveBigIntegerField(default=0)
    entry_hash = models.CharField(max_length=64, default="0" * 64)
    seal = models.CharField(max_length=64, default="", blank=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"audit head at #{self.sequence}"


# --- findings ------------------------------------------------------------------------------


class DetectorRun(models.Model):
    """One execution of one detector: when, on which data, with which parameters, how long, how many."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    detector_code = models.CharField(_("detector"), max_length=64, db_index=True)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    duration_seconds = models.FloatField(_("duration (s)"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    dataset = models.CharField(_("data"), max_length=300, help_text=_("what the detector read"))
    parameters = models.JSONField(_("parameters"), default=dict)
    subjects_checked = models.PositiveIntegerField(_("subjects checked"), default=0)
    flagged = models.PositiveIntegerField(_("flagged"), default=0)
    passed = models.PositiveIntegerField(_("passed"), default=0)
    not_applicable = models.PositiveIntegerField(_("not applicable"), default=0)
    error = models.TextField(_("error"), blank=True)
    started_by = models.CharField(_("started by"), max_length=150)

    class Meta:
        verbose_name = _("detector run")
        verbose_name_plural = _("detector runs")
        ordering = ["-started_at"]
        permissions = [("run_detector", "Can run detectors")]

    def __str__(self) -> str:
        return f"{self.detector_code} @ {self.started_at:%Y-%m-%d %H:%M}"


class Finding(Audited):
    """What one detector concluded about one subject in one run: flag, pass or not applicable."""

    class Outcome(models.TextChoices):
        FLAG = "flag", _("Flag")
        PASS = "pass", _("Pass")
        NOT_APPLICABLE = "not_applicable", _("Not applicable")

    class Triage(models.TextChoices):
        OPEN = "open", _("Open")
        CONFIRMED = "confirmed", _("Confirmed")
        DISMISSED = "dismissed", _("Dismissed")

    run = models.ForeignKey(DetectorRun, on_delete=models.PROTECT, related_name="findings", verbose_name=_("run"))
    detector_code = models.CharField(_("detector"), max_length=64, db_index=True)
    subject_type = models.CharField(_("subject type"), max_length=32, choices=subject_type_choices)
    subject_id = models.CharField(_("subject"), max_length=200, help_text=_("database id, OCID or other stable key"))
    subject_label = models.CharField(_("subject name"), max_length=300, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    score = models.FloatField(_("score"), null=True, blank=True, help_text=_("0 (no risk) to 1 (highest)"))
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    explanation = models.TextField(_("explanation"), help_text=_("in the installation's default language"))
    message_id = models.CharField(max_length=300, blank=True, help_text=_("untranslated message of the explanation"))
    message_params = models.JSONField(default=dict, blank=True)
    triage = models.CharField(_("triage"), max_length=16, choices=Triage.choices, default=Triage.OPEN)
    triage_reason = models.TextField(_("triage reason"), blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_findings",
        verbose_name=_("assignee"),
        help_text=_("who looks into the finding"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["-created_at", "detector_code"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id"], name="finding_subject"),
            models.Index(fields=["detector_code", "outcome"], name="finding_detector_outcome"),
        ]
        permissions = [("triage_finding", "Can confirm or dismiss findings")]

    def __str__(self) -> str:
        return f"{self.detector_code} {self.outcome} {self.subject_type}:{self.subject_id}"

    @property
    def localized_explanation(self) -> str:
        """The explanation in the reader's language when the detector gave a translatable message."""
        from django.utils.translation import gettext

        if self.message_id:
            try:
                return gettext(self.message_id) % self.message_params
            except (KeyError, TypeError, ValueError):
                return self.explanation
        return self.explanation


class FindingNote(Audited):
    """A note someone wrote about a finding while looking into it; notes are kept, never edited."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="notes", verbose_name=_("finding"))
    author = models.CharField(_("author"), max_length=150, help_text=_("user name of who wrote the note"))
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        verbose_name = _("finding note")
        verbose_name_plural = _("finding notes")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.author} @ {self.created_at:%Y-%m-%d %H:%M}"


# --- API tokens ----------------------------------------------------------------------------


class APIToken(Audited):
    """A bearer token for a machine client; only its SHA-256 is stored, the token is shown once."""

    audit_redacted_fields = frozenset({"token_hash"})

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, help_text=_("first characters, to recognise the token"))
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


# --- background jobs -----------------------------------------------------------------------


class Schedule(models.Model):
    """A job kind run at set times (a cron expression), edited by an administrator; each run is a Job."""

    code = models.SlugField(_("code"), max_length=80, unique=True)
    label = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("job"), max_length=100)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    cron = models.CharField(
        _("when"),
        max_length=100,
        help_text=_("A cron expression in UTC: minute hour day-of-month month day-of-week, e.g. 30 2 * * *."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_job = models.ForeignKey(
        "Job", verbose_name=_("last job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.CharField(_("updated by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.display_label

    @property
    def display_label(self) -> str:
        """The name in the reader's language: a module's proposed name is stored in English and translated
        here; a name an administrator typed is shown as typed."""
        from django.utils.translation import gettext

        return gettext(self.label)


class Job(models.Model):
    """One piece of long work run by a worker: who asked, what it did, how far it got, how it ended.

    The queue itself is django-tasks' database backend (``django_tasks_db``); this record is what people
    see. ``parameters`` and ``log`` never hold personal data: file names, codes and counts only.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Finished")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Trigger(models.TextChoices):
        PAGE = "page", _("Started on a page")
        API = "api", _("Started through the API")
        CLI = "cli", _("Started from the command line")
        EVENT = "event", _("Started by an event")
        SCHEDULE = "schedule", _("Started by a schedule")

    kind = models.CharField(_("job"), max_length=100, db_index=True)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    queue = models.CharField(_("queue"), max_length=40, default="default")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(_("started how"), max_length=16, choices=Trigger.choices, default=Trigger.PAGE)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_by_name = models.CharField(_("requested by"), max_length=150)
    schedule = models.ForeignKey(
        Schedule, verbose_name=_("schedule"), null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    # Identifies work that must not wait twice in the queue (e.g. one declaration's verification).
    dedupe_key = models.CharField(_("deduplication key"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("queued"), auto_now_add=True, db_index=True)
    run_after = models.DateTimeField(_("not before"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    worker = models.CharField(_("worker"), max_length=120, blank=True)
    task_id = models.CharField(_("queue entry"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("attempts allowed"), default=1)
    cancel_requested = models.BooleanField(_("cancellation requested"), default=False)
    progress_done = models.BigIntegerField(_("done"), default=0)
    progress_total = models.BigIntegerField(_("of"), null=True, blank=True)
    progress_label = models.CharField(_("stage"), max_length=200, blank=True)
    log = models.JSONField(_("log"), default=list, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    summary = models.TextField(_("outcome"), blank=True)
    error = models.TextField(_("why it failed"), blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "kind"], name="core_job_status_kind")]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=models.Q(status="queued") & ~models.Q(dedupe_key=""),
                name="core_job_one_waiting_per_key",
            )
        ]
        permissions = [("manage_jobs", "Can see and cancel everyone's jobs and edit schedules")]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.kind})"

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED}

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return None
        return max(0, min(100, round(100 * self.progress_done / self.progress_total)))


# --- the graph: links between source records and core people and organisations ---------------------


class RecordLink(models.Model):
    """One link between a record of a source (a register party, a person named in a declaration …) and a core
    person or organisation, with why it was made (``rule`` and the parameters of its sentence) and its state.

    Linkers (``core.links``) make and remove automatic links; an analyst's confirm or reject stays: a rejected
    link is never made again automatically and a confirmed one is never removed automatically.
    """

    class State(models.TextChoices):
        AUTOMATIC = "automatic", _("Made automatically")
        CONFIRMED = "confirmed", _("Confirmed by an analyst")
        REJECTED = "rejected", _("Rejected by an analyst")

    source = models.CharField(_("source"), max_length=64, help_text=_("the kind of record, e.g. ownership.party"))
    source_key = models.CharField(_("record"), max_length=200)
    source_label = models.CharField(_("record name"), max_length=300, blank=True)
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, null=True, blank=True, related_name="record_links", verbose_name=_("person")
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="record_links",
        verbose_name=_("organisation"),
    )
    rule = models.CharField(_("rule"), max_length=64)
    reason_params = models.JSONField(_("reason"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.AUTOMATIC)
    decided_by = models.CharField(_("decided by"), max_length=150, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("made"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("record link")
        verbose_name_plural = _("record links")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=False, organisation__isnull=True)
                | models.Q(person__isnull=True, organisation__isnull=False),
                name="recordlink_exactly_one_target",
            ),
            models.UniqueConstraint(
                fields=["source", "source_key", "person"],
                condition=models.Q(person__isnull=False),
                name="recordlink_one_per_person",
            ),
            models.UniqueConstraint(
                fields=["source", "source_key", "organisation"],
                condition=models.Q(organisation__isnull=False),
                name="recordlink_one_per_organisation",
            ),
        ]
        indexes = [
            models.Index(fields=["source", "source_key"], name="recordlink_source"),
            models.Index(fields=["state", "rule"], name="recordlink_state_rule"),
        ]
        permissions = [("decide_recordlink", "Can confirm or reject links between records")]

    def __str__(self) -> str:
        return f"{self.source}:{self.source_key} → {self.person_id or self.organisation_id}"


class LinkTouch(models.Model):
    """A record a change touched, waiting for the linking job (``core.link``) to link it again."""

    kind = models.CharField(max_length=64)
    key = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="linktouch_unique")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"

"""Asset and interest declarations: the declaration, its immutable versions, and the exchange-rate table.

A ``Declaration`` is one filing obligation (declarant, type, year); each submission or correction
is a new ``DeclarationVersion`` whose content, schema version and SHA-256 hash never change.
Writes go through ``probity.declarations.services``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from probity.core.models import Audited


class Declaration(Audited):
    """One declaration of one declarant for one period and type; its content lives in its versions."""

    class Type(models.TextChoices):
        ENTRY = "entry", _("Entry")
        ANNUAL = "annual", _("Annual")
        EXIT = "exit", _("Exit")
        POST_EXIT = "post_exit", _("Post-exit")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")

    declarant = models.ForeignKey(
        "core.Person", on_delete=models.PROTECT, related_name="declarations", verbose_name=_("declarant")
    )
    body = models.ForeignKey(
        "core.PublicBody",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="declarations",
        verbose_name=_("body"),
    )
    body_name = models.CharField(_("body name"), max_length=300, blank=True)
    position_title = models.CharField(_("position"), max_length=300, blank=True)
    declaration_type = models.CharField(_("type"), max_length=16, choices=Type.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    period_start = models.DateField(_("period start"), null=True, blank=True)
    period_end = models.DateField(_("period end"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    external_id = models.CharField(
        _("external id"),
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text=_("stable id of the declaration in the system it came from; makes re-imports idempotent"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("declaration")
        verbose_name_plural = _("declarations")
        ordering = ["-year", "declarant__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["declarant", "declaration_type", "year"], name="declaration_one_per_period"
            ),
        ]

    def __str__(self) -> str:
        # Language-neutral: also the audit log's label for the object.
        return f"{self.declaration_type} {self.year} #{self.pk}"

    def latest_version(self) -> DeclarationVersion | None:
        return self.versions.order_by("-number").first()


class DeclarationVersion(Audited):
    """One submitted content of a declaration; never changed or deleted once written."""

    declaration = models.ForeignKey(
        Declaration, on_delete=models.PROTECT, related_name="versions", verbose_name=_("declaration")
    )
    number = models.PositiveIntegerField(_("version"))
    schema_version = models.CharField(_("schema version"), max_length=16)
    content = models.JSONField(_("content"))
    content_hash = models.CharField(_("content hash (SHA-256)"), max_length=64, db_index=True)
    submitted_at = models.DateTimeField(_("submitted at"))
    submitted_by = models.CharField(_("submitted by"), max_length=150)
    source = models.CharField(_("source"), max_length=300, blank=True, help_text=_("web, api or the imported file"))

    audit_redacted_fields = frozenset({"content"})

    class Meta:
        verbose_name = _("declaration version")
        verbose_name_plural = _("declaration versions")
        ordering = ["declaration", "number"]
        constraints = [models.UniqueConstraint(fields=["declaration", "number"], name="declarationversion_unique")]

    def __str__(self) -> str:
        return f"declaration #{self.declaration_id} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Declaration versions are immutable; a correction is a new version.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Declaration versions are immutable and cannot be deleted.")


class ExchangeRate(Audited):
    """How many units of ``base_currency`` one unit of ``currency`` was worth on ``date``."""

    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217"))
    base_currency = models.CharField(_("base currency"), max_length=3, help_text=_("ISO 4217"))
    date = models.DateField(_("date"))
    rate = models.DecimalField(_("rate"), max_digits=24, decimal_places=10)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "base_currency", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "base_currency", "date"], name="exchangerate_unique"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchangerate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency}/{self.base_currency} {self.date} {self.rate}"


# --- e-filing: deadlines, drafts, reminders ------------------------------------------------------


class FilingDeadline(Audited):
    """When declarations of one type and year are due, for every body or for one body."""

    declaration_type = models.CharField(_("type"), max_length=16, choices=Declaration.Type.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    body = models.ForeignKey(
        "core.PublicBody",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="filing_deadlines",
        verbose_name=_("body"),
        help_text=_("empty: every body"),
    )
    due_date = models.DateField(_("due date"))
    reminder_days = models.JSONField(
        _("reminders (days before the due date)"), default=list, blank=True, help_text=_("for example [30, 7, 1]")
    )

    class Meta:
        verbose_name = _("filing deadline")
        verbose_name_plural = _("filing deadlines")
        ordering = ["-year", "declaration_type", "due_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["declaration_type", "year", "body"], name="filingdeadline_unique", nulls_distinct=False
            ),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_type} {self.year} due {self.due_date}"


class DeclarationDraft(Audited):
    """The declarant's unsubmitted work on a declaration (new, or a correction of a submitted one)."""

    declaration = models.OneToOneField(
        Declaration, on_delete=models.CASCADE, related_name="draft", verbose_name=_("declaration")
    )
    content = models.JSONField(_("content"), default=dict)
    step = models.CharField(_("current step"), max_length=64, blank=True)
    based_on_version = models.ForeignKey(
        DeclarationVersion,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("the version this draft corrects or was pre-filled from"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.CharField(_("updated by"), max_length=150, blank=True)

    audit_redacted_fields = frozenset({"content"})

    class Meta:
        verbose_name = _("declaration draft")
        verbose_name_plural = _("declaration drafts")

    def __str__(self) -> str:
        return f"draft of declaration #{self.declaration_id}"


class FilingReminder(models.Model):
    """One reminder sent to one obligated person; unique so that a re-run never sends it twice."""

    class Kind(models.TextChoices):
        DUE_SOON = "due_soon", _("Due soon")
        OVERDUE = "overdue", _("Overdue")

    person = models.ForeignKey("core.Person", on_delete=models.CASCADE, related_name="filing_reminders")
    declaration_type = models.CharField(_("type"), max_length=16, choices=Declaration.Type.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    days_before = models.IntegerField(_("days before the due date"), default=0)
    sent_at = models.DateTimeField(_("sent at"))
    channel = models.CharField(_("channel"), max_length=32, default="email")

    class Meta:
        verbose_name = _("filing reminder")
        verbose_name_plural = _("filing reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "declaration_type", "year", "kind", "days_before"], name="filingreminder_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.declaration_type} {self.year} person #{self.person_id}"


# --- verification: selection for audit and the verifier's workflow -------------------------------


class SampleDraw(Audited):
    """A verifiable random draw: anyone with the seed and the population can draw the same sample again."""

    drawn_at = models.DateTimeField(_("drawn at"))
    drawn_by = models.CharField(_("drawn by"), max_length=150)
    seed = models.CharField(_("seed"), max_length=128)
    algorithm = models.CharField(_("algorithm"), max_length=100)
    criteria = models.JSONField(_("population criteria"), default=dict, blank=True)
    population_size = models.PositiveIntegerField(_("population size"))
    population_hash = models.CharField(_("population hash (SHA-256)"), max_length=64)
    size = models.PositiveIntegerField(_("sample size"))
    selected = models.JSONField(_("selected declarations"), default=list)

    class Meta:
        verbose_name = _("random sample draw")
        verbose_name_plural = _("random sample draws")
        ordering = ["-drawn_at"]

    def __str__(self) -> str:
        return f"sample #{self.pk} of {self.size} from {self.population_size}"


class VerificationCase(Audited):
    """A declaration selected for full verification, its verifier and the outcome."""

    class Reason(models.TextChoices):
        RISK = "risk", _("Risk score")
        RANDOM = "random", _("Random sample")
        MANUAL = "manual", _("Manual selection")
        COMPLAINT = "complaint", _("Complaint or report")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        ASSIGNED = "assigned", _("Assigned")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")

    class Outcome(models.TextChoices):
        NONE = "", _("Not decided")
        NO_VIOLATION = "no_violation", _("No violation")
        CORRECTED = "corrected", _("Corrected by the declarant")
        VIOLATION = "violation", _("Violation found")
        REFERRAL = "referral", _("Referred to another authority")
        SANCTION = "sanction", _("Sanction imposed")

    declaration = models.ForeignKey(
        Declaration, on_delete=models.PROTECT, related_name="verification_cases", verbose_name=_("declaration")
    )
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    risk_score = models.FloatField(_("risk score at selection"), default=0)
    sample = models.ForeignKey(
        SampleDraw, on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("sample")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    verifier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="verification_cases",
        verbose_name=_("verifier"),
    )
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True, default="")
    outcome_notes = models.TextField(_("outcome notes"), blank=True)
    referred_to = models.CharField(_("referred to"), max_length=300, blank=True)
    sanction = models.CharField(_("sanction"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("verification case")
        verbose_name_plural = _("verification cases")
        ordering = ["-risk_score", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["declaration"],
                condition=~models.Q(status="completed"),
                name="verificationcase_one_open_per_declaration",
            ),
        ]

    def __str__(self) -> str:
        return f"verification of declaration #{self.declaration_id} ({self.reason})"


# --- publication ---------------------------------------------------------------------------------


class RedactionProfile(Audited):
    """Which fields of a declaration are withheld from publication (paths into the declaration content)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    fields = models.JSONField(
        _("redacted fields"),
        default=list,
        help_text=_("paths such as declarant.national_id or real_estate[].address; [] means every row"),
    )
    is_default = models.BooleanField(_("default profile"), default=False)

    class Meta:
        verbose_name = _("redaction profile")
        verbose_name_plural = _("redaction profiles")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PublishedDeclaration(Audited):
    """The public, redacted copy of one declaration version; the only source of every public output."""

    declaration = models.OneToOneField(
        Declaration, on_delete=models.PROTECT, related_name="publication", verbose_name=_("declaration")
    )
    version = models.ForeignKey(DeclarationVersion, on_delete=models.PROTECT, related_name="+")
    profile = models.ForeignKey(RedactionProfile, on_delete=models.PROTECT, related_name="publications")
    content = models.JSONField(_("published content"))
    declarant_name = models.CharField(_("declarant"), max_length=300, db_index=True)
    body_name = models.CharField(_("body"), max_length=300, blank=True, db_index=True)
    position_title = models.CharField(_("position"), max_length=300, blank=True)
    declaration_type = models.CharField(_("type"), max_length=16, choices=Declaration.Type.choices)
    year = models.PositiveSmallIntegerField(_("year"), db_index=True)
    search_text = models.TextField(_("search text"), blank=True, help_text=_("built from the published content only"))
    published_at = models.DateTimeField(_("published at"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("published declaration")
        verbose_name_plural = _("published declarations")
        ordering = ["declarant_name", "-year"]

    def __str__(self) -> str:
        return f"published declaration #{self.declaration_id}"

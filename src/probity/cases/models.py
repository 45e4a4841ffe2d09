"""Cases: one workflow from a signal (a finding, a declaration, a report, a screening hit, a tip) to an outcome.

The catalogue follows Open Zaak's case types (zaaktypen): a ``CaseType`` is one *version* of a kind of case,
with its statuses in order, task templates, document types and outcome types, its statutory deadlines and
the roles that may work it. A case keeps the version it was opened under; editing a type that cases use
makes a new version.

Officers are drawn for a case at random from a ``Pool`` (by case type and body), weighted by caseload and
complexity, without those excluded or recused; each ``Draw`` records everything needed to run it again
(pool, weights, exclusions, seed, algorithm version) and a hash of those inputs. A manual assignment is a
``Draw`` of method "manual" with a reason, so the register counts it.

Evidence documents are stored by SHA-256 (``CaseDocument``), and each access is a ``CustodyEvent``. What
happened on a case is its ``CaseEvent`` timeline; sensitive changes are also audited (``Audited``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import models
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from probity.cases.names import shown
from probity.core.models import Audited, Finding, Organisation, Person, PublicBody


class OutcomeKind(models.TextChoices):
    NO_VIOLATION = "no_violation", _("No violation")
    ADMINISTRATIVE = "administrative", _("Administrative measure")
    DISCIPLINARY = "disciplinary", _("Disciplinary proceedings")
    FINE = "fine", _("Fine")
    REFERRAL = "referral", _("Referral to prosecution")
    DEBARMENT = "debarment", _("Debarment")
    RECOVERY = "recovery", _("Recovery of assets")
    OTHER = "other", _("Other outcome")


# Fields an outcome of each kind must have (``CaseOutcome.details``), with their labels.
OUTCOME_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    OutcomeKind.FINE: (("amount", gettext_noop("Amount of the fine")),),
    OutcomeKind.RECOVERY: (
        ("amount_frozen", gettext_noop("Amount frozen")),
        ("amount_confiscated", gettext_noop("Amount confiscated")),
        ("amount_returned", gettext_noop("Amount returned")),
    ),
    OutcomeKind.REFERRAL: (("authority", gettext_noop("Authority referred to")),),
    OutcomeKind.DEBARMENT: (("years", gettext_noop("Years of debarment")),),
}


class CaseType(Audited):
    """One version of a kind of case. ``code`` + ``version`` is unique; the newest valid version is used for
    new cases."""

    code = models.SlugField(_("code"), max_length=64)
    version = models.PositiveIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    lead_time_days = models.PositiveIntegerField(
        _("lead time (days)"), default=90, help_text=_("the statutory time from opening to closing")
    )
    acknowledge_days = models.PositiveIntegerField(
        _("acknowledge within (days)"), null=True, blank=True, help_text=_("e.g. 7 for a protected report")
    )
    feedback_days = models.PositiveIntegerField(
        _("feedback within (days)"), null=True, blank=True, help_text=_("e.g. 90 for a protected report")
    )
    remind_days = models.PositiveIntegerField(_("remind this many days before a deadline"), default=7)
    confidential = models.BooleanField(
        _("confidential"),
        default=False,
        help_text=_("only its officer (and those who oversee every case) see its cases, e.g. protected reports"),
    )
    roles = models.JSONField(_("roles that may work it"), default=list, blank=True)
    sources = models.JSONField(_("signals it takes"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("case type")
        verbose_name_plural = _("case types")
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="casetype_code_version")]
        permissions = [("manage_casetype", "Can edit the case-type catalogue")]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


class StatusType(models.Model):
    """A status a case of this type passes through, in order; the final ones close it."""

    case_type = models.ForeignKey(CaseType, on_delete=models.CASCADE, related_name="statuses")
    order = models.PositiveIntegerField(_("order"))
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=120)
    final = models.BooleanField(_("closes the case"), default=False)
    questions = models.JSONField(
        _("questions to answer on reaching it"), default=list, blank=True, help_text=_("for statistics")
    )

    class Meta:
        ordering = ["case_type", "order"]
        constraints = [models.UniqueConstraint(fields=["case_type", "code"], name="statustype_code")]

    def __str__(self) -> str:
        return self.name


class TaskTemplate(models.Model):
    """A task every case of this type starts with."""

    case_type = models.ForeignKey(CaseType, on_delete=models.CASCADE, related_name="task_templates")
    order = models.PositiveIntegerField(_("order"), default=0)
    title = models.CharField(_("title"), max_length=200)
    due_days = models.PositiveIntegerField(_("due after (days)"), default=14)

    class Meta:
        ordering = ["case_type", "order"]

    def __str__(self) -> str:
        return self.title


class DocumentType(models.Model):
    case_type = models.ForeignKey(CaseType, on_delete=models.CASCADE, related_name="document_types")
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["case_type", "name"]
        constraints = [models.UniqueConstraint(fields=["case_type", "code"], name="documenttype_code")]

    def __str__(self) -> str:
        return self.name


class OutcomeType(models.Model):
    """An outcome a case of this type may close with, and how long the case is kept after it."""

    case_type = models.ForeignKey(CaseType, on_delete=models.CASCADE, related_name="outcome_types")
    code = models.SlugField(_("code"), max_length=32)
    kind = models.CharField(_("kind"), max_length=16, choices=OutcomeKind.choices)
    name = models.CharField(_("name"), max_length=120)
    retention_years = models.PositiveIntegerField(_("kept for (years)"), default=10)

    class Meta:
        ordering = ["case_type", "name"]
        constraints = [models.UniqueConstraint(fields=["case_type", "code"], name="outcometype_code")]

    def __str__(self) -> str:
        return self.name


class Case(Audited):
    """One matter worked from its signal to its outcome."""

    class Source(models.TextChoices):
        FINDING = "finding", _("Findings of a detector")
        DECLARATION = "declaration", _("Declaration selected for verification")
        REPORT = "report", _("Protected report")
        SCREENING = "screening", _("Screening hit")
        MANUAL = "manual", _("Opened by hand")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")

    reference = models.CharField(_("reference"), max_length=32, unique=True)
    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="cases", verbose_name=_("type"))
    title = models.CharField(_("title"), max_length=300)
    summary = models.TextField(_("summary"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.MANUAL)
    source_key = models.CharField(
        _("source record"), max_length=200, blank=True, help_text=_("the report or declaration it came from")
    )
    body = models.ForeignKey(
        PublicBody, on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("body")
    )
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    complexity = models.PositiveSmallIntegerField(_("complexity"), default=1, help_text=_("1 (simple) to 5"))
    status = models.ForeignKey(StatusType, on_delete=models.PROTECT, related_name="+", verbose_name=_("status"))
    closed = models.BooleanField(_("closed"), default=False, db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("assigned to"),
    )
    opened_by = models.CharField(_("opened by"), max_length=150)
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    due_on = models.DateField(_("due"), null=True, blank=True)
    acknowledge_by = models.DateField(_("acknowledge by"), null=True, blank=True)
    feedback_by = models.DateField(_("feedback by"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    retain_until = models.DateField(_("kept until"), null=True, blank=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-opened_at"]
        indexes = [
            models.Index(fields=["assignee", "closed", "due_on"], name="case_queue"),
            models.Index(fields=["closed", "opened_at"], name="case_open_list"),
            models.Index(fields=["-opened_at"], name="case_newest"),  # the case list's first page
            models.Index(fields=["case_type", "closed"], name="case_type_closed"),
        ]
        permissions = [
            ("work_case", "Can work cases assigned to them"),
            ("allocate_case", "Can draw or assign officers"),
            ("approve_outcome", "Can approve a proposed outcome (four eyes)"),
            ("audit_allocation", "Can read the allocation register and re-run draws"),
            ("view_case_statistics", "Can see case statistics"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"


class CaseFinding(models.Model):
    """A finding this case was opened from or joined with (a finding belongs to at most one case)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="finding_links")
    finding = models.OneToOneField(Finding, on_delete=models.PROTECT, related_name="case_link")
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.CharField(max_length=150)

    def __str__(self) -> str:
        return f"{self.finding_id} in {self.case_id}"


class CaseParty(models.Model):
    """A person or organisation of the graph this case concerns; cases sharing one are related."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="parties")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="case_parties")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="case_parties"
    )
    role = models.CharField(_("role in the case"), max_length=120, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["person"], name="caseparty_person"),
            models.Index(fields=["organisation"], name="caseparty_org"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=False, organisation__isnull=True)
                | models.Q(person__isnull=True, organisation__isnull=False),
                name="caseparty_one_party",
            ),
        ]

    def __str__(self) -> str:
        return str(self.person or self.organisation)


class CaseEvent(models.Model):
    """One line of a case's timeline, in the order it happened."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        STATUS = "status", _("Status changed")
        ASSIGNED = "assigned", _("Officer assigned")
        TAKEN = "taken", _("Taken over")
        TASK = "task", _("Task")
        NOTE = "note", _("Note")
        DOCUMENT = "document", _("Document")
        MESSAGE = "message", _("Message")
        FINDING = "finding", _("Finding joined")
        PARTY = "party", _("Party linked")
        OUTCOME = "outcome", _("Outcome proposed")
        APPROVED = "approved", _("Outcome approved")
        REJECTED = "rejected", _("Outcome sent back")
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Reopened")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=150)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.TextField(blank=True, help_text=_("the line in English (the audit trail), or a note's own text"))
    message = models.CharField(
        max_length=300, blank=True, help_text=_("untranslated message of the line (blank for free text)")
    )
    params = models.JSONField(default=dict, blank=True)
    handlers_only = models.BooleanField(default=False, help_text=_("a note only the case's officers read"))

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:80]}"

    def _shown_params(self, wrap: Callable[[str], str]) -> dict[str, str]:
        """The params as shown: a catalogue name (key ending ``_name``) in the reader's language, an identifier
        (key ending ``_code``: a detector code, a hash, a file name) through ``wrap``, the rest (notes, reasons,
        titles typed by people, user names) unchanged."""
        params = self.params if isinstance(self.params, dict) else {}
        out: dict[str, str] = {}
        for key, value in params.items():
            text = "" if value is None else str(value)
            out[key] = shown(text) if key.endswith("_name") else wrap(text) if key.endswith("_code") else text
        return out

    @property
    def shown_text(self) -> str:
        """The line in the reader's language (the stored English ``text`` for free text, or when the message
        no longer fits its params)."""
        if not self.message:
            return self.text
        try:
            return gettext(self.message) % self._shown_params(str)
        except (KeyError, TypeError, ValueError):
            return self.text

    @property
    def shown_html(self) -> SafeString:
        """``shown_text`` as HTML, every param escaped and identifiers in ``<code>`` (so a reader sees that a
        hash or a detector code is not a word of their language)."""
        if not self.message:
            return conditional_escape(self.text)
        try:
            params = self._shown_params(lambda text: format_html("<code>{}</code>", text))
            template = conditional_escape(gettext(self.message))
            return mark_safe(template % {key: conditional_escape(value) for key, value in params.items()})  # noqa: S308
        except (KeyError, TypeError, ValueError):
            return conditional_escape(self.text)


class CaseTask(Audited):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("title"), max_length=200)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="case_tasks"
    )
    due_on = models.DateField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["done_at", "due_on", "id"]
        indexes = [models.Index(fields=["assignee", "done_at", "due_on"], name="casetask_queue")]

    def __str__(self) -> str:
        return self.title


class CaseDocument(Audited):
    """An evidence document, stored under its SHA-256; its custody log says who added, viewed and exported it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    document_type = models.ForeignKey(DocumentType, on_delete=models.PROTECT, null=True, blank=True)
    name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=120, blank=True)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    added_by = models.CharField(_("added by"), max_length=150)
    added_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]

    def __str__(self) -> str:
        return self.name


class CustodyEvent(models.Model):
    class Action(models.TextChoices):
        ADDED = "added", _("Added")
        VIEWED = "viewed", _("Viewed")
        EXPORTED = "exported", _("Exported")
        VERIFIED = "verified", _("Hash checked")
        MISMATCH = "mismatch", _("Hash no longer matches")

    document = models.ForeignKey(CaseDocument, on_delete=models.CASCADE, related_name="custody")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=16, choices=Action.choices)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor}"


class CaseOutcome(Audited):
    """The outcome proposed for a case and, once a second officer approves it, the one it closed with."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="outcomes")
    outcome_type = models.ForeignKey(OutcomeType, on_delete=models.PROTECT, verbose_name=_("outcome"))
    details = models.JSONField(_("details"), default=dict, blank=True)
    reasoning = models.TextField(_("reasoning"))
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejected = models.BooleanField(default=False)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["proposed_at", "id"]

    def __str__(self) -> str:
        return f"{self.outcome_type} ({self.case})"


class Pool(Audited):
    """The officers who may be drawn for cases of a type (by its code, whatever the version), for a body or
    for every body."""

    name = models.CharField(_("name"), max_length=200)
    case_type_code = models.SlugField(_("case type"), max_length=64)
    body = models.ForeignKey(PublicBody, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("pool of officers")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["case_type_code", "body"], name="pool_type_body")]

    def __str__(self) -> str:
        return self.name


class PoolMember(Audited):
    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="members")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pool_memberships")
    weight = models.FloatField(_("share of draws"), default=1.0, help_text=_("1 is a full share; 0.5 half time"))
    absent_until = models.DateField(_("absent until"), null=True, blank=True)
    absence_reason = models.CharField(_("reason for absence"), max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pool", "officer"], name="poolmember_once")]

    def __str__(self) -> str:
        return f"{self.officer} in {self.pool}"


class Recusal(Audited):
    """An officer's declared conflict with a person, organisation or body: no draw touching it picks them."""

    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="recusals")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    body = models.ForeignKey(PublicBody, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    reason = models.TextField(_("reason"))
    declared_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=False)
                | models.Q(organisation__isnull=False)
                | models.Q(body__isnull=False),
                name="recusal_names_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.officer}: {self.person or self.organisation or self.body}"


class Draw(Audited):
    """One allocation of a case: a random draw (re-runnable from ``inputs`` and ``seed``) or a manual pick
    (with its reason)."""

    class Method(models.TextChoices):
        RANDOM = "random", _("Random draw")
        MANUAL = "manual", _("Manual assignment")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="draws")
    pool = models.ForeignKey(Pool, on_delete=models.PROTECT, null=True, blank=True, related_name="draws")
    method = models.CharField(_("method"), max_length=8, choices=Method.choices)
    algorithm = models.CharField(_("algorithm"), max_length=32, blank=True)
    seed = models.CharField(_("seed"), max_length=64, blank=True)
    inputs = models.JSONField(_("inputs"), default=dict)
    inputs_hash = models.CharField(_("hash of the inputs"), max_length=64, blank=True)
    chosen = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)
    drawn_by = models.CharField(_("drawn by"), max_length=150)
    drawn_at = models.DateTimeField(_("drawn"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-drawn_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} for {self.case}"

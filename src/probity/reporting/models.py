"""Models of the reporting app: channels, staff key pairs, reports and everything attached to them.

What is stored in plain and what is not (see docs/reference/reporting.md):

* **Plain** — the channel, the report's reference, its status and deadlines, dates rounded to the day,
  who is assigned, public keys, Argon2id salts and limits, sizes of encrypted files.
* **Encrypted** — answers, identity, messages, transcripts, triage notes, the retaliation-risk
  assessment, the closure's "action taken", attachment contents, names and types. Ciphertexts are
  ``BinaryField`` values written by ``probity.reporting.crypto``; the keys that open them are sealed
  to people (``ReportKeyGrant``) or wrapped with a key derived from the reporter's receipt.

Reports, their entries and attachments do **not** inherit ``Audited``: an audit entry carries a
timestamp to the microsecond, which would date the reporter's actions far more precisely than the
day we keep. Staff actions on reports are audited explicitly with ``audit_record`` (no content).
Channels, staff keys and disclosure requests are audited models (their ciphertext fields redacted).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from probity.core.models import Audited


def default_questionnaire() -> list[dict[str, Any]]:
    """A small questionnaire every new channel starts with (administrators edit it)."""
    return [
        {
            "id": "what",
            "kind": "textarea",
            "label": "What happened?",
            "label_zh_hans": "发生了什么？",
            "required": True,
        },
        {
            "id": "when",
            "kind": "date",
            "label": "When did it happen?",
            "label_zh_hans": "何时发生？",
            "required": False,
        },
        {
            "id": "ongoing",
            "kind": "choice",
            "label": "Is it still going on?",
            "label_zh_hans": "是否仍在持续？",
            "required": False,
            "choices": ["yes", "no", "unknown"],
        },
        {
            "id": "amount",
            "kind": "amount",
            "label": "Amount involved, if known",
            "label_zh_hans": "涉及金额（如知道）",
            "required": False,
        },
        {
            "id": "evidence",
            "kind": "file",
            "label": "Documents or pictures",
            "label_zh_hans": "文件或图片",
            "required": False,
        },
    ]


def default_retention() -> dict[str, int]:
    """Days a closed report is kept, per closing outcome; ``default`` for any other outcome."""
    return {"default": 5 * 365, "unfounded": 365, "out_of_scope": 180, "withdrawn": 180}


class Channel(Audited):
    """One intake channel (procurement, declarations, judiciary, general …) with its rules as data.

    ``questionnaire`` is a list of questions: ``{"id", "kind", "label", "required", "choices",
    "help", "show_if": {"question": id, "equals": value}}`` where ``kind`` is one of text, textarea,
    choice, multichoice, date, amount, file. Labels are stored in the language the administrator
    wrote them; translations may be given as ``"label_zh_hans"``.
    """

    slug = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    jurisdiction = models.CharField(
        _("jurisdiction"),
        max_length=50,
        blank=True,
        help_text=_("the law whose deadlines apply, e.g. EU-2019/1937 or a national act"),
    )
    questionnaire = models.JSONField(_("questionnaire"), default=default_questionnaire)
    acknowledge_days = models.PositiveIntegerField(
        _("acknowledge within (days)"), default=7, help_text=_("EU directive 2019/1937: 7 days")
    )
    feedback_days = models.PositiveIntegerField(
        _("feedback within (days)"),
        default=90,
        help_text=_("EU directive 2019/1937: 3 months; 6 months for some authorities"),
    )
    retention_days = models.JSONField(
        _("retention (days) by closing outcome"),
        default=default_retention,
        help_text=_("days a closed report is kept, per outcome; 'default' for the others"),
    )
    retention_warning_days = models.PositiveIntegerField(_("warn before deletion (days)"), default=30)
    max_attachments = models.PositiveIntegerField(_("maximum number of files"), default=10)
    max_attachment_bytes = models.PositiveBigIntegerField(
        _("maximum size of one file (bytes)"), default=20 * 1024 * 1024
    )
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="reporting_channels",
        verbose_name=_("recipients"),
        help_text=_("case handlers who receive every new report of this channel"),
    )
    custodians = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="reporting_custodian_of",
        verbose_name=_("identity custodians"),
        help_text=_("who may approve a handler's request to learn a reporter's identity"),
    )
    active = models.BooleanField(_("open for reports"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reporting channel")
        verbose_name_plural = _("reporting channels")
        ordering = ["name"]
        permissions = [
            ("manage_channel", "Can set up reporting channels"),
            ("handle_report", "Can handle reports assigned to them"),
            ("view_report_statistics", "Can see reporting statistics"),
            ("run_report_retention", "Can run the retention of reports"),
        ]

    def __str__(self) -> str:
        return self.name


class StaffKey(Audited):
    """A staff member's X25519 key pair; the private key is stored only wrapped, twice.

    ``password_*``: SecretBox under Argon2id(password, salt, opslimit, memlimit);
    ``recovery_*``: SecretBox under Argon2id(recovery key shown once, salt, …).
    """

    audit_redacted_fields = frozenset(
        {
            "public_key",
            "password_wrapped",
            "password_salt",
            "recovery_wrapped",
            "recovery_salt",
        }
    )

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reporting_key", verbose_name=_("user")
    )
    public_key = models.BinaryField(max_length=32)
    password_wrapped = models.BinaryField()
    password_salt = models.BinaryField(max_length=16)
    password_opslimit = models.PositiveIntegerField()
    password_memlimit = models.PositiveBigIntegerField()
    recovery_wrapped = models.BinaryField()
    recovery_salt = models.BinaryField(max_length=16)
    recovery_opslimit = models.PositiveIntegerField()
    recovery_memlimit = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("staff key pair")
        verbose_name_plural = _("staff key pairs")

    def __str__(self) -> str:
        return f"key of {self.user}"


class Report(models.Model):
    """One report. Three key pairs per report, public halves here, private halves sealed elsewhere:

    * **content** — answers, messages, transcripts, attachments: shared by the reporter and the handlers;
    * **case** — triage notes, retaliation-risk assessment, closure's action taken: staff only;
    * **identity** — the reporter's identity: the reporter and custodians; a handler only after approval.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        TRIAGE = "triage", _("In triage")
        INVESTIGATION = "investigation", _("Under investigation")
        FORWARDED = "forwarded", _("Forwarded")
        CLOSED = "closed", _("Closed")

    class SubStatus(models.TextChoices):
        NONE = "", _("—")
        AWAITING_REPORTER = "awaiting_reporter", _("Waiting for the reporter")
        AWAITING_INFORMATION = "awaiting_information", _("Waiting for information")
        REFERRED_INTERNALLY = "referred_internally", _("Referred within the body")
        ON_HOLD = "on_hold", _("On hold")

    class Intake(models.TextChoices):
        WEB = "web", _("Web form")
        ORAL = "oral", _("In person")
        PHONE = "phone", _("Telephone")
        POST = "post", _("Letter")

    class Outcome(models.TextChoices):
        NONE = "", _("—")
        ACTION_TAKEN = "action_taken", _("Founded: action taken")
        REFERRED = "referred", _("Referred to a competent authority")
        INSUFFICIENT_EVIDENCE = "insufficient_evidence", _("Insufficient evidence")
        UNFOUNDED = "unfounded", _("Unfounded")
        OUT_OF_SCOPE = "out_of_scope", _("Outside the scope of the channel")
        WITHDRAWN = "withdrawn", _("Withdrawn by the reporter")

    reference = models.CharField(_("reference"), max_length=16, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="reports", verbose_name=_("channel"))
    intake = models.CharField(_("intake"), max_length=8, choices=Intake.choices, default=Intake.WEB)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    sub_status = models.CharField(
        _("sub-status"), max_length=24, choices=SubStatus.choices, default=SubStatus.NONE, blank=True
    )
    # Dates only, never times: the day is as precise as the deadlines need.
    received_on = models.DateField(_("received on"))
    acknowledge_due = models.DateField(_("acknowledgement due"))
    feedback_due = models.DateField(_("feedback due"))
    acknowledged_on = models.DateField(_("acknowledged on"), null=True, blank=True)
    feedback_given_on = models.DateField(_("feedback given on"), null=True, blank=True)
    investigation_opened_on = models.DateField(_("investigation opened on"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, default=Outcome.NONE, blank=True)
    action_taken = models.BinaryField(null=True, blank=True)  # sealed to the case key
    delete_after = models.DateField(_("delete after"), null=True, blank=True)
    retention_warned_on = models.DateField(null=True, blank=True)
    has_identity = models.BooleanField(_("identity given"), default=False)
    reminded_on = models.DateField(null=True, blank=True)

    # Reporter lookup: HMAC(pepper, receipt) – the receipt itself is never stored.
    lookup_hash = models.CharField(max_length=64, unique=True)
    receipt_salt = models.BinaryField(max_length=16)
    receipt_opslimit = models.PositiveIntegerField()
    receipt_memlimit = models.PositiveBigIntegerField()
    content_public_key = models.BinaryField(max_length=32)
    case_public_key = models.BinaryField(max_length=32)
    identity_public_key = models.BinaryField(max_length=32)
    # content and identity private keys wrapped with the receipt-derived key (SecretBox)
    receipt_wrapped_content_key = models.BinaryField()
    receipt_wrapped_identity_key = models.BinaryField()
    identity = models.BinaryField(null=True, blank=True)  # sealed to the identity key

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-received_on", "-pk"]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class ReportKeyGrant(models.Model):
    """A report's private key sealed to one staff member: whoever holds a grant may read that part."""

    class Purpose(models.TextChoices):
        CONTENT = "content", _("Content")
        CASE = "case", _("Case file")
        IDENTITY = "identity", _("Identity")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reporting_grants")
    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    sealed_key = models.BinaryField()
    granted_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "user", "purpose"], name="reportkeygrant_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} key of report {self.report_id} for user {self.user_id}"


class ReportAssignment(models.Model):
    """Who handles a report. Access needs an active assignment **and** a content key grant."""

    class Role(models.TextChoices):
        HANDLER = "handler", _("Handler")
        FORWARDED = "forwarded", _("Forwarded to")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reporting_assignments")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.HANDLER)
    active = models.BooleanField(default=True)
    assigned_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "user"], name="reportassignment_unique"),
        ]

    def __str__(self) -> str:
        return f"report {self.report_id} → user {self.user_id} ({self.role})"


class ReportEntry(models.Model):
    """One item on a report's timeline; ``body`` is sealed to the content or the case key."""

    class Kind(models.TextChoices):
        ANSWERS = "answers", _("Answers")
        REPORTER_MESSAGE = "reporter_message", _("Message from the reporter")
        STAFF_MESSAGE = "staff_message", _("Message to the reporter")
        TRANSCRIPT = "transcript", _("Transcript of an oral report")
        NOTE = "note", _("Triage note")
        RISK = "risk", _("Retaliation-risk assessment")
        EVENT = "event", _("Case event")

    STAFF_ONLY = frozenset({Kind.NOTE, Kind.RISK})

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="entries")
    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_on = models.DateField()
    body = models.BinaryField()
    staff_only = models.BooleanField(default=False)  # sealed to the case key, never shown to the reporter
    feedback = models.BooleanField(default=False)  # a staff message that counts as the statutory feedback
    read_by_reporter = models.BooleanField(default=False)

    class Meta:
        ordering = ["report", "sequence"]
        constraints = [models.UniqueConstraint(fields=["report", "sequence"], name="reportentry_sequence")]

    def __str__(self) -> str:
        return f"entry {self.sequence} ({self.kind}) of report {self.report_id}"


class Attachment(models.Model):
    """A file given with a report: stored encrypted under the store; name and type sealed to the report.

    ``file_key`` (the file's SecretBox key) is sealed to the content key; the file itself is a stream of
    SecretBox chunks (see crypto.FileEncryptor). ``stripped_*`` is the metadata-stripped copy, if any.
    """

    class Stripping(models.TextChoices):
        STRIPPED = "stripped", _("Metadata removed")
        NOT_SUPPORTED = "not_supported", _("Type not stripped")
        FAILED = "failed", _("Could not be stripped")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attachments")
    entry = models.ForeignKey(ReportEntry, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments")
    storage_name = models.CharField(max_length=64, unique=True)
    stripped_storage_name = models.CharField(max_length=64, blank=True)
    stripping = models.CharField(max_length=16, choices=Stripping.choices, default=Stripping.NOT_SUPPORTED)
    file_key = models.BinaryField()  # sealed to the content key
    meta = models.BinaryField()  # sealed JSON: name, content type, size
    encrypted_size = models.PositiveBigIntegerField()
    created_on = models.DateField()
    from_reporter = models.BooleanField(default=True)

    class Meta:
        ordering = ["report", "pk"]

    def __str__(self) -> str:
        return f"attachment {self.pk} of report {self.report_id}"


class DisclosureRequest(Audited):
    """A handler's request to learn the reporter's identity; a custodian approves or refuses it."""

    audit_redacted_fields = frozenset({"reason"})

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="disclosure_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.BinaryField()  # sealed to the identity key (custodians hold it): it may describe the case
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_on = models.DateField()
    decided_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("identity disclosure request")
        verbose_name_plural = _("identity disclosure requests")
        ordering = ["-requested_on", "-pk"]

    def __str__(self) -> str:
        return f"disclosure request {self.pk} ({self.state})"


# --- flood control and reporter sessions: shared by every worker, kept across restarts -------------------


class ReportingThrottle(models.Model):
    """A counter of attempts (wrong receipts, wrong key passwords, challenges handed out, reports sent).

    ``key`` is a keyed HMAC of what is counted (``services._throttle_key``): the HMAC of a client's address
    under a key derived from the pepper and the day, or of a staff member's id — never an address. Rows
    whose ``expires_at`` has passed count nothing and are deleted by the ``reporting.prune`` job.
    """

    key = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reporting throttle")
        verbose_name_plural = _("reporting throttles")

    def __str__(self) -> str:
        return f"throttle {self.kind} ({self.count})"


class ReporterSessionState(models.Model):
    """A signed-in reporter between requests: a keyed hash of the session id and, wrapped with the key in the
    reporter's cookie, the report and its keys. Without the cookie the row says nothing, not even which
    report it belongs to."""

    session_hash = models.CharField(max_length=64, unique=True)
    wrapped = models.BinaryField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("reporter session")
        verbose_name_plural = _("reporter sessions")

    def __str__(self) -> str:
        return "reporter session"


class UsedChallenge(models.Model):
    """A proof-of-work challenge already spent (challenges are signed, not stored: only spent ones are kept,
    until they would have expired anyway)."""

    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("used challenge")
        verbose_name_plural = _("used challenges")

    def __str__(self) -> str:
        return "used challenge"

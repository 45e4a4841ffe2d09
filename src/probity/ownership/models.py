"""Beneficial-ownership data: BODS statements as received, the current state of each record, and ingest issues.

A BODS *record* (an entity, a person or a relationship) is described by a series of *statements*
over time. ``Statement`` keeps every statement received (upgraded to 0.4, idempotent by statement id
and content hash); ``Party`` and ``Relationship`` hold the latest state of each record, which is what
the ownership graph is built from. Records live in a named ``dataset`` (one register or one file),
so record ids from two publishers never collide. Parties link to ``core.Organisation`` /
``core.Person`` where an identifier (or, for people, name and birth month) matches.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class IngestBatch(models.Model):
    """One run of ``ownership_ingest``: what was read and how many statements went where."""

    dataset = models.CharField(_("dataset"), max_length=100)
    source = models.CharField(_("source"), max_length=500)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    started_by = models.CharField(_("started by"), max_length=150, blank=True)
    statements_read = models.PositiveIntegerField(_("statements read"), default=0)
    statements_stored = models.PositiveIntegerField(_("statements stored"), default=0)
    statements_unchanged = models.PositiveIntegerField(_("already stored"), default=0)
    statements_rejected = models.PositiveIntegerField(_("statements rejected"), default=0)
    warnings = models.PositiveIntegerField(_("warnings"), default=0)

    class Meta:
        verbose_name = _("ownership ingest")
        verbose_name_plural = _("ownership ingests")
        ordering = ["-started_at"]
        permissions = [("ingest_ownership", "Can ingest beneficial-ownership data")]

    def __str__(self) -> str:
        return f"{self.dataset}: {self.source}"


class IngestIssue(models.Model):
    """A problem found in one statement: an error (statement rejected) or a warning (statement kept)."""

    class Severity(models.TextChoices):
        ERROR = "error", _("Error: statement rejected")
        WARNING = "warning", _("Warning: statement kept")

    batch = models.ForeignKey(IngestBatch, on_delete=models.CASCADE, related_name="issues")
    dataset = models.CharField(_("dataset"), max_length=100, db_index=True)
    position = models.PositiveIntegerField(_("position"), help_text=_("1-based line or array index in the source"))
    statement_id = models.CharField(_("statement"), max_length=200, blank=True)
    record_id = models.CharField(_("record"), max_length=200, blank=True)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    code = models.CharField(_("code"), max_length=64)
    message = models.TextField(_("message"))

    class Meta:
        verbose_name = _("ingest issue")
        verbose_name_plural = _("ingest issues")
        ordering = ["batch", "position"]

    def __str__(self) -> str:
        return f"{self.severity} {self.code} @{self.position}"


class Statement(models.Model):
    """One BODS statement as received (upgraded to 0.4), never changed once stored."""

    class RecordType(models.TextChoices):
        ENTITY = "entity", _("Entity")
        PERSON = "person", _("Person")
        RELATIONSHIP = "relationship", _("Relationship")

    dataset = models.CharField(_("dataset"), max_length=100)
    statement_id = models.CharField(_("statement id"), max_length=200)
    content_hash = models.CharField(max_length=64)
    record_id = models.CharField(_("record id"), max_length=200)
    record_type = models.CharField(_("record type"), max_length=16, choices=RecordType.choices)
    record_status = models.CharField(_("record status"), max_length=16, blank=True)
    statement_date = models.CharField(_("statement date"), max_length=40, blank=True)
    source_version = models.CharField(_("BODS version received"), max_length=8)
    sequence = models.PositiveBigIntegerField(_("order received"))
    payload = models.JSONField(_("statement"))
    batch = models.ForeignKey(IngestBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("BODS statement")
        verbose_name_plural = _("BODS statements")
        ordering = ["dataset", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "statement_id"], name="ownership_statement_unique"),
        ]
        indexes = [models.Index(fields=["dataset", "record_id"], name="ownership_statement_record")]

    def __str__(self) -> str:
        return f"{self.record_type} {self.record_id} ({self.statement_id})"


class Party(models.Model):
    """The latest state of an entity or person record: who may own or be owned."""

    class Kind(models.TextChoices):
        ENTITY = "entity", _("Entity")
        PERSON = "person", _("Person")

    dataset = models.CharField(_("dataset"), max_length=100)
    record_id = models.CharField(_("record id"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    subtype = models.CharField(
        _("type"), max_length=64, blank=True, help_text=_("entityType.type[/subtype] or personType")
    )
    name = models.CharField(_("name"), max_length=500, blank=True)
    other_names = models.JSONField(_("other names"), default=list, blank=True)
    identifiers = models.JSONField(_("identifiers"), default=list, blank=True)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=8, blank=True)
    birth_date = models.CharField(_("date of birth"), max_length=10, blank=True)
    is_pep = models.BooleanField(_("politically exposed"), default=False)
    closed = models.BooleanField(_("closed"), default=False)
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        "core.Organisation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ownership_parties",
        verbose_name=_("organisation"),
    )
    person = models.ForeignKey(
        "core.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ownership_parties",
        verbose_name=_("person"),
    )

    class Meta:
        verbose_name = _("ownership party")
        verbose_name_plural = _("ownership parties")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["dataset", "record_id"], name="ownership_party_unique")]

    def __str__(self) -> str:
        return self.name or self.record_id

    @property
    def is_person(self) -> bool:
        return self.kind == self.Kind.PERSON


class Relationship(models.Model):
    """The latest state of a relationship record: an interested party's interests in a subject entity."""

    dataset = models.CharField(_("dataset"), max_length=100)
    record_id = models.CharField(_("record id"), max_length=200)
    subject = models.ForeignKey(Party, on_delete=models.CASCADE, null=True, blank=True, related_name="owners")
    interested_party = models.ForeignKey(
        Party, on_delete=models.CASCADE, null=True, blank=True, related_name="holdings"
    )
    subject_ref = models.CharField(_("subject record"), max_length=200, blank=True)
    interested_party_ref = models.CharField(_("interested party record"), max_length=200, blank=True)
    unspecified_reason = models.CharField(_("reason owner not given"), max_length=64, blank=True)
    is_component = models.BooleanField(_("component of an indirect relationship"), default=False)
    component_records = models.JSONField(_("component records"), default=list, blank=True)
    closed = models.BooleanField(_("closed"), default=False)
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("ownership relationship")
        verbose_name_plural = _("ownership relationships")
        constraints = [models.UniqueConstraint(fields=["dataset", "record_id"], name="ownership_relationship_unique")]

    def __str__(self) -> str:
        return f"{self.interested_party_ref or self.unspecified_reason} → {self.subject_ref}"


class Interest(models.Model):
    """One interest of a relationship: its type, directness, declared beneficial flag and share range."""

    relationship = models.ForeignKey(Relationship, on_delete=models.CASCADE, related_name="interests")
    type = models.CharField(_("type"), max_length=64, blank=True)
    direct_or_indirect = models.CharField(_("direct or indirect"), max_length=16, blank=True)
    beneficial_ownership_or_control = models.BooleanField(_("declared beneficial"), null=True, blank=True)
    share_exact = models.FloatField(_("share (exact, %)"), null=True, blank=True)
    share_minimum = models.FloatField(_("share (minimum, %)"), null=True, blank=True)
    share_maximum = models.FloatField(_("share (maximum, %)"), null=True, blank=True)
    minimum_exclusive = models.BooleanField(default=False)
    maximum_exclusive = models.BooleanField(default=False)
    start_date = models.CharField(_("start"), max_length=10, blank=True)
    end_date = models.CharField(_("end"), max_length=10, blank=True)
    details = models.TextField(_("details"), blank=True)

    class Meta:
        verbose_name = _("interest")
        verbose_name_plural = _("interests")

    def __str__(self) -> str:
        return f"{self.type or '?'} {self.share_label}"

    @property
    def has_share(self) -> bool:
        return self.share_exact is not None or self.share_minimum is not None or self.share_maximum is not None

    @property
    def share_label(self) -> str:
        if self.share_exact is not None:
            return f"{self.share_exact:g} %"
        if self.has_share:
            low = "(" if self.minimum_exclusive else "["
            high = ")" if self.maximum_exclusive else "]"
            lo = self.share_minimum if self.share_minimum is not None else 0
            hi = self.share_maximum if self.share_maximum is not None else 100
            return f"{low}{lo:g}–{hi:g}{high} %"
        return ""

"""Asset and interest declarations: the declaration, its immutable versions, and the exchange-rate table.

A ``Declaration`` is one filing obligation (declarant, type, year); each submission or correction
is a new ``DeclarationVersion`` whose content, schema version and SHA-256 hash never change.
Writes go through ``probity.declarations.services``.
"""

from __future__ import annotations

from typing import Any

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

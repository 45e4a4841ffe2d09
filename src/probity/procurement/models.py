"""Models of the procurement app: the debarment register.

The analytical data (compiled releases, flattened tables, the indicator matrix and risk scores)
lives in the warehouse, not here; see ``probity.procurement.results``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from probity.core.models import Audited, Organisation
from probity.procurement.codelists import FIELD_LABELS


class Debarment(Audited):
    """One decision excluding an organisation (or a person trading alone) from public contracts.

    ``name`` and ``identifiers`` keep the debarred party as the source gave it; ``organisation``
    links it to Probity's own record where one was matched. ``end_date`` empty means indefinite.
    ``source`` + ``source_key`` make imports idempotent: importing the same list again updates the
    records it already holds and creates none twice.
    """

    class Source(models.TextChoices):
        CSV = "csv", _("CSV file")
        FTM = "ftm", _("FollowTheMoney entities")
        MANUAL = "manual", _("Entered by hand")
        CASE = "case", _("Decided in a case")

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="debarments",
        verbose_name=_("organisation"),
    )
    name = models.CharField(_("debarred party"), max_length=500)
    identifiers = models.JSONField(
        _("identifiers"),
        default=list,
        blank=True,
        help_text=_("as the source gave them: a list of {scheme, id}"),
    )
    country = models.CharField(_("country"), max_length=8, blank=True)
    authority = models.CharField(_("debarring authority"), max_length=300, blank=True)
    start_date = models.DateField(_("from"), null=True, blank=True)
    end_date = models.DateField(_("until"), null=True, blank=True, help_text=_("empty: indefinite"))
    grounds = models.TextField(_("grounds"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.MANUAL)
    source_name = models.CharField(_("source file or list"), max_length=300, blank=True)
    source_key = models.CharField(_("source key"), max_length=300, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "start_date", "id")
        verbose_name = _("debarment")
        verbose_name_plural = _("debarments")
        indexes = [models.Index(fields=["name"]), models.Index(fields=["start_date", "end_date"])]
        # The module's only model carries the permission of its warehouse work (OCDS ingest), as the
        # ownership module's ingest permission sits on its ingest batches.
        permissions = [("ingest_procurement", "Can ingest OCDS data into the procurement warehouse")]

    def __str__(self) -> str:
        return self.name


class CodelistMapping(Audited):
    """A publisher's local name for an OCDS code, e.g. "公開招標" → ``open`` for ``tender.procurementMethod``.

    The indicators judge a process only on codes they know (``probity.procurement.codelists``); a value
    mapped here is read as its code before they run, any other unknown value gives "not applicable".
    """

    FIELD_CHOICES = tuple(FIELD_LABELS.items())

    field = models.CharField(_("field"), max_length=64, choices=FIELD_CHOICES)
    local_value = models.CharField(_("publisher's value"), max_length=200)
    code = models.CharField(_("codelist code"), max_length=64)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("field", "local_value")
        verbose_name = _("codelist mapping")
        verbose_name_plural = _("codelist mappings")
        constraints = [models.UniqueConstraint(fields=["field", "local_value"], name="procurement_codelist_unique")]

    def __str__(self) -> str:
        return f"{self.field}: {self.local_value} → {self.code}"

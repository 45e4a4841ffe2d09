"""The warehouse catalogue: one row per analytical table, with its size, freshness and origin.

The tables themselves live in the warehouse engine (DuckDB or Spark); this catalogue lives in
Django's database so that web pages, the API and the audit of detector runs can say what data
existed and when it was last rebuilt, without opening the engine.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Lower case so that the same name means the same table on DuckDB and on Spark (which folds case).
TABLE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


class WarehouseTable(models.Model):
    """An analytical table known to the warehouse, as last written by ingest or a detector."""

    class Engine(models.TextChoices):
        DUCKDB = "duckdb", _("DuckDB")
        SPARK = "spark", _("Apache Spark")

    name = models.CharField(
        _("name"),
        max_length=63,
        unique=True,
        validators=[
            RegexValidator(
                TABLE_NAME_PATTERN,
                _("Use lower-case letters, digits and underscores, starting with a letter."),
            )
        ],
    )
    engine = models.CharField(_("engine"), max_length=16, choices=Engine.choices, default=Engine.DUCKDB)
    row_count = models.BigIntegerField(_("rows"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed"), default=timezone.now)
    description = models.TextField(_("description"), blank=True)
    source = models.CharField(
        _("source"),
        max_length=300,
        blank=True,
        help_text=_("where the rows came from, for example an OCDS file or a detector"),
    )

    class Meta:
        verbose_name = _("warehouse table")
        verbose_name_plural = _("warehouse tables")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

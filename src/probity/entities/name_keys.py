"""The name key table: one indexed row per blocking key of each stored entity name.

Screening finds its candidates here with ``key IN (…)`` (an index look-up, not a scan of every name),
filtered by the entity's dataset and schema, which are copied onto each row so that the look-up needs no
join. The keys are those of ``names.index_keys``: the phonetic keys of ``names.name_keys`` and, for names
of two to four words, the unordered pairs of their word keys (rare even when each word is common, and the
same whatever the word order). ``services`` writes the rows with the names; ``backfill`` computes them
for names stored before the table existed (migration ``0003_name_keys``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

KEY_LENGTH = 64
"""Longest key stored (longer keys, of very long names written as one word, are cut)."""


class NameKey(models.Model):
    """One blocking key of one entity name, with the entity's dataset and schema for filtering."""

    name = models.ForeignKey("entities.EntityName", on_delete=models.CASCADE, related_name="+")
    entity = models.ForeignKey("entities.Entity", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("key"), max_length=KEY_LENGTH)
    dataset = models.CharField(_("dataset"), max_length=100)
    schema = models.CharField(_("schema"), max_length=64)

    class Meta:
        verbose_name = _("name key")
        verbose_name_plural = _("name keys")
        indexes = [
            models.Index(fields=["key", "dataset"], name="namekey_key_dataset"),
        ]

    def __str__(self) -> str:
        return self.key


def key_rows(name_id: int, entity_id: int, dataset: str, schema: str, keys: Any) -> list[dict[str, Any]]:
    """The column values of the rows of one name (``keys``: an iterable of keys)."""
    return [
        {"name_id": name_id, "entity_id": entity_id, "key": key[:KEY_LENGTH], "dataset": dataset, "schema": schema}
        for key in sorted({k[:KEY_LENGTH] for k in keys})
    ]


def backfill(
    name_model: Any,
    key_model: Any,
    *,
    batch: int = 5000,
    keys_of: Callable[[str], Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Writes the key rows of every stored name that has none; returns how many names were keyed.

    Takes the model classes (a migration passes its historical models). Names are read in primary-key
    order, ``batch`` at a time, and their rows written with one bulk insert per batch; keys are cached per
    name text, as the same names come back across sources.
    """
    from probity.entities import names  # the keying rules; names.py imports no model

    compute = keys_of or names.index_keys
    cache: dict[str, Any] = {}
    keyed_ids = set(key_model.objects.values_list("name_id", flat=True).distinct())
    done = 0
    last = 0
    while True:
        rows = list(
            name_model.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "entity_id", "name", "entity__dataset", "entity__schema")[:batch]
        )
        if not rows:
            break
        last = rows[-1][0]
        new: list[Any] = []
        for pk, entity_id, text, dataset, schema in rows:
            if pk in keyed_ids:
                continue
            keys = cache.get(text)
            if keys is None:
                if len(cache) > 200_000:
                    cache.clear()
                keys = cache[text] = compute(text)
            new.extend(key_model(**row) for row in key_rows(pk, entity_id, dataset, schema, keys))
            done += 1
        key_model.objects.bulk_create(new, batch_size=2000)
        if progress is not None:
            progress(done)
    return done

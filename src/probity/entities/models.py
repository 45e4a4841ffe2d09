"""Models of the entities app: entities from every source, their names in all scripts, matches and decisions.

An ``Entity`` is one record of one source in the FollowTheMoney shape (a PEP or sanctions list entry,
a company register entry, or one of Probity's own people and organisations). Entity resolution
proposes ``MatchCandidate`` pairs with an explanation per field; an analyst's ``MatchDecision``
confirms (the two clusters merge) or rejects (the pair is never proposed again).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from probity.core.models import Audited


class Entity(Audited):
    """One FollowTheMoney entity from one source; ``cluster`` is shared by entities found to be the same."""

    ftm_id = models.CharField(_("FtM id"), max_length=200, unique=True)
    schema = models.CharField(_("schema"), max_length=64, db_index=True)
    caption = models.CharField(_("name"), max_length=500)
    dataset = models.CharField(_("dataset"), max_length=100, db_index=True)
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    topics = models.JSONField(_("topics"), default=list, blank=True)
    birth_date = models.CharField(_("date of birth"), max_length=10, blank=True, help_text=_("ISO date, maybe partial"))
    countries = models.JSONField(_("countries"), default=list, blank=True)
    cluster = models.CharField(_("cluster"), max_length=200, db_index=True)
    person = models.ForeignKey(
        "core.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="entities",
        verbose_name=_("person"),
    )
    organisation = models.ForeignKey(
        "core.Organisation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="entities",
        verbose_name=_("organisation"),
    )
    first_seen = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_seen = models.DateTimeField(_("last seen"), auto_now=True)

    class Meta:
        verbose_name = _("entity")
        verbose_name_plural = _("entities")
        ordering = ["caption", "pk"]
        permissions = [("decide_matchcandidate", "Can confirm or reject entity matches")]

    def __str__(self) -> str:
        return f"{self.caption} [{self.ftm_id}]"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.cluster:
            self.cluster = self.ftm_id
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class EntityName(models.Model):
    """A name of an entity as the source gave it, or a transliteration Probity derived from it."""

    class Kind(models.TextChoices):
        NAME = "name", _("Name")
        ALIAS = "alias", _("Alias")
        WEAK_ALIAS = "weakAlias", _("Weak alias")
        PREVIOUS = "previousName", _("Previous name")
        TRANSLITERATION = "transliteration", _("Transliteration")

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="names")
    name = models.CharField(_("name"), max_length=500)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.NAME)
    script = models.CharField(_("script"), max_length=4, blank=True, help_text=_("ISO 15924, e.g. Latn, Cyrl, Hani"))
    normalised = models.CharField(_("normalised"), max_length=500, blank=True)
    keys = models.CharField(
        _("phonetic keys"),
        max_length=500,
        blank=True,
        db_index=True,
        help_text=_("space-separated consonant skeletons of the name's tokens in every transliteration"),
    )

    class Meta:
        verbose_name = _("entity name")
        verbose_name_plural = _("entity names")
        ordering = ["entity", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["entity", "name", "kind"], name="entityname_unique")]

    def __str__(self) -> str:
        return self.name


class EntityReference(models.Model):
    """A property of an entity that points at another entity (an Ownership's owner, a Sanction's entity …)."""

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="references")
    prop = models.CharField(_("property"), max_length=64)
    target_id = models.CharField(_("target"), max_length=200, db_index=True)

    class Meta:
        verbose_name = _("entity reference")
        verbose_name_plural = _("entity references")
        constraints = [models.UniqueConstraint(fields=["entity", "prop", "target_id"], name="entityreference_unique")]

    def __str__(self) -> str:
        return f"{self.entity_id}.{self.prop} → {self.target_id}"


class MatchCandidate(Audited):
    """Two entities that entity resolution thinks may be the same, with how much each field agreed."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")

    left = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="+", verbose_name=_("left"))
    right = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="+", verbose_name=_("right"))
    probability = models.FloatField(_("match probability"))
    match_weight = models.FloatField(_("match weight"))
    explanation = models.JSONField(
        _("explanation"), default=dict, blank=True, help_text=_("per field: the level that applied and its weight")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    run_label = models.CharField(_("run"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("match candidate")
        verbose_name_plural = _("match candidates")
        ordering = ["-probability", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["left", "right"], name="matchcandidate_pair_unique"),
            models.CheckConstraint(condition=models.Q(left__lt=models.F("right")), name="matchcandidate_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.left_id} ~ {self.right_id} ({self.probability:.2f})"


class MatchDecision(Audited):
    """An analyst's decision on a candidate pair: confirmed (merged) or rejected (never raised again)."""

    audit_redacted_fields: ClassVar[frozenset[str]] = frozenset()

    class Decision(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed: the same")
        REJECTED = "rejected", _("Rejected: not the same")

    candidate = models.ForeignKey(MatchCandidate, on_delete=models.CASCADE, related_name="decisions")
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.CharField(_("decided by"), max_length=150)
    decided_at = models.DateTimeField(_("decided at"), auto_now_add=True)

    class Meta:
        verbose_name = _("match decision")
        verbose_name_plural = _("match decisions")
        ordering = ["-decided_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.candidate_id}: {self.decision}"

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


class ScreeningBatch(models.Model):
    """A CSV of names screened at once; its result files (CSV and Excel) are served to the person who asked."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    requested_by = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, related_name="+", verbose_name=_("requested by")
    )
    file_name = models.CharField(_("uploaded file"), max_length=200)
    dataset = models.CharField(_("dataset"), max_length=100, default="default")
    threshold = models.FloatField(_("match threshold"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    job = models.ForeignKey(
        "core.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("job")
    )
    rows = models.PositiveIntegerField(_("names screened"), default=0)
    matched = models.PositiveIntegerField(_("names with a match"), default=0)
    rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    result_stem = models.CharField(_("result files"), max_length=100, blank=True)
    error = models.TextField(_("why it failed"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("screening batch")
        verbose_name_plural = _("screening batches")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"


class Watchlist(Audited):
    """A named set of names its owner wants re-screened whenever the lists change."""

    name = models.CharField(_("name"), max_length=200)
    owner = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner"))
    dataset = models.CharField(
        _("dataset"), max_length=100, default="default", help_text=_("“default” screens every list.")
    )
    threshold = models.FloatField(_("match threshold"), default=0.7)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    screened_at = models.DateTimeField(_("last screened"), null=True, blank=True)

    class Meta:
        verbose_name = _("watchlist")
        verbose_name_plural = _("watchlists")
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="watchlist_owner_name_unique")]

    def __str__(self) -> str:
        return self.name


class WatchlistEntry(models.Model):
    """One name on a watchlist, with what helps tell namesakes apart."""

    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="entries")
    name = models.CharField(_("name"), max_length=500)
    schema = models.CharField(_("kind"), max_length=64, default="LegalEntity")
    birth_date = models.CharField(_("date of birth"), max_length=10, blank=True)
    country = models.CharField(_("country"), max_length=10, blank=True)
    identifier = models.CharField(_("identifier"), max_length=200, blank=True)
    reference = models.CharField(_("your reference"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("watchlist entry")
        verbose_name_plural = _("watchlist entries")
        ordering = ["watchlist", "name", "pk"]

    def __str__(self) -> str:
        return self.name


class WatchlistHit(models.Model):
    """A list entity that matched a watchlist entry; ``seen_at`` is empty until the owner has looked."""

    entry = models.ForeignKey(WatchlistEntry, on_delete=models.CASCADE, related_name="hits")
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="+", verbose_name=_("entity"))
    score = models.FloatField(_("score"))
    features = models.JSONField(_("why"), default=dict, blank=True)
    found_at = models.DateTimeField(_("found"), auto_now_add=True)
    screened_at = models.DateTimeField(_("last confirmed"), auto_now=True)
    seen_at = models.DateTimeField(_("seen"), null=True, blank=True)
    notified_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)

    class Meta:
        verbose_name = _("watchlist match")
        verbose_name_plural = _("watchlist matches")
        ordering = ["-found_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["entry", "entity"], name="watchlisthit_unique")]

    def __str__(self) -> str:
        return f"{self.entry_id} ~ {self.entity_id} ({self.score:.2f})"


from probity.entities.name_keys import NameKey  # noqa: E402, F401 — the name key table (screening look-ups)

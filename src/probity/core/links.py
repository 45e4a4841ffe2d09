"""The graph of people and organisations across sources: linkers, the links they make and why, the queue.

A module contributes ``Linker``\\s (``ModuleConfig.linkers``): each links the records of its source to core
people and organisations (``core.Person``, ``core.Organisation``) and records every link as a ``RecordLink``
with the rule that made it and the parameters of its sentence ("same registry number GB-COH 0123"). An
analyst confirms or rejects a link (``link_decide``): a rejected link is never made again automatically, a
confirmed one is never removed automatically, whatever linking runs later.

Any change in a source calls ``links_touch(kind, keys)`` with the records it touched (``"ownership.party"``
and party ids, ``"core.person"`` and person ids …). The keys wait in ``LinkTouch`` and one job,
``core.link`` (queued once: its dedupe key), hands them to the linkers that listen to their kind; a
linker that changes core records touches them in turn (a new person from a declaration makes the register
parties with the same name look again), and the job goes on until nothing is left. Afterwards it announces
``data_changed`` for the sources whose links changed (``core.job_kinds.links_announce``), so detectors
re-judge what a new or removed link affects. ``core.relink`` (``probity entities relink``) runs every
linker over all its records.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from probity.core.audit import actor_name, audit_record
from probity.core.models import AuditEntry, Job, LinkTouch, RecordLink
from probity.core.modules import linkers as contributed_linkers

if TYPE_CHECKING:
    from django.contrib.auth.models import User

LINK_JOB = "core.link"
RELINK_JOB = "core.relink"
LINK_DEDUPE = "core.link"
DRAIN_BATCH = 5000
MAX_ROUNDS = 20  # a linker touching what another touched back: stop after this many rounds

Progress = Callable[[int], object]


@dataclass
class LinkCounts:
    """What one linker did: links made, removed, kept, and core records it created."""

    made: int = 0
    removed: int = 0
    kept: int = 0
    created: int = 0
    moved: int = 0  # records whose linked person or organisation changed (an analyst's decision applied …)

    @property
    def changed(self) -> int:
        return self.made + self.removed + self.created + self.moved

    def add(self, other: LinkCounts) -> None:
        self.made += other.made
        self.removed += other.removed
        self.kept += other.kept
        self.created += other.created
        self.moved += other.moved


@dataclass(frozen=True)
class Linker:
    """How a module's records join the graph.

    ``link(keys, progress)`` links the records given by ``keys`` (``{kind: [key, …]}``, only the kinds in
    ``kinds``) or every record when ``keys`` is None, and returns ``LinkCounts``. ``rules`` gives the sentence
    of each rule code it writes (with ``%(name)s`` parameters from ``RecordLink.reason_params``); ``sources``
    are the data sources (``data_changed``) whose detectors must judge again when its links change.
    """

    code: str
    label: str | Promise
    kinds: Sequence[str]
    link: Callable[[Mapping[str, Sequence[str]] | None, Progress | None], LinkCounts]
    rules: Mapping[str, str] = field(default_factory=dict)
    sources: Sequence[str] = ()
    source_labels: Mapping[str, str | Promise] = field(default_factory=dict)


# Rules any linker may use; a linker's own ``rules`` add to these.
RULES: dict[str, str] = {
    "analyst": "Linked by an analyst.",
}


def linkers() -> list[Linker]:
    return list(contributed_linkers())


def rule_sentences() -> dict[str, str]:
    sentences = dict(RULES)
    for linker in linkers():
        sentences.update(linker.rules)
    return sentences


def source_labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for linker in linkers():
        labels.update({code: str(label) for code, label in linker.source_labels.items()})
    return labels


def link_reason(link: RecordLink) -> str:
    """Why the link was made, as a sentence in the reader's language."""
    template = rule_sentences().get(link.rule)
    if template is None:
        return link.rule
    try:
        return gettext(template) % dict(link.reason_params or {})
    except (KeyError, TypeError, ValueError):
        return gettext(template)


# --- the queue of touched records -------------------------------------------------------------------


class _State(threading.local):
    draining = False  # inside the linking job (this thread): touches join its own queue, no new job is queued


_state = _State()


def links_touch(kind: str, keys: Iterable[Any], *, queue: bool = True) -> int:
    """A change touched these records (``kind``: ``"core.person"``, ``"ownership.party"`` …): they wait to be
    linked again and one ``core.link`` job is queued (joining the one waiting). Call it from the transaction
    that made the change; returns how many keys were given. ``queue=False``: the caller queues the job once
    (``link_queue``) after many touches, as a batched import does."""
    values = sorted({str(key) for key in keys if key is not None and str(key) != ""})
    if not values:
        return 0
    for start in range(0, len(values), DRAIN_BATCH):
        LinkTouch.objects.bulk_create(
            [LinkTouch(kind=kind, key=key[:200]) for key in values[start : start + DRAIN_BATCH]],
            ignore_conflicts=True,
        )
    if queue and not _state.draining:
        link_queue()
    return len(values)


def link_queue() -> Job:
    """Queues the linking job once (a waiting one is joined)."""
    from probity.core.jobs import job_enqueue

    return job_enqueue(kind=LINK_JOB, actor=None, trigger=Job.Trigger.EVENT, dedupe_key=LINK_DEDUPE)


@dataclass
class LinkRun:
    """What a linking pass did, per linker and in all."""

    counts: dict[str, LinkCounts] = field(default_factory=dict)
    records: int = 0

    @property
    def total(self) -> LinkCounts:
        total = LinkCounts()
        for counts in self.counts.values():
            total.add(counts)
        return total

    def sources_changed(self) -> list[str]:
        by_code = {linker.code: linker for linker in linkers()}
        sources: set[str] = set()
        for code, counts in self.counts.items():
            if counts.changed and code in by_code:
                sources.update(by_code[code].sources)
        return sorted(sources)


def links_drain(*, progress: Progress | None = None) -> LinkRun:
    """Links every touched record, round after round, until nothing waits (or ``MAX_ROUNDS``)."""
    run = LinkRun()
    registered = linkers()
    _state.draining = True
    try:
        for _round in range(MAX_ROUNDS):
            with transaction.atomic():
                rows = list(LinkTouch.objects.order_by("pk").values_list("pk", "kind", "key")[:DRAIN_BATCH])
                if not rows:
                    break
                LinkTouch.objects.filter(pk__in=[pk for pk, _kind, _key in rows]).delete()
            keys: dict[str, list[str]] = defaultdict(list)
            for _pk, kind, key in rows:
                keys[kind].append(key)
            run.records += len(rows)
            for linker in registered:
                mine = {kind: keys[kind] for kind in linker.kinds if kind in keys}
                if not mine:
                    continue
                with transaction.atomic():
                    counts = linker.link(mine, progress)
                run.counts.setdefault(linker.code, LinkCounts()).add(counts)
    finally:
        _state.draining = False
    if LinkTouch.objects.exists():  # still more after MAX_ROUNDS: another job goes on later
        link_queue()
    return run


def relink_all(*, progress: Progress | None = None, stage: Callable[[str], object] | None = None) -> LinkRun:
    """Runs every linker over all its records (then links what that touched)."""
    run = LinkRun()
    _state.draining = True
    try:
        for linker in linkers():
            if stage is not None:
                stage(str(linker.label))
            with transaction.atomic():
                counts = linker.link(None, progress)
            run.counts.setdefault(linker.code, LinkCounts()).add(counts)
    finally:
        _state.draining = False
    after = links_drain(progress=progress)
    for code, counts in after.counts.items():
        run.counts.setdefault(code, LinkCounts()).add(counts)
    return run


# --- helpers for linkers ---------------------------------------------------------------------------


@dataclass
class Known:
    """The links recorded for some records of one source: ``{source key: {target id: link}}``."""

    people: dict[str, dict[int, RecordLink]] = field(default_factory=lambda: defaultdict(dict))
    organisations: dict[str, dict[int, RecordLink]] = field(default_factory=lambda: defaultdict(dict))

    @classmethod
    def load(cls, source: str, keys: Iterable[str] | None) -> Known:
        known = cls()
        queryset = RecordLink.objects.filter(source=source)
        chunks: list[list[str] | None] = [None]
        if keys is not None:
            ordered = sorted(set(keys))
            chunks = [ordered[i : i + 900] for i in range(0, len(ordered), 900)]
        for chunk in chunks:
            rows = queryset if chunk is None else queryset.filter(source_key__in=chunk)
            for link in rows:
                if link.person_id is not None:
                    known.people[link.source_key][link.person_id] = link
                elif link.organisation_id is not None:
                    known.organisations[link.source_key][link.organisation_id] = link
        return known


def rejected(links: Mapping[int, RecordLink]) -> set[int]:
    return {target for target, link in links.items() if link.state == RecordLink.State.REJECTED}


def confirmed(links: Mapping[int, RecordLink]) -> set[int]:
    return {target for target, link in links.items() if link.state == RecordLink.State.CONFIRMED}


def link_record(
    *,
    source: str,
    key: str,
    label: str,
    rule: str,
    params: Mapping[str, Any],
    existing: Mapping[int, RecordLink],
    person: int | None = None,
    organisation: int | None = None,
) -> tuple[RecordLink, bool]:
    """Records an automatic link (or refreshes its reason); an analyst's decision is kept as it is.
    Returns the link and whether it is new."""
    target = person if person is not None else organisation
    assert target is not None
    link = existing.get(target)
    if link is not None:
        if link.state == RecordLink.State.AUTOMATIC and (link.rule != rule or link.reason_params != dict(params)):
            link.rule, link.reason_params, link.source_label = rule, dict(params), label[:300]
            link.save(update_fields=["rule", "reason_params", "source_label", "updated_at"])
        return link, False
    link = RecordLink.objects.create(
        source=source,
        source_key=key,
        source_label=label[:300],
        person_id=person,
        organisation_id=organisation,
        rule=rule,
        reason_params=dict(params),
    )
    return link, True


def unlink_automatic(links: Iterable[RecordLink]) -> int:
    """Removes automatic links whose rule no longer holds (confirmed and rejected ones stay)."""
    ids = [link.pk for link in links if link.state == RecordLink.State.AUTOMATIC]
    if ids:
        RecordLink.objects.filter(pk__in=ids).delete()
    return len(ids)


# --- an analyst's decision -------------------------------------------------------------------------


class LinkRefused(Exception):
    """A decision that cannot be taken; the message says why."""


def link_decide(*, link: RecordLink, state: str, actor: User | None, note: str = "") -> RecordLink:
    """Confirms or rejects a link (audited); the record is linked again at once in the background."""
    if state not in (RecordLink.State.CONFIRMED, RecordLink.State.REJECTED, RecordLink.State.AUTOMATIC):
        raise LinkRefused(gettext("A link can only be confirmed or rejected."))
    with transaction.atomic():
        link = RecordLink.objects.select_for_update().get(pk=link.pk)
        before = link.state
        link.state = state
        link.decided_by = actor_name(actor)[:150]
        link.decided_at = timezone.now()
        link.save(update_fields=["state", "decided_by", "decided_at", "updated_at"])
        audit_record(
            action=AuditEntry.Action.UPDATE,
            actor=actor_name(actor),
            object_type="core.recordlink",
            object_id=str(link.pk),
            object_label=f"{link.source}:{link.source_key}"[:200],
            details={"event": "link_decided", "from": before, "to": state, "rule": link.rule, "note": note[:500]},
        )
        links_touch(link.source, [link.source_key])
    return link


def link_target_label(link: RecordLink) -> str:
    target = link.person if link.person_id else link.organisation
    return str(target) if target is not None else ""


LINK_STATE_LABELS = dict(RecordLink.State.choices)
LABEL = _("Links between records")

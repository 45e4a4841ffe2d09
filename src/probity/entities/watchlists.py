"""Watchlists: named sets of names re-screened whenever the lists change, with a notice on a new match.

A watchlist belongs to the person who made it. Its names are screened when they are added, and again by
the job ``entities.watchlists_rescreen``, which an import or sync of entities queues (``jobs._announce``).
A list entity that matches a name for the first time is a *new match*: it is kept as a ``WatchlistHit``
without ``seen_at``, counted on the dashboard and the watchlist page until its owner has looked, and
e-mailed to the owner (only the watchlist's name, counts and a link: never the names) when the owner has
an e-mail address. Matches found again keep their first date; the owner is told only once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from probity.core.audit import audit_record
from probity.core.modules import DashboardTile
from probity.entities import screening
from probity.entities.batch import BatchFileError, ScreeningRow, screen_row, screening_csv_read
from probity.entities.models import Watchlist, WatchlistEntry, WatchlistHit

logger = logging.getLogger("probity.entities")

MAX_ENTRIES = 10_000
VIEW_PERMISSION = "entities.view_entity"


@dataclass
class ScreenReport:
    names: int = 0
    matches: int = 0
    new: int = 0
    notified: int = 0


def watchlists_of(*, user: User | AbstractBaseUser | AnonymousUser) -> QuerySet[Watchlist]:
    if not user.is_authenticated:
        return Watchlist.objects.none()
    return Watchlist.objects.filter(owner_id=user.pk)


def new_hits(*, user: User | AbstractBaseUser | AnonymousUser) -> QuerySet[WatchlistHit]:
    """The matches this user's watchlists found that the user has not looked at yet."""
    if not user.is_authenticated:
        return WatchlistHit.objects.none()
    return WatchlistHit.objects.filter(entry__watchlist__owner_id=user.pk, seen_at__isnull=True)


def new_hit_count(user: AbstractBaseUser | AnonymousUser) -> int:
    """For the dashboard tile."""
    return new_hits(user=user).count()


def watchlist_create(
    *,
    actor: User,
    name: str,
    dataset: str = "default",
    threshold: float = screening.DEFAULT_THRESHOLD,
) -> Watchlist:
    """A new empty watchlist of ``actor``; ``ValueError`` when the name is empty or already theirs."""
    name = name.strip()
    if not name:
        raise ValueError(_("A watchlist needs a name."))
    if not 0 <= threshold <= 1:
        raise ValueError(_("The threshold must be between 0 and 1."))
    if Watchlist.objects.filter(owner=actor, name=name).exists():
        raise ValueError(_("You already have a watchlist called “%(name)s”.") % {"name": name})
    return Watchlist.objects.create(owner=actor, name=name, dataset=dataset or "default", threshold=threshold)


def watchlist_add(*, watchlist: Watchlist, rows: Sequence[ScreeningRow], screen: bool = True) -> ScreenReport:
    """Adds names (already checked by ``batch.row_check``/``screening_csv_read``) and screens them."""
    if watchlist.entries.count() + len(rows) > MAX_ENTRIES:
        raise ValueError(
            _("A watchlist holds at most %(n)s names; “%(name)s” would have more.")
            % {"n": MAX_ENTRIES, "name": watchlist.name}
        )
    entries = WatchlistEntry.objects.bulk_create(
        [
            WatchlistEntry(
                watchlist=watchlist,
                name=row.name,
                schema=row.schema,
                birth_date=row.birth_date,
                country=row.country,
                identifier=row.identifier,
                reference=row.reference,
            )
            for row in rows
        ]
    )
    audit_record(
        action="watchlist_add",
        object_type="entities.watchlist",
        object_id=str(watchlist.pk),
        object_label="Watchlist",
        details={"names_added": len(entries)},
    )
    if not screen:
        return ScreenReport()
    # The first screening of a name is not news: its matches are shown at once, not e-mailed.
    entry_ids = [e.pk for e in entries if e.pk is not None]
    queryset = WatchlistEntry.objects.filter(pk__in=entry_ids) if entry_ids else watchlist.entries.all()
    return watchlist_screen(watchlist=watchlist, entries=queryset, notify=False)


def watchlist_upload(*, watchlist: Watchlist, content: bytes, file_name: str) -> tuple[ScreenReport, list[str]]:
    """Adds the names of a CSV (as the screening page reads it); returns the report and, for each broken
    row, a sentence with its line and reason."""
    read = screening_csv_read(content=content, file_name=file_name)
    if not read.rows:
        raise BatchFileError(_("%(file)s holds no name that can be added.") % {"file": file_name})
    report = watchlist_add(watchlist=watchlist, rows=read.rows)
    problems = [_("Line %(line)s: %(reason)s") % {"line": p.line, "reason": p.reason} for p in read.problems]
    return report, problems


def entry_row(entry: WatchlistEntry) -> ScreeningRow:
    return ScreeningRow(
        line=entry.pk or 0,
        name=entry.name,
        schema=entry.schema,
        birth_date=entry.birth_date,
        country=entry.country,
        identifier=entry.identifier,
        reference=entry.reference,
    )


def watchlist_screen(
    *,
    watchlist: Watchlist,
    entries: Iterable[WatchlistEntry] | None = None,
    notify: bool = True,
    progress: Callable[[int], object] | None = None,
) -> ScreenReport:
    """Screens the watchlist's names; every match not seen before becomes a new ``WatchlistHit`` (and,
    with ``notify``, one e-mail to the owner names how many there are)."""
    report = ScreenReport()
    pending: list[WatchlistHit] = []
    for entry in entries if entries is not None else watchlist.entries.all():
        report.names += 1
        try:
            result = screen_row(row=entry_row(entry), dataset=watchlist.dataset, threshold=watchlist.threshold)
        except screening.QueryError:
            logger.warning("watchlist %s entry %s cannot be screened", watchlist.pk, entry.pk)
            continue
        finally:
            if progress is not None:
                progress(1)
        found = [m for m in result.matches if m.match and m.entity_pk is not None]
        report.matches += len(found)
        known = set(WatchlistHit.objects.filter(entry=entry).values_list("entity_id", flat=True))
        for match in found:
            assert match.entity_pk is not None
            if match.entity_pk in known:
                WatchlistHit.objects.filter(entry=entry, entity_id=match.entity_pk).update(
                    score=match.score, features=match.features, screened_at=timezone.now()
                )
                continue
            try:
                with transaction.atomic():
                    hit = WatchlistHit.objects.create(
                        entry=entry, entity_id=match.entity_pk, score=match.score, features=match.features
                    )
            except IntegrityError:  # found by a concurrent run
                continue
            report.new += 1
            pending.append(hit)
    if not notify:  # first screening: shown on the page at once, already seen by whoever added the names
        WatchlistHit.objects.filter(pk__in=[h.pk for h in pending]).update(seen_at=timezone.now())
    watchlist.screened_at = timezone.now()
    watchlist.save(update_fields=["screened_at"])
    if notify and pending:
        report.notified = _notify(watchlist, pending)
    return report


def _link(watchlist: Watchlist) -> str:
    base = str(getattr(settings, "PROBITY_BASE_URL", "")).rstrip("/")
    return base + reverse("entities:watchlist", kwargs={"pk": watchlist.pk})


def _notify(watchlist: Watchlist, hits: Sequence[WatchlistHit]) -> int:
    """E-mails the owner that new matches were found: the watchlist's name, how many, and a link. Returns
    1 when a message went out. A mail server that refuses is logged; the matches stay on the page."""
    owner = watchlist.owner
    if not owner.email or not owner.is_active:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("New matches on your watchlist “%(name)s”") % {"name": watchlist.name}
        body = _(
            "Screening after a change of the lists found %(n)s new match(es) for names on your watchlist "
            "“%(name)s”. Sign in to review them: %(link)s"
        ) % {"n": len(hits), "name": watchlist.name, "link": _link(watchlist)}
    try:
        sent = send_mail(subject, body, None, [owner.email], fail_silently=False)
    except Exception:  # noqa: BLE001  (a mail outage must not lose the matches: they stay on the page)
        logger.warning("watchlist %s: the new-match e-mail could not be sent", watchlist.pk)
        return 0
    if sent:
        WatchlistHit.objects.filter(pk__in=[h.pk for h in hits]).update(notified_at=timezone.now())
    return int(sent)


def watchlists_rescreen(
    *,
    progress: Callable[[int], object] | None = None,
    total: Callable[[int | None], object] | None = None,
) -> ScreenReport:
    """Re-screens every watchlist (after the lists changed), notifying owners of new matches."""
    if total is not None:
        total(WatchlistEntry.objects.count())
    report = ScreenReport()
    for watchlist in Watchlist.objects.select_related("owner").order_by("pk"):
        one = watchlist_screen(watchlist=watchlist, progress=progress)
        report.names += one.names
        report.matches += one.matches
        report.new += one.new
        report.notified += one.notified
    return report


def hits_mark_seen(*, watchlist: Watchlist) -> int:
    """The owner has looked at the watchlist: its new matches are no longer new."""
    return WatchlistHit.objects.filter(entry__watchlist=watchlist, seen_at__isnull=True).update(seen_at=timezone.now())


def watchlist_hits(*, watchlist: Watchlist) -> QuerySet[WatchlistHit]:
    return (
        WatchlistHit.objects.filter(entry__watchlist=watchlist)
        .select_related("entry", "entity")
        .order_by(F("seen_at").asc(nulls_first=True), "-found_at", "-score", "pk")
    )


def watchlist_delete(*, watchlist: Watchlist) -> None:
    watchlist.delete()


# The dashboard's notice of new watchlist matches (``EntitiesConfig.dashboard_tiles``): the user's own.
DASHBOARD_TILES = (
    DashboardTile("watchlist_new_matches", gettext_lazy("New watchlist matches"), new_hit_count, VIEW_PERMISSION),
)

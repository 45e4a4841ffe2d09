"""Read queries of the declarations app: visible declarations, findings and risk scores, what changed
between two versions, and the latest version of every declaration, streamed (what the detectors and
other modules read).

Other modules read declarations through this module (``iter_latest_items``), never through the
detectors.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connections
from django.db.models import Max, OuterRef, QuerySet, Subquery, TextField
from django.db.models.base import ModelState
from django.db.models.functions import Cast
from django.utils.encoding import force_str
from django.utils.translation import get_language

from probity.core.detectors import detector_registry
from probity.core.models import DetectorRun, Finding
from probity.core.rules import visible_to
from probity.declarations.models import Declaration, DeclarationVersion
from probity.declarations.rates import cached_rates
from probity.declarations.schema import period_end

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - optional speed-up
    _orjson = None  # type: ignore[assignment]

DETECTOR_PREFIX = "DECL-"


def detector_codes() -> tuple[str, ...]:
    """Every registered declarations detector (codes starting with ``DECL-``), in code order."""
    return tuple(code for code in detector_registry() if code.startswith(DETECTOR_PREFIX))


def verification_codes() -> tuple[str, ...]:
    """The declarations detectors ``declarations.verify`` runs itself (those that do not read the warehouse)."""
    registry = detector_registry()
    return tuple(code for code in detector_codes() if not getattr(registry[code], "reads_warehouse", False))


def _latest_runs(codes: Iterable[str]) -> dict[str, DetectorRun]:
    runs: dict[str, DetectorRun] = {}
    for code in codes:
        run = (
            DetectorRun.objects.filter(detector_code=code, status=DetectorRun.Status.SUCCEEDED)
            .order_by("-started_at", "-pk")
            .first()
        )
        if run is not None:
            runs[code] = run
    return runs


# The job kind that verifies declarations, and the key that makes submissions share one waiting job.
VERIFY = "declarations.verify"
VERIFY_DEDUPE = "declarations:verify"


def not_judged(*, declaration_ids: Iterable[int]) -> set[int]:
    """The declarations (of ``declaration_ids``) whose latest version the verification detectors have not
    judged yet: it was submitted after the latest successful run of one of them started (detectors that
    never ran successfully do not count), or no verification detector has run at all.

    Versions are stamped with the time they were stored (``submitted_at``, also for imports), so a run
    that started earlier cannot have read them. Such a declaration's risk score, if any, is about an
    earlier version (or nothing): pages say "not judged yet" instead of ranking it as clean.
    """
    ids = list(declaration_ids)
    if not ids:
        return set()
    runs = _latest_runs(verification_codes())
    latest = (
        DeclarationVersion.objects.filter(declaration_id__in=ids)
        .values("declaration_id")
        .annotate(last=Max("submitted_at"))
    )
    if not runs:
        return {row["declaration_id"] for row in latest}
    cutoff = min(run.started_at for run in runs.values())
    return {row["declaration_id"] for row in latest if row["last"] > cutoff}


def declarations_visible(*, user: User | AnonymousUser) -> QuerySet[Declaration]:
    return visible_to(user, Declaration.objects.select_related("declarant"))


def latest_findings(*, declaration_ids: list[int] | None = None) -> QuerySet[Finding]:
    """Findings about declarations from the latest successful run of each declarations detector."""
    runs = [run.pk for run in _latest_runs(detector_codes()).values()]
    queryset = Finding.objects.filter(run_id__in=runs, subject_type="declaration")
    if declaration_ids is not None:
        queryset = queryset.filter(subject_id__in=[str(i) for i in declaration_ids])
    return queryset.order_by("detector_code")


def risk_scores(*, declaration_ids: list[int] | None = None) -> dict[int, float]:
    """Risk score per declaration: the sum of the weights of its open or confirmed flags."""
    scores: dict[int, float] = defaultdict(float)
    flags = (
        latest_findings(declaration_ids=declaration_ids)
        .filter(outcome=Finding.Outcome.FLAG)
        .exclude(triage=Finding.Triage.DISMISSED)
    )
    for subject_id, evidence in flags.values_list("subject_id", "evidence"):
        scores[int(subject_id)] += float((evidence or {}).get("weight", 1.0))
    return dict(scores)


# --- submitted declarations by year, type and id -----------------------------------------------


def declarations_matching(
    *, year: int | None = None, declaration_type: str | None = None, ids: Iterable[int] | None = None
) -> QuerySet[Declaration]:
    """Submitted declarations selected by year, type and/or ids (all submitted ones when none is given)."""
    queryset = Declaration.objects.filter(status=Declaration.Status.SUBMITTED)
    if year is not None:
        queryset = queryset.filter(year=year)
    if declaration_type:
        if declaration_type not in Declaration.Type.values:
            raise ValueError(
                f"unknown declaration type {declaration_type!r}: use one of {', '.join(Declaration.Type.values)}"
            )
        queryset = queryset.filter(declaration_type=declaration_type)
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    return queryset.order_by("pk")


def missing_ids(*, ids: Iterable[int] | None, declarations: QuerySet[Declaration]) -> list[str]:
    """A skip reason for every asked-for id that is not a submitted declaration of the selection."""
    if not ids:
        return []
    found = set(declarations.values_list("pk", flat=True))
    return [f"declaration {i}: there is no submitted declaration with this id" for i in ids if i not in found]


# --- the latest version of every declaration ---------------------------------------------------

_TYPE_LABELS: dict[tuple[str | None, str], str] = {}
_TYPE_CHOICES = dict(Declaration.Type.choices)


def _type_label(value: str) -> str:
    """``get_declaration_type_display()``, remembered per language (it is asked once per declaration)."""
    key = (get_language(), value)
    label = _TYPE_LABELS.get(key)
    if label is None:
        label = _TYPE_LABELS[key] = force_str(_TYPE_CHOICES.get(value, value), strings_only=True)
    return label


@dataclass
class Item:
    declaration: Declaration
    content: dict[str, Any]

    @property
    def label(self) -> str:
        name = self.content["declarant"]["name"]
        return f"{name}, {_type_label(self.declaration.declaration_type)} {self.declaration.year}"


def _loads(text: Any) -> dict[str, Any]:
    """A version's content from the database's JSON text (orjson when installed: about twice as fast)."""
    if not isinstance(text, str | bytes):
        return text  # a backend that already decoded it
    if _orjson is not None:
        try:
            return _orjson.loads(text)
        except _orjson.JSONDecodeError:
            pass  # e.g. integers beyond 64 bits: the standard decoder reads them
    return json.loads(text)


def iter_latest_items(*, chunk_size: int = 2000) -> Iterator[Item]:
    """Every declaration with its latest version's content, streamed in declarant order.

    Declarations of one declarant come together (ordered by declarant, period end, year, id), so
    that callers can pair consecutive declarations while holding one declarant's at a time.
    While the items are consumed, exchange rates are answered from memory (``cached_rates``), and
    each content is decoded only when its item is handed out (memory stays at one item per
    declaration being compared, not one chunk of decoded contents).
    """
    versions = DeclarationVersion.objects.filter(declaration=OuterRef("pk")).order_by("-number")
    latest = versions.values("pk")[:1]
    queryset = (
        Declaration.objects.annotate(latest_version_id=Subquery(latest))
        .filter(latest_version_id__isnull=False)
        .order_by("declarant_id", "period_end", "year", "pk")
    )
    fields = [f.attname for f in Declaration._meta.concrete_fields]
    database = queryset.db
    if connections[database].vendor == "postgresql":
        # PostgreSQL walks the declarant index and sorts each declarant's few rows (an incremental
        # sort), so the content can come in the same query: no second round trip per chunk.
        content = Subquery(versions.annotate(text=Cast("content", output_field=TextField())).values("text")[:1])
        with cached_rates():
            for row in (
                queryset.annotate(latest_text=content)
                .values_list(*fields, "latest_version_id", "latest_text")
                .iterator(chunk_size=chunk_size)
            ):
                yield Item(_declaration(fields, row[:-1], database), _loads(row[-1]))
        return
    with cached_rates():
        batch: list[Declaration] = []
        for row in queryset.values_list(*fields, "latest_version_id").iterator(chunk_size=chunk_size):
            batch.append(_declaration(fields, row, database))
            if len(batch) >= chunk_size:
                yield from _with_content(batch)
                batch = []
        if batch:
            yield from _with_content(batch)


def _declaration(fields: list[str], row: tuple[Any, ...], database: str) -> Declaration:
    """The declaration as ``Model.from_db`` would build it, without ``__init__``'s per-field work."""
    declaration = Declaration.__new__(Declaration)
    loaded = dict(zip(fields, row, strict=False))
    declaration.__dict__.update(loaded)
    declaration.latest_version_id = row[-1]  # type: ignore[attr-defined]
    declaration._state = ModelState()
    declaration._state.adding, declaration._state.db = False, database
    declaration._audit_loaded = loaded
    return declaration


def _with_content(batch: list[Declaration]) -> Iterator[Item]:
    ids = [d.latest_version_id for d in batch]  # type: ignore[attr-defined]
    texts = dict(
        DeclarationVersion.objects.filter(pk__in=ids).values_list("pk", Cast("content", output_field=TextField()))
    )
    for declaration in batch:
        yield Item(declaration, _loads(texts.pop(declaration.latest_version_id)))  # type: ignore[attr-defined]


def latest_items() -> list[Item]:
    """Every declaration with its latest version's content (in memory: prefer ``iter_latest_items``)."""
    return list(iter_latest_items())


def consecutive_pairs(*, items: Iterable[Item]) -> Iterator[tuple[Item | None, Item]]:
    """Each declaration with the declarant's previous one (by period end), or None for the first.

    ``items`` must bring each declarant's declarations together (as ``iter_latest_items`` does);
    only one declarant's declarations are held at a time.
    """
    for _person, group in groupby(items, key=lambda i: i.declaration.declarant_id):
        person_items = sorted(group, key=lambda i: (period_end(i.content), i.declaration.pk))
        previous = None
        for item in person_items:
            yield previous, item
            previous = item


def iter_consecutive_pairs() -> Iterator[tuple[Item | None, Item]]:
    """``consecutive_pairs`` over every declaration, streamed."""
    return consecutive_pairs(items=iter_latest_items())


# --- what changed between two versions --------------------------------------------------------


@dataclass(frozen=True)
class Change:
    path: str
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed"


def _walk(old: Any, new: Any, path: str, out: list[Change]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _walk(old.get(key), new.get(key), f"{path}.{key}" if path else key, out)
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            _walk(
                old[index] if index < len(old) else None,
                new[index] if index < len(new) else None,
                f"{path}[{index}]",
                out,
            )
    elif old != new:
        out.append(Change(path, old, new))


def version_diff(*, old: DeclarationVersion, new: DeclarationVersion) -> list[Change]:
    """Each field that differs between two versions (added, removed or changed), in path order."""
    changes: list[Change] = []
    _walk(old.content, new.content, "", changes)
    return changes

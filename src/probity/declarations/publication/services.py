"""Publication of declarations: redaction profiles, publishing the redacted copy, withdrawal, open-data files.

Every public output (register pages, downloads, public API, CLI export) reads ``PublishedDeclaration``
only; ``publish`` writes it from the latest version, redacted by ``redaction.redact`` with a profile
(the paths a profile may name are explained in ``redaction``). The public register's queries and
formats are in ``selectors``.

**Permissions**: the pages and the API ask the same ``may_*`` functions below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from probity.core.audit import audit_as
from probity.declarations.models import Declaration, PublishedDeclaration, RedactionProfile
from probity.declarations.publication.redaction import (
    DEFAULT_DESCRIPTION,
    DEFAULT_FIELDS,
    PRIVATE_PREFIX,
    ProfileInvalid,
    Rule,
    is_withheld,
    profile_rules,
    redact,
    search_text,
    validate_fields,
)
from probity.declarations.publication.selectors import csv_rows, csv_text, json_lines, public_declarations

DEFAULT_PROFILE = "default"


# --- who may do what (the pages and the API ask the same questions) -----------------------------


def may_see_publication(*, user: User | AnonymousUser) -> bool:
    """See the publication page: what is published, with which profile."""
    return bool(user.has_perm("declarations.view_publisheddeclaration"))


def may_publish(*, user: User | AnonymousUser) -> bool:
    return bool(user.has_perm("declarations.add_publisheddeclaration"))


def may_withdraw(*, user: User | AnonymousUser) -> bool:
    return bool(user.has_perm("declarations.change_publisheddeclaration"))


def may_see_profiles(*, user: User | AnonymousUser) -> bool:
    return bool(user.has_perm("declarations.view_redactionprofile"))


def may_edit_profiles(*, user: User | AnonymousUser) -> bool:
    return bool(user.has_perm("declarations.change_redactionprofile"))


# --- profiles -------------------------------------------------------------------------------------


def _named_default() -> RedactionProfile:
    profile, _created = RedactionProfile.objects.get_or_create(
        name=DEFAULT_PROFILE,
        defaults={
            "fields": list(DEFAULT_FIELDS),
            "description": DEFAULT_DESCRIPTION,
            "is_default": not RedactionProfile.objects.filter(is_default=True).exists(),
        },
    )
    return profile


def default_profile() -> RedactionProfile:
    """The profile marked default; the built-in ``default`` profile (``DEFAULT_FIELDS``) is created on
    first use."""
    marked = RedactionProfile.objects.filter(is_default=True).order_by("pk").first()
    return marked if marked is not None else _named_default()


def profile_get(*, name: str | None) -> RedactionProfile:
    """The profile called ``name`` (the default profile when empty); ``LookupError`` when absent."""
    if not name:
        return default_profile()
    if name == DEFAULT_PROFILE:
        return _named_default()
    profile = RedactionProfile.objects.filter(name=name).first()
    if profile is None:
        raise LookupError(f"There is no redaction profile named {name!r}.")
    return profile


def profile_set(
    *,
    name: str,
    fields: Iterable[str] | None = None,
    private: Iterable[str] | None = None,
    description: str | None = None,
    make_default: bool = False,
    actor: User | None = None,
) -> RedactionProfile:
    """Creates or changes a profile. ``fields`` replaces the redacted paths, ``private`` the private ones
    (each given without the ``private:`` prefix); a list left as ``None`` is kept. ``actor``: who changes
    it (``None``: the system, named by the current ``audit_actor``)."""
    if not name.strip():
        raise ProfileInvalid("A redaction profile needs a name.")
    with audit_as(actor), transaction.atomic():
        if name == DEFAULT_PROFILE:
            _named_default()
        profile = RedactionProfile.objects.select_for_update().filter(name=name.strip()).first()
        if profile is None:
            profile = RedactionProfile(name=name.strip(), fields=[])
        current = [str(p) for p in profile.fields or []]
        plain = [p for p in current if not p.startswith(PRIVATE_PREFIX)]
        marked = [p for p in current if p.startswith(PRIVATE_PREFIX)]
        if fields is not None:
            plain = [p for p in fields if p.strip()]
        if private is not None:
            marked = [PRIVATE_PREFIX + p.strip().removeprefix(PRIVATE_PREFIX) for p in private if p.strip()]
        profile.fields = validate_fields([*plain, *marked])
        if description is not None:
            profile.description = description
        if make_default:
            for other in RedactionProfile.objects.exclude(pk=profile.pk).filter(is_default=True):
                other.is_default = False
                other.save()  # one at a time, so that the audit log records the change
            profile.is_default = True
        profile.save()
    return profile


# --- publishing -----------------------------------------------------------------------------------


@dataclass
class PublishReport:
    published: int = 0
    replaced: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.published + self.replaced + self.unchanged + len(self.skipped)


def _block(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) and not is_withheld(value) else {}


def _text(value: Any) -> str:
    return value[:300] if isinstance(value, str) else ""


def _publish_one(
    declaration: Declaration,
    profile: RedactionProfile,
    rules: list[Rule],
    report: PublishReport,
    include_withdrawn: bool,
) -> None:
    version = declaration.latest_version()
    if version is None:
        report.skipped.append(f"declaration {declaration.pk}: no submitted version to publish")
        return
    content = redact(version.content, profile, rules)
    position = _block(content.get("position"))
    body = _block(position.get("body"))
    declarant = _block(content.get("declarant"))
    values = {
        "version": version,
        "profile": profile,
        "content": content,
        # Only from the redacted content: a profile may withhold even these, and then they stay empty
        # (never filled in from the declaration, which would put the withheld value back).
        "declarant_name": _text(declarant.get("name")),
        "body_name": _text(body.get("name")),
        "position_title": _text(position.get("title")),
        "declaration_type": declaration.declaration_type,
        "year": declaration.year,
        "search_text": search_text(content),
    }
    with transaction.atomic():
        existing = PublishedDeclaration.objects.select_for_update().filter(declaration=declaration).first()
        if existing is None:
            PublishedDeclaration.objects.create(declaration=declaration, published_at=timezone.now(), **values)
            report.published += 1
            return
        if existing.withdrawn_at is not None and not include_withdrawn:
            report.skipped.append(f"declaration {declaration.pk}: withdrawn; publish it by its id to restore it")
            return
        same = (
            existing.withdrawn_at is None
            and all(getattr(existing, k) == v for k, v in values.items() if k not in {"version", "profile"})
            and existing.version_id == version.pk
            and existing.profile_id == profile.pk
        )
        if same:
            report.unchanged += 1
            return
        for key, value in values.items():
            setattr(existing, key, value)
        existing.published_at = timezone.now()
        existing.withdrawn_at = None
        existing.save()
        report.replaced += 1


def publish(
    *,
    declarations: Iterable[Declaration],
    profile: RedactionProfile | None = None,
    include_withdrawn: bool = False,
    progress: Callable[[int], Any] | None = None,
    actor: User | None = None,
) -> PublishReport:
    """Publishes (or re-publishes) the latest version of each declaration, redacted with ``profile``.

    Idempotent: the same version with the same profile and content is left unchanged; a newer version
    or a changed profile replaces the public copy. A withdrawn publication is restored only with
    ``include_withdrawn`` (the CLI and API set it when declarations are named by id). Each declaration
    is written in its own transaction. ``actor``: who publishes (``None``: the system, named by the
    current ``audit_actor``).
    """
    with audit_as(actor):
        profile = profile or default_profile()
        rules = profile_rules(profile)  # a broken profile stops everything before anything is published
        report = PublishReport()
        for declaration in declarations:
            _publish_one(declaration, profile, rules, report, include_withdrawn)
            if progress is not None:
                progress(1)
    return report


def withdraw(*, declaration_ids: Iterable[int], actor: User | None = None) -> int:
    """Takes publications off the register; their public content is erased (re-publish to restore)."""
    count = 0
    with audit_as(actor):
        for published in PublishedDeclaration.objects.filter(
            declaration_id__in=list(declaration_ids), withdrawn_at=None
        ):
            published.withdrawn_at = timezone.now()
            published.content = {}
            published.search_text = ""
            published.save()
            count += 1
    return count


# --- open-data files ------------------------------------------------------------------------------


@dataclass
class ExportReport:
    files: list[str] = field(default_factory=list)
    declarations: int = 0


def export_open_data(
    *,
    directory: str | Path,
    year: int | None = None,
    declaration_type: str = "",
    progress: Callable[[int], Any] | None = None,
) -> ExportReport:
    """Writes ``declarations.json`` and ``declarations.csv`` (all published declarations, or one year/type)
    and one pair per year (``declarations-2023.json`` …) into ``directory``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    queryset = public_declarations(year=year, declaration_type=declaration_type)
    years = sorted(set(queryset.values_list("year", flat=True)))
    report = ExportReport()
    targets: list[tuple[str, QuerySet[PublishedDeclaration]]] = [("declarations", queryset)]
    targets += [(f"declarations-{y}", queryset.filter(year=y)) for y in years]
    for stem, subset in targets:
        json_path, csv_path = out / f"{stem}.json", out / f"{stem}.csv"
        with json_path.open("w", encoding="utf-8") as handle:
            for chunk in json_lines(queryset=subset.iterator()):
                handle.write(chunk)
        with csv_path.open("w", encoding="utf-8", newline="") as handle:
            for chunk in csv_text(rows=(row for p in subset.iterator() for row in csv_rows(published=p))):
                handle.write(chunk)
        report.files += [str(json_path), str(csv_path)]
        if stem == "declarations":
            for _p in subset.iterator():
                report.declarations += 1
                if progress is not None:
                    progress(1)
    return report

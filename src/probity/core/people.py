"""People and organisations as records people manage: create, edit, merge, split and undo, and bulk import.

Every write here is audited: model changes through the ``Audited`` hook, and each merge, split, import and
undo as one entry of its own (``audit_record``) whose details say what moved, so that ``record_undo`` can put
it back. A merge moves every row that points at the merged record to the kept one through Django's relation
introspection (``_meta.get_fields``), so the tables of modules follow without core knowing them; it is
refused when the two people carry different national identity numbers (or two organisations different
numbers in one company register). Bulk import (CSV or FollowTheMoney JSON lines) keys every row by a source
key, so a second run updates instead of duplicating, and lists every broken row with its line and reason.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _
from followthemoney import model as ftm_model
from followthemoney.exc import InvalidData

from probity.core.audit import actor_name, audit_as, audit_record
from probity.core.links import links_touch
from probity.core.models import (
    AuditEntry,
    FamilyRelation,
    Identifier,
    Organisation,
    Person,
    PersonName,
    Position,
    PublicBody,
)

Subject = Person | Organisation
Record = TypeVar("Record", bound=models.Model)
Progress = Callable[[int], object]

MERGE_EVENT = "record_merge"
SPLIT_EVENT = "record_split"
UNDO_EVENT = "record_undo"
IMPORT_EVENT = "records_import"

# The identifier scheme that must agree before two records may be merged.
MERGE_GUARD_SCHEME = {"core.person": Identifier.Scheme.NATIONAL_ID, "core.organisation": "company_register"}
# Fields of a person or organisation a merge fills on the kept record when it has none.
FILLABLE = {
    "core.person": ("birth_date", "gender", "nationality"),
    "core.organisation": ("jurisdiction", "founded", "dissolved", "address"),
}


# Rows a merge may drop when the kept record already has the same one (or it would tie a record to itself);
# each is kept in the merge's audit entry and comes back on undo. Any other conflict refuses the merge.
DUPLICATES_DROPPED = frozenset({"core.familyrelation", "core.recordlink"})


class RecordRefused(ValueError):
    """A merge, split, undo or edit that cannot be done; the message says which record and why."""


# --- linking after a manual change ---------------------------------------------------------------


def links_touch_after_edit(*, model_label: str, ids: Iterable[int]) -> None:
    """Queue linking for the records a manual change touched (``core.links.links_touch``): the one call
    site every create, edit, merge, split and undo reaches."""
    links_touch(model_label, [int(pk) for pk in ids])


# --- create and edit ------------------------------------------------------------------------------


def _saved(instance: models.Model, *, actor: User | None) -> None:
    instance.full_clean(validate_unique=True)
    with audit_as(actor):
        instance.save()


def _apply(instance: models.Model, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(instance, name, value)


def person_save(*, actor: User | None, person: Person | None = None, **values: Any) -> Person:
    """Creates a person (``person`` None) or changes one; ``national_id`` (and ``national_id_issuer``)
    adds a national identity number, stored only as a keyed hash."""
    national_id = str(values.pop("national_id", "") or "").strip()
    issuer = str(values.pop("national_id_issuer", "") or "").strip()
    with transaction.atomic():
        person = person or Person()
        _apply(person, values)
        _saved(person, actor=actor)
        if national_id:
            identifier_add(
                actor=actor, subject=person, scheme=Identifier.Scheme.NATIONAL_ID, issuer=issuer, value=national_id
            )
    links_touch_after_edit(model_label="core.person", ids=[person.pk])
    return person


def organisation_save(*, actor: User | None, organisation: Organisation | None = None, **values: Any) -> Organisation:
    """Creates or changes an organisation; ``registry_number`` (and ``registry_issuer``) adds its company
    registry number."""
    number = str(values.pop("registry_number", "") or "").strip()
    issuer = str(values.pop("registry_issuer", "") or "").strip()
    with transaction.atomic():
        organisation = organisation or Organisation()
        _apply(organisation, values)
        _saved(organisation, actor=actor)
        if number:
            identifier_add(
                actor=actor,
                subject=organisation,
                scheme=Identifier.Scheme.COMPANY_REGISTER,
                issuer=issuer,
                value=number,
            )
    links_touch_after_edit(model_label="core.organisation", ids=[organisation.pk])
    return organisation


def public_body_save(*, actor: User | None, body: PublicBody | None = None, **values: Any) -> PublicBody:
    """Creates or changes a public body (a body cannot be placed under itself)."""
    body = body or PublicBody()
    _apply(body, values)
    _saved(body, actor=actor)
    return body


def position_save(*, actor: User | None, position: Position | None = None, **values: Any) -> Position:
    """Creates or changes a position; the end of a term cannot be before its start."""
    position = position or Position()
    _apply(position, values)
    _saved(position, actor=actor)
    if position.holder_id:
        links_touch_after_edit(model_label="core.person", ids=[position.holder_id])
    return position


def family_relation_add(*, actor: User | None, person: Person, relative: Person, kind: str) -> FamilyRelation:
    """Records a family tie (once: the same tie twice is kept as one)."""
    if person.pk == relative.pk:
        raise RecordRefused(_("%(name)s cannot be their own relative.") % {"name": person.name})
    if kind not in FamilyRelation.Kind.values:
        raise RecordRefused(_("%(kind)s is not a family relation Probity knows.") % {"kind": kind})
    with audit_as(actor):
        relation, _created = FamilyRelation.objects.get_or_create(person=person, relative=relative, kind=kind)
    links_touch_after_edit(model_label="core.person", ids=[person.pk, relative.pk])
    return relation


def family_relation_remove(*, actor: User | None, relation: FamilyRelation) -> None:
    """Removes a family tie (the audit log keeps who removed which tie)."""
    ids = [relation.person_id, relation.relative_id]
    with audit_as(actor):
        relation.delete()
    links_touch_after_edit(model_label="core.person", ids=ids)


def identifier_add(
    *, actor: User | None, subject: Person | Organisation | PublicBody, scheme: str, issuer: str, value: str
) -> Identifier:
    """Adds an identifier unless the subject already has the same one (compared by keyed hash)."""
    if scheme not in Identifier.Scheme.values:
        raise RecordRefused(_("%(scheme)s is not an identifier scheme Probity knows.") % {"scheme": scheme})
    if not Identifier.normalise(value):
        raise RecordRefused(_("An identifier needs a value."))
    owner = {
        Person: "person",
        Organisation: "organisation",
        PublicBody: "body",
    }[type(subject)]
    value_hash = Identifier.hash_value(scheme, issuer, value)
    existing = Identifier.objects.filter(
        **{owner: subject}, scheme=scheme, issuer=issuer, value_hash=value_hash
    ).first()
    if existing is not None:
        return existing
    with audit_as(actor):
        return Identifier.objects.create(**{owner: subject}, scheme=scheme, issuer=issuer, value=value)


# --- what points at a record ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """One kind of row that points at a person or organisation: its model and the pointing field."""

    model: type[models.Model]
    field_name: str  # the foreign key's attribute name, e.g. "holder_id"

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    @property
    def title(self) -> str:
        return str(self.model._meta.verbose_name_plural)


def references(model: type[models.Model]) -> list[Reference]:
    """Every foreign key (and one-to-one) in every installed app that points at ``model``, found through
    Django's relation introspection, so that module tables are included without core importing them."""
    found = []
    for relation in model._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete):
            continue
        if not (relation.one_to_many or relation.one_to_one):
            continue
        remote_field = relation.field  # type: ignore[union-attr]
        found.append(Reference(relation.related_model, remote_field.attname))  # type: ignore[arg-type]
    return sorted(found, key=lambda ref: (ref.label, ref.field_name))


def referencing_rows(subject: models.Model) -> list[tuple[Reference, list[models.Model]]]:
    """The rows that point at ``subject``, by kind (what a split may move)."""
    rows = []
    for ref in references(type(subject)):
        found = list(ref.model._default_manager.filter(**{ref.field_name: subject.pk}).order_by("pk")[:500])
        if found:
            rows.append((ref, found))
    return rows


def _guard_hashes(subject: models.Model) -> dict[str, set[str]]:
    label = subject._meta.label_lower
    owner = "person" if label == "core.person" else "organisation"
    hashes: dict[str, set[str]] = {}
    for issuer, value_hash in Identifier.objects.filter(
        **{owner: subject}, scheme=MERGE_GUARD_SCHEME[label]
    ).values_list("issuer", "value_hash"):
        hashes.setdefault(issuer.upper(), set()).add(value_hash)
    return hashes


def merge_refusal(*, keep: models.Model, merged: models.Model) -> str | None:
    """Why ``merged`` may not be merged into ``keep`` (a sentence), or None."""
    if type(keep) is not type(merged):
        return _("A person and an organisation cannot be merged.")
    if keep.pk == merged.pk:
        return _("%(name)s cannot be merged with itself.") % {"name": keep}
    kept_ids, merged_ids = _guard_hashes(keep), _guard_hashes(merged)
    for issuer in set(kept_ids) & set(merged_ids):
        if not kept_ids[issuer] & merged_ids[issuer]:
            if isinstance(keep, Person):
                return _(
                    "%(kept)s and %(merged)s have different national identity numbers, so they are not the same "
                    "person; the merge was refused."
                ) % {"kept": keep, "merged": merged}
            return _(
                "%(kept)s and %(merged)s have different numbers in the same company register, so they are not "
                "the same organisation; the merge was refused."
            ) % {"kept": keep, "merged": merged}
    if isinstance(keep, Person) and isinstance(merged, Person) and keep.user_id and merged.user_id:
        return _(
            "%(kept)s and %(merged)s each have their own user account; an administrator must close one of the "
            "accounts first."
        ) % {"kept": keep, "merged": merged}
    return None


def _snapshot(instance: models.Model) -> dict[str, Any]:
    return {f.attname: _jsonable(getattr(instance, f.attname)) for f in instance._meta.concrete_fields}


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def _restore(model: type[models.Model], snapshot: dict[str, Any]) -> models.Model:
    values = {}
    for model_field in model._meta.concrete_fields:
        if model_field.attname in snapshot:
            value = snapshot[model_field.attname]
            if value is not None and isinstance(model_field, models.DateField | models.DateTimeField):
                value = model_field.to_python(value)
            values[model_field.attname] = value
    instance = model(**values)
    # Written as it was, bypassing a model's own save() (which may derive fields again); the audit hook
    # still records the creation.
    models.Model.save_base(instance, force_insert=True)
    return instance


@transaction.atomic
def record_merge(*, actor: User | None, keep: Subject, merged: Subject) -> AuditEntry:
    """Moves everything that points at ``merged`` to ``keep`` and removes ``merged``; returns the audit
    entry whose details ``record_undo`` uses to put it all back. Refused (``RecordRefused``) with the
    reason when the two are not the same, or when a row cannot move (a module's rule forbids two)."""
    reason = merge_refusal(keep=keep, merged=merged)
    if reason:
        raise RecordRefused(reason)
    label = keep._meta.label_lower
    moved: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    for ref in references(type(keep)):
        rows = ref.model._default_manager.filter(**{ref.field_name: merged.pk})
        ids = list(rows.values_list("pk", flat=True))
        if not ids:
            continue
        moved_ids = []
        for pk in ids:
            try:
                with transaction.atomic():
                    ref.model._default_manager.filter(pk=pk).update(**{ref.field_name: keep.pk})
                moved_ids.append(pk)
            except IntegrityError:
                if ref.label not in DUPLICATES_DROPPED:
                    raise RecordRefused(
                        _(
                            "The merge was refused: %(kind)s %(row)s of %(merged)s cannot move to %(kept)s, who "
                            "already has one like it."
                        )
                        % {
                            "kind": ref.model._meta.verbose_name,
                            "row": ref.model._default_manager.get(pk=pk),
                            "merged": merged,
                            "kept": keep,
                        }
                    ) from None
                # A tie or link the kept record already has, or one between the two: kept for undo.
                row = ref.model._default_manager.get(pk=pk)
                removed.append({"model": ref.label, "fields": _snapshot(row)})
                with audit_as(actor):
                    row.delete()
        if moved_ids:
            moved.append({"model": ref.label, "field": ref.field_name, "ids": moved_ids})
    filled = []
    for name in FILLABLE[label]:
        if getattr(keep, name) in (None, "") and getattr(merged, name) not in (None, ""):
            setattr(keep, name, getattr(merged, name))
            filled.append(name)
    user_moved = False
    if isinstance(keep, Person) and isinstance(merged, Person) and merged.user_id and not keep.user_id:
        keep.user_id, user_moved = merged.user_id, True
    snapshot = _snapshot(merged)
    with audit_as(actor):
        merged_name = merged.name
        merged.delete()
        if filled or user_moved:
            keep.save()
        name_row = None
        if merged_name and merged_name != keep.name:
            owner = "person" if label == "core.person" else "organisation"
            name_row = PersonName.objects.create(**{owner: keep}, name=merged_name[:300])
    entry = audit_record(
        actor=actor_name(actor),
        action=AuditEntry.Action.OTHER,
        object_type=label,
        object_id=str(keep.pk),
        object_label=str(keep),
        details={
            "event": MERGE_EVENT,
            "kept": keep.pk,
            "merged": snapshot,
            "moved": moved,
            "removed": removed,
            "filled": filled,
            "user_moved": user_moved,
            "name_added": name_row.pk if name_row else None,
        },
    )
    links_touch_after_edit(model_label=label, ids=[keep.pk])
    return entry


def _parse_record_token(token: str) -> tuple[str, int]:
    label, _sep, pk = token.rpartition(":")
    if not label or not pk.isdigit():
        raise RecordRefused(_("%(token)s does not name a record to move.") % {"token": token})
    return label.lower(), int(pk)


@transaction.atomic
def record_split(
    *, actor: User | None, source: Subject, name: str, records: Iterable[str], values: dict[str, Any] | None = None
) -> tuple[Subject, AuditEntry]:
    """Creates a new record named ``name`` and moves the chosen rows (``"<app.model>:<id>"``, as
    ``referencing_rows`` lists them) from ``source`` to it; ``record_undo`` moves them back."""
    name = name.strip()
    if not name:
        raise RecordRefused(_("The new record needs a name."))
    chosen = [_parse_record_token(token) for token in records]
    if not chosen:
        raise RecordRefused(_("Choose at least one record to move to %(name)s.") % {"name": name})
    refs: dict[str, list[Reference]] = {}
    for ref in references(type(source)):
        refs.setdefault(ref.label, []).append(ref)
    label = source._meta.label_lower
    with audit_as(actor):
        created = type(source)(name=name[:300], **(values or {}))
        created.full_clean()
        created.save()
    moved: dict[tuple[str, str], list[int]] = {}
    for model_label, pk in chosen:
        for ref in refs.get(model_label, []):
            if ref.model._default_manager.filter(pk=pk, **{ref.field_name: source.pk}).exists():
                try:
                    with transaction.atomic():
                        ref.model._default_manager.filter(pk=pk).update(**{ref.field_name: created.pk})
                except IntegrityError:
                    raise RecordRefused(
                        _("The split was refused: %(row)s cannot move to %(name)s.")
                        % {"row": ref.model._default_manager.get(pk=pk), "name": name}
                    ) from None
                moved.setdefault((ref.label, ref.field_name), []).append(pk)
                break
        else:
            raise RecordRefused(
                _("%(token)s does not point at %(source)s, so it cannot be moved.")
                % {"token": f"{model_label}:{pk}", "source": source}
            )
    entry = audit_record(
        actor=actor_name(actor),
        action=AuditEntry.Action.OTHER,
        object_type=label,
        object_id=str(source.pk),
        object_label=str(source),
        details={
            "event": SPLIT_EVENT,
            "source": source.pk,
            "created": created.pk,
            "moved": [{"model": m, "field": f, "ids": ids} for (m, f), ids in moved.items()],
        },
    )
    links_touch_after_edit(model_label=label, ids=[source.pk, created.pk])
    return created, entry


def undoable_entries(*, subject: models.Model | None = None, limit: int = 20) -> list[AuditEntry]:
    """Merges and splits that can still be undone, newest first (of one record, or of all)."""
    queryset = AuditEntry.objects.filter(action=AuditEntry.Action.OTHER, details__event__in=[MERGE_EVENT, SPLIT_EVENT])
    if subject is not None:
        queryset = queryset.filter(object_type=subject._meta.label_lower, object_id=str(subject.pk))
    done = set(
        AuditEntry.objects.filter(action=AuditEntry.Action.OTHER, details__event=UNDO_EVENT).values_list(
            "details__undoes", flat=True
        )
    )
    return [entry for entry in queryset.order_by("-sequence")[: limit * 2] if entry.sequence not in done][:limit]


def _model(label: str) -> type[models.Model]:
    from django.apps import apps

    return apps.get_model(label)


@transaction.atomic
def record_undo(*, actor: User | None, sequence: int) -> AuditEntry:
    """Undoes the merge or split recorded in audit entry ``sequence``: the removed record comes back with
    its own id, every moved row goes back, and the entry is marked as undone by a new entry."""
    entry = AuditEntry.objects.filter(sequence=sequence).first()
    event = entry.details.get("event") if entry is not None else None
    if entry is None or event not in {MERGE_EVENT, SPLIT_EVENT}:
        raise RecordRefused(_("Audit entry %(n)s is not a merge or split that can be undone.") % {"n": sequence})
    if AuditEntry.objects.filter(
        action=AuditEntry.Action.OTHER, details__event=UNDO_EVENT, details__undoes=sequence
    ).exists():
        raise RecordRefused(_("The change in audit entry %(n)s has already been undone.") % {"n": sequence})
    model = _model(entry.object_type)
    details = entry.details
    with audit_as(actor):
        if event == MERGE_EVENT:
            keep = model._default_manager.filter(pk=details["kept"]).first()
            if keep is None:
                raise RecordRefused(
                    _("The record kept by the merge in audit entry %(n)s no longer exists.") % {"n": sequence}
                )
            snapshot = dict(details["merged"])
            if details.get("user_moved"):
                model._default_manager.filter(pk=keep.pk).update(user_id=None)
            merged = _restore(model, snapshot)
            for group in details["moved"]:
                rows = _model(group["model"])._default_manager.filter(pk__in=group["ids"], **{group["field"]: keep.pk})
                rows.update(**{group["field"]: merged.pk})
            for row in details["removed"]:
                _restore(_model(row["model"]), row["fields"])
            if details.get("filled"):
                keep.refresh_from_db()
                for name in details["filled"]:
                    blank = None if getattr(keep._meta.get_field(name), "null", False) else ""
                    setattr(keep, name, blank)
                keep.save()
            if details.get("name_added"):
                PersonName.objects.filter(pk=details["name_added"]).delete()
            touched = [keep.pk, merged.pk]
        else:
            source = model._default_manager.filter(pk=details["source"]).first()
            created = model._default_manager.filter(pk=details["created"]).first()
            if source is None or created is None:
                raise RecordRefused(
                    _("A record of the split in audit entry %(n)s no longer exists; it cannot be undone.")
                    % {"n": sequence}
                )
            for group in details["moved"]:
                rows = _model(group["model"])._default_manager.filter(
                    pk__in=group["ids"], **{group["field"]: created.pk}
                )
                rows.update(**{group["field"]: source.pk})
            still = [ref.title for ref, _rows in referencing_rows(created)]
            if still:
                raise RecordRefused(
                    _("%(name)s has gained other records since the split (%(kinds)s); it was not removed.")
                    % {"name": created, "kinds": ", ".join(still)}
                )
            created.delete()
            touched = [source.pk]
    undo = audit_record(
        actor=actor_name(actor),
        action=AuditEntry.Action.OTHER,
        object_type=entry.object_type,
        object_id=entry.object_id,
        object_label=entry.object_label,
        details={"event": UNDO_EVENT, "undoes": sequence, "undone": event},
    )
    links_touch_after_edit(model_label=entry.object_type, ids=touched)
    return undo


def event_sentence(entry: AuditEntry) -> str:
    """One sentence for a merge, split or undo entry (for pages and the command line)."""
    details = entry.details
    event = details.get("event")
    if event == MERGE_EVENT:
        merged = details.get("merged", {}).get("name", "")
        return _("%(merged)s was merged into %(kept)s.") % {"merged": merged, "kept": entry.object_label}
    if event == SPLIT_EVENT:
        count = sum(len(group["ids"]) for group in details.get("moved", []))
        return _("%(count)s records were split off %(source)s into a new record.") % {
            "count": count,
            "source": entry.object_label,
        }
    if event == UNDO_EVENT:
        return _("The change in audit entry %(n)s was undone.") % {"n": details.get("undoes")}
    return entry.get_action_display()


# --- bulk import ---------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did: counts, and every broken row with its line and the reason."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    touched: dict[str, set[int]] = field(default_factory=dict)  # what linking looks at again afterwards

    @property
    def good(self) -> int:
        return self.created + self.updated + self.unchanged

    def sentence(self) -> str:
        return _("%(created)s created, %(updated)s changed, %(unchanged)s unchanged, %(rejected)s rows rejected.") % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
        }


CSV_KINDS = ("people", "organisations", "family")
CSV_COLUMNS = {
    "people": (
        "key",
        "name",
        "birth_date",
        "gender",
        "nationality",
        "national_id",
        "national_id_issuer",
        "other_names",
    ),
    "organisations": (
        "key",
        "name",
        "kind",
        "jurisdiction",
        "founded",
        "dissolved",
        "address",
        "registry_number",
        "registry_issuer",
        "other_names",
    ),
    "family": ("person_key", "relative_key", "relation"),
}
REQUIRED = {
    "people": ("key", "name"),
    "organisations": ("key", "name"),
    "family": ("person_key", "relative_key", "relation"),
}


class RowRejected(ValueError):
    """One row of an import that cannot be used; the message is the reason."""


def _date(value: str, column: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise RowRejected(
            _("%(column)s %(value)s is not a date (write it as YYYY-MM-DD).") % {"column": column, "value": value}
        ) from None


def _upsert(model: type[Record], source_key: str, values: dict[str, Any], report: ImportReport) -> Record:
    instance = model._default_manager.filter(source_key=source_key).first()
    created = instance is None
    if instance is None:
        instance = model(source_key=source_key)
    changed = created or any(getattr(instance, name) != value for name, value in values.items())
    _apply(instance, values)
    try:
        instance.full_clean(validate_unique=False)
    except ValidationError as error:
        raise RowRejected(" ".join(" ".join(messages) for messages in error.message_dict.values())) from None
    if changed:
        instance.save()
        report.touched.setdefault(model._meta.label_lower, set()).add(instance.pk)
    if created:
        report.created += 1
    elif changed:
        report.updated += 1
    else:
        report.unchanged += 1
    return instance


def _names_add(subject: Person | Organisation, names: Iterable[str]) -> None:
    owner = "person" if isinstance(subject, Person) else "organisation"
    have = set(PersonName.objects.filter(**{owner: subject}).values_list("name", flat=True)) | {subject.name}
    for name in names:
        name = name.strip()[:300]
        if name and name not in have:
            PersonName.objects.create(**{owner: subject}, name=name)
            have.add(name)


def _csv_row(kind: str, row: dict[str, str], report: ImportReport, prefix: str) -> None:
    for column in REQUIRED[kind]:
        if not (row.get(column) or "").strip():
            raise RowRejected(_("The column %(column)s is empty.") % {"column": column})
    if kind == "people":
        gender = (row.get("gender") or "").strip().lower()
        if gender not in Person.Gender.values:
            raise RowRejected(_("%(value)s is not a gender Probity knows (female, male, other).") % {"value": gender})
        person = _upsert(
            Person,
            prefix + row["key"].strip(),
            {
                "name": row["name"].strip(),
                "birth_date": _date(row.get("birth_date") or "", "birth_date"),
                "gender": gender,
                "nationality": (row.get("nationality") or "").strip().upper(),
            },
            report,
        )
        if (row.get("national_id") or "").strip():
            identifier_add(
                actor=None,
                subject=person,
                scheme=Identifier.Scheme.NATIONAL_ID,
                issuer=(row.get("national_id_issuer") or "").strip().upper(),
                value=row["national_id"],
            )
        _names_add(person, (row.get("other_names") or "").split(";"))
    elif kind == "organisations":
        kind_value = (row.get("kind") or Organisation.Kind.COMPANY).strip().lower()
        if kind_value not in Organisation.Kind.values:
            raise RowRejected(_("%(value)s is not a kind of organisation Probity knows.") % {"value": kind_value})
        organisation = _upsert(
            Organisation,
            prefix + row["key"].strip(),
            {
                "name": row["name"].strip(),
                "kind": kind_value,
                "jurisdiction": (row.get("jurisdiction") or "").strip().upper(),
                "founded": _date(row.get("founded") or "", "founded"),
                "dissolved": _date(row.get("dissolved") or "", "dissolved"),
                "address": (row.get("address") or "").strip(),
            },
            report,
        )
        if (row.get("registry_number") or "").strip():
            identifier_add(
                actor=None,
                subject=organisation,
                scheme=Identifier.Scheme.COMPANY_REGISTER,
                issuer=(row.get("registry_issuer") or "").strip().upper(),
                value=row["registry_number"],
            )
        _names_add(organisation, (row.get("other_names") or "").split(";"))
    else:
        relation = (row.get("relation") or "").strip().lower()
        if relation not in FamilyRelation.Kind.values:
            raise RowRejected(
                _("%(value)s is not a family relation Probity knows (spouse, child, parent, sibling, other).")
                % {"value": relation}
            )
        people = {}
        for column in ("person_key", "relative_key"):
            key = prefix + row[column].strip()
            people[column] = Person.objects.filter(source_key=key).first()
            if people[column] is None:
                raise RowRejected(_("No person has the key %(key)s.") % {"key": row[column].strip()})
        if people["person_key"] == people["relative_key"]:
            raise RowRejected(_("A person cannot be their own relative."))
        _tie, created = FamilyRelation.objects.get_or_create(
            person=people["person_key"], relative=people["relative_key"], kind=relation
        )
        if created:
            report.created += 1
        else:
            report.unchanged += 1


def _decoded_lines(stream: Iterable[bytes | str]) -> Iterator[str]:
    for raw in stream:
        yield raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw


def records_import_csv(
    *,
    actor: User | None,
    kind: str,
    stream: Iterable[bytes | str],
    source_name: str = "",
    progress: Progress | None = None,
) -> ImportReport:
    """Imports people, organisations or family ties (``kind``) from CSV rows with a header line.

    People and organisations are keyed ``csv:<key>``: a second run changes what changed and creates
    nothing twice. Each good row is written in its own transaction; broken rows are listed with their
    line (the header is line 1) and kept out."""
    if kind not in CSV_KINDS:
        raise RecordRefused(_("%(kind)s is not something Probity imports from CSV.") % {"kind": kind})
    report = ImportReport()
    try:
        reader = csv.DictReader(_decoded_lines(stream))
        header = [name.strip() for name in reader.fieldnames or []]
    except (UnicodeDecodeError, csv.Error) as error:
        raise RecordRefused(_("The file is not a CSV file in UTF-8: %(error)s") % {"error": error}) from None
    missing = [column for column in REQUIRED[kind] if column not in header]
    if missing:
        raise RecordRefused(
            _("The CSV file has no column %(columns)s (expected: %(expected)s).")
            % {"columns": ", ".join(missing), "expected": ", ".join(CSV_COLUMNS[kind])}
        )
    reader.fieldnames = header
    with audit_as(actor):
        line = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except (UnicodeDecodeError, csv.Error) as error:
                report.rejected.append((reader.line_num, str(error)))
                break
            line = reader.line_num
            try:
                if None in row:
                    raise RowRejected(_("The row has more cells than the header."))
                with transaction.atomic():
                    _csv_row(kind, {k: v or "" for k, v in row.items()}, report, "csv:")
            except (RowRejected, RecordRefused) as problem:
                report.rejected.append((line, str(problem)))
            if progress is not None:
                progress(1)
    _import_audited(actor, report, source_name, "csv", kind)
    return report


def _import_audited(actor: User | None, report: ImportReport, source_name: str, form: str, kind: str) -> None:
    for label, ids in report.touched.items():
        links_touch_after_edit(model_label=label, ids=ids)
    audit_record(
        action=AuditEntry.Action.OTHER,
        object_type="core.person" if kind in {"people", "family", "ftm"} else "core.organisation",
        object_label=source_name[:200],
        actor=actor_name(actor),
        details={
            "event": IMPORT_EVENT,
            "format": form,
            "kind": kind,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": len(report.rejected),
        },
    )


FTM_FAMILY = {
    "spouse": FamilyRelation.Kind.SPOUSE,
    "wife": FamilyRelation.Kind.SPOUSE,
    "husband": FamilyRelation.Kind.SPOUSE,
    "partner": FamilyRelation.Kind.SPOUSE,
    "child": FamilyRelation.Kind.CHILD,
    "son": FamilyRelation.Kind.CHILD,
    "daughter": FamilyRelation.Kind.CHILD,
    "parent": FamilyRelation.Kind.PARENT,
    "father": FamilyRelation.Kind.PARENT,
    "mother": FamilyRelation.Kind.PARENT,
    "sibling": FamilyRelation.Kind.SIBLING,
    "brother": FamilyRelation.Kind.SIBLING,
    "sister": FamilyRelation.Kind.SIBLING,
}


def _ftm_first(proxy: Any, prop: str) -> str:
    return str(proxy.first(prop, quiet=True) or "")


def _ftm_node(proxy: Any, report: ImportReport) -> None:
    key = f"ftm:{proxy.id}"
    schema = proxy.schema
    names = [str(n) for n in proxy.get("name", quiet=True)]
    if not names:
        raise RowRejected(_("The %(schema)s entity has no name.") % {"schema": schema.name})
    aliases = names[1:] + [str(n) for n in proxy.get("alias", quiet=True)]
    if schema.is_a("Person"):
        person = _upsert(
            Person,
            key,
            {
                "name": names[0][:300],
                "birth_date": _date(_ftm_first(proxy, "birthDate")[:10], "birthDate")
                if len(_ftm_first(proxy, "birthDate")) >= 10
                else None,
                "nationality": _ftm_first(proxy, "nationality")[:2].upper(),
            },
            report,
        )
        _names_add(person, aliases)
    elif schema.is_a("PublicBody"):
        _upsert(PublicBody, key, {"name": names[0][:300], "country": _ftm_first(proxy, "country")[:2].upper()}, report)
    else:
        organisation = _upsert(
            Organisation,
            key,
            {
                "name": names[0][:300],
                "jurisdiction": (_ftm_first(proxy, "jurisdiction") or _ftm_first(proxy, "country"))[:2].upper(),
                "address": _ftm_first(proxy, "address")[:500],
            },
            report,
        )
        _names_add(organisation, aliases)
        number = _ftm_first(proxy, "registrationNumber")
        if number:
            identifier_add(
                actor=None,
                subject=organisation,
                scheme=Identifier.Scheme.COMPANY_REGISTER,
                issuer=organisation.jurisdiction,
                value=number,
            )


def _ftm_person(proxy: Any, prop: str) -> Person:
    ref = _ftm_first(proxy, prop)
    person = Person.objects.filter(source_key=f"ftm:{ref}").first() if ref else None
    if person is None:
        raise RowRejected(_("The %(prop)s %(ref)s is not a person of this file.") % {"prop": prop, "ref": ref or "—"})
    return person


def _ftm_link(proxy: Any, posts: dict[str, Any], report: ImportReport) -> None:
    if proxy.schema.name == "Family":
        person, relative = _ftm_person(proxy, "person"), _ftm_person(proxy, "relative")
        text = _ftm_first(proxy, "relationship").strip().lower()
        kind = FTM_FAMILY.get(text, FamilyRelation.Kind.OTHER)
        if person.pk == relative.pk:
            raise RowRejected(_("A person cannot be their own relative."))
        _tie, created = FamilyRelation.objects.get_or_create(person=person, relative=relative, kind=kind)
        report.created += int(created)
        report.unchanged += int(not created)
        return
    holder = _ftm_person(proxy, "holder")
    post = posts.get(_ftm_first(proxy, "post"))
    if post is None:
        raise RowRejected(
            _("The occupancy's post %(ref)s is not a position of this file.")
            % {"ref": _ftm_first(proxy, "post") or "—"}
        )
    body_ref = _ftm_first(post, "organization")
    body = PublicBody.objects.filter(source_key=f"ftm:{body_ref}").first() if body_ref else None
    if body is None:
        raise RowRejected(
            _("The position %(title)s belongs to no public body of this file.") % {"title": _ftm_first(post, "name")}
        )
    start = _ftm_first(proxy, "startDate")
    end = _ftm_first(proxy, "endDate")
    _upsert(
        Position,
        f"ftm:{proxy.id}",
        {
            "body": body,
            "title": _ftm_first(post, "name")[:300],
            "holder": holder,
            "start_date": _date(start, "startDate") if len(start) >= 10 else None,
            "end_date": _date(end, "endDate") if len(end) >= 10 else None,
            "is_pep": "role.pep" in post.get("topics", quiet=True),
        },
        report,
    )


NODE_SCHEMATA = ("Person", "Organization", "LegalEntity", "PublicBody")
LINK_SCHEMATA = ("Family", "Occupancy")


def records_import_ftm(
    *, actor: User | None, stream: Iterable[bytes | str], source_name: str = "", progress: Progress | None = None
) -> ImportReport:
    """Imports people, organisations, public bodies, family ties and positions (``Occupancy`` of a
    ``Position``) from FollowTheMoney JSON lines, keyed ``ftm:<entity id>``; entities first, then the ties
    between them. Other schemata are skipped (counted as unchanged); broken lines are listed."""
    report = ImportReport()
    nodes: list[tuple[int, Any]] = []
    links: list[tuple[int, Any]] = []
    posts: dict[str, Any] = {}
    for line, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            report.rejected.append((line, _("The line is not UTF-8 text.")))
            continue
        if not text.strip():
            continue
        try:
            proxy = ftm_model.get_proxy(json.loads(text))
            if not proxy.id:
                raise RowRejected(_("The entity has no id."))
        except (ValueError, InvalidData, TypeError, AttributeError, RowRejected) as error:
            report.rejected.append((line, _("Not a FollowTheMoney entity: %(error)s") % {"error": error}))
            continue
        if proxy.schema.name == "Position":
            posts[proxy.id] = proxy
            report.unchanged += 1
        elif proxy.schema.name in LINK_SCHEMATA:
            links.append((line, proxy))
        elif any(proxy.schema.is_a(name) for name in NODE_SCHEMATA):
            nodes.append((line, proxy))
        else:
            report.unchanged += 1
    with audit_as(actor):
        for line, proxy in [*nodes, *links]:
            try:
                with transaction.atomic():
                    if proxy.schema.name in LINK_SCHEMATA:
                        _ftm_link(proxy, posts, report)
                    else:
                        _ftm_node(proxy, report)
            except (RowRejected, RecordRefused) as problem:
                report.rejected.append((line, str(problem)))
            if progress is not None:
                progress(1)
    report.rejected.sort()
    _import_audited(actor, report, source_name, "ftm", "ftm")
    return report


def csv_template(kind: str) -> str:
    """The header line of a CSV file of ``kind`` (what the import page offers to download)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(CSV_COLUMNS[kind])
    return buffer.getvalue()

"""E-filing by declarants: drafts, pre-filling and submission.

* ``draft_start`` opens a draft for a declaration: a correction starts from the latest version of
  that declaration; a new declaration is pre-filled from the latest version of the declarant's
  previous declaration (assets, family, liabilities and interests; income and expenditures belong
  to one year and start empty).
* ``draft_save`` replaces the sections of one step in the draft (always stored, even with errors)
  and returns that step's problems (``steps.step_errors``).
* ``draft_submit`` validates everything and stores the immutable version through
  ``services.declaration_submit`` in one transaction with the deletion of the draft.

The steps of the form and the fields of each section are in ``steps``; reads in ``selectors``.
"""

from __future__ import annotations

import copy
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction

from probity.core.audit import actor_name, audit_as
from probity.core.models import Person
from probity.declarations.filing.selectors import current_position
from probity.declarations.filing.steps import STEPS, step_by_name, step_errors
from probity.declarations.models import Declaration, DeclarationDraft, DeclarationVersion
from probity.declarations.schema import SCHEMA_VERSION, FieldError
from probity.declarations.services import SubmitResult, declaration_submit


class FilingError(ValueError):
    """A filing request that cannot be done (not the declarant's, no draft …); the message says why."""


# --- who may do what (the pages and the API ask the same questions) -----------------------------
# A declarant needs no permission to file: they file their own declarations (``selectors.person_for_user``).


def may_see_deadlines(*, user: User | AnonymousUser) -> bool:
    """See the filing deadlines and the overdue and non-filer lists."""
    return bool(user.has_perm("declarations.view_filingdeadline"))


def may_set_deadlines(*, user: User | AnonymousUser) -> bool:
    """Set a deadline (creates it, or changes the one for the same type, year and body)."""
    return bool(user.has_perm("declarations.add_filingdeadline"))


def may_change_deadlines(*, user: User | AnonymousUser) -> bool:
    return bool(user.has_perm("declarations.change_filingdeadline"))


def may_delete_deadlines(*, user: User | AnonymousUser) -> bool:
    return bool(user.has_perm("declarations.delete_filingdeadline"))


def _skeleton(person: Person, declaration: Declaration) -> dict[str, Any]:
    """A new declaration's content: the declarant and position the agency already knows."""
    declarant: dict[str, Any] = {"name": person.name}
    if person.source_key:
        declarant["id"] = person.source_key
    if person.birth_date:
        declarant["birth_date"] = person.birth_date.isoformat()
    position: dict[str, Any] = {"title": declaration.position_title}
    if declaration.body_name:
        position["body"] = {"name": declaration.body_name}
    return {
        "schema_version": SCHEMA_VERSION,
        "declaration_type": declaration.declaration_type,
        "period": {"year": declaration.year},
        "declarant": declarant,
        "position": position,
        "family_members": [],
    }


ONE_YEAR_SECTIONS = ("income", "expenditures")


def _prefilled(previous: dict[str, Any], declaration: Declaration) -> dict[str, Any]:
    """Last year's content carried into a new declaration: the same assets, family and interests."""
    content = copy.deepcopy(previous)
    for key in ("external_id", "submitted", *ONE_YEAR_SECTIONS):
        content.pop(key, None)
    content["schema_version"] = SCHEMA_VERSION
    content["declaration_type"] = declaration.declaration_type
    content["period"] = {"year": declaration.year}
    return content


def _declaration_for(person: Person, declaration_type: str, year: int) -> Declaration:
    if declaration_type not in Declaration.Type.values:
        raise FilingError(f"{declaration_type!r} is not a declaration type ({', '.join(Declaration.Type.values)}).")
    if not 1900 <= year <= 2200:
        raise FilingError(f"{year} is not a year a declaration can be for.")
    position = current_position(person=person, year=year)
    defaults = {
        "status": Declaration.Status.DRAFT,
        "position_title": position.title if position else "",
        "body": position.body if position else None,
        "body_name": position.body.name if position else "",
    }
    try:
        with transaction.atomic():
            declaration, _created = Declaration.objects.get_or_create(
                declarant=person, declaration_type=declaration_type, year=year, defaults=defaults
            )
    except IntegrityError:  # started at the same moment elsewhere
        declaration = Declaration.objects.get(declarant=person, declaration_type=declaration_type, year=year)
    return declaration


def draft_start(*, person: Person, declaration_type: str, year: int, actor: User) -> DeclarationDraft:
    """The draft of the person's declaration of this type and year, opened if there is none.

    A submitted declaration gets a correction draft (its latest version); a new one is pre-filled
    from the person's latest earlier declaration, or from what the agency knows about them.
    """
    with audit_as(actor):
        declaration = _declaration_for(person, declaration_type, int(year))
        with transaction.atomic():
            declaration = Declaration.objects.select_for_update().get(pk=declaration.pk)
            existing = DeclarationDraft.objects.filter(declaration=declaration).first()
            if existing is not None:
                return existing
            latest = declaration.latest_version()
            based_on: DeclarationVersion | None = latest
            if latest is not None:
                content = copy.deepcopy(latest.content)
            else:
                based_on = (
                    DeclarationVersion.objects.filter(
                        declaration__declarant=person, declaration__year__lt=declaration.year
                    )
                    .order_by("-declaration__year", "-number")
                    .first()
                )
                content = _prefilled(based_on.content, declaration) if based_on else _skeleton(person, declaration)
            return DeclarationDraft.objects.create(
                declaration=declaration,
                content=content,
                step=STEPS[0].name,
                based_on_version=based_on,
                updated_by=actor_name(actor),
            )


def draft_for(*, person: Person, declaration_id: int) -> DeclarationDraft:
    """The person's draft of the declaration; ``FilingError`` when they have none (or it is not theirs)."""
    draft = (
        DeclarationDraft.objects.select_related("declaration", "based_on_version")
        .filter(declaration_id=declaration_id, declaration__declarant=person)
        .first()
    )
    if draft is None:
        raise FilingError(f"You have no draft of declaration {declaration_id}.")
    return draft


def _fixed(content: dict[str, Any], declaration: Declaration) -> dict[str, Any]:
    """What the declarant may not change in a draft: the schema, the type and the year."""
    content["schema_version"] = SCHEMA_VERSION
    content["declaration_type"] = declaration.declaration_type
    period = content.get("period")
    content["period"] = {**(period if isinstance(period, dict) else {}), "year": declaration.year}
    return content


def draft_save(
    *, draft: DeclarationDraft, step: str, values: dict[str, Any], actor: User
) -> tuple[DeclarationDraft, list[FieldError]]:
    """Stores the step's ``values`` (top-level keys of the content) in the draft; returns its problems."""
    step_by_name(step)
    with audit_as(actor), transaction.atomic():
        locked = DeclarationDraft.objects.select_for_update().select_related("declaration").get(pk=draft.pk)
        content = dict(locked.content)
        for key, value in values.items():
            if value is None or value == {} or (value == [] and key != "family_members"):
                content.pop(key, None)
            else:
                content[key] = value
        locked.content = _fixed(content, locked.declaration)
        locked.step = step
        locked.updated_by = actor_name(actor)[:150]
        locked.save()
    return locked, step_errors(locked.content, step)


def draft_discard(*, draft: DeclarationDraft, actor: User) -> None:
    """Deletes a draft; a declaration that was never submitted goes with it."""
    with audit_as(actor), transaction.atomic():
        declaration = draft.declaration
        draft.delete()
        if not declaration.versions.exists():
            declaration.delete()


def draft_submit(*, draft: DeclarationDraft, actor: User, source: str = "web") -> SubmitResult:
    """Validates the whole draft, stores it as the next immutable version and deletes the draft.

    Raises ``DeclarationInvalid`` (the draft is kept) or ``FilingError`` when the draft is gone
    (submitted a moment ago, e.g. a second click).
    """
    with audit_as(actor), transaction.atomic():
        locked = (
            DeclarationDraft.objects.select_for_update()
            .select_related("declaration__declarant")
            .filter(pk=draft.pk)
            .first()
        )
        if locked is None:
            raise FilingError("This draft was already submitted or discarded.")
        content = _fixed(dict(locked.content), locked.declaration)
        result = declaration_submit(declarant=locked.declaration.declarant, payload=content, actor=actor, source=source)
        locked.delete()
    return result

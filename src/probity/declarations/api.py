"""Declarations endpoints of the HTTP API (mounted at ``/api/v1/declarations`` by ``probity.core.api``).

* ``POST /api/v1/declarations``: filing for integrations. The caller files their own declaration
  (their user account must be linked to a person); administrators may file for any declarant by
  giving ``declarant_id``. The body is the 1.0 declaration; invalid content is answered 422 with
  one ``{path, message}`` per problem and nothing is stored.
* ``GET /api/v1/declarations/{id}``: a declaration with its latest version, findings and risk score;
  a declarant sees only their own, verifiers, analysts, administrators and auditors every one; any
  other id answers 404, whether the declaration exists or not.

The routers of the areas are mounted under this one: ``/filing`` (``filing.api``), ``/verification``
(``verification.api``) and ``/public`` (``publication.api``).
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Body, Router, Status
from ninja.errors import HttpError

from probity.core.api import ApiError, errors
from probity.core.models import Person
from probity.declarations.filing.api import router as filing_router
from probity.declarations.publication.api import router as public_router
from probity.declarations.schema import DeclarationInvalid
from probity.declarations.selectors import declarations_visible, latest_findings, risk_scores
from probity.declarations.services import declaration_submit, may_file_for_others, may_see_findings
from probity.declarations.verification.api import router as verification_router

router = Router(tags=["declarations"])


def _user(request: HttpRequest) -> User:
    user = getattr(request, "auth", None)
    if user is None:
        raise HttpError(401, "Authentication is required.")
    return cast(User, user)


@router.post(
    "",
    response={201: dict[str, Any], 200: dict[str, Any], **errors(403, 404, 422)},
    summary="File a declaration (or a correction)",
)
def declaration_file(request: HttpRequest, payload: Body[dict[str, Any]], declarant_id: int | None = None) -> Status:
    user = _user(request)
    if declarant_id is not None:
        if not may_file_for_others(user=user):
            raise ApiError(403, "permission_denied", "Only administrators may file for another declarant.")
        declarant = Person.objects.filter(pk=declarant_id).first()
        if declarant is None:
            raise ApiError(404, "not_found", f"There is no person with id {declarant_id}.")
    else:
        declarant = Person.objects.filter(user=user).first()
        if declarant is None:
            raise ApiError(
                403,
                "permission_denied",
                "Your account is not linked to a person, so you cannot file a declaration of your own.",
            )
    try:
        result = declaration_submit(declarant=declarant, payload=payload, actor=user, source="api")
    except DeclarationInvalid as exc:
        raise ApiError(
            422,
            "validation_error",
            "The declaration is not valid; nothing was stored.",
            details=[{"path": e.path, "message": e.message} for e in exc.errors],
        ) from exc
    body = {
        "id": result.declaration.pk,
        "version": result.version.number,
        "content_hash": result.version.content_hash,
        "submitted_at": result.version.submitted_at.isoformat(),
        "created": result.created,
    }
    return Status(201 if result.created else 200, body)


@router.get(
    "/{declaration_id}",
    response={200: dict[str, Any], **errors(404)},
    summary="A declaration with its latest version",
    description="A declaration the caller may not see answers 404, exactly as one that does not exist.",
)
def declaration_detail(request: HttpRequest, declaration_id: int) -> dict[str, Any]:
    user = _user(request)
    declaration = declarations_visible(user=user).filter(pk=declaration_id).first()
    if declaration is None:  # whether it exists at all is not the caller's business
        raise ApiError(404, "not_found", f"There is no declaration with id {declaration_id} that you may see.")
    version = declaration.latest_version()
    staff = may_see_findings(user=user)  # a declarant sees their filing, not the checks on it
    findings = [
        {
            "detector": f.detector_code,
            "outcome": f.outcome,
            "explanation": f.localized_explanation,
            "evidence": f.evidence,
            "triage": f.triage,
        }
        for f in (latest_findings(declaration_ids=[declaration.pk]) if staff else [])
    ]
    return {
        "id": declaration.pk,
        "declarant": {"id": declaration.declarant_id, "name": declaration.declarant.name},
        "declaration_type": declaration.declaration_type,
        "year": declaration.year,
        "status": declaration.status,
        "versions": declaration.versions.count(),
        "latest_version": None
        if version is None
        else {
            "number": version.number,
            "schema_version": version.schema_version,
            "content_hash": version.content_hash,
            "submitted_at": version.submitted_at.isoformat(),
            "submitted_by": version.submitted_by,
            "content": version.content,
        },
        "risk_score": risk_scores(declaration_ids=[declaration.pk]).get(declaration.pk, 0.0) if staff else None,
        "findings": findings,
    }


# The areas' routers, each beside the code it serves (``/{declaration_id}`` above only matches integers).
router.add_router("/filing", filing_router)
router.add_router("/verification", verification_router)
router.add_router("/public", public_router)

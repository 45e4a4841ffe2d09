"""Web pages of the declarations app: the verifier's list ranked by risk score, and one declaration
with its findings explained and what changed since its previous version.

Verifiers, analysts, administrators and auditors see every declaration; a declarant sees only their
own (object rules). Free text from declarations is shown through Django's auto-escaping only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from probity.declarations import selectors
from probity.declarations.jobs import verification_status
from probity.declarations.models import Declaration
from probity.declarations.schema import ROW_SECTIONS
from probity.declarations.services import may_see_findings

PAGE_SIZE = 50

View = Callable[..., HttpResponse]


def acting_user(request: HttpRequest) -> User:
    """The signed-in user, who acts on a page that writes (such a page is under ``login_required``)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def allowed_by(check: Callable[..., bool]) -> Callable[[View], View]:
    """A view decorator: 403 unless ``check(user=request.user)`` (one of the services' ``may_*``), so that
    the pages and the API ask the same question. Put it under ``login_required``."""

    def decorator(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(user=request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return checked

    return decorator


@login_required
def index(request: HttpRequest) -> HttpResponse:
    declarations = list(selectors.declarations_visible(user=request.user).order_by("-year", "declarant__name", "pk"))
    staff = may_see_findings(user=request.user)
    ids = [d.pk for d in declarations]
    scores = selectors.risk_scores(declaration_ids=ids) if staff else {}
    unjudged = selectors.not_judged(declaration_ids=ids) if staff else set()

    def rank(d: Declaration) -> tuple[int, float, int]:
        # Flagged first, then those not judged yet (never ranked as clean), then the clean ones.
        if d.pk in unjudged:
            return (1, 0.0, -d.year)
        score = scores.get(d.pk, 0.0)
        return (0 if score > 0 else 2, -score, -d.year)

    ranked = sorted(declarations, key=rank)
    rows = [{"declaration": d, "score": scores.get(d.pk, 0.0), "judged": d.pk not in unjudged} for d in ranked]
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "declarations/index.html", {"page": page, "staff": staff})


def _sections(content: dict[str, Any]) -> list[dict[str, Any]]:
    sections = []
    for name in ROW_SECTIONS:
        rows = content.get(name) or []
        if rows:
            sections.append({"name": name, "rows": rows})
    return sections


@login_required
def detail(request: HttpRequest, declaration_id: int) -> HttpResponse:
    declaration = selectors.declarations_visible(user=request.user).filter(pk=declaration_id).first()
    if declaration is None:
        raise Http404
    versions = list(declaration.versions.order_by("number"))
    latest = versions[-1] if versions else None
    changes = selectors.version_diff(old=versions[-2], new=versions[-1]) if len(versions) > 1 else []
    # Findings and the risk score are for verifiers: a declarant sees their filing, not the checks on it.
    staff = may_see_findings(user=request.user)
    findings = list(selectors.latest_findings(declaration_ids=[declaration.pk])) if staff else []
    return render(
        request,
        "declarations/detail.html",
        {
            "declaration": declaration,
            "version": latest,
            "versions": versions,
            "changes": changes,
            "findings": findings,
            "staff": staff,
            "verification": verification_status(declaration_id=declaration.pk, user=request.user) if staff else None,
            "score": selectors.risk_scores(declaration_ids=[declaration.pk]).get(declaration.pk, 0.0)
            if staff
            else None,
            "sections": _sections(latest.content) if latest else [],
        },
    )

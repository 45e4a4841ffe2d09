"""Web pages of the declarations app: the verifier's list ranked by risk score, and one declaration
with its findings explained and what changed since its previous version.

Verifiers, analysts, administrators and auditors see every declaration; a declarant sees only their
own (object rules). Free text from declarations is shown through Django's auto-escaping only.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from probity.declarations import selectors
from probity.declarations.schema import ROW_SECTIONS
from probity.declarations.services import version_diff

PAGE_SIZE = 50


@login_required
def index(request: HttpRequest) -> HttpResponse:
    declarations = list(selectors.declarations_visible(request.user).order_by("-year", "declarant__name", "pk"))
    staff = request.user.has_perm("core.view_finding")
    scores = selectors.risk_scores([d.pk for d in declarations]) if staff else {}
    ranked = sorted(declarations, key=lambda d: (-scores.get(d.pk, 0.0), -d.year))
    rows = [{"declaration": d, "score": scores.get(d.pk, 0.0)} for d in ranked]
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
    declaration = selectors.declarations_visible(request.user).filter(pk=declaration_id).first()
    if declaration is None:
        raise Http404
    versions = list(declaration.versions.order_by("number"))
    latest = versions[-1] if versions else None
    changes = version_diff(versions[-2], versions[-1]) if len(versions) > 1 else []
    # Findings and the risk score are for verifiers: a declarant sees their filing, not the checks on it.
    staff = request.user.has_perm("core.view_finding")
    findings = list(selectors.latest_findings([declaration.pk])) if staff else []
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
            "score": selectors.risk_scores([declaration.pk]).get(declaration.pk, 0.0) if staff else None,
            "sections": _sections(latest.content) if latest else [],
        },
    )

"""Template context shared by every page: the navigation the signed-in user's roles allow."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from probity.core.modules import navigation_items
from probity.core.roles import ROLE_LABELS, user_roles


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_role_labels": []}
    items = []
    for item in navigation_items():
        if item.permission is None or user.has_perm(item.permission):
            url = reverse(item.url_name)
            items.append({"url": url, "label": item.label, "current": request.path == url})
    labels = [ROLE_LABELS[role] for role in sorted(user_roles(user)) if role in ROLE_LABELS]
    return {"nav_items": items, "user_role_labels": labels, "show_admin_link": user.is_staff}

"""Request middleware: who the audit log attributes changes to, and the staff second-factor gate."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from probity.core.audit import audit_actor
from probity.core.roles import needs_second_factor


class AuditActorMiddleware:
    """Attributes every audited change made while serving a request to the signed-in user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        name = user.get_username() if user is not None and user.is_authenticated else "anonymous"
        with audit_actor(name):
            return self.get_response(request)


# Paths a staff user who has not passed the second factor may still reach.
SECOND_FACTOR_EXEMPT_NAMES = ("core:second_factor", "core:second_factor_setup", "core:logout", "set_language")
SECOND_FACTOR_EXEMPT_PREFIXES = ("/static/", "/api/")  # the API authenticates with tokens, not sessions


class RequireSecondFactorMiddleware:
    """A signed-in user in a staff role reaches nothing but the second-factor pages until verified."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._exempt_paths: set[str] | None = None

    def exempt(self, path: str) -> bool:
        if self._exempt_paths is None:
            self._exempt_paths = {reverse(name) for name in SECOND_FACTOR_EXEMPT_NAMES}
        return path in self._exempt_paths or path.startswith(SECOND_FACTOR_EXEMPT_PREFIXES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()  # added by django_otp's middleware
            and needs_second_factor(user)
            and not self.exempt(request.path)
        ):
            return redirect(f"{reverse('core:second_factor')}?next={request.get_full_path()}")
        return self.get_response(request)

"""The sign-in lock-out (django-axes) with a limit per user name as well as per user name and address.

``AXES_LOCKOUT_PARAMETERS`` counts failures twice: per user name and address (``AXES_FAILURE_LIMIT``, 5)
and per user name whatever the address (``PROBITY_USERNAME_FAILURE_LIMIT``, higher). Axes compares both
counts with one limit, so this handler scales the per-user-name count onto ``AXES_FAILURE_LIMIT``: the user
name is locked when its own count reaches its own limit, and not before.

Failures from an address that is already locked out are not counted
(``AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False``), so one address adds at most
``AXES_FAILURE_LIMIT`` to the user name's count: locking a user out for everyone takes several addresses,
while guessing a password from many addresses stops at the user name's limit.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler  # type: ignore[import-untyped]
from axes.helpers import get_failure_limit, get_lockout_parameters  # type: ignore[import-untyped]
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


class LockoutHandler(AxesDatabaseHandler):  # django-axes has no type hints
    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        limit = get_failure_limit(request, credentials)
        per_username = int(getattr(settings, "PROBITY_USERNAME_FAILURE_LIMIT", limit))
        parameters = get_lockout_parameters(request, credentials)
        counts = [0]
        for parameter, attempts in zip(parameters, self.get_user_attempts(request, credentials), strict=True):
            failures = int(attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0)
            if parameter == "username" and per_username > 0:
                # failures * limit / per_username reaches ``limit`` exactly when failures reach per_username.
                failures = failures * limit // per_username
            counts.append(failures)
        return max(counts)

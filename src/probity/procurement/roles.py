"""What each role may do in the procurement app (merged into the role table by ``probity.core.roles``).

The debarment register is read by everyone who reviews procurement risk and maintained by
administrators and analysts.

``probity.core.roles`` syncs the roles on the *core* app's ``post_migrate``, before Django has
created this app's permissions on a fresh database; so reading ``ROLE_PERMISSIONS`` first creates
them (``create_permissions`` is idempotent). The lasting fix belongs in core.
"""

from __future__ import annotations

import contextlib
from typing import Any

VIEW = {"procurement.view_debarment"}
MAINTAIN = {"procurement.add_debarment", "procurement.change_debarment"}

_ROLE_PERMISSIONS: dict[str, set[str]] = {
    "administrator": VIEW | MAINTAIN | {"procurement.delete_debarment"},
    "analyst": VIEW | MAINTAIN,
    "verifier": VIEW,
    "case_handler": VIEW,
    "auditor": VIEW,
}


def _ensure_permissions() -> None:
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.db import DatabaseError

    with contextlib.suppress(DatabaseError):  # tables not there yet: core's own check will say so
        create_permissions(apps.get_app_config("procurement"), verbosity=0)


def __getattr__(name: str) -> Any:
    if name == "ROLE_PERMISSIONS":
        _ensure_permissions()
        return _ROLE_PERMISSIONS
    raise AttributeError(name)

"""What each role may do in the declarations app (merged into the role table by ``probity.core.roles``).

Verifiers, analysts, administrators and auditors read every declaration; declarants file and read
their own (object rules in ``rules.py``, no model permission). Reading ``ROLE_PERMISSIONS`` first
creates this app's permissions, as in the procurement app (core syncs roles before they exist).
"""

from __future__ import annotations

import contextlib
from typing import Any

READ = {"declarations.view_declaration", "declarations.view_declarationversion", "declarations.view_exchangerate"}
RATES = {"declarations.add_exchangerate", "declarations.change_exchangerate"}

_ROLE_PERMISSIONS: dict[str, set[str]] = {
    "administrator": READ | RATES | {"declarations.add_declaration", "declarations.add_declarationversion"},
    "analyst": READ | RATES,
    "verifier": READ,
    "auditor": READ,
    "declarant": set(),
}


def _ensure_permissions() -> None:
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.db import DatabaseError

    with contextlib.suppress(DatabaseError):
        create_permissions(apps.get_app_config("declarations"), verbosity=0)


def __getattr__(name: str) -> Any:
    if name == "ROLE_PERMISSIONS":
        _ensure_permissions()
        return _ROLE_PERMISSIONS
    raise AttributeError(name)

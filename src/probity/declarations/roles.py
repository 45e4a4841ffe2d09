"""What each role may do in the declarations app (merged into the role table by ``probity.core.roles``).

Verifiers, analysts, administrators and auditors read every declaration; declarants file and read
their own (object rules in ``rules.py``, no model permission).
"""

from __future__ import annotations

READ = {"declarations.view_declaration", "declarations.view_declarationversion", "declarations.view_exchangerate"}
RATES = {"declarations.add_exchangerate", "declarations.change_exchangerate"}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    "administrator": READ | RATES | {"declarations.add_declaration", "declarations.add_declarationversion"},
    "analyst": READ | RATES,
    "verifier": READ,
    "auditor": READ,
    "declarant": set(),
}

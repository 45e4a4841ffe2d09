"""What each role may do in the declarations app (merged into the role table by ``probity.core.roles``).

Verifiers, analysts, administrators and auditors read every declaration; declarants file and read
their own (object rules in ``rules.py``, no model permission).
"""

from __future__ import annotations

READ = {"declarations.view_declaration", "declarations.view_declarationversion", "declarations.view_exchangerate"}
RATES = {"declarations.add_exchangerate", "declarations.change_exchangerate"}
VERIFY_READ = {
    "declarations.view_verificationcase",
    "declarations.view_sampledraw",
    "declarations.view_filingdeadline",
    "declarations.view_filingreminder",
    "declarations.view_redactionprofile",
    "declarations.view_publisheddeclaration",
}
VERIFY = {"declarations.change_verificationcase"}
SELECT = {"declarations.add_verificationcase", "declarations.add_sampledraw"}
FILING_ADMIN = {
    "declarations.add_filingdeadline",
    "declarations.change_filingdeadline",
    "declarations.delete_filingdeadline",
    "declarations.add_filingreminder",
}
PUBLISH = {
    "declarations.add_publisheddeclaration",
    "declarations.change_publisheddeclaration",
    "declarations.add_redactionprofile",
    "declarations.change_redactionprofile",
}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    "administrator": READ
    | RATES
    | VERIFY_READ
    | SELECT
    | FILING_ADMIN
    | PUBLISH
    | {"declarations.add_declaration", "declarations.add_declarationversion"},
    "analyst": READ | RATES | VERIFY_READ,
    "verifier": READ | VERIFY_READ | VERIFY,
    "auditor": READ | VERIFY_READ,
    "declarant": set(),
}

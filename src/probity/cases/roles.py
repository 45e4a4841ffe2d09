"""Permissions the cases module grants to core's roles (merged by ``probity.core.roles.all_role_permissions``).

* **analyst**, **verifier** and **case_handler** work cases: open them (from findings or by hand), take them,
  and work those assigned to them; a second officer approves an outcome (never the one who proposed it).
* **administrator** keeps the case-type catalogue and the pools, draws and assigns officers.
* **auditor** reads every case, the allocation register and its report, re-runs draws and sees statistics,
  and changes nothing.

A protected report's content is never opened here: the reporting module decides who reads it.
"""

from __future__ import annotations

from probity.core.roles import ADMINISTRATOR, ANALYST, AUDITOR, CASE_HANDLER, VERIFIER

# Working roles see the cases of the types their role may work (``selectors.cases_visible``), not all cases.
_WORK = {
    "cases.add_case",
    "cases.work_case",
    "cases.approve_outcome",
    "cases.view_casetype",
    "cases.view_case_statistics",
    "cases.view_pool",
}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    ANALYST: set(_WORK),
    VERIFIER: set(_WORK),
    CASE_HANDLER: set(_WORK),
    ADMINISTRATOR: {
        "cases.view_case",
        "cases.view_casetype",
        "cases.add_casetype",
        "cases.change_casetype",
        "cases.manage_casetype",
        "cases.view_pool",
        "cases.add_pool",
        "cases.change_pool",
        "cases.allocate_case",
        "cases.audit_allocation",
        "cases.view_case_statistics",
    },
    AUDITOR: {
        "cases.view_case",
        "cases.view_casetype",
        "cases.view_pool",
        "cases.audit_allocation",
        "cases.view_case_statistics",
    },
}

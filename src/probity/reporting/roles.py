"""Permissions the reporting app grants to the roles (merged by ``probity.core.roles.all_role_permissions``).

* **case_handler** handles reports — but only those they are assigned to *and* whose keys were sealed to
  them (``services.report_keys_for_staff``); the permission alone opens nothing.
* **administrator** sets up channels (questionnaire, deadlines, retention, recipients, custodians), runs
  retention and sees statistics; administrators cannot read reports unless they are also case handlers
  assigned to one.
* **auditor** sees the statistics and the channel set-up (read-only).
* **Custodian** is not a role: each channel names its custodians (``Channel.custodians``), the people who
  may approve a handler's request to learn a reporter's identity. The identity key of each new report is
  sealed to them. Appointing custodians is audited.
"""

from __future__ import annotations

from probity.core.roles import ADMINISTRATOR, AUDITOR, CASE_HANDLER

ROLE_PERMISSIONS: dict[str, set[str]] = {
    ADMINISTRATOR: {
        "reporting.view_channel",
        "reporting.add_channel",
        "reporting.change_channel",
        "reporting.manage_channel",
        "reporting.view_report_statistics",
        "reporting.run_report_retention",
    },
    CASE_HANDLER: {"reporting.view_channel", "reporting.handle_report", "reporting.view_report_statistics"},
    AUDITOR: {"reporting.view_channel", "reporting.view_report_statistics"},
}

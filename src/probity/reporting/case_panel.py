"""What the reporting channel shows on the page of a case opened from a protected report (``CasePanel``).

The cases module never reads a report: it asks this module for the panel of its source record. A handler of
the report (assigned, with the report's keys sealed to them and their key unlocked) sees the report's
timeline and replies to the reporter from the case page; anyone else sees one sentence, never the content.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from probity.core.modules import CasePanel
from probity.reporting import forms, selectors, services


def report_panel(request: Any, reference: str) -> str | None:
    user = request.user
    report = (
        selectors.report_for_staff(user=user, pk=reference, field_name="reference")
        if user.is_authenticated and user.has_perm("reporting.handle_report")
        else None
    )
    if report is None:
        return format_html(
            "<p>{}</p>",
            _("This case came from the protected report %(reference)s. Only the report's handlers read its content.")
            % {"reference": reference},
        )
    private_key = services.staff_key_from_request(request=request)
    if private_key is None:
        unlock = f"{reverse('reporting:keys')}?next={request.get_full_path()}"
        return format_html(
            '<p>{} <a href="{}">{}</a></p>',
            _("Unlock your reporting key to read report %(reference)s and write to the reporter.")
            % {"reference": reference},
            unlock,
            _("Unlock"),
        )
    try:
        keys = services.report_keys_for_staff(report=report, user=user, private_key=private_key)
    except (PermissionDenied, services.DecryptionError):
        return format_html("<p>{}</p>", _("Your key does not open report %(reference)s.") % {"reference": reference})
    from probity.reporting.views import _timeline

    items = selectors.report_timeline(keys=keys, for_reporter=False)
    return render_to_string(
        "reporting/_case_panel.html",
        {
            "report": report,
            "timeline": _timeline(items, report, for_reporter=False),
            "reply_form": forms.ReplyForm(),
            "back": request.get_full_path(),
        },
        request=request,
    )


PANELS = (CasePanel("report", report_panel),)

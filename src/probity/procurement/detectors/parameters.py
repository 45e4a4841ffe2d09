"""The parameter every procurement detector takes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from probity.core.detectors import Parameter

FINDINGS_FOR = Parameter(
    "findings_for",
    ["flag", "pass", "not_applicable"],
    _("outcomes stored as findings (the warehouse matrix always keeps all)"),
    list,
)

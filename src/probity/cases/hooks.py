"""Receivers of hooks core announces, answered by the cases module (core never imports it)."""

from __future__ import annotations

from django.urls import reverse

from probity.cases.models import CaseFinding


def finding_cases(*, finding_ids: list[int]) -> dict[int, dict[str, str]]:
    """Receiver of core's ``finding_cases`` hook: the case each of these findings is in (a finding is in at most
    one), as ``{finding id: {"reference": …, "url": …}}``; findings in no case are left out."""
    if not finding_ids:
        return {}
    links = CaseFinding.objects.filter(finding_id__in=finding_ids).values_list("finding_id", "case__reference")
    return {
        finding_id: {"reference": reference, "url": reverse("cases:detail", args=[reference])}
        for finding_id, reference in links
    }

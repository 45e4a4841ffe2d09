"""Statistics for the annual report the EU directive 2019/1937 (art. 27) asks for: reports received per
channel, acknowledged on time, investigations opened, outcomes, and median days to acknowledge and to
close — aggregated, never one report.

**Small-cell suppression**: any count from 1 to ``SUPPRESS_BELOW - 1`` (default: 1 and 2) is shown as
``"<3"``, and a median is only given when at least ``SUPPRESS_BELOW`` reports contribute; a channel-level
figure that could be recovered by subtraction from the total (exactly one suppressed cell in a row) is
also suppressed (the next smallest cell is hidden as well).
"""

from __future__ import annotations

from datetime import date
from statistics import median
from typing import Any

from probity.reporting.models import Channel, Report

SUPPRESS_BELOW = 3
SUPPRESSED = f"<{SUPPRESS_BELOW}"


def suppress(count: int) -> int | str:
    return SUPPRESSED if 0 < count < SUPPRESS_BELOW else count


def _median_days(values: list[int]) -> float | str | None:
    if not values:
        return None
    if len(values) < SUPPRESS_BELOW:
        return SUPPRESSED
    return float(median(values))


def _suppress_row(cells: dict[str, int]) -> dict[str, int | str]:
    """Suppresses small cells; if exactly one is hidden, hides the next smallest too (no subtraction)."""
    shown: dict[str, int | str] = {k: suppress(v) for k, v in cells.items()}
    hidden = [k for k, v in shown.items() if v == SUPPRESSED]
    if len(hidden) == 1:
        others = sorted((v, k) for k, v in cells.items() if k not in hidden and v > 0)
        if others:
            shown[others[0][1]] = SUPPRESSED
    return shown


def annual_statistics(*, year: int, channel: Channel | None = None) -> dict[str, Any]:
    """The figures of one calendar year (reports received that year), per channel and in total."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    reports = Report.objects.filter(received_on__gte=start, received_on__lte=end).select_related("channel")
    if channel is not None:
        reports = reports.filter(channel=channel)
    outcomes = [value for value in Report.Outcome.values if value]
    rows: dict[str, dict[str, Any]] = {}
    raw: dict[str, dict[str, Any]] = {}
    for report in reports:
        for key in (report.channel.slug, "total"):
            bucket = raw.setdefault(
                key,
                {
                    "received": 0,
                    "acknowledged_on_time": 0,
                    "acknowledged_late": 0,
                    "not_acknowledged": 0,
                    "investigations_opened": 0,
                    "closed": 0,
                    "open": 0,
                    "feedback_on_time": 0,
                    "outcomes": dict.fromkeys(outcomes, 0),
                    "intake": {},
                    "ack_days": [],
                    "close_days": [],
                },
            )
            bucket["received"] += 1
            if report.acknowledged_on is None:
                bucket["not_acknowledged"] += 1
            elif report.acknowledged_on <= report.acknowledge_due:
                bucket["acknowledged_on_time"] += 1
                bucket["ack_days"].append((report.acknowledged_on - report.received_on).days)
            else:
                bucket["acknowledged_late"] += 1
                bucket["ack_days"].append((report.acknowledged_on - report.received_on).days)
            if report.feedback_given_on is not None and report.feedback_given_on <= report.feedback_due:
                bucket["feedback_on_time"] += 1
            if report.investigation_opened_on is not None:
                bucket["investigations_opened"] += 1
            if report.closed_on is not None:
                bucket["closed"] += 1
                bucket["close_days"].append((report.closed_on - report.received_on).days)
                if report.outcome:
                    bucket["outcomes"][report.outcome] += 1
            else:
                bucket["open"] += 1
            bucket["intake"][report.intake] = bucket["intake"].get(report.intake, 0) + 1
    for key, bucket in raw.items():
        counts = {k: v for k, v in bucket.items() if isinstance(v, int)}
        rows[key] = {
            **{k: suppress(v) for k, v in counts.items()},
            "outcomes": _suppress_row(bucket["outcomes"]),
            "intake": _suppress_row(bucket["intake"]),
            "median_days_to_acknowledge": _median_days(bucket["ack_days"]),
            "median_days_to_close": _median_days(bucket["close_days"]),
        }
    total = rows.pop("total", None)
    names = dict(Channel.objects.values_list("slug", "name"))
    return {
        "year": year,
        "suppressed_below": SUPPRESS_BELOW,
        "channels": [{"channel": slug, "name": names.get(slug, slug), **row} for slug, row in sorted(rows.items())],
        "total": total or {"received": 0},
    }

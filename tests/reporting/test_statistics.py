"""Annual statistics: counts per channel and in total, with small cells suppressed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from probity.reporting import services
from probity.reporting.models import Channel, Report
from probity.reporting.statistics import SUPPRESSED, annual_statistics
from tests.reporting.conftest import Staff

pytestmark = pytest.mark.django_db


def file(channel: Channel, n: int) -> list[Report]:
    return [services.report_submit(channel=channel, answers={"what": f"r{i}"})[0] for i in range(n)]


def test_counts_and_suppression(channel: Channel, handler: Staff, make_staff: Callable[..., Staff]) -> None:
    reports = file(channel, 5)
    for report in reports[:4]:
        services.report_acknowledge(report=report, user=handler.user)
    for report in reports[:3]:
        services.report_status_set(report=report, user=handler.user, status=Report.Status.INVESTIGATION)
        services.report_close(report=report, user=handler.user, outcome=Report.Outcome.ACTION_TAKEN)
    services.report_close(report=reports[3], user=handler.user, outcome=Report.Outcome.UNFOUNDED)
    other = services.channel_save(slug="judiciary", name="Judiciary", recipients=[handler.user])
    file(other, 1)

    year = reports[0].received_on.year
    stats = annual_statistics(year=year)
    procurement = next(row for row in stats["channels"] if row["channel"] == "procurement")
    assert procurement["received"] == 5
    assert procurement["acknowledged_on_time"] == 4
    assert procurement["not_acknowledged"] == SUPPRESSED  # 1
    assert procurement["investigations_opened"] == 3
    assert procurement["closed"] == 4
    # the single "unfounded" is hidden, and so is the next smallest non-zero cell (no subtraction)
    assert procurement["outcomes"]["unfounded"] == SUPPRESSED
    assert procurement["outcomes"]["action_taken"] == SUPPRESSED
    assert procurement["outcomes"]["referred"] == 0
    assert procurement["median_days_to_acknowledge"] == 0.0
    judiciary = next(row for row in stats["channels"] if row["channel"] == "judiciary")
    assert judiciary["received"] == SUPPRESSED
    assert judiciary["median_days_to_acknowledge"] is None
    assert stats["total"]["received"] == 6
    assert annual_statistics(year=year - 1)["total"] == {"received": 0}


def test_no_single_report_is_revealed(channel: Channel) -> None:
    report = file(channel, 1)[0]
    stats = annual_statistics(year=report.received_on.year)
    flat = repr(stats)
    assert report.reference not in flat
    assert stats["total"]["received"] == SUPPRESSED

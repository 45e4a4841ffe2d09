"""An analyst opens the page of a demo official in a real browser: every source about them on one page.

The demo country (seed 7, scale 0.05) is loaded into the core registers and every demo file is ingested
(ownership register, procurement, debarments, FollowTheMoney lists, declarations). The official chosen is
one whose relative owns a company in the register and whom the most lists name. The page
must show each of those sections with rows, the timeline and the graph (an SVG drawn on the server), and
its links must lead to the relatives' own pages; nothing may be blocked by the Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db.models import Count, Q
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from probity.core.models import Person
from tests.conftest import TEST_PASSWORD, DemoCountry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEED, SCALE = 7, 0.05
# What the page of a demo official shows from each source (section code → its heading on the page).
SOURCES = {
    "positions": "Positions over time",
    "declarations": "Declarations by year",
    "family": "Family",
    "companies_owned": "Companies owned or controlled",  # here: through the official's relative
    "contracts": "Contracts won or awarded",  # awarded by the official's body
    "lists": "List memberships (PEP, sanctions)",
}


def _best_official() -> Person:
    officials = (
        Person.objects.filter(positions__isnull=False, declarations__isnull=False)
        .annotate(
            relatives_count=Count("relatives", distinct=True),
            parties_count=Count("ownership_parties", distinct=True),
            lists_count=Count("entities", distinct=True),
            family_parties=Count("relatives__relative__ownership_parties", distinct=True),
        )
        .filter(Q(relatives_count__gt=0))
        .order_by("-family_parties", "-lists_count", "-parties_count", "-relatives_count", "pk")
    )
    official = officials.first()
    assert official is not None, "the demo has no official with positions, declarations and family"
    return official


def test_the_page_of_a_demo_official_shows_every_source(
    page: Any, live_server: Any, make_user: Any, demo_countries: Callable[[int, float], DemoCountry]
) -> None:
    from probity.demo.services import demo_ingest, demo_load

    demo = demo_countries(SEED, SCALE)
    demo_load(country=demo.country)
    steps = demo_ingest(demo_dir=demo.out)
    assert not [step.name for step in steps if step.error], [(s.name, s.error) for s in steps if s.error]
    official = _best_official()
    user = make_user("analyst")
    expected = dict(SOURCES)
    relative = official.relatives.select_related("relative").first()
    assert relative is not None

    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/people/{official.pk}/")
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account/second-factor/**")
    page.get_by_label("Six-digit code from your authenticator app").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"**/people/{official.pk}/")

    assert page.get_by_role("heading", level=1).inner_text() == official.name
    for code, title in expected.items():
        section = page.locator(f"#section-{code}")
        assert section.get_by_role("heading", level=2).inner_text() == title
        assert section.locator("tbody tr").count() >= 1, f"the {title} section shows no rows"
    position = official.positions.select_related("body").first()
    assert position is not None
    assert position.body.name in page.locator("#section-positions").inner_text()
    years = {str(year) for year in official.declarations.values_list("year", flat=True)}
    shown = page.locator("#section-declarations tbody tr td:first-child").all_inner_texts()
    assert years == set(shown)
    assert page.locator("#timeline li").count() >= 2
    assert page.locator("#section-cases").inner_text().count("not built yet") == 1
    graph = page.locator("#graph svg")
    assert graph.count() == 1
    assert graph.locator("circle.node").count() >= 3  # the official and at least two ties
    assert page.get_by_role("link", name="Download the neighbourhood as FollowTheMoney entities").count() == 1

    page.locator("#section-family").get_by_role("link", name=relative.relative.name).first.click()
    page.wait_for_url(f"**/people/{relative.relative_id}/")
    assert page.get_by_role("heading", level=1).inner_text() == relative.relative.name
    assert official.name in page.locator("#section-family").inner_text()
    assert not problems, problems

"""An analyst traces the demo country's planted nominee scheme on the entity pages, in a real browser.

The demo country (seed 7, scale 0.05) plants a CONFLICT-FAMILY-SUPPLIER scheme of the *nominee* variant:
an official's spouse owns a supplier of the official's own body through a nominee shareholder. Its
FollowTheMoney file is imported, Probity's own people are taken in (``entities_sync_core``) and entity
resolution runs; then the analyst starts on one of the supplier's contracts and follows the links:
contract → supplier → nominee shareholder → spouse → official, and on the spouse's page reads why
Probity's own record of the spouse is a possible match and confirms it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import TEST_PASSWORD, DemoCountry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEED, SCALE = 7, 0.05


def _nominee_scheme(out: Path) -> dict[str, Any]:
    """The planted nominee scheme's FtM entities by role: contract, supplier, nominee, spouse, official."""
    truth = json.loads((out / "ground_truth.json").read_text("utf-8"))
    (scheme,) = [
        s for s in truth["schemes"] if s["type"] == "CONFLICT-FAMILY-SUPPLIER" and s.get("variant") == "nominee"
    ]
    wanted = set(scheme["refs"]["ftm"]["ids"])
    found: dict[str, dict[str, Any]] = {}
    for line in (out / "ftm" / "entities.ftm.jsonl").read_text("utf-8").splitlines():
        entity = json.loads(line)
        if entity["id"] in wanted:
            found[entity["id"]] = entity
    by_schema: dict[str, list[dict[str, Any]]] = {}
    for entity in found.values():
        by_schema.setdefault(entity["schema"], []).append(entity)
    (ownership,) = [o for o in by_schema["Ownership"] if "nominee shareholder" in o["properties"].get("role", [])]
    (family,) = by_schema["Family"]
    (occupancy,) = by_schema["Occupancy"]
    award = sorted(by_schema["ContractAward"], key=lambda a: a["id"])[0]
    name = {e["id"]: e["properties"]["name"][0] for e in found.values() if "name" in e["properties"]}
    contract_id = award["properties"]["contract"][0]
    supplier_id = award["properties"]["supplier"][0]
    nominee_id = ownership["properties"]["owner"][0]
    spouse_id = family["properties"]["relative"][0]
    official_id = occupancy["properties"]["holder"][0]
    assert ownership["properties"]["asset"] == [supplier_id]
    assert family["properties"]["person"] == [official_id]
    return {
        "contract": contract_id,
        "contract_name": name[contract_id],
        "supplier": name[supplier_id],
        "nominee": name[nominee_id],
        "spouse": name[spouse_id],
        "official": name[official_id],
    }


def test_analyst_traces_the_nominee_scheme_from_a_contract_to_the_officials_spouse(
    page: Any, live_server: Any, make_user: Any, demo_countries: Callable[[int, float], DemoCountry]
) -> None:
    from probity.demo.services import demo_load
    from probity.entities.models import Entity, MatchCandidate, MatchDecision
    from probity.entities.services import entities_link, entities_sync_core, ftm_import

    demo = demo_countries(SEED, SCALE)
    out = demo.out
    scheme = _nominee_scheme(out)
    report = ftm_import(source=out / "ftm" / "entities.ftm.jsonl", dataset="demo")
    assert report.rejected == 0
    demo_load(country=demo.country)
    entities_sync_core()
    entities_link(schema="Person")

    spouse_records = Entity.objects.filter(schema="Person", caption=scheme["spouse"])
    demo_spouse = spouse_records.get(dataset="demo")
    candidate = MatchCandidate.objects.get(
        left__in=spouse_records, right__in=spouse_records, status=MatchCandidate.Status.OPEN
    )
    contract = Entity.objects.get(ftm_id=scheme["contract"])

    user = make_user("analyst")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/entities/{contract.pk}/")
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account/second-factor/**")
    page.get_by_label("Six-digit code from your authenticator app").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"**/entities/{contract.pk}/")

    # contract → supplier (through the contract award)
    assert page.get_by_role("heading", level=1).inner_text() == scheme["contract_name"]
    relations = page.locator("ul.relations")
    award = relations.locator("li", has_text="Contract award")
    assert award.count() >= 1
    award.get_by_role("link", name=scheme["supplier"]).click()
    page.wait_for_url("**/entities/*/")
    assert page.get_by_role("heading", level=1).inner_text() == scheme["supplier"]

    # supplier → nominee shareholder (the ownership says what kind)
    ownership = page.locator("ul.relations li", has_text="nominee shareholder").filter(has_text="Ownership")
    assert "100.00 %" in ownership.inner_text()
    ownership.get_by_role("link", name=scheme["nominee"]).click()
    page.wait_for_url("**/entities/*/")
    assert page.get_by_role("heading", level=1).inner_text() == scheme["nominee"]

    # nominee → the person they hold the shares for (the representation), the official's spouse
    representation = page.locator("ul.relations li", has_text="Representation")
    assert "nominee shareholder" in representation.inner_text()
    representation.get_by_role("link", name=scheme["spouse"]).click()
    page.wait_for_url(f"**/entities/{demo_spouse.pk}/")

    # spouse → official (the family relation), and the spouse's possible match with its explanation
    family = page.locator("ul.relations li", has_text="Family")
    assert "spouse" in family.inner_text()
    family_link = family.get_by_role("link", name=scheme["official"])
    assert family_link.count() == 1
    match = page.locator("section.match-candidate")
    assert match.count() >= 1
    mine = match.filter(has=page.locator(f"form[action$='/candidates/{candidate.pk}/decision/']"))
    explanation = mine.locator("table tbody tr")
    assert explanation.count() == 5  # name, date of birth, country, identifier, address
    assert mine.locator("tr", has_text="Address").count() == 1
    name_row = mine.locator("tr", has_text="Name")
    assert "same name" in name_row.inner_text()
    birth_row = mine.locator("tr", has_text="Date of birth")
    assert "same date" in birth_row.inner_text()
    assert mine.locator("tr.agrees").count() >= 2
    confirm = mine.get_by_role("button", name="Confirm: the same")
    reject = mine.get_by_role("button", name="Reject: not the same")
    assert confirm.is_visible() and reject.is_visible()
    confirm.click()
    page.wait_for_url(f"**/entities/{demo_spouse.pk}/")
    candidate.refresh_from_db()
    assert candidate.status == MatchCandidate.Status.CONFIRMED
    assert MatchDecision.objects.filter(candidate=candidate, decision="confirmed").count() == 1
    # confirmed: the buttons are gone and Probity's own record is listed as the same person
    assert page.locator(f"form[action$='/candidates/{candidate.pk}/decision/']").count() == 0
    assert page.get_by_role("heading", name="Same entity in other sources").is_visible()

    # and on to the official: now through both records of the spouse, the demo file's and Probity's own
    officials = page.locator("ul.relations li", has_text="Family").get_by_role("link", name=scheme["official"])
    assert officials.count() == 2
    official = Entity.objects.get(dataset="demo", schema="Person", caption=scheme["official"])
    page.locator(f"ul.relations li a[href$='/entities/{official.pk}/']").click()
    page.wait_for_url(f"**/entities/{official.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == scheme["official"]
    assert page.locator("ul.relations li", has_text="Family").get_by_role("link", name=scheme["spouse"]).count() >= 1
    assert not problems, problems  # nothing was blocked by the Content-Security-Policy

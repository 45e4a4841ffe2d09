"""A declarant files a declaration end to end in the browser, in English and in Chinese: several steps,
a validation error shown and corrected, a family member, an asset owned by the spouse, income, a value
"not provided", a draft saved and resumed later, submission and the receipt."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from probity.core.models import Person, Position, PublicBody
from probity.declarations.deadlines import deadline_set
from probity.declarations.models import DeclarationDraft, DeclarationVersion
from probity.declarations.services import content_hash
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"

LABELS = {
    "en": {
        "home": "My declarations",
        "start": "Start",
        "continue": "Save and continue",
        "save": "Save draft",
        "currency": "Currency of the declaration",
        "family": "Family members",
        "add_family": "Add a row: Family members",
        "relation": "Relation",
        "name": "Name",
        "birth_np": "Date of birth: provided?",
        "real_estate": "Real estate",
        "add_real_estate": "Add a row: Real estate",
        "owner": "Owner",
        "kind": "Kind",
        "description": "Description",
        "amount": "Amount",
        "problem": "There is a problem",
        "not_amount": (
            "This is not an amount: write a number like 1234.50 (at most 15 digits before the point, 4 after)."
        ),
        "income": "Income",
        "add_income": "Add a row: Income",
        "amount_np": "Amount: provided?",
        "resume": "Continue the draft",
        "review": "Review and submit",
        "submit": "Submit the declaration",
        "submitted": "Your declaration has been submitted",
        "spouse_owner": "Ben Test (Spouse)",
    },
}


@pytest.fixture
def declarant(make_user: Any) -> Any:
    user = make_user("declarant", username="ana-declarant")
    body = PublicBody.objects.create(name="Ministry of Roads", kind="ministry")
    person = Person.objects.create(name="Ana Test", user=user, birth_date=date(1970, 5, 1))
    Position.objects.create(body=body, title="Head of Procurement", holder=person, start_date=date(2020, 1, 1))
    deadline_set(declaration_type="annual", year=2024, due_date=date(2025, 4, 1))
    return user


def _labels(language: str) -> dict[str, str]:
    """The labels as the page shows them in ``language``, from the same catalogues the server uses."""
    from django.utils import translation

    english = LABELS["en"]
    if language == "en":
        return english
    with translation.override(language):
        t = {key: translation.gettext(text) for key, text in english.items()}
        for key, title in (
            ("add_family", "Family members"),
            ("add_real_estate", "Real estate"),
            ("add_income", "Income"),
        ):
            t[key] = translation.gettext("Add a row: %(title)s") % {"title": translation.gettext(title)}
        for key, field in (("birth_np", "Date of birth"), ("amount_np", "Amount")):
            t[key] = translation.gettext("%(field)s: provided?") % {"field": translation.gettext(field)}
        t["spouse_owner"] = f"Ben Test ({translation.gettext('Spouse')})"
    # Every label the test uses is really translated (Chinese characters, not the English text).
    untranslated = {k: v for k, v in t.items() if k != "spouse_owner" and not re.search("[\u4e00-\u9fff]", v)}
    assert not untranslated, untranslated
    return t


def _label(text: str) -> re.Pattern[str]:
    """The label, with or without its "(required)" mark."""
    return re.compile(rf"^{re.escape(text)}(\s*[(（].*[)）])?$")


def _sign_in(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/(?!account/login).*$"))


def _file_declaration(page: Any, base_url: str, language: str) -> None:
    t = _labels(language)
    page.goto(f"{base_url}/declarations/file/")
    if language != "en":
        page.get_by_label("Language").select_option(language)
        page.get_by_role("button", name="Change language").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == language
    page.get_by_role("heading", name=t["home"], exact=True).wait_for()
    page.get_by_role("button", name=re.compile(rf"^{t['start']} .*2024$")).click()

    # Step 1: the agency pre-filled the name and the position; choose the currency.
    assert page.get_by_label(re.compile("Your full name|您的全名")).input_value() == "Ana Test"
    page.get_by_label(t["currency"]).select_option("EUR")
    page.get_by_role("button", name=t["continue"]).click()

    # Step 2: a spouse who did not provide the date of birth.
    page.get_by_role("button", name=t["add_family"]).click()
    row = page.get_by_role("group", name=f"{t['family']} 1")
    row.get_by_label(_label(t["relation"])).select_option("spouse")
    row.get_by_label(_label(t["name"])).fill("Ben Test")
    row.get_by_label(t["birth_np"]).select_option("family_member_refused")
    page.get_by_role("button", name=t["continue"]).click()

    # Step 3: an apartment owned by the spouse; a wrong amount is shown, then corrected.
    page.get_by_role("button", name=t["add_real_estate"]).click()
    row = page.get_by_role("group", name=f"{t['real_estate']} 1", exact=True)
    row.get_by_label(_label(t["owner"])).select_option(label=t["spouse_owner"])
    row.get_by_label(_label(t["kind"])).select_option("apartment")
    row.get_by_label(_label(t["description"])).fill("<script>alert('x')</script> flat in town")
    row.get_by_label(_label(t["amount"])).fill("120000,50")
    page.get_by_role("button", name=t["continue"]).click()
    summary = page.get_by_role("alert")
    summary.get_by_role("heading", name=t["problem"]).wait_for()
    assert t["not_amount"] in summary.inner_text()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"declaration-step-error-{language}.png"), full_page=True)
    row = page.get_by_role("group", name=f"{t['real_estate']} 1", exact=True)
    amount = row.get_by_label(_label(t["amount"]))
    assert amount.get_attribute("aria-invalid") == "true"
    assert amount.input_value() == "120000,50"  # what was typed is kept
    amount.fill("120000.50")
    page.get_by_role("button", name=t["continue"]).click()
    assert page.get_by_role("alert").count() == 0

    # Steps 4 and 5: nothing to declare. Step 6: salary, and the spouse's income not provided.
    page.get_by_role("button", name=t["continue"]).click()
    page.get_by_role("button", name=t["continue"]).click()
    page.get_by_role("button", name=t["add_income"]).click()
    row = page.get_by_role("group", name=f"{t['income']} 1", exact=True)
    row.get_by_label(_label(t["kind"])).select_option("salary")
    row.get_by_label(_label(t["amount"])).fill("40000")
    page.get_by_role("button", name=t["add_income"]).click()
    row = page.get_by_role("group", name=f"{t['income']} 2", exact=True)
    row.get_by_label(_label(t["owner"])).select_option("fm-1")
    row.get_by_label(_label(t["kind"])).select_option("salary")
    row.get_by_label(t["amount_np"]).select_option("family_member_refused")
    page.get_by_role("button", name=t["save"]).click()
    page.get_by_role("status").filter(has_text=re.compile(".")).first.wait_for()

    # Leave, come back: the draft is where it was left.
    page.goto(f"{base_url}/")
    page.goto(f"{base_url}/declarations/file/")
    page.get_by_role("link", name=t["resume"]).click()
    row = page.get_by_role("group", name=f"{t['income']} 1", exact=True)
    assert row.get_by_label(_label(t["amount"])).input_value() == "40000"

    # Review and submit.
    page.get_by_role("button", name=re.compile(t["review"])).click()
    assert "<script>alert('x')</script> flat in town" in page.content().replace("&lt;", "<").replace("&gt;", ">")
    page.get_by_role("button", name=t["submit"]).click()
    page.get_by_role("heading", name=t["submitted"]).wait_for()
    assert page.get_by_test_id("version").inner_text().strip() == "1"
    page.screenshot(path=str(SCREENSHOTS / f"declaration-receipt-{language}.png"), full_page=True)

    versions = list(DeclarationVersion.objects.all())
    assert len(versions) == 1
    version = versions[0]
    shown = page.get_by_test_id("hash").inner_text().strip()
    assert shown == version.content_hash == content_hash(content=version.content)
    content = version.content
    assert content["declaration_type"] == "annual" and content["period"] == {"year": 2024}
    assert content["reporting_currency"] == "EUR"
    assert content["family_members"] == [
        {
            "id": "fm-1",
            "relation": "spouse",
            "name": "Ben Test",
            "birth_date": {"not_provided": "family_member_refused"},
        }
    ]
    assert content["real_estate"] == [
        {
            "owner": "fm-1",
            "kind": "apartment",
            "description": "<script>alert('x')</script> flat in town",
            "value": {"amount": "120000.50", "currency": "EUR"},
        }
    ]
    assert content["income"] == [
        {"owner": "declarant", "kind": "salary", "amount": {"amount": "40000", "currency": "EUR"}},
        {"owner": "fm-1", "kind": "salary", "amount": {"not_provided": "family_member_refused"}},
    ]
    assert not DeclarationDraft.objects.exists()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_declarant_files_a_declaration_in_the_browser(
    page: Any, live_server: Any, declarant: Any, language: str
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _sign_in(page, live_server.url, declarant.username)
    _file_declaration(page, live_server.url, language)
    assert dialogs == []  # the script typed into a field never ran


def test_filing_works_with_javascript_switched_off(browser: Any, live_server: Any, declarant: Any) -> None:
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _sign_in(page, live_server.url, declarant.username)
        _file_declaration(page, live_server.url, "en")
    finally:
        context.close()

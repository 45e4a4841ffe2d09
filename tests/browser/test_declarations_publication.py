"""The public register in a real browser (Chromium): an anonymous visitor searches, reads a declaration and
downloads it; nothing breaks the site's Content-Security-Policy; the Chinese page says so in ``lang``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from probity.core.models import Person
from probity.declarations.publication import services as publication
from probity.declarations.services import declaration_submit
from tests.declarations.test_publication_leaks import MARKERS, planted_declaration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _published() -> int:
    person = Person.objects.create(name="Visiblename Orrin")
    declaration = declaration_submit(declarant=person, payload=planted_declaration()).declaration
    publication.publish(declarations=[declaration])
    return declaration.pk


def test_anonymous_visitor_searches_reads_and_downloads(page: Any, live_server: Any) -> None:  # noqa: F811
    declaration_id = _published()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{live_server.url}/declarations/public/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("Name or text").fill("visiblename")
    page.get_by_label("Public body").fill("Ministry of Leaks")
    page.get_by_label("Year").select_option("2023")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Visiblename Orrin").click()
    page.wait_for_url(f"**/declarations/public/{declaration_id}/")
    assert page.get_by_role("heading", name="Vehicles").is_visible()
    assert page.get_by_text("child (name withheld)").is_visible()
    text = page.locator("main").inner_text()
    for marker in MARKERS.values():
        assert marker not in text

    with page.expect_download() as info:
        page.get_by_role("link", name="JSON").click()
    download = info.value
    assert download.suggested_filename == f"declaration-{declaration_id}.json"
    body = Path(download.path()).read_text(encoding="utf-8")
    assert json.loads(body)[0]["id"] == declaration_id
    assert not any(marker in body for marker in MARKERS.values())
    assert not problems, problems


def test_register_in_chinese(browser: Any, live_server: Any) -> None:  # noqa: F811
    _published()
    context = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-Hans"})
    chinese = context.new_page()
    chinese.goto(f"{live_server.url}/declarations/public/")
    assert chinese.locator("html").get_attribute("lang") == "zh-hans"
    assert chinese.get_by_role("link", name="Visiblename Orrin").is_visible()
    context.close()

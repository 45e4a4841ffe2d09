"""The API documentation page works offline and under the site's strict Content-Security-Policy."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_load_everything_from_this_site_without_errors(page: Any, live_server: Any) -> None:
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_server.url}/api/v1/docs")
    page.get_by_text("/api/v1/detectors", exact=False).first.wait_for()
    site = urlsplit(live_server.url).netloc
    foreign = [url for url in requested if urlsplit(url).scheme in {"http", "https"} and urlsplit(url).netloc != site]
    assert not foreign, f"the docs page fetched from elsewhere: {foreign}"
    assert not problems, problems

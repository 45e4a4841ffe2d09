"""An analyst opens a company's ownership page: the chain graph draws, a click highlights a chain, CSP is quiet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from probity.ownership.models import Party
from probity.ownership.services import ownership_ingest
from tests.conftest import TEST_PASSWORD
from tests.ownership.test_ingest import entity, holds, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_analyst_sees_the_chain_graph_and_highlights_an_owner(
    page: Any,
    live_server: Any,
    make_user: Any,
    tmp_path: Path,
) -> None:
    source = tmp_path / "register.json"
    source.write_text(
        json.dumps(
            [
                entity("hold", "Eastgate Holdings"),
                entity("target", "Moravec Construction"),
                person("p1", "Daria Rossi"),
                person("p2", "Greta Dorn"),
                holds("r1", "p1", "hold", 100),
                holds("r2", "hold", "target", 100),
                holds("r3", "p2", "target", 0.5),
            ]
        )
    )
    ownership_ingest(path=source, dataset="browser")
    target = Party.objects.get(record_id="target")
    user = make_user("analyst")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server.url}/ownership/parties/{target.pk}/")
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account/second-factor/**")
    page.get_by_label("Six-digit code from your authenticator app").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"**/ownership/parties/{target.pk}/")

    graph = page.locator("#ownership-graph svg")
    graph.wait_for()
    assert page.locator("#ownership-graph .node").count() == 4
    assert page.locator("#ownership-graph .edge").count() == 3
    page.get_by_role("link", name="Daria Rossi").first.wait_for()
    page.locator("#ownership-graph .node", has_text="Daria Rossi").click()
    assert page.locator("#ownership-graph .edge.highlight").count() == 2  # Daria → Eastgate → Moravec
    assert page.locator("#ownership-graph .node.dim").count() == 1  # Greta's node is dimmed
    page.get_by_role("button", name="Zoom in").click()
    assert page.locator("ol.chains li").count() == 2
    assert not problems, problems  # nothing was blocked by the Content-Security-Policy

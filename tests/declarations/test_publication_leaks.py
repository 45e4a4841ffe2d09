"""The issue's test: no redacted field reaches any public output.

A declaration is filled with unique marker values in every field the default profile withholds;
after publication every public output is fetched — register pages (also searched *for* each marker),
the declaration page, JSON and CSV downloads (one and bulk), every public API endpoint, the CLI's
open-data files, the stored ``search_text`` and published content — and no marker may appear in any
of them, raw, casefolded, JSON-escaped or HTML-escaped. The control publishes the same declaration
with an empty profile and proves that the same collection *does* find every marker.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client

from probity.core.models import Person
from probity.declarations.models import PublishedDeclaration, RedactionProfile
from probity.declarations.publication import services as publication
from probity.declarations.services import declaration_submit

pytestmark = pytest.mark.django_db

# One marker per withheld field of the default profile (name → value as filed).
MARKERS = {
    "declarant source id": "PERSONKEY-Xv55",
    "declarant national id": "NATID-Zq81xW",
    "declarant birth date": "1969-07-23",
    "declarant address": "O'Markerly Straße 4417 & Co",
    "spouse national id": "FAMNID-Kp29wT",
    "spouse birth date": "1971-11-13",
    "spouse address": "Spousemark Qrow 12, 10482 Demopolis",
    "parent address": "Eldermark Zvx Street 9, 20771 Northport",
    "child birth date": "2012-02-29",
    "minor child's name": "Childmärker Yelqo",
    "real estate location": "Locmarker Vtx-88 <b>Lane</b>",
    "construction location": "Buildsite Qmz 5",
    "account number": "UA21ACCTMARK99887766",
    "vehicle registration": "REGMK-7731",
    "private creditor": "Lendermark Uncle Ozz",
    "gift recipient": "Giftee Marker Pwq",
}
# Public values that must still be published (the outputs are not simply empty).
VISIBLE = {
    "declarant name": "Visiblename Orrin",
    "adult child's name": "Grownkid Publicus",
    "description": "Seaside cottage Tkvisible",
    "bank creditor": "Big Bank Visiblecred",
}


def planted_declaration() -> dict[str, Any]:
    return {
        "schema_version": "1.0",
        "external_id": "leak-test-1",
        "declaration_type": "annual",
        "period": {"year": 2023},
        "reporting_currency": "EUR",
        "submitted": "2024-03-01",
        "declarant": {
            "id": MARKERS["declarant source id"],
            "name": VISIBLE["declarant name"],
            "national_id": MARKERS["declarant national id"],
            "birth_date": MARKERS["declarant birth date"],
            "address": MARKERS["declarant address"],
        },
        "position": {"title": "Deputy Minister", "body": {"name": "Ministry of Leaks"}},
        "family_members": [
            {
                "id": "fm-spouse",
                "relation": "spouse",
                "name": "Spouse Visible",
                "birth_date": MARKERS["spouse birth date"],
                "national_id": MARKERS["spouse national id"],
                "address": MARKERS["spouse address"],
            },
            {
                "id": "fm-child",  # an id is not a secret by itself, but it is replaced by an opaque one
                "relation": "child",
                "name": MARKERS["minor child's name"],
                "birth_date": MARKERS["child birth date"],
            },
            {"id": "fm-adult", "relation": "child", "name": VISIBLE["adult child's name"], "birth_date": "1990-06-01"},
            {
                "id": "fm-parent",
                "relation": "parent",
                "name": "Parent Visible",
                "birth_date": "1940-01-02",
                "address": MARKERS["parent address"],
            },
        ],
        "real_estate": [
            {
                "owner": "fm-child",
                "kind": "house",
                "description": VISIBLE["description"] + " held for " + MARKERS["minor child's name"],
                "location": MARKERS["real estate location"],
                "value": {"amount": "250000", "currency": "EUR"},
            },
            {"owner": "declarant", "kind": "land", "value": {"amount": "1000", "currency": "EUR"}},
        ],
        "unfinished_construction": [
            {"owner": "declarant", "kind": "house", "location": MARKERS["construction location"]},
        ],
        "vehicles": [
            {
                "owner": "fm-spouse",
                "kind": "car",
                "make_model": "Skoda Octavia",
                "registration": MARKERS["vehicle registration"],
                "value": {"amount": "15000", "currency": "EUR"},
            },
        ],
        "income": [
            {
                "owner": "declarant",
                "kind": "salary",
                "source": "Ministry",
                "amount": {"amount": "40000", "currency": "EUR"},
            },
        ],
        "cash_and_accounts": [
            {
                "owner": "declarant",
                "kind": "bank_account",
                "institution": "Bank",
                "account_number": MARKERS["account number"],
                "amount": {"amount": "10000", "currency": "EUR"},
            },
        ],
        "liabilities": [
            {
                "owner": "declarant",
                "kind": "private_loan",
                "creditor": MARKERS["private creditor"],
                "creditor_is_bank": False,
                "amount": {"amount": "5000", "currency": "EUR"},
            },
            {
                "owner": "declarant",
                "kind": "mortgage",
                "creditor": VISIBLE["bank creditor"],
                "creditor_is_bank": True,
                "amount": {"amount": "90000", "currency": "EUR"},
            },
        ],
        "expenditures": [
            {
                "owner": "declarant",
                "kind": "gift_given",
                "counterparty": MARKERS["gift recipient"],
                "amount": {"amount": "3000", "currency": "EUR"},
            },
        ],
    }


def _forms(value: str) -> set[str]:
    """Every way a marker could show up in an output."""
    forms = {value, value.casefold(), json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    forms |= {html.escape(f) for f in list(forms)}
    forms |= {html.escape(f, quote=False) for f in list(forms)}
    return forms


def _found(outputs: dict[str, str], value: str) -> list[str]:
    forms = _forms(value)
    return [name for name, text in outputs.items() if any(f in text or f in text.casefold() for f in forms)]


def _results(page: str) -> str:
    start = page.index('<section id="results"')
    return page[start : page.index("</section>", start)]


def collect_outputs(tmp_path: Path, declaration_id: int) -> dict[str, str]:
    """Every public output, as text (anonymous client: no sign-in)."""
    client = Client()
    outputs: dict[str, str] = {}

    def get(name: str, url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, (name, url, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
        outputs[name] = body.decode("utf-8")

    base = "/declarations/public/"
    get("register", base)
    get("register by name", base + "?" + urlencode({"q": "visiblename"}))
    get("register by year and body", base + "?" + urlencode({"year": 2023, "body": "leaks", "type": "annual"}))
    get("declaration page", f"{base}{declaration_id}/")
    get("declaration JSON", f"{base}{declaration_id}.json")
    get("declaration CSV", f"{base}{declaration_id}.csv")
    get("bulk JSON", base + "export.json")
    get("bulk CSV", base + "export.csv")
    get("bulk JSON of a year", base + "export.json?year=2023")
    get("bulk CSV of a year", base + "export.csv?year=2023")
    api = "/api/v1/declarations/public"
    get("API search", api + "/search")
    get("API search by name", api + "/search?q=Visiblename")
    get("API detail", f"{api}/{declaration_id}")
    get("API export JSON", api + "/export?format=json")
    get("API export CSV", api + "/export?format=csv&year=2023")
    for label, marker in MARKERS.items():
        for fragment in {marker, marker.split()[0], marker.casefold()}:
            query = urlencode({"q": fragment})
            # the form echoes the visitor's own search term back: only the results may not hold it
            name = f"register searched for {label} ({fragment})"
            get(name, f"{base}?{query}")
            outputs[name] = _results(outputs[name])
            get(f"API searched for {label} ({fragment})", f"{api}/search?{query}")
            get(f"bulk JSON searched for {label} ({fragment})", f"{base}export.json?{query}")
    export_dir = tmp_path / "open-data"
    call_command("declarations", "publish", "--export", str(export_dir))
    for path in sorted(export_dir.iterdir()):
        outputs[f"CLI export {path.name}"] = path.read_text(encoding="utf-8")
    for published in PublishedDeclaration.objects.all():
        outputs[f"search_text #{published.pk}"] = published.search_text
        outputs[f"stored published content #{published.pk}"] = json.dumps(published.content, ensure_ascii=False)
    return outputs


def _publish(profile: RedactionProfile | None) -> int:
    person = Person.objects.create(name="Visiblename Orrin")
    result = declaration_submit(declarant=person, payload=planted_declaration())
    report = publication.publish(declarations=[result.declaration], profile=profile)
    assert report.published == 1
    return result.declaration.pk


def test_no_redacted_field_reaches_any_public_output(tmp_path: Path) -> None:
    declaration_id = _publish(None)  # the default profile, created on first use
    outputs = collect_outputs(tmp_path, declaration_id)
    assert len(outputs) >= 100, len(outputs)  # 114 today

    leaks = {label: _found(outputs, value) for label, value in MARKERS.items()}
    assert {label: where for label, where in leaks.items() if where} == {}

    # The outputs are real: the public values are in them, and searching for a marker finds nothing.
    for label, value in VISIBLE.items():
        assert _found(outputs, value), f"{label} should be published"
    assert "1 published declaration" in outputs["register by name"]
    for name, text in outputs.items():
        if name.startswith("API searched for"):
            assert json.loads(text)["count"] == 0, name
        if name.startswith("register searched for"):
            assert "No published declaration matches this search." in text, name
    # The child is still listed, by the label only.
    content = json.loads(outputs["API detail"])["content"]
    child = content["family_members"][1]
    assert child["name"] == {"withheld": "redaction profile default", "label": "child"}
    assert "child (name withheld)" in outputs["declaration page"]
    assert content["family_members"][2]["name"] == VISIBLE["adult child's name"]
    assert content["real_estate"][0]["owner"] == "member-2"  # opaque member ids, not the source ids
    assert "fm-child" not in outputs["declaration JSON"]


def test_control_the_same_collection_finds_every_marker_when_nothing_is_redacted(tmp_path: Path) -> None:
    empty = RedactionProfile.objects.create(name="nothing withheld", fields=[])
    declaration_id = _publish(empty)
    outputs = collect_outputs(tmp_path, declaration_id)
    missing = [label for label, value in MARKERS.items() if not _found(outputs, value)]
    assert missing == []
    # every kind of output carries the markers when they are not withheld
    for name in ("declaration page", "declaration JSON", "declaration CSV", "bulk CSV", "API detail"):
        assert _found({name: outputs[name]}, MARKERS["account number"]), name
    assert any(name.startswith("CLI export") for name in _found(outputs, MARKERS["vehicle registration"]))
    assert _found({"s": outputs[next(n for n in outputs if n.startswith("search_text"))]}, MARKERS["private creditor"])
    searched = json.loads(outputs[f"API searched for account number ({MARKERS['account number']})"])
    assert searched["count"] == 1


def test_html_and_script_in_free_text_are_escaped_on_public_pages(tmp_path: Path) -> None:
    payload = planted_declaration()
    payload["real_estate"][1]["description"] = "<script>alert('pwned')</script><img src=x onerror=alert(1)>"
    payload["position"]["title"] = "Minister <i>of</i> Things"
    person = Person.objects.create(name="Escaper")
    result = declaration_submit(declarant=person, payload=payload)
    publication.publish(declarations=[result.declaration])
    client = Client()
    for url in (f"/declarations/public/{result.declaration.pk}/", "/declarations/public/?q=script"):
        page = client.get(url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page and "<i>of</i>" not in page
    page = client.get(f"/declarations/public/{result.declaration.pk}/").content.decode()
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page
    assert "Minister &lt;i&gt;of&lt;/i&gt; Things" in page

"""Validation where the value is entered (issue 15, 3.4), co-owned property in the schema (3.3), and the
compiled validator that makes import fast (2): the e-filing step and the import refuse the same values with
the same message naming the field, and the compiled fast path gives exactly the full validator's answer."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from probity.core.models import Person, Position, PublicBody
from probity.declarations import schema
from probity.declarations.adapters import from_demo
from probity.declarations.models import Declaration, DeclarationDraft, DeclarationVersion
from probity.declarations.schema import DeclarationInvalid, FieldError, load_schema, validate_content
from probity.declarations.services import declaration_submit

# --- the four values of the issue, on the step where they are typed and in an import ----------------------

# (step, the step's form data, the path of the problem, the message the declarant and the importer read)
CASES: dict[str, tuple[str, dict[str, str], str, str]] = {
    "negative income": (
        "income",
        {
            "income-count": "1",
            "income-0-owner": "declarant",
            "income-0-kind": "salary",
            "income-0-amount_amount": "-5000",
            "income-0-amount_currency": "EUR",
        },
        "income[0].amount",
        "Amount cannot be negative.",
    ),
    "negative area": (
        "real_estate",
        {
            "real_estate-count": "1",
            "unfinished_construction-count": "0",
            "real_estate-0-owner": "declarant",
            "real_estate-0-kind": "apartment",
            "real_estate-0-area_m2": "-60",
            "real_estate-0-value_amount": "100000",
            "real_estate-0-value_currency": "EUR",
        },
        "real_estate[0].area_m2",
        "Area (m²) must be more than 0.",
    ),
    "share over 100 %": (
        "real_estate",
        {
            "real_estate-count": "1",
            "unfinished_construction-count": "0",
            "real_estate-0-owner": "declarant",
            "real_estate-0-kind": "apartment",
            "real_estate-0-share_percent": "150",
            "real_estate-0-value_amount": "100000",
            "real_estate-0-value_currency": "EUR",
        },
        "real_estate[0].share_percent",
        "Share (%) must be more than 0 and at most 100.",
    ),
    "acquired in 2099": (
        "real_estate",
        {
            "real_estate-count": "1",
            "unfinished_construction-count": "0",
            "real_estate-0-owner": "declarant",
            "real_estate-0-kind": "apartment",
            "real_estate-0-acquired": "2099-01-01",
            "real_estate-0-value_amount": "100000",
            "real_estate-0-value_currency": "EUR",
        },
        "real_estate[0].acquired",
        "Acquired on cannot be later than the end of the declaration's period (2024-12-31).",
    ),
}


@pytest.fixture
def filer(make_user: Any) -> tuple[Client, int]:
    """A declarant with a 2024 annual draft whose header is filled in."""
    user = make_user("declarant", username="ana")
    body = PublicBody.objects.create(name="Ministry of Roads", kind="ministry")
    person = Person.objects.create(name="Ana Test", user=user, birth_date=date(1970, 5, 1))
    Position.objects.create(body=body, title="Head of Procurement", holder=person, start_date=date(2020, 1, 1))
    client = Client()
    client.force_login(user)
    client.post(reverse("declarations:filing_start"), {"declaration_type": "annual", "year": 2024})
    pk = Declaration.objects.get(year=2024).pk
    header = {"declarant_name": "Ana Test", "position_title": "Head", "reporting_currency": "EUR", "action": "next"}
    assert client.post(reverse("declarations:filing_step", args=[pk, "header"]), header).status_code == 302
    return client, pk


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(CASES))
def test_the_step_refuses_the_value_where_it_is_typed_naming_the_field(filer: tuple[Client, int], case: str) -> None:
    client, pk = filer
    step, data, _path, message = CASES[case]
    response = client.post(reverse("declarations:filing_step", args=[pk, step]), {**data, "action": "next"})
    assert response.status_code == 200, "the step must not move on"  # before the fix: 302 to the next step
    html = response.content.decode()
    escaped = message.replace("'", "&#x27;")
    assert escaped in html  # beside the field and in the summary
    assert 'aria-invalid="true"' in html
    assert "the field '" not in html
    # Kept in the draft as typed, and the declaration cannot be submitted with it.
    assert DeclarationDraft.objects.filter(declaration_id=pk).exists()
    review = client.post(reverse("declarations:filing_step", args=[pk, "review"]), {"action": "submit"})
    assert review.status_code == 422
    assert escaped in review.content.decode()
    assert not DeclarationVersion.objects.filter(declaration_id=pk).exists()


def _imported(payload: dict[str, Any], case: str) -> dict[str, Any]:
    content = copy.deepcopy(payload)
    content["period"] = {"year": 2024}
    content["submitted"] = "2025-03-01"
    if case == "negative income":
        content["income"][0]["amount"]["amount"] = "-5000"
    elif case == "negative area":
        content["real_estate"][0]["area_m2"] = -60
    elif case == "share over 100 %":
        content["real_estate"][0]["share_percent"] = 150
    else:
        content["real_estate"][0]["acquired"] = "2099-01-01"
    return content


@pytest.mark.parametrize("case", list(CASES))
def test_an_import_refuses_the_record_with_the_same_message(payload: dict[str, Any], case: str) -> None:
    _step, _data, path, message = CASES[case]
    assert validate_content(_imported(payload, case)) == [FieldError(path, message)]


@pytest.mark.django_db
def test_an_imported_share_of_140_percent_is_refused_and_nothing_is_stored(payload: dict[str, Any]) -> None:
    payload["real_estate"][0]["share_percent"] = 140
    with pytest.raises(DeclarationInvalid) as caught:
        declaration_submit(declarant=Person.objects.create(name="Ana"), payload=payload)
    assert caught.value.errors == [
        FieldError("real_estate[0].share_percent", "Share (%) must be more than 0 and at most 100.")
    ]
    assert not DeclarationVersion.objects.exists()


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (lambda p: p["real_estate"][0].update(share_percent=0), "real_estate[0].share_percent", "more than 0"),
        (lambda p: p["real_estate"][0].update(share_percent=100), None, None),
        (lambda p: p["real_estate"][0].update(area_m2=0), "real_estate[0].area_m2", "more than 0"),
        (lambda p: p["real_estate"][0]["value"].update(amount="-0.01"), "real_estate[0].value", "Value cannot be"),
        (lambda p: p["real_estate"][0]["value"].update(amount="0"), None, None),
        (
            lambda p: p.update(totals={"income": {"amount": "-1", "currency": "EUR"}}),
            "totals.income.amount",
            "Total income cannot be negative.",
        ),
        (lambda p: p.update(securities=[_security(-3)]), "securities[0].quantity", "Quantity cannot be negative."),
        (lambda p: p["real_estate"][0].update(acquired="1850-01-01"), "real_estate[0].acquired", "before 1900"),
        (lambda p: p["declarant"].update(birth_date="2030-01-01"), "declarant.birth_date", "Date of birth"),
        (
            lambda p: p["family_members"][0].update(birth_date="2024-01-01"),
            "family_members[0].birth_date",
            "the end of the declaration's period (2023-12-31)",
        ),
        (
            lambda p: p.update(expenditures=[_spent("2024-02-01")]),
            "expenditures[0].date",
            "Date cannot be later than the end of the declaration's period (2023-12-31).",
        ),
        (lambda p: p.update(expenditures=[_spent("2023-12-31")]), None, None),
        (lambda p: p["period"].update(end="2023-06-30"), None, None),
        (
            lambda p: p["period"].update(end="2023-06-30") or p.update(expenditures=[_spent("2023-07-01")]),
            "expenditures[0].date",
            "(2023-06-30)",
        ),
        (lambda p: p["period"].update(end="2099-12-31"), "period.end", "Period to must be in 2023"),
        (
            lambda p: p["period"].update(start="2023-07-01", end="2023-06-30"),
            "period.start",
            "Period from cannot be later than Period to.",
        ),
        (
            lambda p: p.update(submitted="2023-09-01") or p.update(expenditures=[_spent("2023-10-01")]),
            "expenditures[0].date",
            "the filing date (2023-09-01)",
        ),
    ],
)
def test_every_amount_area_share_and_date_is_bounded(
    payload: dict[str, Any], change: Any, path: str | None, message: str | None
) -> None:
    change(payload)
    errors = validate_content(payload)
    if path is None:
        assert errors == []
    else:
        assert [e.path for e in errors] == [path], errors
        assert message is not None and message in errors[0].message


def _security(quantity: float) -> dict[str, Any]:
    return {"owner": "declarant", "kind": "bond", "quantity": quantity, "value": {"amount": "1", "currency": "EUR"}}


def _spent(day: str) -> dict[str, Any]:
    return {"owner": "declarant", "kind": "consumption", "date": day, "amount": {"amount": "10", "currency": "EUR"}}


# --- the form shows labels and sentences, never the schema's internal wording -------------------------------


@pytest.mark.django_db
def test_the_form_never_shows_the_schemas_internal_wording(filer: tuple[Client, int]) -> None:
    client, pk = filer
    url = reverse("declarations:filing_step", args=[pk, "header"])
    emptied = client.post(url, {"declarant_name": "", "position_title": "", "action": "next"})
    html = emptied.content.decode()
    assert emptied.status_code == 200 and "This field is required." in html
    estate = {
        "real_estate-count": "1",
        "unfinished_construction-count": "0",
        "real_estate-0-owner": "declarant",
        "real_estate-0-share_percent": "150",
        "action": "next",
    }
    step = client.post(reverse("declarations:filing_step", args=[pk, "real_estate"]), estate).content.decode()
    review = client.get(reverse("declarations:filing_step", args=[pk, "review"])).content.decode()
    for page in (html, step, review):
        assert "the field &#x27;" not in page and "the field '" not in page
        assert "real_estate[0]" not in page and "declarant: " not in page and "declarant.name" not in page
    # The review names the section, the row and the field the declarant sees.
    assert "Real estate, row 1, Kind: This field is required." in review
    assert "Your full name: This field is required." in review
    assert "Real estate, row 1: Share (%) must be more than 0 and at most 100." in review


# --- co-owned property: whole value and the share owned, in the published schema ----------------------------


def test_the_published_schema_says_the_bounds_and_that_value_is_the_whole_property() -> None:
    published = load_schema()
    properties = published["properties"]
    with_share = [
        name
        for name, section in properties.items()
        if "share_percent" in section.get("items", {}).get("properties", {})
    ]
    assert set(with_share) == {
        "real_estate",
        "unfinished_construction",
        "vehicles",
        "corporate_rights",
        "beneficial_ownership",
    }
    for name in with_share:
        fields = properties[name]["items"]["properties"]
        number = fields["share_percent"]["oneOf"][0]
        assert (number["exclusiveMinimum"], number["maximum"]) == (0, 100)
        assert "default 100" in fields["share_percent"]["description"]
        if "value" in fields:
            assert "whole" in fields["value"]["description"] and "share_percent" in fields["value"]["description"]
    for name in ("real_estate", "unfinished_construction"):
        assert properties[name]["items"]["properties"]["area_m2"]["oneOf"][0]["exclusiveMinimum"] == 0
    assert published["$defs"]["money"]["properties"]["amount"]["pattern"].startswith("^(0|")  # no sign


# --- the compiled fast path answers exactly as the full validator --------------------------------------------


def _demo_declarations(demo_dir: Path) -> list[dict[str, Any]]:
    return [from_demo(json.loads(p.read_text("utf-8"))) for p in sorted((demo_dir / "declarations").glob("*.json"))]


BAD_VALUES: tuple[Any, ...] = (
    None,
    True,
    -1,
    0,
    1.5,
    150,
    1e400,
    10**40,
    "",
    "x" * 5000,
    "2023-02-30",
    "２０２３-01-01",
    "2023-1-1",
    "-5",
    "12,5",
    "1\n",
    [],
    {},
    {"not_provided": "unknown"},
    {"not_provided": "later"},
    {"amount": "-1", "currency": "EUR"},
    {"amount": "1", "currency": "EUR", "extra": 1},
)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))


def _replaced(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return copy.deepcopy(value)
    changed = copy.deepcopy(document)
    target: Any = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = copy.deepcopy(value)
    return changed


def _variants(document: dict[str, Any]) -> Iterator[Any]:
    """Every field of the document replaced by every bad value, every field removed, an unknown field added."""
    for path in _leaves(document):
        for value in BAD_VALUES:
            yield _replaced(document, path, value)
        if path and isinstance(path[-1], str):
            changed = copy.deepcopy(document)
            target: Any = changed
            for part in path[:-1]:
                target = target[part]
            del target[path[-1]]
            yield changed
            target["surprise"] = 1
            yield changed


def _small(document: dict[str, Any]) -> dict[str, Any]:
    """The document with at most two rows per section: every kind of field, fewer repeats."""
    return {key: value[:2] if isinstance(value, list) else value for key, value in document.items()}


@pytest.mark.slow
@pytest.mark.django_db
def test_the_compiled_validator_gives_the_full_validators_answer(payload: dict[str, Any], demo_dir: Path) -> None:
    """The fast path answers "valid" only where the full validator finds nothing, so the problems reported
    (always by the full validator) are the same on both paths. Where the compiled check is stricter (a
    trailing newline after an amount, which the full validator's ``$`` accepts) the full one decides."""
    documents = [payload, _small(_demo_declarations(demo_dir)[0])]
    compared, disagreements = 0, []
    for document in documents:
        assert schema._fast_valid(document)  # the valid documents take the fast path
        for variant in _variants(document):
            full = schema._schema_errors(variant, fast=False)
            fast_valid = schema._fast_valid(variant)
            if fast_valid:
                assert full == [], (variant, full)
            elif not full:
                disagreements.append(variant)
            compared += 1
    assert compared > 2000
    assert all("\\n" in json.dumps(variant) for variant in disagreements), disagreements[:3]


@pytest.mark.django_db
def test_every_demo_declaration_is_valid_on_both_paths(demo_dir: Path) -> None:
    for document in _demo_declarations(demo_dir):
        assert schema._fast_valid(document)
        assert validate_content(document) == [] == schema._schema_errors(document, fast=False)


def test_the_compiled_validator_still_checks_dates(payload: dict[str, Any]) -> None:
    for day in ("2023-02-30", "2023-13-01", "２０２３-01-01", "2023-1-1", "20230101"):
        payload["real_estate"][0]["acquired"] = day
        assert not schema._fast_valid(payload), day
        assert [e.path for e in validate_content(payload)] == ["real_estate[0].acquired"]

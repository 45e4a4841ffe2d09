"""E-filing by a declarant through the web pages: drafts per step, validation, pre-fill, submit, corrections."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from probity.core.models import AuditEntry, Person, Position, PublicBody
from probity.declarations.filing.steps import STEPS, section_fields
from probity.declarations.models import Declaration, DeclarationDraft, DeclarationVersion
from probity.declarations.services import declaration_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def declarant(make_user: Any) -> tuple[Client, Person]:
    user = make_user("declarant", username="ana")
    body = PublicBody.objects.create(name="Ministry of Roads", kind="ministry")
    person = Person.objects.create(name="Ana Test", user=user, birth_date=date(1970, 5, 1))
    Position.objects.create(body=body, title="Head of Procurement", holder=person, start_date=date(2020, 1, 1))
    client = Client()
    client.force_login(user)
    return client, person


def _start(client: Client, year: int = 2024, declaration_type: str = "annual") -> int:
    response = client.post(reverse("declarations:filing_start"), {"declaration_type": declaration_type, "year": year})
    assert response.status_code == 302, response.content[:500]
    return Declaration.objects.get(declaration_type=declaration_type, year=year).pk


def _step(client: Client, pk: int, step: str, data: dict[str, Any]) -> Any:
    return client.post(reverse("declarations:filing_step", args=[pk, step]), data)


HEADER = {
    "declarant_name": "Ana Test",
    "declarant_birth_date": "1970-05-01",
    "position_title": "Head of Procurement",
    "body_name": "Ministry of Roads",
    "reporting_currency": "EUR",
}


def _fill(client: Client, pk: int) -> None:
    assert _step(client, pk, "header", {**HEADER, "action": "next"}).status_code == 302
    family = {
        "family_members-count": "1",
        "family_members-0-id": "",
        "family_members-0-relation": "spouse",
        "family_members-0-name": "Ben Test",
        "family_members-0-birth_date_np": "family_member_refused",
        "action": "next",
    }
    assert _step(client, pk, "family", family).status_code == 302
    estate = {
        "real_estate-count": "1",
        "real_estate-0-owner": "fm-1",
        "real_estate-0-kind": "apartment",
        "real_estate-0-description": "<script>alert(1)</script> flat",
        "real_estate-0-share_percent": "50",
        "real_estate-0-value_amount": "120000.50",
        "real_estate-0-value_currency": "EUR",
        "unfinished_construction-count": "0",
        "action": "next",
    }
    assert _step(client, pk, "real_estate", estate).status_code == 302
    income = {
        "income-count": "2",
        "income-0-owner": "declarant",
        "income-0-kind": "salary",
        "income-0-source": "Ministry of Roads",
        "income-0-amount_amount": "40000",
        "income-0-amount_currency": "EUR",
        "income-1-owner": "fm-1",
        "income-1-kind": "salary",
        "income-1-amount_np": "family_member_refused",
        "action": "next",
    }
    assert _step(client, pk, "income", income).status_code == 302


def test_declarant_files_step_by_step_and_gets_an_immutable_version(declarant: tuple[Client, Person]) -> None:
    client, person = declarant
    pk = _start(client)
    draft = DeclarationDraft.objects.get(declaration_id=pk)
    # Pre-filled from what the agency knows: name and position.
    assert draft.content["declarant"]["name"] == "Ana Test"
    assert draft.content["position"] == {"title": "Head of Procurement", "body": {"name": "Ministry of Roads"}}
    _fill(client, pk)
    draft.refresh_from_db()
    assert draft.content["family_members"] == [
        {
            "id": "fm-1",
            "relation": "spouse",
            "name": "Ben Test",
            "birth_date": {"not_provided": "family_member_refused"},
        }
    ]
    assert draft.content["income"][1]["amount"] == {"not_provided": "family_member_refused"}
    review = client.get(reverse("declarations:filing_step", args=[pk, "review"]))
    assert review.status_code == 200
    assert b"<script>alert(1)</script>" not in review.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt; flat" in review.content
    done = _step(client, pk, "review", {"action": "submit"})
    assert done.status_code == 302
    version = DeclarationVersion.objects.get(declaration_id=pk)
    assert done["Location"] == reverse("declarations:filing_receipt", args=[pk, 1])
    assert version.content["real_estate"][0]["description"] == "<script>alert(1)</script> flat"
    assert version.content["real_estate"][0]["owner"] == "fm-1"
    assert version.content["real_estate"][0]["share_percent"] == 50
    assert version.submitted_by == "ana" and version.source == "web"
    assert not DeclarationDraft.objects.filter(declaration_id=pk).exists()
    assert Declaration.objects.get(pk=pk).status == Declaration.Status.SUBMITTED
    assert AuditEntry.objects.filter(details__event="declaration_submitted", object_id=str(version.pk)).exists()
    receipt = client.get(done["Location"])
    assert version.content_hash.encode() in receipt.content
    # A second click on "submit" stores nothing more.
    again = _step(client, pk, "review", {"action": "submit"})
    assert again.status_code == 302 and DeclarationVersion.objects.filter(declaration_id=pk).count() == 1


def test_a_step_shows_plain_errors_beside_the_fields_and_keeps_the_input(declarant: tuple[Client, Person]) -> None:
    client, _person = declarant
    pk = _start(client)
    data = {
        "income-count": "1",
        "income-0-owner": "declarant",
        "income-0-kind": "",
        "income-0-amount_amount": "12,5",
        "income-0-amount_currency": "EUR",
        "action": "next",
    }
    response = _step(client, pk, "income", data)
    assert response.status_code == 200  # stays on the step
    html = response.content.decode()
    assert "There is a problem" in html
    assert "This is not an amount" in html
    assert "This field is required." in html  # the kind
    assert 'aria-describedby="id_income-0-amount_amount_errors' in html
    assert 'aria-invalid="true"' in html
    assert 'value="12,5"' in html  # what was typed is kept
    draft = DeclarationDraft.objects.get(declaration_id=pk)
    assert draft.content["income"] == [{"owner": "declarant", "amount": {"amount": "12,5", "currency": "EUR"}}]
    # The whole declaration cannot be submitted while a step has problems.
    review = _step(client, pk, "review", {"action": "submit"})
    assert review.status_code == 422
    assert not DeclarationVersion.objects.filter(declaration_id=pk).exists()
    # Corrected: the step has no problems any more.
    data.update({"income-0-kind": "salary", "income-0-amount_amount": "12.5"})
    assert _step(client, pk, "income", data).status_code == 302


def test_rows_are_added_and_removed_without_javascript(declarant: tuple[Client, Person]) -> None:
    client, _person = declarant
    pk = _start(client)
    _step(client, pk, "header", {**HEADER, "action": "save"})
    response = _step(client, pk, "movable", {"valuables-count": "0", "vehicles-count": "0", "action": "add:vehicles"})
    assert response.status_code == 302 and response["Location"].endswith("#vehicles")
    draft = DeclarationDraft.objects.get(declaration_id=pk)
    assert draft.content["vehicles"] == [{"owner": "declarant", "value": {"amount": "", "currency": "EUR"}}]
    page = client.get(reverse("declarations:filing_step", args=[pk, "movable"]))
    assert b'name="vehicles-0-kind"' in page.content
    assert b"There is a problem" not in page.content  # a new row is not an error yet
    removed = _step(
        client,
        pk,
        "movable",
        {"valuables-count": "0", "vehicles-count": "1", "vehicles-0-owner": "declarant", "action": "remove:vehicles:0"},
    )
    assert removed.status_code == 302
    draft.refresh_from_db()
    assert "vehicles" not in draft.content


def test_new_declaration_is_prefilled_from_last_year_and_a_correction_shows_the_diff(
    declarant: tuple[Client, Person], payload: dict[str, Any]
) -> None:
    client, person = declarant
    payload.pop("external_id")
    declaration_submit(declarant=person, payload=payload)
    pk = _start(client, year=2024)
    draft = DeclarationDraft.objects.get(declaration_id=pk)
    assert draft.content["period"] == {"year": 2024}
    assert draft.content["real_estate"] == payload["real_estate"]
    assert draft.content["family_members"] == payload["family_members"]
    assert "income" not in draft.content  # one year's income does not carry over
    assert draft.based_on_version is not None and draft.based_on_version.declaration.year == 2023

    # A correction of the 2023 declaration starts from its latest version and shows what changes.
    old = Declaration.objects.get(year=2023)
    assert _start(client, year=2023) == old.pk
    income = {
        "income-count": "1",
        "income-0-owner": "declarant",
        "income-0-kind": "salary",
        "income-0-source": "Ministry of Roads",
        "income-0-amount_amount": "41000",
        "income-0-amount_currency": "EUR",
        "action": "save",
    }
    _step(client, old.pk, "income", income)
    review = client.get(reverse("declarations:filing_step", args=[old.pk, "review"]))
    html = review.content.decode()
    assert "What this correction changes" in html
    assert "income[0].amount.amount" in html and "41000" in html
    assert _step(client, old.pk, "review", {"action": "submit"}).status_code == 302
    assert list(old.versions.values_list("number", flat=True)) == [1, 2]


def test_a_declarant_cannot_reach_another_declarants_draft(declarant: tuple[Client, Person], make_user: Any) -> None:
    client, _person = declarant
    pk = _start(client)
    other_user = make_user("declarant", username="bob")
    Person.objects.create(name="Bob Other", user=other_user)
    other = Client()
    other.force_login(other_user)
    assert other.get(reverse("declarations:filing_step", args=[pk, "header"])).status_code == 404
    assert other.post(reverse("declarations:filing_step", args=[pk, "review"]), {"action": "submit"}).status_code == 404
    unlinked = make_user("declarant", username="nobody")
    lost = Client()
    lost.force_login(unlinked)
    assert b"not linked to a declarant" in lost.get(reverse("declarations:filing_home")).content
    assert (
        lost.post(reverse("declarations:filing_start"), {"declaration_type": "annual", "year": 2024}).status_code == 403
    )


def test_home_lists_obligations_and_declarations(declarant: tuple[Client, Person]) -> None:
    from probity.declarations.deadlines import deadline_set

    client, _person = declarant
    deadline_set(declaration_type="annual", year=2024, due_date=date(2025, 4, 1))
    page = client.get(reverse("declarations:filing_home")).content.decode()
    assert "2025-04-01" in page and "Not started" in page
    pk = _start(client)
    page = client.get(reverse("declarations:filing_home")).content.decode()
    assert "Continue the draft" in page
    assert reverse("declarations:filing_step", args=[pk, "header"]) in page


def test_step_fields_follow_the_schema() -> None:
    names = [spec.name for spec in section_fields("vehicles")]
    assert names[:2] == ["owner", "kind"]
    value = next(s for s in section_fields("vehicles") if s.name == "value")
    assert value.kind == "money" and value.required and value.not_providable
    covered = {s for step in STEPS for s in step.sections}
    from probity.declarations.schema import ROW_SECTIONS

    assert covered == {*ROW_SECTIONS, "family_members"}


def test_row_values_are_converted_and_junk_is_kept_as_typed_for_the_schema_to_report() -> None:
    from probity.declarations.forms import row_content, row_data
    from probity.declarations.schema import validate_content

    data = {
        "owner": "declarant",
        "kind": "house",
        "area_m2": "nan",
        "share_percent": "50.5",
        "acquired": "2020-02-30",
        "location_np": "unknown",
        "value_amount": "1 200.50",
        "value_currency": "EUR",
    }
    row = row_content("real_estate", data.get)
    assert row == {
        "owner": "declarant",
        "kind": "house",
        "area_m2": "nan",
        "share_percent": 50.5,
        "acquired": "2020-02-30",
        "location": {"not_provided": "unknown"},
        "value": {"amount": "1200.50", "currency": "EUR"},
    }
    assert row_data("real_estate", row)["location_np"] == "unknown"
    content = {
        "schema_version": "1.0",
        "declaration_type": "annual",
        "period": {"year": 2024},
        "declarant": {"name": "A"},
        "position": {"title": "B"},
        "real_estate": [row],
    }
    paths = {e.path for e in validate_content(content)}
    assert paths == {"real_estate[0].area_m2", "real_estate[0].acquired"}


def test_removing_a_family_member_keeps_their_rows_and_reports_the_owner(declarant: tuple[Client, Person]) -> None:
    client, _person = declarant
    pk = _start(client)
    _fill(client, pk)  # the spouse fm-1 owns the apartment and has income
    family = {"family_members-count": "1", "family_members-0-id": "fm-1", "action": "remove:family_members:0"}
    assert _step(client, pk, "family", family).status_code == 302
    page = client.get(reverse("declarations:filing_step", args=[pk, "real_estate"])).content.decode()
    assert '<option value="fm-1" selected>fm-1 (not a listed family member)</option>' in page
    review = client.get(reverse("declarations:filing_step", args=[pk, "review"])).content.decode()
    assert "Real estate, row 1, Owner: The owner is neither you nor a listed family member." in review
    assert "real_estate[0]" not in review  # the schema's paths are for imports, not for the declarant
    assert _step(client, pk, "review", {"action": "submit"}).status_code == 422

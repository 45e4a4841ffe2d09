"""Fixtures for the declarations tests: a valid 1.0 payload and the files of the session's demo country."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DemoCountry

BASE: dict[str, Any] = {
    "schema_version": "1.0",
    "external_id": "decl-test-1",
    "declaration_type": "annual",
    "period": {"year": 2023},
    "reporting_currency": "EUR",
    "submitted": "2024-03-01",
    "declarant": {"id": "person-test-1", "name": "Ana Test", "birth_date": "1970-05-01"},
    "position": {"title": "Head of Procurement", "body": {"name": "Ministry of Roads"}},
    "family_members": [{"id": "fm-1", "relation": "spouse", "name": "Ben Test"}],
    "real_estate": [
        {
            "owner": "declarant",
            "kind": "apartment",
            "description": "Home",
            "share_percent": 100,
            "acquired": "2001-04-02",
            "value": {"amount": "120000.00", "currency": "EUR"},
        },
    ],
    "vehicles": [
        {
            "owner": "fm-1",
            "kind": "car",
            "make_model": "Skoda Octavia",
            "value": {"not_provided": "family_member_refused"},
        },
    ],
    "income": [
        {
            "owner": "declarant",
            "kind": "salary",
            "source": "Ministry of Roads",
            "amount": {"amount": "40000", "currency": "EUR"},
        },
    ],
    "cash_and_accounts": [
        {
            "owner": "declarant",
            "kind": "bank_account",
            "institution": "Bank",
            "amount": {"amount": "10000", "currency": "EUR"},
        },
    ],
    "liabilities": [],
    "expenditures": [],
}


@pytest.fixture
def payload() -> dict[str, Any]:
    return copy.deepcopy(BASE)


@pytest.fixture(scope="session")
def demo_dir(demo_country: DemoCountry) -> Path:
    """The demo country's files (declarations/*.json in the 0.1 shape, ground_truth.json); read only."""
    return demo_country.out

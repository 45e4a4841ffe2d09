"""Fixtures for the demo country tests: the session's demo country (``tests/conftest.py``) under the names these
tests use."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from probity.demo.generator import Country
from tests.conftest import DEMO_SCALE as SCALE
from tests.conftest import DEMO_SEED as SEED
from tests.conftest import DemoCountry as Generated

__all__ = ["SCALE", "SEED", "Generated"]


@pytest.fixture(scope="session")
def generated(demo_country: Generated) -> Generated:
    """The demo country for a fixed seed at scale 0.05 and its files, written once per session."""
    return demo_country


@pytest.fixture(scope="session")
def small_country(demo_country: Generated) -> Country:
    return demo_country.country


@pytest.fixture(scope="session")
def larger_country(demo_countries: Callable[[int, float], Generated]) -> Country:
    """Seed 11 at scale 0.3: enough people for the noise rates to hold within a percent."""
    return demo_countries(11, 0.3).country

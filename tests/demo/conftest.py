"""Fixtures for the demo country tests: one small generated country and its files, shared by the session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from probity.demo.generator import Country, generate_country
from probity.demo.writers import Manifest, write_country

SEED = 20260
SCALE = 0.05


@dataclass
class Generated:
    country: Country
    manifest: Manifest
    out: Path

    def jsonl(self, relative: str) -> Iterator[dict[str, Any]]:
        with (self.out / relative).open(encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)

    def json(self, relative: str) -> Any:
        return json.loads((self.out / relative).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The demo country for a fixed seed at scale 0.05, written once to a temporary folder."""
    out = tmp_path_factory.mktemp("demo")
    country = generate_country(SEED, SCALE)
    return Generated(country, write_country(country, out), out)


@pytest.fixture
def small_country() -> Country:
    return generate_country(SEED, SCALE)

"""The demo country generator: deterministic, plausible, multi-script, with every scheme planted."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from probity.demo.generator import (
    DECLARATION_YEARS,
    DIRECT_AWARD_THRESHOLD,
    OCID_PREFIX,
    PERIOD_START,
    SCHEME_TYPES,
    Country,
    generate_country,
    net_worth,
)
from probity.demo.writers import write_country
from tests.conftest import DemoCountry

from .conftest import SCALE, SEED


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write_country(generate_country(SEED, SCALE), first)
    write_country(generate_country(SEED, SCALE), second)
    first_files, second_files = _files(first), _files(second)
    assert first_files.keys() == second_files.keys()
    assert "manifest.json" in first_files
    for name, content in first_files.items():
        assert content == second_files[name], f"{name} differs between two runs with the same seed"


def test_same_seed_gives_identical_files_in_separate_processes(tmp_path: Path) -> None:
    """Nothing may depend on set ordering, which changes with Python's hash seed between processes."""
    script = (
        "import sys; from pathlib import Path; from probity.demo.generator import generate_country; "
        "from probity.demo.writers import write_country; "
        f"write_country(generate_country({SEED}, {SCALE}), Path(sys.argv[1]))"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / hash_seed)], check=True, env=env)
    assert _files(tmp_path / "1") == _files(tmp_path / "2")


def test_different_seed_gives_different_files(tmp_path: Path) -> None:
    write_country(generate_country(SEED, SCALE), tmp_path / "a")
    write_country(generate_country(SEED + 1, SCALE), tmp_path / "b")
    for name in (
        "ocds/releases.jsonl",
        "bods/statements.json",
        "ftm/entities.ftm.jsonl",
        "ground_truth.json",
    ):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes(), name


def test_size_grows_roughly_linearly_with_scale() -> None:
    small, large = generate_country(5, 0.2).counts(), generate_country(5, 0.8).counts()
    for kind in ("processes", "companies", "officials", "bodies"):
        assert 3.0 <= large[kind] / small[kind] <= 5.0, (kind, small[kind], large[kind])


def test_scale_one_is_about_the_documented_size(demo_countries: Callable[[int, float], DemoCountry]) -> None:
    counts = demo_countries(1, 1.0).country.counts()
    assert counts["bodies"] == 25
    assert counts["officials"] == 200
    assert 550 <= counts["companies"] <= 650
    assert counts["processes"] == 2000


@pytest.mark.parametrize("scale", [0, -1, 1001])
def test_a_scale_out_of_range_is_refused(scale: float) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_country(1, scale)


def test_bodies_form_one_hierarchy_under_the_government(small_country: Country) -> None:
    ids = {b.id for b in small_country.bodies}
    roots = [b for b in small_country.bodies if b.parent_id is None]
    assert len(roots) == 1
    for body in small_country.bodies:
        seen = {body.id}
        parent = body.parent_id
        while parent is not None:
            assert parent in ids and parent not in seen
            seen.add(parent)
            parent = small_country.body(parent).parent_id


def test_every_body_has_a_head_a_deputy_and_a_head_of_procurement(small_country: Country) -> None:
    ranks: dict[str, set[str]] = {}
    for position in small_country.positions:
        ranks.setdefault(position.body_id, set()).add(position.rank)
        assert position.is_pep == (position.rank in ("head", "deputy"))
    for body in small_country.bodies:
        assert {"head", "deputy", "procurement", "finance"} <= ranks[body.id], body.name


def test_officials_have_spouses_children_and_parents(small_country: Country) -> None:
    kinds = Counter(t.kind for t in small_country.family)
    assert kinds["spouse"] and kinds["child"] and kinds["parent"]
    holders = {p.holder_id for p in small_country.positions}
    assert {t.person_id for t in small_country.family} <= holders


def test_names_come_in_latin_cyrillic_and_chinese_script(small_country: Country) -> None:
    scripts = Counter(name.script for person in small_country.people for name in person.names)
    assert {"Latn", "Cyrl", "Hans"} <= set(scripts)
    trilingual = [p for p in small_country.people if {n.script for n in p.names} == {"Latn", "Cyrl", "Hans"}]
    assert trilingual, "some people are known under Latin, Cyrillic and Chinese names"
    for person in small_country.people:
        assert person.names[0].script == "Latn" and person.names[0].kind == "legal"
    other_script = [p for p in small_country.people if p.registry_names[0].script != "Latn"]
    assert other_script, "the company register records some people in another script than the civil register"
    company_scripts = {n.script for c in small_country.companies for n in c.names}
    assert {"Latn", "Cyrl", "Hans"} <= company_scripts


def test_companies_have_founding_dates_addresses_and_unique_registry_numbers(small_country: Country) -> None:
    numbers = [c.registry_number for c in small_country.companies]
    assert len(numbers) == len(set(numbers))
    for company in small_country.companies:
        assert 1995 <= company.founded.year <= 2024
        assert len(company.registry_number) == 8 and company.tax_id.startswith("XD")
        assert small_country.address(company.address_id).street


def test_ownership_chains_run_from_people_through_holdings(small_country: Country) -> None:
    holdings = {c.id for c in small_country.companies if c.kind == "holding"}
    owned_by_holding = [o for o in small_country.ownerships if o.owner_id in holdings]
    assert owned_by_holding
    holding_owners = {o.company_id: o.owner_id for o in small_country.ownerships if o.company_id in holdings}
    assert all(owner.startswith("person-") for owner in holding_owners.values())
    assert any(o.nominee_for for o in small_country.ownerships)
    shares: dict[str, float] = {}
    for ownership in small_country.ownerships:
        shares[ownership.company_id] = shares.get(ownership.company_id, 0) + float(ownership.share)
    assert all(abs(total - 100) < 0.01 for total in shares.values())


def test_processes_use_every_method_and_bids_come_before_awards(small_country: Country) -> None:
    methods = Counter(p.method for p in small_country.processes)
    assert set(methods) == {"open", "selective", "limited", "direct"}
    # Two planted schemes break these rules on purpose: that is what their indicators catch.
    planted = {s.type: set(s.processes) for s in small_country.schemes}
    backdated, phantom = planted["BACKDATED-CONTRACT"], planted["PHANTOM-WINNER"]
    for process in small_country.processes:
        assert process.ocid.startswith(OCID_PREFIX)
        assert PERIOD_START <= process.tender_start <= process.tender_end < process.award_date
        if process.id in backdated:
            assert process.tender_end < process.contract_signed < process.award_date < process.contract_end
        else:
            assert process.award_date < process.contract_signed < process.contract_end
        assert (process.supplier_id in process.tenderer_ids) != (process.id in phantom)
        company = small_country.company(process.supplier_id)
        assert company.founded < process.tender_start
        if process.method == "direct":
            assert process.award_value < DIRECT_AWARD_THRESHOLD
            assert len(process.tenderer_ids) == 1


def test_every_scheme_type_is_planted(small_country: Country) -> None:
    planted = Counter(s.type for s in small_country.schemes)
    assert set(planted) == set(SCHEME_TYPES)
    variants = {(s.type, s.variant) for s in small_country.schemes}
    assert {("CONFLICT-FAMILY-SUPPLIER", "holding"), ("CONFLICT-FAMILY-SUPPLIER", "nominee")} <= variants
    assert {("BID-RIGGING", "shared-address"), ("BID-RIGGING", "shared-director")} <= variants
    for scheme in small_country.schemes:
        assert scheme.description and scheme.title


def test_only_planted_officials_gain_more_wealth_than_they_earn(small_country: Country) -> None:
    planted = {d for s in small_country.schemes if s.type == "UNEXPLAINED-WEALTH" for d in s.declarations}
    by_id = {d.id: d for d in small_country.declarations}
    first, second = DECLARATION_YEARS
    flagged = set()
    for declaration in small_country.declarations:
        if declaration.year != second:
            continue
        before = by_id[declaration.id.replace(str(second), str(first))]
        income = sum(row.value for row in declaration.sections["income"])
        if net_worth(declaration) - net_worth(before) > income:
            flagged.add(declaration.id)
    assert flagged == {d for d in planted if d.endswith(str(second))}


def test_split_purchases_stay_just_under_the_threshold(small_country: Country) -> None:
    processes = {p.id: p for p in small_country.processes}
    for scheme in small_country.schemes:
        if scheme.type == "SPLIT-PURCHASE":
            parts = [processes[pid] for pid in scheme.processes]
            assert len(parts) >= 3
            assert all(DIRECT_AWARD_THRESHOLD * 9 / 10 < p.award_value < DIRECT_AWARD_THRESHOLD for p in parts)
            assert (max(p.tender_start for p in parts) - min(p.tender_start for p in parts)).days <= 30

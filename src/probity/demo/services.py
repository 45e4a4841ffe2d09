"""Write operations of the demo app: generate the demo country's files, and load it into the core tables.

``demo_load`` is idempotent: every row it writes carries a ``source_key`` (``demo:<seed>:<scale>:<id>``)
or is matched on its natural key, so loading the same country twice creates nothing the second time.
It bulk-inserts for speed, which skips the per-row audit signals; instead it writes one summary entry
(``demo.country``) to the audit log for each load that created anything.

``demo_ingest`` reads the files ``demo_generate`` wrote into the modules, through each module's own
services (the code behind ``probity ownership ingest``, ``procurement debarment import``,
``procurement ingest`` and ``detect``, ``entities import-ftm``, ``sync-core`` and ``link``, and
``declarations import``). Each step runs on its own: one that fails is reported and the others go on.
``demo_declarations_import`` imports the declaration files with their ids mapped to the core tables'
source keys, so each declaration belongs to the core person, body and position ``demo_load`` wrote.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

from django.db import transaction

from probity.core.audit import audit_actor, audit_record
from probity.core.models import (
    AuditEntry,
    FamilyRelation,
    Identifier,
    Organisation,
    Person,
    PersonName,
    Position,
    PublicBody,
)
from probity.declarations.selectors import declarations_matching
from probity.declarations.services import ImportReport, declaration_import, default_profile, publish
from probity.demo.generator import COUNTRY_CODE, Country, generate_country, source_key_prefix
from probity.demo.noise import Noise
from probity.demo.writers import DECLARATIONS_DIR, FILES, Manifest, Progress, write_country
from probity.entities.services import entities_link, entities_sync_core, ftm_import
from probity.ownership.services import ownership_ingest
from probity.procurement.selectors import TABLES, compiled_releases_write, read_releases
from probity.procurement.services import (
    coverage_compute,
    coverage_store,
    debarment_import_csv,
    procurement_detect,
    procurement_ingest,
)
from probity.warehouse.services import warehouse_connection

AUDIT_ACTOR = "system:demo"
BATCH_SIZE = 500

LOAD_STAGES = (
    "public_bodies",
    "people",
    "organisations",
    "positions",
    "family_relations",
    "alternative_names",
    "identifiers",
)


def demo_generate(
    *, seed: int, scale: float, out_dir: Path, progress: Progress | None = None, noise: bool = True
) -> Manifest:
    """Generates the demo country for ``seed`` and ``scale`` and writes all its files under ``out_dir``.

    ``noise=False`` writes the country without the noise layer (``probity.demo.noise``): every name as
    the civil register has it, no nominee layers, circular holdings or look-alikes.
    """
    if progress is not None:
        progress("generating", 0, 1)
    country = generate_country(seed, scale)
    if not noise:
        country.__dict__["noise"] = Noise()
    if progress is not None:
        progress("generating", 1, 1)
    return write_country(country, Path(out_dir), progress)


def demo_load(*, country: Country, progress: Progress | None = None) -> dict[str, int]:
    """Writes the country's bodies, positions, people, families, companies and identifiers to the core tables.

    Returns how many rows of each kind were created (all zero when the country was already loaded).
    """
    with audit_actor(AUDIT_ACTOR), transaction.atomic():
        created = _Loader(country, progress).run()
        if any(created.values()):
            audit_record(
                action=AuditEntry.Action.CREATE,
                object_type="demo.country",
                object_id=country.key,
                object_label=f"Demo country (seed {country.seed}, scale {country.scale:g})",
                details={
                    "seed": country.seed,
                    "scale": country.scale,
                    "generator_version": country.generator_version,
                    "created": created,
                },
            )
    return created


class _Loader:
    def __init__(self, country: Country, progress: Progress | None) -> None:
        self.country = country
        self.progress = progress
        self.prefix = country.source_key("")
        self.created: dict[str, int] = dict.fromkeys(LOAD_STAGES, 0)

    def report(self, stage: str) -> None:
        if self.progress is not None:
            done = LOAD_STAGES.index(stage) + 1
            self.progress(f"loading {stage.replace('_', ' ')}", done, len(LOAD_STAGES))

    def key(self, entity_id: str) -> str:
        return self.country.source_key(entity_id)

    def ids(self, model: Any) -> dict[str, int]:
        rows = model.objects.filter(source_key__startswith=self.prefix).values_list("source_key", "id")
        return dict(rows)

    def run(self) -> dict[str, int]:
        bodies = self.load_bodies()
        self.report("public_bodies")
        people = self.load_people()
        self.report("people")
        organisations = self.load_organisations()
        self.report("organisations")
        self.load_positions(bodies, people)
        self.report("positions")
        self.load_family(people)
        self.report("family_relations")
        self.load_names(people, organisations)
        self.report("alternative_names")
        self.load_identifiers(people, organisations)
        self.report("identifiers")
        return dict(self.created)

    def load_bodies(self) -> dict[str, int]:
        ids = self.ids(PublicBody)
        depth: dict[str, int] = {}
        for body in self.country.bodies:  # parents always come before their children
            depth[body.id] = depth[body.parent_id] + 1 if body.parent_id else 0
        for level in sorted(set(depth.values())):
            missing = [
                PublicBody(
                    name=body.name,
                    kind=body.kind,
                    parent_id=ids[self.key(body.parent_id)] if body.parent_id else None,
                    country=COUNTRY_CODE,
                    source_key=self.key(body.id),
                )
                for body in self.country.bodies
                if depth[body.id] == level and self.key(body.id) not in ids
            ]
            if missing:
                PublicBody.objects.bulk_create(missing, batch_size=BATCH_SIZE)
                self.created["public_bodies"] += len(missing)
                ids = self.ids(PublicBody)
        return ids

    def load_people(self) -> dict[str, int]:
        ids = self.ids(Person)
        missing = [
            Person(
                name=person.name,
                birth_date=person.birth_date,
                gender=person.gender,
                nationality=COUNTRY_CODE,
                source_key=self.key(person.id),
            )
            for person in self.country.people
            if self.key(person.id) not in ids
        ]
        if missing:
            Person.objects.bulk_create(missing, batch_size=BATCH_SIZE)
            self.created["people"] += len(missing)
            ids = self.ids(Person)
        return ids

    def load_organisations(self) -> dict[str, int]:
        ids = self.ids(Organisation)
        missing = [
            Organisation(
                name=company.name,
                kind=Organisation.Kind.COMPANY,
                jurisdiction=COUNTRY_CODE,
                founded=company.founded,
                address=self.country.address(company.address_id).full,
                source_key=self.key(company.id),
            )
            for company in self.country.companies
            if self.key(company.id) not in ids
        ]
        if missing:
            Organisation.objects.bulk_create(missing, batch_size=BATCH_SIZE)
            self.created["organisations"] += len(missing)
            ids = self.ids(Organisation)
        return ids

    def load_positions(self, bodies: dict[str, int], people: dict[str, int]) -> None:
        existing = set(self.ids(Position))
        missing = [
            Position(
                body_id=bodies[self.key(position.body_id)],
                title=position.title,
                holder_id=people[self.key(position.holder_id)],
                start_date=position.start_date,
                is_pep=position.is_pep,
                source_key=self.key(position.id),
            )
            for position in self.country.positions
            if self.key(position.id) not in existing
        ]
        if missing:
            Position.objects.bulk_create(missing, batch_size=BATCH_SIZE)
            self.created["positions"] += len(missing)

    def load_family(self, people: dict[str, int]) -> None:
        existing = set(
            FamilyRelation.objects.filter(person__source_key__startswith=self.prefix).values_list(
                "person_id", "relative_id", "kind"
            )
        )
        missing = []
        for tie in self.country.family:
            row = (people[self.key(tie.person_id)], people[self.key(tie.relative_id)], tie.kind)
            if row not in existing:
                existing.add(row)
                missing.append(FamilyRelation(person_id=row[0], relative_id=row[1], kind=row[2]))
        if missing:
            FamilyRelation.objects.bulk_create(missing, batch_size=BATCH_SIZE)
            self.created["family_relations"] += len(missing)

    def load_names(self, people: dict[str, int], organisations: dict[str, int]) -> None:
        existing: set[tuple[int | None, int | None, str, str]] = set()
        for field in ("person", "organisation"):
            rows = PersonName.objects.filter(**{f"{field}__source_key__startswith": self.prefix}).values_list(
                "person_id", "organisation_id", "name", "script"
            )
            existing.update(rows)
        missing = []
        wanted: list[tuple[int | None, int | None, str, str]] = []
        for person in self.country.people:
            wanted += [(people[self.key(person.id)], None, n.text, n.script) for n in person.names[1:]]
        for company in self.country.companies:
            wanted += [(None, organisations[self.key(company.id)], n.text, n.script) for n in company.names[1:]]
        for row in wanted:
            if row not in existing:
                existing.add(row)
                missing.append(PersonName(person_id=row[0], organisation_id=row[1], name=row[2], script=row[3]))
        if missing:
            PersonName.objects.bulk_create(missing, batch_size=BATCH_SIZE)
            self.created["alternative_names"] += len(missing)

    def load_identifiers(self, people: dict[str, int], organisations: dict[str, int]) -> None:
        existing: set[tuple[int | None, int | None, str, str, str]] = set()
        for field in ("person", "organisation"):
            rows = Identifier.objects.filter(**{f"{field}__source_key__startswith": self.prefix}).values_list(
                "person_id", "organisation_id", "scheme", "issuer", "value_hash"
            )
            existing.update(rows)
        wanted: list[tuple[int | None, int | None, str, str]] = []
        for person in self.country.people:
            wanted.append((people[self.key(person.id)], None, Identifier.Scheme.NATIONAL_ID, person.national_id))
        for company in self.country.companies:
            org_id = organisations[self.key(company.id)]
            wanted.append((None, org_id, Identifier.Scheme.COMPANY_REGISTER, company.registry_number))
            wanted.append((None, org_id, Identifier.Scheme.TAX_ID, company.tax_id))
        missing = []
        for person_id, organisation_id, scheme, value in wanted:
            # bulk_create skips Identifier.save(), so its invariants are applied here: every value is
            # hashed, and a national ID number is never stored in clear.
            value_hash = Identifier.hash_value(scheme, COUNTRY_CODE, value)
            row = (person_id, organisation_id, str(scheme), COUNTRY_CODE, value_hash)
            if row in existing:
                continue
            existing.add(row)
            missing.append(
                Identifier(
                    person_id=person_id,
                    organisation_id=organisation_id,
                    scheme=scheme,
                    issuer=COUNTRY_CODE,
                    value="" if scheme in Identifier.HASHED_SCHEMES else value,
                    value_hash=value_hash,
                )
            )
        if missing:
            Identifier.objects.bulk_create(missing, batch_size=BATCH_SIZE)
            self.created["identifiers"] += len(missing)


# --- reading the demo files into the modules ----------------------------------------------------

DEMO_DATASET = "demo"  # the ownership register's and the entity lists' dataset name for the demo files
PUBLIC_PREFIX = "demo-"  # how the files spell a generator id: demo-person-418230 (writers.public_id)


def demo_source_prefix(*, seed: int, scale: float) -> str:
    """The start of the core tables' source keys for a demo country (``generator.source_key_prefix``)."""
    return source_key_prefix(seed, scale)


def _manifest(demo_dir: Path) -> dict[str, Any]:
    path = Path(demo_dir) / FILES["manifest"]
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run `probity demo generate` first")
    return json.loads(path.read_text(encoding="utf-8"))


def _core_key(value: Any, prefix: str) -> Any:
    if isinstance(value, str) and value.startswith(PUBLIC_PREFIX):
        return prefix + value[len(PUBLIC_PREFIX) :]
    return value


def declaration_with_core_ids(*, document: dict[str, Any], prefix: str) -> dict[str, Any]:
    """A demo declaration (probity-declaration/0.1) whose people, position and body ids are core source keys.

    The files name people ``demo-person-418230``; the core tables know the same person as
    ``demo:<seed>:<scale>:person-418230``. The declarant, the family, the owners of every row, the
    position and its body are mapped; the family ids and the owners stay consistent with each other.
    """
    document = json.loads(json.dumps(document))  # a deep copy
    for part in ("declarant", "position"):
        if isinstance(document.get(part), dict):
            document[part]["id"] = _core_key(document[part].get("id"), prefix)
    position = document.get("position")
    if isinstance(position, dict) and isinstance(position.get("body"), dict):
        position["body"]["id"] = _core_key(position["body"].get("id"), prefix)
    for member in document.get("family") or []:
        if isinstance(member, dict):
            member["id"] = _core_key(member.get("id"), prefix)
    for rows in document.values():
        if not isinstance(rows, list):
            continue
        for row in rows:
            if isinstance(row, dict) and isinstance(row.get("owner"), dict):
                row["owner"]["id"] = _core_key(row["owner"].get("id"), prefix)
    return document


def demo_declarations_import(*, demo_dir: Path, progress: Callable[[int], object] | None = None) -> ImportReport:
    """Imports the demo's declaration files, linked to the core people, bodies and positions.

    The files are rewritten with core source keys (``declaration_with_core_ids``, seed and scale from
    ``manifest.json``) into a temporary folder under the same names and imported from there by
    ``declarations.services.declaration_import``, so re-importing changes nothing. Returns its report.
    """
    demo_dir = Path(demo_dir)
    manifest = _manifest(demo_dir)
    prefix = demo_source_prefix(seed=int(manifest["seed"]), scale=float(manifest["scale"]))
    with tempfile.TemporaryDirectory(prefix="probity-demo-declarations-") as temporary:
        folder = Path(temporary)
        for path in sorted((demo_dir / DECLARATIONS_DIR).glob("*.json")):
            document = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(document, dict):
                document = declaration_with_core_ids(document=document, prefix=prefix)
            (folder / path.name).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        with audit_actor(AUDIT_ACTOR):
            return declaration_import(path=folder, progress=progress)


@dataclass
class IngestStep:
    """One step of ``demo_ingest``: what it wrote (``counts``), how long it took, or why it failed."""

    name: str
    counts: dict[str, int] = dataclass_field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""
    problems: int = 0  # records rejected by the step (it still succeeded for the others)

    @property
    def ok(self) -> bool:
        return not self.error


def _ownership(demo_dir: Path) -> tuple[dict[str, int], int]:
    batch = ownership_ingest(path=demo_dir / FILES["bods"], dataset=DEMO_DATASET).batch
    counts = {
        "statements read": batch.statements_read,
        "stored": batch.statements_stored,
        "already stored": batch.statements_unchanged,
        "rejected": batch.statements_rejected,
    }
    return counts, batch.statements_rejected


def _debarments(demo_dir: Path) -> tuple[dict[str, int], int]:
    # The CSV only: the FtM file holds the same list as Sanction entities (another key, so not both).
    report = debarment_import_csv(path=demo_dir / FILES["debarments"], source_name=DEMO_DATASET)
    counts = {"new": report.created, "changed": report.updated, "unchanged": report.unchanged}
    return {**counts, "rejected": len(report.errors)}, len(report.errors)


def _procurement(demo_dir: Path) -> tuple[dict[str, int], int]:
    ingested = procurement_ingest(paths=[demo_dir / FILES["ocds"]])
    with tempfile.TemporaryDirectory(prefix="probity-demo-ocds-") as temporary:
        compiled = Path(temporary) / "compiled.jsonl"
        compiled_releases_write(path=compiled)  # as `probity procurement export-compiled`
        # As `probity procurement detect FILE`: every procurement_* table (recorded in the catalogue),
        # every indicator (Cardinal's and the others), the matrix, the risk scores per process, buyer
        # and supplier, and the findings.
        detected = procurement_detect(releases=read_releases(compiled))
    with warehouse_connection() as warehouse:  # the Coverage page, as `probity procurement coverage`
        report, _indicators = coverage_compute(warehouse=warehouse)
        coverage_store(warehouse=warehouse, report=report)
    flags = sum(outcomes.get("flag", 0) for outcomes in detected.indicators.values())
    counts = {
        "releases accepted": ingested.accepted,
        "rejected": ingested.rejected,
        "processes": ingested.processes,
        "tables": len(TABLES),
        "indicators": len(detected.indicators),
        "flags": flags,
    }
    return counts, ingested.rejected


def _entities(demo_dir: Path) -> tuple[dict[str, int], int]:
    # One transaction each: the services write 500 entities at a time, each batch in a savepoint.
    with transaction.atomic():
        imported = ftm_import(source=demo_dir / FILES["ftm"], dataset=DEMO_DATASET)
    with transaction.atomic():
        core = entities_sync_core()
    pairs = 0
    for schema in ("Person", "Company"):
        result = entities_link(schema=schema, run_label=f"demo-{schema.lower()}")
        pairs += result["created"] + result["updated"]
    counts = {
        "list entities": imported.created + imported.updated + imported.unchanged,
        "rejected": imported.rejected,
        "core entities": core.created + core.updated + core.unchanged,
        "candidate pairs": pairs,
    }
    return counts, imported.rejected


def _declarations(demo_dir: Path) -> tuple[dict[str, int], int]:
    report = demo_declarations_import(demo_dir=demo_dir)
    # On the public register too, redacted with the default profile (as `probity declarations publish`).
    manifest = _manifest(demo_dir)
    prefix = demo_source_prefix(seed=int(manifest["seed"]), scale=float(manifest["scale"]))
    declarations = declarations_matching().filter(declarant__source_key__startswith=prefix)
    with transaction.atomic():  # one disk sync instead of one per declaration
        published = publish(declarations=declarations.iterator(), profile=default_profile())
    counts = {
        "stored": report.created,
        "unchanged": report.unchanged,
        "rejected": len(report.errors),
        "published": published.published + published.replaced + published.unchanged,
    }
    return counts, len(report.errors) + len(published.skipped)


INGEST_STEPS: dict[str, Callable[[Path], tuple[dict[str, int], int]]] = {
    "ownership": _ownership,
    "debarments": _debarments,  # before procurement: the debarment indicator reads the register
    "procurement": _procurement,
    "declarations": _declarations,  # before entities: people's residences for entity resolution come from declarations
    "entities": _entities,
}


def demo_ingest(
    *, demo_dir: Path, steps: list[str] | None = None, on_step: Callable[[IngestStep], object] | None = None
) -> list[IngestStep]:
    """Reads the demo files under ``demo_dir`` into the ownership, procurement, entities and declarations apps.

    Run ``demo_load`` with the same seed and scale first, so ownership parties, debarments, entities and
    declarations link to the core tables. Every step runs even if an earlier one failed (its error is
    in its ``IngestStep``); ``on_step`` is called after each. Importing the same files again adds nothing.
    """
    demo_dir = Path(demo_dir)
    results = []
    for name in steps or list(INGEST_STEPS):
        step = IngestStep(name)
        clock = time.perf_counter()
        try:
            with audit_actor(AUDIT_ACTOR):
                step.counts, step.problems = INGEST_STEPS[name](demo_dir)
        except Exception as exc:  # noqa: BLE001  (reported plainly; the next step still runs)
            step.error = f"{type(exc).__name__}: {exc}"
        step.seconds = time.perf_counter() - clock
        results.append(step)
        if on_step is not None:
            on_step(step)
    return results

"""Write operations of the demo app: generate the demo country's files, and load it into the core tables.

``demo_load`` is idempotent: every row it writes carries a ``source_key`` (``demo:<seed>:<scale>:<id>``)
or is matched on its natural key, so loading the same country twice creates nothing the second time.
It bulk-inserts for speed, which skips the per-row audit signals; instead it writes one summary entry
(``demo.country``) to the audit log for each load that created anything.
"""

from __future__ import annotations

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
from probity.demo.generator import COUNTRY_CODE, Country, generate_country
from probity.demo.noise import Noise
from probity.demo.writers import Manifest, Progress, write_country

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
            wanted += [
                (None, organisations[self.key(company.id)], n.text, n.script) for n in company.names[1:]
            ]
        for row in wanted:
            if row not in existing:
                existing.add(row)
                missing.append(
                    PersonName(person_id=row[0], organisation_id=row[1], name=row[2], script=row[3])
                )
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
            wanted.append(
                (people[self.key(person.id)], None, Identifier.Scheme.NATIONAL_ID, person.national_id)
            )
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

"""Realistic noise for the demo country: misspelt, transliterated and reordered names, missing birth dates,
nominee layers, circular holdings and look-alike people, all with a ground truth.

``make_noise(country)`` draws everything from its own random stream, ``Random(f"{seed}:noise")``, after
the country is built, so the country itself (its people, companies, contracting processes and planted
schemes) is exactly what it was without noise. Noise changes only how people and companies are
*written* in the published files, and adds new records (shell companies, nominees, look-alikes) that
take part in no contracting process. People and companies involved in a planted scheme are always
written as the generator made them, so every planted scheme is still found the same way.

The rates (``PERSON_NOISE``, ``COMPANY_NOISE``, …) are fractions of the eligible records, and the number
of records given each kind of noise is that fraction rounded, drawn without replacement: the written
files hold exactly the documented share.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from probity.demo import names as words
from probity.demo.records import Address, Company, Directorship, Name, Ownership, Person, bods_people

if TYPE_CHECKING:
    from probity.demo.generator import Country

# Noise on how the company register (BODS person statements) writes a person: at most one of these
# per person, as a share of the eligible register persons.
PERSON_NOISE: dict[str, float] = {
    "typo": 0.06,  # one edit: a letter replaced, dropped, doubled or swapped with its neighbour
    "transliteration": 0.06,  # the name in another script (Latin ↔ Cyrillic, pinyin ↔ Chinese characters)
    "reordered": 0.06,  # name parts in the other order (family name first for Western names)
    "initials": 0.04,  # the given name reduced to its initial
}
MISSING_BIRTH_DATE = 0.08  # register persons whose statement has no birth date (independent of the above)
# Noise on how declarants write their relatives' names (family list and asset owners).
DECLARATION_NOISE: dict[str, float] = {"typo": 0.05, "reordered": 0.05}
# Noise on FollowTheMoney Person entities (the name is misspelt; the birth date is left out).
FTM_NOISE: dict[str, float] = {"typo": 0.03, "missing_birth_date": 0.05}
# Noise on the name of a company in its BODS entity statement.
COMPANY_NOISE: dict[str, float] = {
    "typo": 0.04,
    "transliteration": 0.04,  # the Cyrillic or Chinese registered name, the Latin one as an alternate name
    "legal_form": 0.04,  # the legal form spelled out ("Limited Liability Company" for "LLC")
}
NOMINEE_LAYERS = 0.01  # new shell companies held by a nominee for a real owner, per company in the register
CIRCULAR_PAIRS = 0.005  # new pairs of holding companies that own part of each other, per company
HARD_NEGATIVES = 0.02  # new people named like someone in the declarations, per person
# Noise on the residence address a BODS person statement gives: at most one of these per person, as a
# share of the eligible register persons (drawn last, so the noise above is what it was without it).
ADDRESS_NOISE: dict[str, float] = {
    "missing_address": 0.10,  # the statement gives no address
    "moved": 0.06,  # a previous address: the person has moved since the register was updated (LOCAL_MOVES)
    "abbreviated_street": 0.08,  # "Station Rd." for "Station Road", in capitals or not
    "missing_house_number": 0.05,  # the street without its number
}
LOCAL_MOVES = 0.7  # the share of moves within the same city: most people move a short distance
STREET_ABBREVIATIONS = {
    "Avenue": "Ave.",
    "Road": "Rd.",
    "Street": "St.",
    "Square": "Sq.",
    "Lane": "Ln.",
    "Boulevard": "Blvd.",
    "Drive": "Dr.",
    "Alley": "Aly.",
    "Embankment": "Emb.",
}

LEGAL_FORMS = {
    "LLC": "Limited Liability Company",
    "JSC": "Joint Stock Company",
    "Ltd": "Limited",
    "Co., Ltd.": "Company Limited",
}
NOISE_LAYER = "noise"  # the ``source`` of every extra record, in the ground truth


@dataclass
class Noise:
    """What ``make_noise`` decided: name and date changes per source, and the extra records."""

    register_names: dict[str, list[Name]] = field(default_factory=dict)  # person id → BODS names
    register_without_birth_date: set[str] = field(default_factory=set)  # person ids
    declared_names: dict[str, str] = field(default_factory=dict)  # person id → name in declarations
    company_names: dict[str, list[Name]] = field(default_factory=dict)  # company id → BODS name, alternates
    ftm_names: dict[str, str] = field(default_factory=dict)  # person id → FtM name
    ftm_without_birth_date: set[str] = field(default_factory=set)  # person ids
    # person id → the residence address the register gives instead of the true one (None: no address)
    register_addresses: dict[str, Address | None] = field(default_factory=dict)
    applied: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # source → kind → ids
    addresses: list[Address] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    companies: list[Company] = field(default_factory=list)
    ownerships: list[Ownership] = field(default_factory=list)
    directorships: list[Directorship] = field(default_factory=list)
    nominee_layers: list[str] = field(default_factory=list)  # ownership ids
    circular_holdings: list[tuple[str, str]] = field(default_factory=list)  # company id pairs
    hard_negatives: list[dict[str, Any]] = field(default_factory=list)

    def kinds_of(self, source: str, entity_id: str) -> list[str]:
        return sorted(kind for kind, ids in self.applied.get(source, {}).items() if entity_id in ids)

    def extended(self, country: Country) -> Country:
        """The country with the extra records added: what the register and FtM files describe."""
        full = replace(
            country,
            addresses=sorted([*country.addresses, *self.addresses], key=lambda a: a.id),
            people=sorted([*country.people, *self.people], key=lambda p: p.id),
            companies=sorted([*country.companies, *self.companies], key=lambda c: c.id),
            ownerships=sorted([*country.ownerships, *self.ownerships], key=lambda o: o.id),
            directorships=sorted([*country.directorships, *self.directorships], key=lambda d: d.id),
        )
        full.__dict__["noise"] = self  # the extended country's noise is this one, not a new draw
        full.__dict__["noise_extended"] = True
        return full

    def counts(self) -> dict[str, int]:
        found = {
            "noise_people": len(self.people),
            "noise_companies": len(self.companies),
            "noise_nominee_layers": len(self.nominee_layers),
            "noise_circular_holdings": len(self.circular_holdings),
            "noise_hard_negatives": len(self.hard_negatives),
        }
        for source, kinds in self.applied.items():
            for kind, ids in kinds.items():
                found[f"noise_{source}_{kind}"] = len(ids)
        return found


# --- spelling changes ----------------------------------------------------------------------------

_LATIN = "abcdefghijklmnoprstuvz"
_CYRILLIC = "абвгдеклмнопрстуя"


def typo(text: str, rng: random.Random) -> str:
    """``text`` with one edit (never the first letter, never a space), different from ``text``."""
    spots = [i for i in range(1, len(text)) if text[i].isalpha()]
    if not spots:
        return text + text[-1]
    alphabet = _CYRILLIC if any("а" <= c.lower() <= "я" for c in text) else _LATIN
    for _ in range(20):
        i = rng.choice(spots)
        edit = rng.choice(("replace", "drop", "double", "swap"))
        if edit == "replace":
            letter = rng.choice(alphabet)
            changed = text[:i] + (letter.upper() if text[i].isupper() else letter) + text[i + 1 :]
        elif edit == "drop":
            changed = text[:i] + text[i + 1 :]
        elif edit == "double":
            changed = text[:i] + text[i] + text[i:]
        elif i + 1 < len(text) and text[i + 1].isalpha():
            changed = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        else:
            continue
        if changed != text:
            return changed
    return text + text[-1]


def reordered(text: str) -> str:
    """The last name part moved to the front: "Adrian Novak" → "Novak Adrian", "Zhang Wei" → "Wei Zhang"."""
    parts = text.split()
    return " ".join([parts[-1], *parts[:-1]]) if len(parts) > 1 else text


def _script(text: str) -> str:
    if any("\u4e00" <= c <= "\u9fff" for c in text):
        return "Hans"
    if any("\u0400" <= c <= "\u04ff" for c in text):
        return "Cyrl"
    return "Latn"


def abbreviated_street(street: str, capitals: bool = False) -> str:
    """``street`` with its street type abbreviated ("Station Road 12" → "Station Rd. 12"), maybe in capitals."""
    words_in = [STREET_ABBREVIATIONS.get(word, word) for word in street.split(" ")]
    text = " ".join(words_in)
    return text.upper() if capitals else text


def without_house_number(street: str) -> str:
    """``street`` without its house number ("Station Road 12" → "Station Road")."""
    return " ".join(word for word in street.split(" ") if not word.isdigit())


def _exact_sample(rng: random.Random, pool: list[str], rate: float, total: int) -> list[str]:
    return sorted(rng.sample(pool, k=min(len(pool), round(rate * total))))


# --- the draw ------------------------------------------------------------------------------------


class _Draw:
    def __init__(self, country: Country) -> None:
        self.country = country
        self.rng = random.Random(f"{country.seed}:noise")
        self.noise = Noise()
        self.scheme_people = {pid for s in country.schemes for pid in s.people}
        self.scheme_companies = {cid for s in country.schemes for cid in s.companies}
        self.used_ids = set(country.by_id)
        self.used_values = {c.registry_number for c in country.companies} | {c.tax_id for c in country.companies}
        self.used_values |= {p.national_id for p in country.people}
        self.used_names = {c.name for c in country.companies}
        self.used_places = {(a.street, a.city) for a in country.addresses}
        self.width = max(6, len(str(int(20000 * country.scale))))

    # helpers for new records

    def uid(self, kind: str) -> str:
        while True:
            candidate = f"{kind}-{self.rng.randint(10 ** (self.width - 1), 10**self.width - 1)}"
            if candidate not in self.used_ids:
                self.used_ids.add(candidate)
                return candidate

    def digits(self, count: int, prefix: str = "") -> str:
        while True:
            value = prefix + str(self.rng.randint(10 ** (count - 1), 10**count - 1))
            if value not in self.used_values:
                self.used_values.add(value)
                return value

    def address(self, *, keep: bool = True, city_name: str | None = None) -> Address:
        """A new address (numbers 221–400, which the generator never uses), in ``city_name`` if given;
        ``keep=False``: not a record of the country (a previous address written only in the register)."""
        while True:
            city = self.rng.choice([c for c in words.CITIES if city_name in (None, c[0])])
            street = f"{self.rng.choice(words.STREETS)} {self.rng.randint(221, 400)}"
            if (street, city[0]) not in self.used_places:
                self.used_places.add((street, city[0]))
                break
        found = Address(self.uid("address"), street, city[0], f"{city[1]}{self.rng.randint(100, 999)}")
        if keep:
            self.noise.addresses.append(found)
        return found

    def company(self, *, holding: bool, founded: date) -> Company:
        rng = self.rng
        while True:
            lead = rng.choice(words.LATIN_ADJECTIVES + words.NATIVE_FAMILY)
            word = "Holdings" if holding else rng.choice(("Trading", "Investments", "Capital", "Ventures"))
            form, form_cyrillic = rng.choice(words.LATIN_FORMS)
            name = f"{lead} {word} {rng.choice(('Group', 'Partners', 'International', 'Invest'))} {form}"
            if name not in self.used_names:
                self.used_names.add(name)
                break
        core = name.removesuffix(f" {form}")
        found = Company(
            id=self.uid("company"),
            name=name,
            names=[
                Name(name, "Latn", "legal"),
                Name(f"{form_cyrillic} «{words.to_cyrillic(core)}»", "Cyrl", "transliteration"),
            ],
            kind="holding" if holding else "operating",
            legal_form=form,
            sector=None,
            founded=founded,
            address_id=self.address().id,
            registry_number=self.digits(8),
            tax_id=self.digits(10, prefix="XD"),
        )
        self.noise.companies.append(found)
        return found

    def person(self, *, like: Person | None = None, born: date | None = None) -> Person:
        """A new person: a copy of ``like``'s names (a look-alike) or a fresh native name."""
        rng = self.rng
        if like is not None:
            names = list(like.names)
            given, family, gender, origin = like.given_name, like.family_name, like.gender, like.origin
            registry = [names[0]]
        else:
            gender = rng.choice(("female", "male"))
            given = rng.choice([g for g, sex in words.NATIVE_GIVEN if sex == gender])
            family = rng.choice(words.NATIVE_FAMILY)
            origin = "native"
            full = f"{given} {family}"
            names = [Name(full, "Latn", "legal"), Name(words.to_cyrillic(full), "Cyrl", "transliteration")]
            registry = [names[0]]
        found = Person(
            id=self.uid("person"),
            names=names,
            given_name=given,
            family_name=family,
            gender=gender,
            birth_date=born or date(1950, 1, 1) + timedelta(days=rng.randint(0, 15000)),
            origin=origin,
            national_id=self.digits(11),
            address_id=self.address().id,
            registry_names=registry,
        )
        self.noise.people.append(found)
        return found

    def own(self, owner_id: str, company: Company, share: int, nominee_for: str | None = None) -> Ownership:
        found = Ownership(
            self.uid("ownership"),
            owner_id,
            company.id,
            Decimal(share).quantize(Decimal("0.01")),
            company.founded,
            nominee_for,
        )
        self.noise.ownerships.append(found)
        return found

    def direct(self, person: Person, company: Company) -> Directorship:
        found = Directorship(self.uid("directorship"), person.id, company.id, "director", company.founded)
        self.noise.directorships.append(found)
        return found

    def founded(self) -> date:
        return date(2008, 1, 1) + timedelta(days=self.rng.randint(0, 4500))

    # the steps

    def run(self) -> Noise:
        register_people = [p for p in bods_people(self.country) if p not in self.scheme_people]
        self.spell_register(register_people)
        self.drop_birth_dates(register_people)
        self.spell_declarations()
        self.spell_companies()
        self.spell_ftm()
        self.add_nominee_layers(register_people)
        self.add_circular_holdings(register_people)
        self.add_hard_negatives()
        self.change_register_addresses(register_people)
        for kinds in self.noise.applied.values():
            for kind in kinds:
                kinds[kind] = sorted(kinds[kind])
        return self.noise

    def mark(self, source: str, kind: str, entity_id: str) -> None:
        self.noise.applied.setdefault(source, {}).setdefault(kind, []).append(entity_id)

    def spell_register(self, pool: list[str]) -> None:
        country, rng = self.country, self.rng
        free = list(pool)
        for kind, rate in PERSON_NOISE.items():
            fitting = []
            for person_id in free:
                written = country.person(person_id).registry_names[0]
                if kind in ("typo", "reordered") and written.script == "Hans":
                    continue
                if kind == "initials" and written.script != "Latn":
                    continue
                fitting.append(person_id)
            for person_id in _exact_sample(rng, fitting, rate, len(pool)):
                free.remove(person_id)
                person = country.person(person_id)
                written = person.registry_names[0]
                if kind == "typo":
                    text, script = typo(written.text, rng), written.script
                elif kind == "reordered":
                    text, script = reordered(written.text), written.script
                elif kind == "initials":
                    if person.origin == "cn":
                        text = f"{person.family_name} {person.given_name[0]}."
                    else:
                        text = f"{person.given_name[0]}. {person.family_name}"
                    script = "Latn"
                else:
                    if written.script != "Latn":
                        text = person.name
                    else:
                        text = person.name_in("Hans" if person.origin == "cn" else "Cyrl")
                        if text == person.name:
                            text = words.to_cyrillic(person.name)
                    script = _script(text)
                self.noise.register_names[person_id] = [Name(text, script, "legal")]
                self.mark("bods", kind, person_id)

    def street_of(self, person_id: str) -> str:
        return self.country.address(self.country.person(person_id).address_id).street

    def change_register_addresses(self, pool: list[str]) -> None:
        """How the register writes people's residence: none, a previous one, abbreviated, without the number."""
        country, rng = self.country, self.rng
        free = list(pool)
        for kind, rate in ADDRESS_NOISE.items():
            fitting = free
            if kind == "abbreviated_street":
                fitting = [p for p in free if set(self.street_of(p).split()) & set(STREET_ABBREVIATIONS)]
            for person_id in _exact_sample(rng, fitting, rate, len(pool)):
                free.remove(person_id)
                true = country.address(country.person(person_id).address_id)
                written: Address | None
                if kind == "missing_address":
                    written = None
                elif kind == "moved":
                    local = rng.random() < LOCAL_MOVES
                    written = self.address(keep=False, city_name=true.city if local else None)
                elif kind == "abbreviated_street":
                    written = replace(true, street=abbreviated_street(true.street, capitals=rng.random() < 0.3))
                else:
                    written = replace(true, street=without_house_number(true.street))
                self.noise.register_addresses[person_id] = written
                self.mark("bods", kind, person_id)

    def drop_birth_dates(self, pool: list[str]) -> None:
        for person_id in _exact_sample(self.rng, pool, MISSING_BIRTH_DATE, len(pool)):
            self.noise.register_without_birth_date.add(person_id)
            self.mark("bods", "missing_birth_date", person_id)

    def spell_declarations(self) -> None:
        relatives = sorted({pid for d in self.country.declarations for pid, _ in d.family} - self.scheme_people)
        free = list(relatives)
        for kind, rate in DECLARATION_NOISE.items():
            for person_id in _exact_sample(self.rng, free, rate, len(relatives)):
                free.remove(person_id)
                name = self.country.person(person_id).name
                self.noise.declared_names[person_id] = typo(name, self.rng) if kind == "typo" else reordered(name)
                self.mark("declarations", kind, person_id)

    def spell_companies(self) -> None:
        country = self.country
        pool = [c.id for c in country.companies if c.id not in self.scheme_companies]
        free = list(pool)
        for kind, rate in COMPANY_NOISE.items():
            fitting = [cid for cid in free if kind != "legal_form" or country.company(cid).legal_form in LEGAL_FORMS]
            for company_id in _exact_sample(self.rng, fitting, rate, len(pool)):
                free.remove(company_id)
                company = country.company(company_id)
                if kind == "typo":
                    written = [Name(typo(company.name, self.rng), "Latn", "legal"), *company.names[1:]]
                elif kind == "legal_form":
                    form = company.legal_form
                    text = company.name.removesuffix(form).rstrip() + " " + LEGAL_FORMS[form]
                    written = [Name(text, "Latn", "legal"), *company.names[1:]]
                else:
                    other = company.names[1]
                    written = [Name(other.text, other.script, "legal"), company.names[0], *company.names[2:]]
                self.noise.company_names[company_id] = written
                self.mark("bods", f"company_{kind}", company_id)

    def spell_ftm(self) -> None:
        pool = [p.id for p in self.country.people if p.id not in self.scheme_people]
        for person_id in _exact_sample(self.rng, pool, FTM_NOISE["typo"], len(pool)):
            self.noise.ftm_names[person_id] = typo(self.country.person(person_id).name, self.rng)
            self.mark("ftm", "typo", person_id)
        for person_id in _exact_sample(self.rng, pool, FTM_NOISE["missing_birth_date"], len(pool)):
            self.noise.ftm_without_birth_date.add(person_id)
            self.mark("ftm", "missing_birth_date", person_id)

    def owners_outside_families(self, pool: list[str]) -> list[str]:
        """Register persons who hold no office and are nobody's relative: new interests create no conflict."""
        officials = {p.holder_id for p in self.country.positions}
        relatives = {t.relative_id for t in self.country.family}
        return [p for p in pool if p not in officials and p not in relatives]

    def add_nominee_layers(self, pool: list[str]) -> None:
        owners = self.owners_outside_families(pool)
        count = max(2, round(NOMINEE_LAYERS * len(self.country.companies)))
        for owner_id in self.rng.sample(owners, k=min(count, len(owners))):
            shell = self.company(holding=False, founded=self.founded())
            nominee = self.person()
            layer = self.own(nominee.id, shell, 100, nominee_for=owner_id)
            self.direct(nominee, shell)  # a nominee director too, as is usual for such shells
            self.noise.nominee_layers.append(layer.id)

    def add_circular_holdings(self, pool: list[str]) -> None:
        owners = self.owners_outside_families(pool)
        count = max(1, round(CIRCULAR_PAIRS * len(self.country.companies)))
        rng = self.rng
        for _ in range(count):
            first = self.company(holding=True, founded=self.founded())
            second = self.company(holding=True, founded=self.founded())
            first_owner = self.country.person(rng.choice(owners)) if owners else self.person()
            second_owner = self.person()
            cross_first, cross_second = rng.choice((20, 30, 40)), rng.choice((25, 35, 45))
            self.own(first_owner.id, first, 100 - cross_first)
            self.own(second.id, first, cross_first)
            self.own(second_owner.id, second, 100 - cross_second)
            self.own(first.id, second, cross_second)
            self.direct(first_owner, first)
            self.direct(second_owner, second)
            self.noise.circular_holdings.append((first.id, second.id))

    def add_hard_negatives(self) -> None:
        """Look-alikes of people in the declarations: same or one-edit name, another birth date, in the register."""
        country, rng = self.country, self.rng
        declared = sorted(
            {d.person_id for d in country.declarations} | {pid for d in country.declarations for pid, _ in d.family}
        )
        # Adults only: a look-alike owns a company, so the original should be of an age to own one too.
        candidates = [
            p
            for p in declared
            if p not in self.scheme_people and date(1945, 1, 1) <= country.person(p).birth_date <= date(1992, 12, 31)
        ]
        count = max(3, round(HARD_NEGATIVES * len(country.people)))
        # Chinese names first: two "Zhang Wei"s are the classic trap.
        chinese = [p for p in candidates if country.person(p).origin == "cn"]
        others = [p for p in candidates if p not in chinese]
        chosen = rng.sample(chinese, k=min(len(chinese), (count + 1) // 2))
        chosen += rng.sample(others, k=min(len(others), count - len(chosen)))
        for number, original_id in enumerate(sorted(chosen)):
            original = country.person(original_id)
            shift = rng.randint(2, 12) * 365 + rng.randint(30, 300)
            later = original.birth_date + timedelta(days=shift) <= date(2000, 12, 31) and rng.random() < 0.5
            born = original.birth_date + timedelta(days=shift if later else -shift)
            if number % 3 == 1:  # a third are born the same year: only the month tells them apart
                month = rng.choice([m for m in range(1, 13) if abs(m - original.birth_date.month) >= 2])
                born = date(original.birth_date.year, month, min(original.birth_date.day, 28))
            twin = self.person(like=original, born=born)
            kind = "same-name"
            if number % 3 == 2:  # a third differ by one letter as well
                kind = "similar-name"
                twin.names = [Name(typo(original.name, rng), "Latn", "legal")]
                twin.registry_names = [twin.names[0]]
            shell = self.company(holding=False, founded=self.founded())
            self.own(twin.id, shell, 100)
            self.direct(twin, shell)
            self.noise.hard_negatives.append(
                {
                    "kind": kind,
                    "people": [
                        {"id": p.id, "name": p.name, "birth_date": p.birth_date.isoformat()}
                        for p in sorted((original, twin), key=lambda p: p.id)
                    ],
                }
            )


def make_noise(country: Country) -> Noise:
    """The noise for ``country``: deterministic in its seed and scale, independent of the country's stream."""
    return _Draw(country).run()

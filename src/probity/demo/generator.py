"""The demo country generator: a deterministic synthetic state with planted corruption schemes.

``generate_country(seed, scale)`` builds, from ``random.Random(seed)`` alone, the Republic of
Demoland: a central government (bodies in a hierarchy), the officials who hold its positions and
their families, a company register (holdings, operating companies, owners, nominees, directors), a
few years of contracting processes, annual asset declarations, and a list of planted schemes with
everything involved in each. The same seed and scale always give the same country; nothing reads
the clock or the environment.

Generator ids look like ``person-418230`` (random digits, so that an id's number says nothing about
whether the entity is part of a planted scheme); ``Country.source_key`` and the writers derive every
output format's ids from them.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

from probity.demo import names as words
from probity.demo.noise import Noise, make_noise
from probity.demo.records import (
    Address,
    Amendment,
    Bid,
    Body,
    Company,
    Debarment,
    Declaration,
    DeclarationRow,
    Directorship,
    FamilyTie,
    Name,
    Ownership,
    Person,
    PlantedScheme,
    Position,
    Process,
)

GENERATOR_VERSION = "0.4.0"
# 0.2: the noise layer and the identity ground truth; 0.3: lifestyle plants; 0.4: people's residence addresses
# in the register (with noise) and in the declarations
COUNTRY_NAME = "Republic of Demoland"  # its short name, COUNTRY_SHORT_NAME, is in records.py (Address.full)
COUNTRY_CODE = "XD"  # an ISO 3166-1 user-assigned code, so it can never clash with a real country
CURRENCY = "XTS"  # the ISO 4217 code reserved for testing: valid in OCDS's closed currency codelist
OCID_PREFIX = "ocds-demo01-"
DIRECT_AWARD_THRESHOLD = Decimal("50000.00")  # direct awards are allowed below this value
PERIOD_START = date(2021, 1, 1)  # first tender
PERIOD_END = date(2024, 3, 31)  # last tender (awards and contracts follow within months)
AS_OF = date(2024, 7, 1)  # the day the data is "published"
DECLARATION_YEARS = (2022, 2023)
CENT = Decimal("0.01")

SCRIPTS = ("Latn", "Cyrl", "Hans")  # ISO 15924

SECTIONS = (
    "real_estate",
    "vehicles",
    "securities",
    "corporate_rights",
    "income",
    "cash_and_accounts",
    "liabilities",
    "expenditures",
)

SCHEME_TYPES: dict[str, str] = {
    "CONFLICT-FAMILY-SUPPLIER": "An official's relative secretly owns a supplier of the official's own body",
    "SHARED-TAX-ID": "Two companies registered with the same tax identifier",
    "REPEAT-DIRECT-AWARD": "Repeated direct awards to one supplier by one buyer",
    "SINGLE-BIDDER": "Repeated open tenders with a single bidder, always the same supplier",
    "SPLIT-PURCHASE": "One purchase split into direct awards just under the threshold",
    "NEW-COMPANY-WINNER": "A company registered shortly before it wins a large award",
    "BID-RIGGING": "Competing bidders that share an address or a director",
    "UNEXPLAINED-WEALTH": "Declared wealth grows far beyond declared income",
    "NON-OPEN-PROCEDURE": "A large contract awarded by negotiation without publication",
    "NO-CALL-FOR-TENDER": "An open tender whose call for tenders was never published",
    "SHORT-DECISION": "An award decided the day after the tender closed",
    "SUPPLIER-CONCENTRATION": "One supplier receives most of a buyer's spending in a year",
    "AMENDMENT-INFLATION": "A contract won low and then raised by amendments",
    "DEBARRED-SUPPLIER": "An award to a supplier that was debarred at the time",
    "PRICE-AT-ESTIMATE": "A winning price equal to the buyer's confidential estimate",
    "OVERPRICED-AWARD": "An award far above the buyer's own estimate",
    "BACKDATED-CONTRACT": "A contract signed before the award decision",
    "PHANTOM-WINNER": "An award to a company that did not bid",
    "LIFESTYLE-CASH-HOARD": "Cash at home many times the household's yearly income",
    "LIFESTYLE-PRIVATE-LOAN": "A large loan from a private company instead of a bank",
    "LIFESTYLE-LARGE-GIFT": "A gift worth more than the household's yearly income",
    "LIFESTYLE-ASSET-ABROAD": "An apartment abroad",
    "LIFESTYLE-LUXURY": "A yacht",
}

# The procurement indicators (``probity.procurement`` detector codes) that must flag every process
# of a planted scheme; schemes without an entry are caught by other detectors (ownership, identity,
# declarations) or, for SINGLE-BIDDER, by Cardinal's R018.
SCHEME_INDICATORS: dict[str, tuple[str, ...]] = {
    "SINGLE-BIDDER": ("R018",),
    "REPEAT-DIRECT-AWARD": ("P-REPEATDIRECT", "P-NONOPEN"),
    "SPLIT-PURCHASE": ("P-SPLIT",),
    "NEW-COMPANY-WINNER": ("P-NEWSUPPLIER",),
    "NON-OPEN-PROCEDURE": ("P-NONOPEN",),
    "NO-CALL-FOR-TENDER": ("P-NOCALL",),
    "SHORT-DECISION": ("P-DECISION",),
    "SUPPLIER-CONCENTRATION": ("P-CONCENTRATION",),
    "AMENDMENT-INFLATION": ("P-AMENDED",),
    "DEBARRED-SUPPLIER": ("P-DEBARRED",),
    "PRICE-AT-ESTIMATE": ("P-NEARESTIMATE",),
    "OVERPRICED-AWARD": ("P-ABOVEESTIMATE",),
    "BACKDATED-CONTRACT": ("P-SIGNEDEARLY",),
    "PHANTOM-WINNER": ("P-NOTBIDDER",),
}
# The declarations verification detectors (``probity.declarations`` codes) that must flag the planted
# official's most recent declaration (the last one in the scheme's ``declarations``; every one for
# ``SCHEMES_IN_EVERY_DECLARATION``): DECL-WEALTH
# compares it with the one before, the register checks judge a declarant's most recent declaration.
# ``ground_truth.json`` lists them per scheme under ``declaration_detectors``.
SCHEME_DECLARATION_DETECTORS: dict[str, tuple[str, ...]] = {
    "UNEXPLAINED-WEALTH": ("DECL-WEALTH", "DECL-LIFESTYLE"),  # the luxury car bought in the second year
    "CONFLICT-FAMILY-SUPPLIER": ("DECL-UNDECLARED-COMPANY", "DECL-COI-AWARD"),
    "LIFESTYLE-CASH-HOARD": ("DECL-LIFESTYLE",),
    "LIFESTYLE-PRIVATE-LOAN": ("DECL-LIFESTYLE",),
    "LIFESTYLE-LARGE-GIFT": ("DECL-LIFESTYLE",),
    "LIFESTYLE-ASSET-ABROAD": ("DECL-LIFESTYLE",),
    "LIFESTYLE-LUXURY": ("DECL-LIFESTYLE",),
}
# Schemes whose planted rows are in every declaration of the official: their DECL-LIFESTYLE flag is
# expected on each of them, not only on the most recent.
SCHEMES_IN_EVERY_DECLARATION = frozenset(
    {"LIFESTYLE-CASH-HOARD", "LIFESTYLE-PRIVATE-LOAN", "LIFESTYLE-ASSET-ABROAD", "LIFESTYLE-LUXURY"}
)
# The DECL-LIFESTYLE signal each lifestyle scheme plants (``facts.signal`` in the ground truth).
LIFESTYLE_SIGNALS: dict[str, str] = {
    "LIFESTYLE-CASH-HOARD": "cash_above_income",
    "LIFESTYLE-PRIVATE-LOAN": "nonbank_creditor",
    "LIFESTYLE-LARGE-GIFT": "large_gift",
    "LIFESTYLE-ASSET-ABROAD": "assets_abroad",
    "LIFESTYLE-LUXURY": "luxury_items",
}
LENDERS = ("Northgate Trading LLC", "Silverline Invest Ltd", "Bayview Consulting Group")
GIFT_GIVERS = ("a family friend", "a business acquaintance", "a former classmate")
ABROAD = (("Limassol", "CY"), ("Marbella", "ES"), ("Dubai", "AE"), ("Budva", "ME"))
YACHTS = ("Sunseeker Manhattan 55", "Azimut 50 Fly", "Princess F45")
DEBARMENT_AUTHORITY = "Public Procurement Agency of Demoland"


def source_key_prefix(seed: int, scale: float) -> str:
    """The start of the core tables' source keys for the demo country of ``seed`` and ``scale``:
    ``demo:<seed>:<scale>:`` (``Country.source_key``; also known without generating the country)."""
    return f"demo:{seed}:{scale:g}:"


@dataclass
class Country:
    seed: int
    scale: float
    generator_version: str
    name: str
    code: str
    currency: str
    addresses: list[Address]
    bodies: list[Body]
    people: list[Person]
    positions: list[Position]
    family: list[FamilyTie]
    companies: list[Company]
    ownerships: list[Ownership]
    directorships: list[Directorship]
    processes: list[Process]
    declarations: list[Declaration]
    schemes: list[PlantedScheme]
    debarments: list[Debarment] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Names this country (seed and scale) in source keys, so two demo countries never collide."""
        return f"{self.seed}:{self.scale:g}"

    def source_key(self, entity_id: str) -> str:
        """The ``source_key`` the core tables use for a generator id, e.g. ``demo:42:1:person-418230``."""
        return source_key_prefix(self.seed, self.scale) + entity_id

    @cached_property
    def by_id(self) -> dict[str, object]:
        table: dict[str, object] = {}
        for group in (
            self.addresses,
            self.bodies,
            self.people,
            self.positions,
            self.family,
            self.companies,
            self.ownerships,
            self.directorships,
            self.processes,
            self.declarations,
        ):
            for item in group:
                table[item.id] = item
        return table

    @cached_property
    def noise(self) -> Noise:
        """How the published files deviate from this country (``probity.demo.noise``), drawn once."""
        return make_noise(self)

    def person(self, person_id: str) -> Person:
        found = self.by_id[person_id]
        assert isinstance(found, Person)
        return found

    def company(self, company_id: str) -> Company:
        found = self.by_id[company_id]
        assert isinstance(found, Company)
        return found

    def body(self, body_id: str) -> Body:
        found = self.by_id[body_id]
        assert isinstance(found, Body)
        return found

    def address(self, address_id: str) -> Address:
        found = self.by_id[address_id]
        assert isinstance(found, Address)
        return found

    def position(self, position_id: str) -> Position:
        found = self.by_id[position_id]
        assert isinstance(found, Position)
        return found

    def counts(self) -> dict[str, int]:
        return {
            "addresses": len(self.addresses),
            "bodies": len(self.bodies),
            "people": len(self.people),
            "officials": len({p.holder_id for p in self.positions}),
            "positions": len(self.positions),
            "family_ties": len(self.family),
            "companies": len(self.companies),
            "ownerships": len(self.ownerships),
            "directorships": len(self.directorships),
            "processes": len(self.processes),
            "declarations": len(self.declarations),
            "schemes": len(self.schemes),
            "debarments": len(self.debarments),
        }


# --- the government ------------------------------------------------------------------------------

# (key, name, kind, parent key, abbreviation, sectors it buys most)
BODY_TEMPLATES: tuple[tuple[str, str, str, str | None, str, tuple[str, ...]], ...] = (
    ("gov", "Office of the Prime Minister", "other", None, "OPM", ("consulting", "printing")),
    ("mof", "Ministry of Finance", "ministry", "gov", "MOF", ("consulting", "it")),
    ("moh", "Ministry of Health", "ministry", "gov", "MOH", ("medical", "construction")),
    ("mot", "Ministry of Transport and Infrastructure", "ministry", "gov", "MOT", ("roads", "construction")),
    ("moe", "Ministry of Education", "ministry", "gov", "MOE", ("construction", "printing", "food")),
    ("moi", "Ministry of the Interior", "ministry", "gov", "MOI", ("security", "transport", "fuel")),
    ("tax", "State Tax Service", "agency", "mof", "STS", ("it", "printing")),
    ("roads", "National Road Agency", "agency", "mot", "NRA", ("roads",)),
    ("med", "Medicines and Medical Devices Agency", "agency", "moh", "MMDA", ("medical",)),
    ("ppa", "Public Procurement Agency", "regulator", "mof", "PPA", ("it", "consulting")),
    ("moj", "Ministry of Justice", "ministry", "gov", "MOJ", ("construction", "security")),
    ("mod", "Ministry of Defence", "ministry", "gov", "MODEF", ("fuel", "food", "transport")),
    ("police", "National Police", "agency", "moi", "NP", ("fuel", "transport", "it")),
    ("hif", "National Health Insurance Fund", "agency", "moh", "NHIF", ("it", "medical")),
    ("schools", "School Buildings Agency", "agency", "moe", "SBA", ("construction",)),
    ("customs", "Customs Service", "agency", "mof", "CUS", ("it", "security")),
    ("moa", "Ministry of Agriculture", "ministry", "gov", "MOA", ("consulting", "fuel")),
    ("moen", "Ministry of Energy", "ministry", "gov", "MOEN", ("fuel", "consulting")),
    ("rail", "Demoland Railways", "state_enterprise", "mot", "DR", ("transport", "construction", "fuel")),
    ("prisons", "Prison Service", "agency", "moj", "PRS", ("food", "security")),
    ("menv", "Ministry of Environment", "ministry", "gov", "MENV", ("consulting", "construction")),
    ("water", "Water Resources Agency", "agency", "menv", "WRA", ("construction",)),
    ("mdig", "Ministry of Digital Affairs", "ministry", "gov", "MDA", ("it",)),
    ("ereg", "Energy Regulatory Authority", "regulator", "moen", "ERA", ("consulting",)),
    ("forest", "State Forestry Agency", "agency", "moa", "SFA", ("transport", "fuel")),
    ("mfa", "Ministry of Foreign Affairs", "ministry", "gov", "MFA", ("transport", "printing")),
    ("cyber", "Cyber Security Agency", "agency", "mdig", "CSA", ("it",)),
    ("stats", "National Statistics Office", "agency", "gov", "NSO", ("it", "printing")),
)

COMMON_SECTORS = ("it", "office", "cleaning", "security", "printing", "consulting", "fuel", "transport")

# rank → (title at a ministry, title elsewhere, politically exposed, yearly salary)
RANKS: dict[str, tuple[str, str, bool, int]] = {
    "head": ("Minister", "Director", True, 60000),
    "deputy": ("Deputy Minister", "Deputy Director", True, 48000),
    "procurement": ("Head of Procurement", "Head of Procurement", False, 36000),
    "finance": ("Chief Financial Officer", "Chief Financial Officer", False, 40000),
    "legal": ("Head of Legal Department", "Head of Legal Department", False, 34000),
    "audit": ("Head of Internal Audit", "Head of Internal Audit", False, 34000),
    "staff": ("Procurement Officer", "Procurement Officer", False, 28000),
}
CORE_RANKS = ("head", "deputy", "procurement", "finance")
EXTRA_RANKS = ("deputy", "legal", "audit", "staff", "staff")

BANKS = (
    "Demoland Savings Bank",
    "First National Bank of Demoland",
    "Northport Commercial Bank",
    "Eastvale Credit Union",
)
CARS = (
    "Skoda Octavia",
    "Toyota Corolla",
    "Volkswagen Passat",
    "Hyundai Tucson",
    "Kia Sportage",
    "Renault Megane",
    "Ford Focus",
    "Dacia Duster",
)
LUXURY_CARS = ("BMW X5", "Mercedes-Benz S-Class", "Porsche Cayenne", "Range Rover Sport")

METHOD_DETAILS = {
    "open": "Open tender",
    "selective": "Restricted tender (prequalified bidders)",
    "limited": "Negotiated procedure without prior publication",
    "direct": "Direct award below the threshold",
}


# --- the builder ---------------------------------------------------------------------------------


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


class _Builder:
    def __init__(self, seed: int, scale: float) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.scale = scale
        self.width = max(6, len(str(int(20000 * scale))))
        self._used_ids: dict[str, set[int]] = defaultdict(set)
        self._used_values: set[str] = set()
        self._used_addresses: set[tuple[str, int, str]] = set()
        self._company_names: set[str] = set()
        self.addresses: list[Address] = []
        self.bodies: list[Body] = []
        self.people: dict[str, Person] = {}
        self.positions: list[Position] = []
        self.family: list[FamilyTie] = []
        self.companies: dict[str, Company] = {}
        self.ownerships: list[Ownership] = []
        self.directorships: list[Directorship] = []
        self.processes: list[Process] = []
        self.declarations: list[Declaration] = []
        self.schemes: list[tuple[PlantedScheme, list[Process]]] = []
        self.debarments: list[Debarment] = []
        self.pool: list[Company] = []  # operating companies that compete in ordinary tenders
        self.hidden_ownerships: set[str] = set()  # interests left out of declarations on purpose
        self.unexplained: set[str] = set()  # officials whose second declaration shows unexplained wealth
        self._candidates: dict[tuple[str, str], list[Company]] = {}
        self._blocked: dict[str, set[str]] = {}
        self.family_index: dict[str, int] = {}  # person id → index of the family name in its word list

    # small helpers

    def uid(self, kind: str) -> str:
        used = self._used_ids[kind]
        low, high = 10 ** (self.width - 1), 10**self.width - 1
        while True:
            number = self.rng.randint(low, high)
            if number not in used:
                used.add(number)
                return f"{kind}-{number}"

    def unique_digits(self, digits: int, prefix: str = "") -> str:
        while True:
            value = prefix + "".join(str(self.rng.randint(0, 9)) for _ in range(digits))
            if value not in self._used_values and value[len(prefix)] != "0":
                self._used_values.add(value)
                return value

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    def money(self, low: float, high: float) -> Decimal:
        return _money(self.rng.randint(int(low * 100), int(high * 100)))

    def money_log(self, low: float, high: float, round_to: int = 100) -> Decimal:
        value = math.exp(self.rng.uniform(math.log(low), math.log(high)))
        return Decimal(int(value / round_to) * round_to).quantize(CENT)

    def address(self, city: tuple[str, str] | None = None) -> Address:
        while True:
            chosen = city or self.rng.choice(words.CITIES)
            street = self.rng.choice(words.STREETS)
            number = self.rng.randint(1, 220)
            key = (street, number, chosen[0])
            if key not in self._used_addresses:
                self._used_addresses.add(key)
                break
        postcode = f"{chosen[1]}{self.rng.randint(100, 999)}"
        address = Address(self.uid("address"), f"{street} {number}", chosen[0], postcode)
        self.addresses.append(address)
        return address

    # people

    def person(
        self,
        *,
        origin: str | None = None,
        gender: str | None = None,
        family_index: int | None = None,
        born: tuple[date, date] = (date(1950, 1, 1), date(1990, 12, 31)),
        address_id: str | None = None,
    ) -> Person:
        rng = self.rng
        origin = origin or rng.choices(("native", "cn", "ru"), weights=(6, 2, 2))[0]
        gender = gender or rng.choice(("female", "male"))
        if origin == "cn":
            given = rng.choice([g for g in words.CN_GIVEN if g[3] == gender])
            fi = family_index if family_index is not None else rng.randrange(len(words.CN_FAMILY))
            fam = words.CN_FAMILY[fi]
            names = [
                Name(f"{fam[0]} {given[0]}", "Latn", "legal"),
                Name(f"{fam[1]}{given[1]}", "Hans", "alternative"),
                Name(f"{fam[2]} {given[2]}", "Cyrl", "transliteration"),
            ]
            given_name, family_name = given[0], fam[0]
        elif origin == "ru":
            ru_given = rng.choice([g for g in words.RU_GIVEN if g[2] == gender])
            fi = family_index if family_index is not None else rng.randrange(len(words.RU_FAMILY))
            latin, cyrillic = words.RU_FAMILY[fi]
            if gender == "female":
                latin, cyrillic = latin + "a", cyrillic + "а"
            names = [
                Name(f"{ru_given[0]} {latin}", "Latn", "legal"),
                Name(f"{ru_given[1]} {cyrillic}", "Cyrl", "alternative"),
            ]
            given_name, family_name = ru_given[0], latin
        else:
            native = rng.choice([g for g in words.NATIVE_GIVEN if g[1] == gender])
            fi = family_index if family_index is not None else rng.randrange(len(words.NATIVE_FAMILY))
            surname = words.NATIVE_FAMILY[fi]
            full = f"{native[0]} {surname}"
            names = [Name(full, "Latn", "legal"), Name(words.to_cyrillic(full), "Cyrl", "transliteration")]
            given_name, family_name = native[0], surname
        script = "Latn"
        roll = rng.random()
        if origin == "cn":
            script = "Hans" if roll < 0.45 else ("Cyrl" if roll < 0.6 else "Latn")
        elif origin == "ru":
            script = "Cyrl" if roll < 0.5 else "Latn"
        registry = [Name(next(n.text for n in names if n.script == script), script, "legal")]
        if script != "Latn" and rng.random() < 0.5:
            registry.append(Name(names[0].text, "Latn", "transliteration"))
        person = Person(
            id=self.uid("person"),
            names=names,
            given_name=given_name,
            family_name=family_name,
            gender=gender,
            birth_date=self.day_between(*born),
            origin=origin,
            national_id=self.unique_digits(11),
            address_id=address_id or self.address().id,
            registry_names=registry,
        )
        self.family_index[person.id] = fi
        self.people[person.id] = person
        return person

    def hide_latin_in_registry(self, person: Person) -> None:
        """The company register knows this person only in a non-Latin script (matching needs aliases)."""
        script = "Hans" if person.origin == "cn" else "Cyrl"
        person.registry_names = [Name(person.name_in(script), script, "legal")]

    def tie(self, person: Person, relative: Person, kind: str) -> FamilyTie:
        link = FamilyTie(self.uid("family"), person.id, relative.id, kind)
        self.family.append(link)
        return link

    # government

    def build_government(self) -> None:
        count = max(6, round(25 * self.scale))
        keys: dict[str, str] = {}
        capital = words.CITIES[0]
        for index, (key, name, kind, parent, abbreviation, sectors) in enumerate(BODY_TEMPLATES[:count], start=1):
            body = Body(
                f"body-{index:03d}",
                name,
                kind,
                keys.get(parent) if parent else None,
                abbreviation,
                sectors,
                self.address(capital).id,
            )
            keys[key] = body.id
            self.bodies.append(body)
        agencies = [b for b in self.bodies if b.kind == "agency"] or self.bodies[1:]
        regional = 0
        while len(self.bodies) < count:
            parent_body = agencies[regional % len(agencies)]
            city = words.CITIES[1 + (regional // len(agencies)) % (len(words.CITIES) - 1)]
            index = len(self.bodies) + 1
            self.bodies.append(
                Body(
                    f"body-{index:03d}",
                    f"{parent_body.name}, {city[0]} Regional Office",
                    "agency",
                    parent_body.id,
                    f"{parent_body.abbreviation}-{city[0][:3].upper()}",
                    parent_body.sectors,
                    self.address(city).id,
                )
            )
            regional += 1

    def build_officials(self) -> None:
        rng = self.rng
        wanted = max(round(200 * self.scale), len(CORE_RANKS) * len(self.bodies))
        slots: list[tuple[Body, str]] = [(body, rank) for body in self.bodies for rank in CORE_RANKS]
        while len(slots) < wanted:
            slots.append((rng.choice(self.bodies), rng.choice(EXTRA_RANKS)))
        for number, (body, rank) in enumerate(slots, start=1):
            ministry_title, other_title, is_pep, salary = RANKS[rank]
            if body.parent_id is None and rank in ("head", "deputy"):
                title = "Prime Minister" if rank == "head" else "Deputy Prime Minister"
            else:
                title = ministry_title if body.kind == "ministry" else other_title
            official = self.person(born=(date(1958, 1, 1), date(1986, 12, 31)))
            self.positions.append(
                Position(
                    id=f"position-{number:04d}",
                    body_id=body.id,
                    title=title,
                    rank=rank,
                    holder_id=official.id,
                    start_date=self.day_between(date(2014, 1, 1), date(2020, 12, 31)),
                    is_pep=is_pep,
                    salary=Decimal(salary + rng.randint(-20, 20) * 100).quantize(CENT),
                )
            )
            self.build_family(official)

    def build_family(self, official: Person) -> None:
        rng = self.rng
        fi = self.family_index[official.id]
        spouse: Person | None = None
        if rng.random() < 0.8:
            gender = "female" if official.gender == "male" else "male"
            if rng.random() < 0.05:
                gender = official.gender
            origin = official.origin if rng.random() < 0.8 else rng.choice(("native", "cn", "ru"))
            family_index = None
            if official.gender == "male" and gender == "female" and origin == official.origin and origin != "cn":
                family_index = fi if rng.random() < 0.65 else None
            start = official.birth_date - timedelta(days=6 * 365)
            end = min(official.birth_date + timedelta(days=6 * 365), date(1995, 12, 31))
            spouse = self.person(
                origin=origin,
                gender=gender,
                family_index=family_index,
                born=(start, end),
                address_id=official.address_id,
            )
            self.tie(official, spouse, "spouse")
        father = official if official.gender == "male" else (spouse if spouse and spouse.gender == "male" else None)
        father = father or official
        for _ in range(rng.choices((0, 1, 2, 3), weights=(2, 3, 4, 1))[0]):
            oldest = max(official.birth_date, spouse.birth_date if spouse else official.birth_date)
            first = oldest + timedelta(days=22 * 365)
            last = min(oldest + timedelta(days=40 * 365), date(2016, 12, 31))
            if first > last:
                break
            child = self.person(
                origin=father.origin,
                family_index=self.family_index[father.id],
                born=(first, last),
                address_id=official.address_id,
            )
            self.tie(official, child, "child")
        parents_home: str | None = None
        for gender in rng.sample(("male", "female"), k=rng.choices((0, 1, 2), weights=(4, 3, 3))[0]):
            family_index = fi if (gender == "male" or official.origin == "ru" or rng.random() < 0.6) else None
            if official.origin == "cn" and gender == "female":
                family_index = None
            born = (
                official.birth_date - timedelta(days=38 * 365),
                official.birth_date - timedelta(days=21 * 365),
            )
            parent = self.person(
                origin=official.origin,
                gender=gender,
                family_index=family_index,
                born=born,
                address_id=parents_home,
            )
            parents_home = parent.address_id
            self.tie(official, parent, "parent")

    # companies

    def company_names(self, sector: str | None, holding: bool) -> tuple[str, list[Name], str]:
        rng = self.rng
        for attempt in range(200):
            style = rng.choices(("latin", "ru", "cn"), weights=(6, 2, 2))[0]
            suffix = f" {attempt // 20 + 1}" if attempt >= 20 else ""
            if holding:
                english, (ru_latin, ru_cyrillic), cn_word = words.HOLDING_WORDS
            else:
                assert sector is not None
                _, english, (ru_latin, ru_cyrillic), cn_word, _ = words.SECTORS[sector]
            if style == "cn":
                prefix = rng.choice(words.CN_PREFIXES)
                name = f"{prefix[0]} {cn_word[0]}{suffix} Co., Ltd."
                aliases = [
                    Name(f"{prefix[1]}{cn_word[1]}{suffix}有限公司", "Hans", "alternative"),
                    Name(f"{prefix[2]} {cn_word[2]}{suffix}", "Cyrl", "transliteration"),
                ]
                form = "Co., Ltd."
            elif style == "ru":
                latin, cyrillic = rng.choice(words.RU_FAMILY)
                name = f"{latin} {ru_latin}{suffix} LLC"
                aliases = [Name(f"ООО «{cyrillic} {ru_cyrillic}{suffix}»", "Cyrl", "alternative")]
                form = "LLC"
            else:
                form, form_cyrillic = rng.choice(words.LATIN_FORMS)
                lead = rng.choice(words.LATIN_ADJECTIVES) if rng.random() < 0.6 else rng.choice(words.NATIVE_FAMILY)
                core = f"{lead} {english}{suffix}"
                name = f"{core} {form}"
                aliases = [Name(f"{form_cyrillic} «{words.to_cyrillic(core)}»", "Cyrl", "transliteration")]
            if name not in self._company_names:
                self._company_names.add(name)
                return name, [Name(name, "Latn", "legal"), *aliases], form
        raise RuntimeError("ran out of company names")  # pragma: no cover

    def company(
        self,
        *,
        sector: str | None,
        holding: bool = False,
        founded: tuple[date, date] = (date(1995, 1, 1), date(2019, 12, 31)),
        address_id: str | None = None,
        tax_id: str | None = None,
    ) -> Company:
        name, names, form = self.company_names(sector, holding)
        company = Company(
            id=self.uid("company"),
            name=name,
            names=names,
            kind="holding" if holding else "operating",
            legal_form=form,
            sector=None if holding else sector,
            founded=self.day_between(*founded),
            address_id=address_id or self.address().id,
            registry_number=self.unique_digits(8),
            tax_id=tax_id or self.unique_digits(10, prefix=COUNTRY_CODE),
        )
        self.companies[company.id] = company
        return company

    def own(
        self,
        owner_id: str,
        company: Company,
        share: int | Decimal,
        *,
        nominee_for: str | None = None,
        start: date | None = None,
    ) -> Ownership:
        ownership = Ownership(
            self.uid("ownership"),
            owner_id,
            company.id,
            Decimal(share).quantize(CENT),
            start or company.founded,
            nominee_for,
        )
        self.ownerships.append(ownership)
        return ownership

    def direct(
        self, person: Person, company: Company, role: str = "director", start: date | None = None
    ) -> Directorship:
        directorship = Directorship(self.uid("directorship"), person.id, company.id, role, start or company.founded)
        self.directorships.append(directorship)
        return directorship

    def split_shares(self, parts: int) -> list[int]:
        if parts == 1:
            return [100]
        cuts = sorted(self.rng.sample(range(5, 96), parts - 1))
        bounds = [0, *cuts, 100]
        return [bounds[i + 1] - bounds[i] for i in range(parts)]

    def owner_person(self) -> Person:
        return self.person(born=(date(1950, 1, 1), date(1992, 12, 31)))

    def staff_company(self, company: Company, owners: Sequence[Person]) -> None:
        """Directors: an owner often runs the company; otherwise a hired manager."""
        if owners and self.rng.random() < 0.6:
            self.direct(owners[0], company)
        else:
            self.direct(self.owner_person(), company)
        if self.rng.random() < 0.25:
            self.direct(self.owner_person(), company, "deputy director")

    def build_register(self, family_owners: list[Person]) -> None:
        rng = self.rng
        total = max(40, round(600 * self.scale))
        holdings: list[tuple[Company, set[str]]] = []
        for _ in range(max(4, round(total * 0.1))):
            holding = self.company(sector=None, holding=True)
            holders = [self.owner_person() for _ in range(rng.choice((1, 1, 2)))]
            for holder, share in zip(holders, self.split_shares(len(holders)), strict=True):
                self.own(holder.id, holding, share)
            self.direct(holders[0], holding)
            holdings.append((holding, set()))
        sectors = list(words.SECTORS)
        sector_weights = [3 if s in ("construction", "it", "medical", "roads") else 2 for s in sectors]
        operating = total - len(holdings) - max(10, round(22 * self.scale))
        family_quota = list(family_owners)
        for _ in range(max(30, operating)):
            sector = rng.choices(sectors, weights=sector_weights)[0]
            company = self.company(sector=sector)
            self.pool.append(company)
            owners: list[Person] = []
            if family_quota:
                relative = family_quota.pop()
                share = rng.choice((30, 50, 60, 100))
                self.own(relative.id, company, share)
                owners.append(relative)
                if share < 100:
                    other = self.owner_person()
                    self.own(other.id, company, 100 - share)
                    owners.append(other)
            elif rng.random() < 0.3 and (free := [h for h in holdings if sector not in h[1]]):
                holding, held = rng.choice(free)
                held.add(sector)
                share = rng.choice((51, 60, 75, 100, 100))
                self.own(holding.id, company, share)
                if share < 100:
                    other = self.owner_person()
                    self.own(other.id, company, 100 - share)
                    owners.append(other)
            else:
                people = [self.owner_person() for _ in range(rng.choices((1, 2, 3), weights=(5, 3, 1))[0])]
                for index, (owner, share) in enumerate(zip(people, self.split_shares(len(people)), strict=True)):
                    if index == 0 and rng.random() < 0.04:
                        nominee = self.owner_person()
                        self.own(nominee.id, company, share, nominee_for=owner.id)
                    else:
                        self.own(owner.id, company, share)
                        owners.append(owner)
            self.staff_company(company, owners)

    def compute_conflicts(self) -> None:
        """For every company, the bodies where an owner, director or their relative holds office."""
        body_children: dict[str, list[str]] = defaultdict(list)
        for body in self.bodies:
            if body.parent_id:
                body_children[body.parent_id].append(body.id)

        def below(body_id: str) -> set[str]:
            found = {body_id}
            for child in body_children[body_id]:
                found |= below(child)
            return found

        person_bodies: dict[str, set[str]] = defaultdict(set)
        for position in self.positions:
            person_bodies[position.holder_id] |= below(position.body_id)
        holder_bodies = dict(person_bodies)
        for tie in self.family:
            person_bodies[tie.relative_id] |= holder_bodies.get(tie.person_id, set())
        owners_of: dict[str, set[str]] = defaultdict(set)
        for ownership in self.ownerships:
            owners_of[ownership.company_id].add(ownership.owner_id)
            if ownership.nominee_for:
                owners_of[ownership.company_id].add(ownership.nominee_for)
        for directorship in self.directorships:
            owners_of[directorship.company_id].add(directorship.person_id)

        def interested(company_id: str, depth: int = 0) -> set[str]:
            found: set[str] = set()
            for owner in owners_of[company_id]:
                found.add(owner)
                if owner in self.companies and depth < 5:
                    found |= interested(owner, depth + 1)
            return found

        self._blocked = {}
        for company_id in self.companies:
            blocked: set[str] = set()
            for person_id in interested(company_id):
                blocked |= person_bodies.get(person_id, set())
            self._blocked[company_id] = blocked
        self._candidates = {}

    def candidates(self, buyer: Body, sector: str) -> list[Company]:
        key = (buyer.id, sector)
        if key not in self._candidates:
            fitting = [c for c in self.pool if c.sector == sector and buyer.id not in self._blocked.get(c.id, set())]
            if len(fitting) < 3:
                fitting = [c for c in self.pool if buyer.id not in self._blocked.get(c.id, set())]
            self._candidates[key] = fitting
        return self._candidates[key]

    # procurement

    def process(
        self,
        *,
        buyer: Body,
        sector: str,
        method: str,
        start: date,
        estimate: Decimal,
        tenderers: Sequence[Company],
        winner: Company | None = None,
        title: str | None = None,
        cover_bids: tuple[float, float] = (1.02, 1.25),
        details: str | None = None,
    ) -> Process:
        rng = self.rng
        category, *_, titles = words.SECTORS[sector]
        title = title or rng.choice(titles)
        length = 0 if method == "direct" else rng.randint(15, 45)
        tender_end = start + timedelta(days=length)
        bids: list[Bid] = []
        if winner is None:
            offers = [(c, _money(int(float(estimate) * rng.uniform(0.8, 1.08) * 100))) for c in tenderers]
            valid = [(c, v) for c, v in offers if len(offers) == 1 or rng.random() > 0.08]
            if not valid:
                valid = offers[:1]
            winner, winning_value = min(valid, key=lambda pair: (pair[1], pair[0].id))
            for company, value in offers:
                status = "valid" if (company, value) in valid else "disqualified"
                bids.append(Bid(company.id, value, self.day_between(start, tender_end), status))
        else:
            winning_value = _money(int(float(estimate) * rng.uniform(0.86, 0.99) * 100))
            if method == "direct":
                winning_value = min(winning_value, estimate)
            for company in tenderers:
                if company.id == winner.id:
                    value = winning_value
                else:
                    value = _money(int(float(winning_value) * rng.uniform(*cover_bids) * 100))
                bids.append(Bid(company.id, value, self.day_between(start, tender_end), "valid"))
        award_date = tender_end + timedelta(days=rng.randint(7, 30))
        signed = award_date + timedelta(days=rng.randint(3, 20))
        process = Process(
            id="",
            ocid="",
            buyer_id=buyer.id,
            title=title,
            sector=sector,
            category=category,
            method=method,
            method_details=details or METHOD_DETAILS[method],
            estimated_value=estimate,
            tender_start=start,
            tender_end=tender_end,
            bids=bids,
            supplier_id=winner.id,
            award_value=winning_value,
            award_date=award_date,
            contract_signed=signed,
            contract_end=signed + timedelta(days=rng.randint(60, 540)),
        )
        self.processes.append(process)
        return process

    def ordinary_estimate(self, method: str, category: str) -> Decimal:
        if method == "direct":
            return self.money(2000, 40000)
        if method == "limited":
            return self.money_log(20000, 180000)
        if method == "selective":
            return self.money_log(60000, 900000)
        return self.money_log(50000, 4000000 if category == "works" else 1500000)

    def build_procurement(self, count: int) -> None:
        rng = self.rng
        weights = [{"ministry": 3, "agency": 2, "state_enterprise": 2}.get(b.kind, 1) for b in self.bodies]
        for _ in range(count):
            buyer = rng.choices(self.bodies, weights=weights)[0]
            sector = rng.choice(buyer.sectors) if rng.random() < 0.65 else rng.choice(COMMON_SECTORS)
            method = rng.choices(("open", "selective", "limited", "direct"), weights=(55, 10, 12, 23))[0]
            category = words.SECTORS[sector][0]
            estimate = self.ordinary_estimate(method, category)
            pool = self.candidates(buyer, sector)
            if method == "open":
                wanted = rng.choices(range(1, 9), weights=(8, 17, 25, 20, 15, 8, 4, 3))[0]
            elif method == "selective":
                wanted = rng.randint(2, 5)
            elif method == "limited":
                wanted = rng.randint(1, 3)
            else:
                wanted = 1
            tenderers = rng.sample(pool, k=min(wanted, len(pool)))
            self.process(
                buyer=buyer,
                sector=sector,
                method=method,
                estimate=estimate,
                tenderers=tenderers,
                start=self.day_between(PERIOD_START, PERIOD_END),
            )

    # planted schemes

    def plant(
        self,
        scheme_type: str,
        description: str,
        processes: Iterable[Process] = (),
        *,
        variant: str = "",
        facts: dict[str, str] | None = None,
        **refs: list[str],
    ) -> None:
        scheme = PlantedScheme(
            id="",
            type=scheme_type,
            title=SCHEME_TYPES[scheme_type],
            description=description,
            variant=variant,
            facts=facts or {},
        )
        for name, ids in refs.items():
            setattr(scheme, name, list(ids))
        self.schemes.append((scheme, list(processes)))

    def fresh_supplier(
        self,
        sector: str,
        founded: tuple[date, date] = (date(2005, 1, 1), date(2019, 12, 31)),
        *,
        address_id: str | None = None,
        tax_id: str | None = None,
    ) -> tuple[Company, Person, Ownership, Directorship]:
        """A new operating company with one owner who is also its director."""
        company = self.company(sector=sector, founded=founded, address_id=address_id, tax_id=tax_id)
        owner = self.owner_person()
        ownership = self.own(owner.id, company, 100)
        directorship = self.direct(owner, company)
        return company, owner, ownership, directorship

    def rivals(self, buyer: Body, sector: str, count: int) -> list[Company]:
        pool = self.candidates(buyer, sector)
        return self.rng.sample(pool, k=min(count, len(pool)))

    def plant_conflict(self, official: Person, position: Position, variant: str) -> None:
        rng = self.rng
        body = next(b for b in self.bodies if b.id == position.body_id)
        spouse_tie = next((t for t in self.family if t.person_id == official.id and t.kind == "spouse"), None)
        if spouse_tie is None:
            spouse = self.person(
                origin=rng.choice(("cn", "ru")),
                gender="female" if official.gender == "male" else "male",
                born=(official.birth_date - timedelta(days=2000), official.birth_date + timedelta(days=2000)),
                address_id=official.address_id,
            )
            spouse_tie = self.tie(official, spouse, "spouse")
        spouse = self.people[spouse_tie.relative_id]
        self.hide_latin_in_registry(spouse)
        sector = rng.choice(body.sectors)
        supplier = self.company(sector=sector, founded=(date(2012, 1, 1), date(2019, 6, 30)))
        chain: list[str] = []
        people = [official.id, spouse.id]
        companies = [supplier.id]
        if variant == "holding":
            holding = self.company(sector=None, holding=True, founded=(date(2010, 1, 1), supplier.founded))
            spouse_share = self.own(spouse.id, holding, 100)
            self.hidden_ownerships.add(spouse_share.id)
            held = rng.choice((70, 80, 100))
            chain = [spouse_share.id, self.own(holding.id, supplier, held).id]
            if held < 100:
                partner = self.owner_person()
                chain.append(self.own(partner.id, supplier, 100 - held).id)
                people.append(partner.id)
            self.direct(spouse, holding)
            companies.insert(0, holding.id)
            how = (
                f"through the holding company {holding.name} (100 % owned by the spouse), "
                f"which owns {held} % "
                f"of {supplier.name}"
            )
        else:
            nominee = self.owner_person()
            chain = [self.own(nominee.id, supplier, 100, nominee_for=spouse.id).id]
            people.append(nominee.id)
            how = f"through a nominee shareholder, {nominee.name}, who holds 100 % of {supplier.name} for the spouse"
        manager = self.owner_person()
        directorship = self.direct(manager, supplier)
        people.append(manager.id)
        processes = []
        for _ in range(rng.randint(3, 4)):
            method = rng.choice(("open", "open", "limited"))
            estimate = self.money_log(120000, 900000)
            tenderers = [supplier, *self.rivals(body, sector, rng.randint(1, 2))]
            rng.shuffle(tenderers)
            processes.append(
                self.process(
                    buyer=body,
                    sector=sector,
                    method=method,
                    estimate=estimate,
                    tenderers=tenderers,
                    winner=supplier,
                    start=self.day_between(date(2021, 6, 1), PERIOD_END),
                )
            )
        total = sum(p.award_value for p in processes)
        self.plant(
            "CONFLICT-FAMILY-SUPPLIER",
            f"{official.name}, {position.title} at the {body.name}, is married to {spouse.name}, who owns "
            f"{supplier.name} {how}. {supplier.name} won {len(processes)} contracts worth {total} {CURRENCY} "
            f"from the {body.name}. The company register records the spouse only as "
            f"'{spouse.registry_names[0].text}' ({spouse.registry_names[0].script}); the declarations name "
            f"'{spouse.name}' and do not declare the interest.",
            processes,
            variant=variant,
            people=people,
            companies=companies,
            bodies=[body.id],
            positions=[position.id],
            ownerships=chain,
            directorships=[directorship.id],
            family_ties=[spouse_tie.id],
            declarations=[f"declaration-{official.id.split('-')[1]}-{y}" for y in DECLARATION_YEARS],
        )

    def plant_shared_tax_id(self) -> None:
        rng = self.rng
        buyer = rng.choice(self.bodies)
        sector = rng.choice(buyer.sectors)
        first, first_owner, own_1, dir_1 = self.fresh_supplier(sector)
        second, second_owner, own_2, dir_2 = self.fresh_supplier(sector, tax_id=first.tax_id)
        processes = []
        for winner in (first, second, first)[: rng.randint(2, 3)]:
            tenderers = [first, second, *self.rivals(buyer, sector, rng.randint(0, 1))]
            rng.shuffle(tenderers)
            processes.append(
                self.process(
                    buyer=buyer,
                    sector=sector,
                    method="open",
                    tenderers=tenderers,
                    winner=winner,
                    estimate=self.money_log(80000, 600000),
                    start=self.day_between(PERIOD_START, PERIOD_END),
                )
            )
        self.plant(
            "SHARED-TAX-ID",
            f"{first.name} (registry no. {first.registry_number}) and {second.name} (registry no. "
            f"{second.registry_number}) are registered with the same tax identifier {first.tax_id}; they bid "
            f"against each other in {len(processes)} tenders of the {buyer.name}.",
            processes,
            people=[first_owner.id, second_owner.id],
            companies=[first.id, second.id],
            bodies=[buyer.id],
            ownerships=[own_1.id, own_2.id],
            directorships=[dir_1.id, dir_2.id],
            facts={"tax_id": first.tax_id},
        )

    def plant_repeat_direct(self) -> None:
        rng = self.rng
        buyer = rng.choice(self.bodies)
        sector = rng.choice(buyer.sectors + COMMON_SECTORS[:2])
        supplier, owner, ownership, directorship = self.fresh_supplier(sector)
        first = self.day_between(PERIOD_START, PERIOD_END - timedelta(days=365))
        processes = [
            self.process(
                buyer=buyer,
                sector=sector,
                method="direct",
                tenderers=[supplier],
                winner=supplier,
                estimate=self.money(15000, 45000),
                start=self.day_between(first, first + timedelta(days=330)),
            )
            for _ in range(rng.randint(5, 7))
        ]
        self.plant(
            "REPEAT-DIRECT-AWARD",
            f"The {buyer.name} gave {supplier.name} {len(processes)} direct awards within one year, without "
            f"competition, worth {sum(p.award_value for p in processes)} {CURRENCY} in total.",
            processes,
            people=[owner.id],
            companies=[supplier.id],
            bodies=[buyer.id],
            ownerships=[ownership.id],
            directorships=[directorship.id],
        )

    def plant_single_bidder(self) -> None:
        rng = self.rng
        buyer = rng.choice(self.bodies)
        sector = rng.choice(buyer.sectors)
        supplier, owner, ownership, directorship = self.fresh_supplier(sector)
        first = self.day_between(PERIOD_START, PERIOD_END - timedelta(days=540))
        processes = [
            self.process(
                buyer=buyer,
                sector=sector,
                method="open",
                tenderers=[supplier],
                winner=supplier,
                estimate=self.money_log(150000, 1200000),
                start=self.day_between(first, first + timedelta(days=540)),
            )
            for _ in range(rng.randint(4, 6))
        ]
        self.plant(
            "SINGLE-BIDDER",
            f"{len(processes)} open tenders of the {buyer.name} each received a single bid, always from "
            f"{supplier.name}, which won them all.",
            processes,
            people=[owner.id],
            companies=[supplier.id],
            bodies=[buyer.id],
            ownerships=[ownership.id],
            directorships=[directorship.id],
        )

    def plant_split_purchase(self) -> None:
        rng = self.rng
        buyer = rng.choice(self.bodies)
        sector = rng.choice(("it", "office", "medical", "printing"))
        supplier, owner, ownership, directorship = self.fresh_supplier(sector)
        item = rng.choice(words.SECTORS[sector][4])
        first = self.day_between(PERIOD_START, PERIOD_END - timedelta(days=30))
        parts = rng.randint(3, 5)
        threshold = float(DIRECT_AWARD_THRESHOLD)
        processes = []
        for index in range(parts):
            estimate = self.money(threshold * 0.93, threshold - 0.01)
            processes.append(
                self.process(
                    buyer=buyer,
                    sector=sector,
                    method="direct",
                    tenderers=[supplier],
                    winner=supplier,
                    estimate=estimate,
                    title=f"{item}, part {index + 1}",
                    start=self.day_between(first, first + timedelta(days=30)),
                )
            )
            processes[-1].award_value = estimate
            processes[-1].bids[0].value = estimate
        total = sum(p.award_value for p in processes)
        self.plant(
            "SPLIT-PURCHASE",
            f"Within 30 days the {buyer.name} bought '{item}' from {supplier.name} in {parts} direct "
            f"awards, each just under the {DIRECT_AWARD_THRESHOLD} {CURRENCY} threshold for direct awards, "
            f"{total} {CURRENCY} "
            "in total: one purchase split to avoid an open tender.",
            processes,
            people=[owner.id],
            companies=[supplier.id],
            bodies=[buyer.id],
            ownerships=[ownership.id],
            directorships=[directorship.id],
            facts={"threshold": str(DIRECT_AWARD_THRESHOLD), "total": str(total)},
        )

    def plant_new_company(self) -> None:
        rng = self.rng
        buyer = rng.choice(self.bodies)
        sector = rng.choice(buyer.sectors)
        founded = self.day_between(date(2022, 1, 1), PERIOD_END - timedelta(days=20))
        supplier, owner, ownership, directorship = self.fresh_supplier(sector, founded=(founded, founded))
        start = founded + timedelta(days=rng.randint(3, 15))
        tenderers = [supplier, *self.rivals(buyer, sector, rng.randint(2, 3))]
        rng.shuffle(tenderers)
        process = self.process(
            buyer=buyer,
            sector=sector,
            method="open",
            tenderers=tenderers,
            winner=supplier,
            estimate=self.money_log(400000, 2500000),
            start=start,
        )
        days = (process.award_date - supplier.founded).days
        self.plant(
            "NEW-COMPANY-WINNER",
            f"{supplier.name} was registered on {supplier.founded.isoformat()} and won a "
            f"{process.award_value} {CURRENCY} award from the {buyer.name} {days} days later.",
            [process],
            people=[owner.id],
            companies=[supplier.id],
            bodies=[buyer.id],
            ownerships=[ownership.id],
            directorships=[directorship.id],
            facts={"founded": supplier.founded.isoformat(), "days_before_award": str(days)},
        )

    def plant_bid_rigging(self, variant: str) -> None:
        rng = self.rng
        buyer = rng.choice(self.bodies)
        sector = rng.choice(buyer.sectors)
        first, owner_1, own_1, dir_1 = self.fresh_supplier(sector)
        directorships = [dir_1.id]
        addresses: list[str] = []
        people = [owner_1.id]
        if variant == "shared-address":
            second, owner_2, own_2, dir_2 = self.fresh_supplier(sector, address_id=first.address_id)
            directorships.append(dir_2.id)
            addresses.append(first.address_id)
            link = f"share the address {self.address_by_id(first.address_id).full}"
        else:
            second = self.company(sector=sector)
            owner_2 = self.owner_person()
            own_2 = self.own(owner_2.id, second, 100)
            shared = self.owner_person()
            directorships += [
                self.direct(shared, first, "deputy director").id,
                self.direct(shared, second).id,
            ]
            people.append(shared.id)
            link = f"have the same director, {shared.name}"
        people.append(owner_2.id)
        buyers = [buyer, rng.choice(self.bodies)]
        processes = []
        for round_number in range(rng.randint(3, 4)):
            winner = first if round_number % 2 == 0 else second
            who = buyers[round_number % 2] if sector in buyers[round_number % 2].sectors else buyer
            tenderers = [first, second, *self.rivals(who, sector, rng.randint(0, 1))]
            rng.shuffle(tenderers)
            processes.append(
                self.process(
                    buyer=who,
                    sector=sector,
                    method="open",
                    tenderers=tenderers,
                    winner=winner,
                    estimate=self.money_log(150000, 1500000),
                    start=self.day_between(PERIOD_START, PERIOD_END),
                    cover_bids=(1.01, 1.04),
                )
            )
        self.plant(
            "BID-RIGGING",
            f"{first.name} and {second.name} {link}. They bid against each other in {len(processes)} tenders "
            "and take turns winning; the losing bid is always 1–4 % above the winning one.",
            processes,
            variant=variant,
            people=people,
            companies=[first.id, second.id],
            bodies=sorted({p.buyer_id for p in processes}),
            ownerships=[own_1.id, own_2.id],
            directorships=directorships,
            addresses=addresses,
        )

    def plant_unexplained_wealth(self, official: Person, position: Position) -> None:
        self.unexplained.add(official.id)
        body = next(b for b in self.bodies if b.id == position.body_id)
        self.plant(
            "UNEXPLAINED-WEALTH",
            f"{official.name}, {position.title} at the {body.name}: between the {DECLARATION_YEARS[0]} and "
            f"{DECLARATION_YEARS[1]} annual declarations the household's declared assets grow far more "
            "than its "
            "declared income for the year could pay for.",
            people=[official.id],
            bodies=[body.id],
            positions=[position.id],
            declarations=[f"declaration-{official.id.split('-')[1]}-{y}" for y in DECLARATION_YEARS],
        )

    # procurement schemes caught by the risk indicators

    def _one_tender(
        self,
        *,
        sector: str | None = None,
        buyer: Body | None = None,
        method: str = "open",
        estimate: tuple[float, float] = (200000, 1500000),
        start: tuple[date, date] = (PERIOD_START, PERIOD_END),
        rivals: tuple[int, int] = (1, 3),
        winner_founded: tuple[date, date] = (date(2005, 1, 1), date(2019, 12, 31)),
    ) -> tuple[Body, Company, Person, Ownership, Directorship, Process]:
        rng = self.rng
        buyer = buyer or rng.choice(self.bodies)
        sector = sector or rng.choice(buyer.sectors)
        supplier, owner, ownership, directorship = self.fresh_supplier(sector, founded=winner_founded)
        tenderers = [supplier, *self.rivals(buyer, sector, rng.randint(*rivals))]
        rng.shuffle(tenderers)
        process = self.process(
            buyer=buyer,
            sector=sector,
            method=method,
            tenderers=tenderers,
            winner=supplier,
            estimate=self.money_log(*estimate),
            start=self.day_between(*start),
        )
        return buyer, supplier, owner, ownership, directorship, process

    def _plant_one(
        self,
        scheme_type: str,
        description: str,
        parts: tuple[Body, Company, Person, Ownership, Directorship, Process],
        facts: dict[str, str] | None = None,
    ) -> None:
        buyer, supplier, owner, ownership, directorship, process = parts
        self.plant(
            scheme_type,
            description,
            [process],
            people=[owner.id],
            companies=[supplier.id],
            bodies=[buyer.id],
            ownerships=[ownership.id],
            directorships=[directorship.id],
            facts=facts,
        )

    def plant_non_open(self) -> None:
        parts = self._one_tender(
            sector=self.rng.choice(("construction", "roads")),
            method="limited",
            estimate=(2500000, 6000000),
            rivals=(0, 0),
        )
        buyer, supplier, *_, process = parts
        process.method_details = "Negotiated procedure without prior publication (urgency)"
        self._plant_one(
            "NON-OPEN-PROCEDURE",
            f"The {buyer.name} awarded '{process.title}' worth {process.award_value} {CURRENCY} to "
            f"{supplier.name} by a negotiated procedure without publication, citing urgency.",
            parts,
            facts={"method": process.method, "value": str(process.award_value)},
        )

    def plant_no_call(self) -> None:
        parts = self._one_tender(rivals=(0, 1))
        buyer, supplier, *_, process = parts
        process.call_published = False
        self._plant_one(
            "NO-CALL-FOR-TENDER",
            f"The {buyer.name} ran '{process.title}' as an open tender but never published the call for "
            f"tenders; only {len(process.tenderer_ids)} invited firm(s) bid and {supplier.name} won.",
            parts,
        )

    def plant_short_decision(self) -> None:
        parts = self._one_tender(rivals=(2, 4))
        buyer, supplier, *_, process = parts
        process.award_date = process.tender_end + timedelta(days=1)
        process.contract_signed = process.award_date + timedelta(days=self.rng.randint(3, 10))
        self._plant_one(
            "SHORT-DECISION",
            f"The {buyer.name} closed the tender '{process.title}' on {process.tender_end.isoformat()} and "
            f"awarded it to {supplier.name} the next day, without time to evaluate "
            f"{len(process.tenderer_ids)} bids.",
            parts,
            facts={"tender_end": process.tender_end.isoformat(), "award_date": process.award_date.isoformat()},
        )

    def plant_concentration(self) -> None:
        rng = self.rng
        buyer = rng.choice([b for b in self.bodies if b.kind == "agency"] or self.bodies)
        sector = rng.choice(buyer.sectors)
        supplier, owner, ownership, directorship = self.fresh_supplier(sector)
        year = rng.choice((2022, 2023))
        processes = []
        for _ in range(5):
            tenderers = [supplier, *self.rivals(buyer, sector, rng.randint(1, 2))]
            rng.shuffle(tenderers)
            processes.append(
                self.process(
                    buyer=buyer,
                    sector=sector,
                    method="open",
                    tenderers=tenderers,
                    winner=supplier,
                    estimate=self.money_log(4000000, 9000000),
                    start=self.day_between(date(year, 1, 15), date(year, 9, 30)),
                )
            )
        total = sum(p.award_value for p in processes)
        self.plant(
            "SUPPLIER-CONCENTRATION",
            f"In {year} {supplier.name} won {len(processes)} tenders of the {buyer.name} worth {total} "
            f"{CURRENCY}, most of what the {buyer.name} spent that year.",
            processes,
            people=[owner.id],
            companies=[supplier.id],
            bodies=[buyer.id],
            ownerships=[ownership.id],
            directorships=[directorship.id],
            facts={"year": str(year), "total": str(total)},
        )

    def plant_amendment_inflation(self) -> None:
        rng = self.rng
        parts = self._one_tender(sector=rng.choice(("construction", "roads", "it")), rivals=(2, 3))
        buyer, supplier, *_, process = parts
        first = process.contract_signed + timedelta(days=rng.randint(40, 120))
        raised = (process.award_value * Decimal(rng.uniform(1.15, 1.25))).quantize(CENT)
        second = first + timedelta(days=rng.randint(30, 90))
        final = (process.award_value * Decimal(rng.uniform(1.4, 1.6))).quantize(CENT)
        process.amendments = [
            Amendment(first, "Additional works found necessary during execution", raised),
            Amendment(second, "Price revision for materials", final),
        ]
        process.contract_end = max(process.contract_end, second + timedelta(days=60))
        self._plant_one(
            "AMENDMENT-INFLATION",
            f"{supplier.name} won '{process.title}' from the {buyer.name} at {process.award_value} {CURRENCY}; "
            f"two amendments raised the contract to {final} {CURRENCY}.",
            parts,
            facts={"award_value": str(process.award_value), "final_value": str(final)},
        )

    def plant_debarred_supplier(self) -> None:
        rng = self.rng
        start = self.day_between(date(2021, 6, 1), date(2023, 3, 31))
        end = start + timedelta(days=rng.choice((365, 730, 1095)))
        parts = self._one_tender(start=(start + timedelta(days=30), start + timedelta(days=200)), rivals=(1, 3))
        buyer, supplier, *_, process = parts
        debarment = Debarment(
            id=self.uid("debarment"),
            company_id=supplier.id,
            authority=DEBARMENT_AUTHORITY,
            start=start,
            end=end,
            grounds="Submitted forged bank guarantees in an earlier tender",
        )
        self.debarments.append(debarment)
        self._plant_one(
            "DEBARRED-SUPPLIER",
            f"{supplier.name} was debarred by the {DEBARMENT_AUTHORITY} from {start.isoformat()} to "
            f"{end.isoformat()}, yet the {buyer.name} awarded it '{process.title}' on "
            f"{process.award_date.isoformat()}.",
            parts,
            facts={"debarment": debarment.id, "from": start.isoformat(), "until": end.isoformat()},
        )

    def plant_price_at_estimate(self) -> None:
        parts = self._one_tender(rivals=(2, 3))
        buyer, supplier, *_, process = parts
        process.award_value = process.estimated_value
        for bid in process.bids:
            if bid.tenderer_id == supplier.id:
                bid.value = process.estimated_value
            else:
                bid.value = (process.estimated_value * Decimal(self.rng.uniform(1.03, 1.2))).quantize(CENT)
        self._plant_one(
            "PRICE-AT-ESTIMATE",
            f"{supplier.name} won '{process.title}' from the {buyer.name} with a bid of exactly "
            f"{process.award_value} {CURRENCY}, the buyer's unpublished estimate.",
            parts,
        )

    def plant_overpriced(self) -> None:
        parts = self._one_tender(rivals=(0, 1))
        buyer, supplier, *_, process = parts
        process.award_value = (process.estimated_value * Decimal(self.rng.uniform(1.3, 1.5))).quantize(CENT)
        for bid in process.bids:
            if bid.tenderer_id == supplier.id:
                bid.value = process.award_value
            else:
                bid.value = (process.award_value * Decimal(self.rng.uniform(1.02, 1.1))).quantize(CENT)
        self._plant_one(
            "OVERPRICED-AWARD",
            f"The {buyer.name} awarded '{process.title}' to {supplier.name} for {process.award_value} "
            f"{CURRENCY}, against its own estimate of {process.estimated_value} {CURRENCY}.",
            parts,
        )

    def plant_backdated(self) -> None:
        parts = self._one_tender(rivals=(1, 3))
        buyer, supplier, *_, process = parts
        process.contract_signed = process.award_date - timedelta(days=self.rng.randint(5, 20))
        process.contract_signed = max(process.contract_signed, process.tender_end + timedelta(days=1))
        if process.contract_signed >= process.award_date:
            process.award_date = process.contract_signed + timedelta(days=self.rng.randint(5, 20))
        self._plant_one(
            "BACKDATED-CONTRACT",
            f"The {buyer.name} signed the contract for '{process.title}' with {supplier.name} on "
            f"{process.contract_signed.isoformat()}, before the award decision of "
            f"{process.award_date.isoformat()}.",
            parts,
        )

    def plant_phantom_winner(self) -> None:
        rng = self.rng
        buyer = rng.choice(self.bodies)
        sector = rng.choice(buyer.sectors)
        supplier, owner, ownership, directorship = self.fresh_supplier(sector)
        bidders = self.rivals(buyer, sector, rng.randint(2, 3))
        process = self.process(
            buyer=buyer,
            sector=sector,
            method="open",
            tenderers=bidders,
            estimate=self.money_log(200000, 1200000),
            start=self.day_between(PERIOD_START, PERIOD_END),
        )
        process.supplier_id = supplier.id
        self._plant_one(
            "PHANTOM-WINNER",
            f"The {buyer.name} received {len(bidders)} bids for '{process.title}' but awarded the contract "
            f"to {supplier.name}, which did not bid.",
            (buyer, supplier, owner, ownership, directorship, process),
        )

    def debar_background(self) -> None:
        """A few more debarments, in force only after the period covered, so they catch nothing."""
        rng = self.rng
        for company in rng.sample(self.pool, k=min(len(self.pool), 3)):
            start = AS_OF + timedelta(days=rng.randint(1, 90))
            self.debarments.append(
                Debarment(
                    id=self.uid("debarment"),
                    company_id=company.id,
                    authority=DEBARMENT_AUTHORITY,
                    start=start,
                    end=None if rng.random() < 0.3 else start + timedelta(days=730),
                    grounds="Repeated failure to perform contracts",
                )
            )

    def address_by_id(self, address_id: str) -> Address:
        return next(a for a in self.addresses if a.id == address_id)

    # declarations

    def build_declarations(self) -> None:
        by_person: dict[str, list[FamilyTie]] = defaultdict(list)
        for tie in self.family:
            by_person[tie.person_id].append(tie)
        owned: dict[str, list[Ownership]] = defaultdict(list)
        for ownership in self.ownerships:
            if ownership.owner_id in self.people and ownership.id not in self.hidden_ownerships:
                owned[ownership.owner_id].append(ownership)
        for position in self.positions:
            self.declare(position, by_person[position.holder_id], owned)

    def declare(self, position: Position, ties: list[FamilyTie], owned: dict[str, list[Ownership]]) -> None:
        rng = self.rng
        official = self.people[position.holder_id]
        spouse = next((self.people[t.relative_id] for t in ties if t.kind == "spouse"), None)
        household = [official.id] + ([spouse.id] if spouse else [])
        number = official.id.split("-")[1]
        home_owner = rng.choice(household)
        city = self.address_by_id(official.address_id).city
        real_estate = [
            DeclarationRow(
                home_owner,
                "apartment" if rng.random() < 0.6 else "house",
                f"Home in {city}",
                self.money_log(80000, 350000, 1000),
                {
                    "location": city,
                    "area_m2": str(rng.randint(45, 180)),
                    "acquired": self.day_between(date(1998, 1, 1), date(2019, 12, 31)).isoformat(),
                    "share_percent": "100",
                },
            )
        ]
        if rng.random() < 0.3:
            real_estate.append(
                DeclarationRow(
                    rng.choice(household),
                    rng.choice(("land plot", "garage", "summer house")),
                    f"Property near {rng.choice(words.CITIES)[0]}",
                    self.money_log(8000, 70000, 500),
                    {
                        "acquired": self.day_between(date(2000, 1, 1), date(2020, 12, 31)).isoformat(),
                        "share_percent": "100",
                    },
                )
            )
        vehicles = [
            DeclarationRow(
                rng.choice(household),
                "car",
                rng.choice(CARS),
                self.money(6000, 38000),
                {"year": str(rng.randint(2008, 2021))},
            )
            for _ in range(rng.choices((0, 1, 2), weights=(2, 5, 2))[0])
        ]
        securities = (
            [
                DeclarationRow(
                    rng.choice(household),
                    "government bonds",
                    "Demoland Treasury bonds",
                    self.money(1000, 20000),
                )
            ]
            if rng.random() < 0.25
            else []
        )
        corporate = []
        dividends = []
        for person_id in household + [t.relative_id for t in ties if t.kind == "child"]:
            for ownership in owned.get(person_id, []):
                company = self.companies[ownership.company_id]
                whole = self.money(1000, 20000)  # the whole company's value; the row says the share owned
                corporate.append(
                    DeclarationRow(
                        person_id,
                        "shares",
                        company.name,
                        whole,
                        {"registry_number": company.registry_number, "share_percent": str(ownership.share)},
                    )
                )
                if rng.random() < 0.5:
                    dividends.append(DeclarationRow(person_id, "dividends", company.name, self.money(500, 9000)))
        cash = [
            DeclarationRow(person_id, "bank account", rng.choice(BANKS), self.money(1500, 40000))
            for person_id in household
        ]
        if rng.random() < 0.3:
            cash.append(DeclarationRow(official.id, "cash", "Cash at home", self.money(500, 8000)))
        liabilities = (
            [DeclarationRow(home_owner, "mortgage", rng.choice(BANKS), self.money(15000, 140000))]
            if rng.random() < 0.35
            else []
        )
        spouse_salary = self.money(15000, 42000) if spouse and rng.random() < 0.7 else Decimal(0)
        unexplained = official.id in self.unexplained

        for index, year in enumerate(DECLARATION_YEARS):
            raise_factor = Decimal(1 + 0.03 * index)
            salary = (position.salary * raise_factor).quantize(CENT)
            income = [
                DeclarationRow(
                    official.id,
                    "salary",
                    next(b.name for b in self.bodies if b.id == position.body_id),
                    salary,
                )
            ]
            if spouse and spouse_salary:
                income.append(
                    DeclarationRow(
                        spouse.id,
                        "salary",
                        rng.choice(
                            (
                                "Demopolis General Hospital",
                                "Northport Secondary School",
                                "Demoland Savings Bank",
                                "Eastvale Municipality",
                            )
                        ),
                        (spouse_salary * raise_factor).quantize(CENT),
                    )
                )
            income += dividends
            expenditures: list[DeclarationRow] = []
            if index > 0:
                earned = sum((row.value for row in income), Decimal(0))
                saved = (earned * Decimal(str(round(rng.uniform(0.05, 0.25), 2)))).quantize(CENT)
                cash = [
                    DeclarationRow(
                        r.owner_id,
                        r.kind,
                        r.description,
                        r.value + (saved if i == 0 else Decimal(0)),
                        dict(r.details),
                    )
                    for i, r in enumerate(cash)
                ]
                liabilities = [
                    DeclarationRow(
                        r.owner_id,
                        r.kind,
                        r.description,
                        max(Decimal(0), r.value - self.money(4000, 9000)),
                        dict(r.details),
                    )
                    for r in liabilities
                ]
                if unexplained:
                    flat = self.money_log(320000, 650000, 1000)
                    acquired = self.day_between(date(year, 2, 1), date(year, 11, 30))
                    real_estate = real_estate + [
                        DeclarationRow(
                            rng.choice(household),
                            "apartment",
                            f"Apartment in {words.CITIES[0][0]}",
                            flat,
                            {
                                "location": words.CITIES[0][0],
                                "area_m2": str(rng.randint(140, 260)),
                                "acquired": acquired.isoformat(),
                                "share_percent": "100",
                            },
                        )
                    ]
                    car = self.money(70000, 130000)
                    vehicles = vehicles + [
                        DeclarationRow(rng.choice(household), "car", rng.choice(LUXURY_CARS), car, {"year": str(year)})
                    ]
                    windfall = self.money(90000, 220000)
                    cash = cash + [DeclarationRow(official.id, "cash", "Cash at home", windfall)]
                    expenditures = [
                        DeclarationRow(
                            home_owner,
                            "real estate purchase",
                            "Apartment",
                            flat,
                            {"date": acquired.isoformat()},
                        ),
                        DeclarationRow(
                            home_owner,
                            "vehicle purchase",
                            vehicles[-1].description,
                            car,
                            {"date": self.day_between(date(year, 1, 15), date(year, 12, 15)).isoformat()},
                        ),
                    ]
            sections = {
                "real_estate": list(real_estate),
                "vehicles": list(vehicles),
                "securities": list(securities),
                "corporate_rights": list(corporate),
                "income": income,
                "cash_and_accounts": list(cash),
                "liabilities": list(liabilities),
                "expenditures": expenditures,
            }
            self.declarations.append(
                Declaration(
                    id=f"declaration-{number}-{year}",
                    person_id=official.id,
                    position_id=position.id,
                    year=year,
                    submitted=self.day_between(date(year + 1, 2, 1), date(year + 1, 3, 31)),
                    family=[(t.relative_id, t.kind) for t in ties],
                    sections=sections,
                )
            )

    # putting it together

    def build(self) -> Country:
        rng = self.rng
        self.build_government()
        self.build_officials()
        per_type = max(1, round(2 * self.scale))
        officials = [
            (self.people[p.holder_id], p) for p in self.positions if p.rank in ("head", "deputy", "procurement")
        ]
        rng.shuffle(officials)
        conflict_officials = [officials.pop() for _ in range(max(2, per_type))]
        wealth_officials = [officials.pop() for _ in range(per_type)]
        planted_people = {o.id for o, _ in conflict_officials + wealth_officials}
        adults = [
            self.people[t.relative_id]
            for t in self.family
            if t.kind in ("spouse", "child")
            and t.person_id not in planted_people
            and self.people[t.relative_id].birth_date < date(2000, 1, 1)
        ]
        family_owners = rng.sample(adults, k=min(len(adults), max(2, round(len(adults) * 0.06))))
        self.build_register(family_owners)
        self.compute_conflicts()

        for index, (official, position) in enumerate(conflict_officials):
            self.plant_conflict(official, position, "holding" if index % 2 == 0 else "nominee")
        for _ in range(per_type):
            self.plant_shared_tax_id()
            self.plant_repeat_direct()
            self.plant_single_bidder()
            self.plant_split_purchase()
            self.plant_new_company()
        for index in range(max(2, per_type)):
            self.plant_bid_rigging("shared-address" if index % 2 == 0 else "shared-director")
        for official, position in wealth_officials:
            self.plant_unexplained_wealth(official, position)
        for _ in range(per_type):
            self.plant_non_open()
            self.plant_no_call()
            self.plant_short_decision()
            self.plant_concentration()
            self.plant_amendment_inflation()
            self.plant_debarred_supplier()
            self.plant_price_at_estimate()
            self.plant_overpriced()
            self.plant_backdated()
            self.plant_phantom_winner()
        self.debar_background()

        planted = len(self.processes)
        self.build_procurement(max(40, round(2000 * self.scale) - planted))
        self.build_declarations()
        self.describe_wealth()
        self.plant_lifestyle(planted_people, per_type)
        return self.finish()

    def plant_lifestyle(self, planted_people: set[str], per_type: int) -> None:
        """Lifestyle signals added to the declarations of officials in no other scheme.

        Drawn from their own random stream (``"{seed}:lifestyle"``) after everything else, so the rest of
        the country is exactly what it was before these plants existed. Every planted row is in both
        years' declarations (the gift only in the second, banked in the same year), so the net-worth
        change between the two stays explained by income and no asset appears or vanishes.
        """
        rng = random.Random(f"{self.seed}:lifestyle")
        by_official: dict[str, list[Declaration]] = defaultdict(list)
        for declaration in self.declarations:
            by_official[declaration.person_id].append(declaration)
        positions = [p for p in self.positions if p.holder_id not in planted_people and p.holder_id in by_official]
        chosen = rng.sample(positions, k=min(len(positions), per_type * len(LIFESTYLE_SIGNALS)))
        for index, position in enumerate(chosen):
            scheme_type = list(LIFESTYLE_SIGNALS)[index % len(LIFESTYLE_SIGNALS)]
            official = self.people[position.holder_id]
            body = self.body_by_id(position.body_id)
            declarations = sorted(by_official[official.id], key=lambda d: d.year)
            first_income = sum((r.value for r in declarations[0].sections["income"]), Decimal(0))
            facts = {"signal": LIFESTYLE_SIGNALS[scheme_type]}
            if scheme_type == "LIFESTYLE-CASH-HOARD":
                hoard = Decimal(int(first_income * rng.randint(8, 12) / 1000) * 1000).quantize(CENT)
                for declaration in declarations:
                    declaration.sections["cash_and_accounts"].append(
                        DeclarationRow(official.id, "cash", "Cash kept at home", hoard)
                    )
                story = f"declares {hoard} {CURRENCY} in cash at home, about {int(hoard / first_income)} times the"
                story += " household's yearly income"
                facts["cash"] = str(hoard)
            elif scheme_type == "LIFESTYLE-PRIVATE-LOAN":
                lender = rng.choice(LENDERS)
                loan = self.money_log_with(rng, 60000, 180000)
                for declaration in declarations:
                    declaration.sections["liabilities"].append(
                        DeclarationRow(official.id, "private loan", lender, loan)
                    )
                story = f"owes {loan} {CURRENCY} to {lender}, a private company, not a bank"
                facts["creditor"], facts["amount"] = lender, str(loan)
            elif scheme_type == "LIFESTYLE-LARGE-GIFT":
                last = declarations[-1]
                income = sum((r.value for r in last.sections["income"]), Decimal(0))
                gift = Decimal(int(income * Decimal(str(round(rng.uniform(1.2, 2.0), 2))) / 100) * 100).quantize(CENT)
                giver = rng.choice(GIFT_GIVERS)
                last.sections["income"].append(DeclarationRow(official.id, "gift", f"Gift from {giver}", gift))
                accounts = last.sections["cash_and_accounts"]
                first_account = accounts[0]
                accounts[0] = DeclarationRow(
                    first_account.owner_id,
                    first_account.kind,
                    first_account.description,
                    first_account.value + gift,
                    dict(first_account.details),
                )
                story = f"received a gift of {gift} {CURRENCY} from {giver} in {last.year}, more than the"
                story += f" household's income of {income} {CURRENCY}"
                facts["gift"] = str(gift)
            elif scheme_type == "LIFESTYLE-ASSET-ABROAD":
                city, code = rng.choice(ABROAD)
                value = self.money_log_with(rng, 150000, 400000)
                acquired = date(2019, rng.randint(1, 12), rng.randint(1, 28)).isoformat()
                for declaration in declarations:
                    declaration.sections["real_estate"].append(
                        DeclarationRow(
                            official.id,
                            "apartment",
                            f"Apartment in {city}",
                            value,
                            {"location": f"{city}, {code}", "acquired": acquired, "share_percent": "100"},
                        )
                    )
                story = f"owns an apartment in {city} ({code}) worth {value} {CURRENCY}"
                facts["country"] = code
            else:
                yacht = rng.choice(YACHTS)
                value = self.money_log_with(rng, 180000, 450000)
                for declaration in declarations:
                    declaration.sections["vehicles"].append(
                        DeclarationRow(official.id, "boat", yacht, value, {"year": "2018"})
                    )
                story = f"owns a yacht, a {yacht}, worth {value} {CURRENCY}"
                facts["item"] = yacht
            self.plant(
                scheme_type,
                f"{official.name}, {position.title} at the {body.name}, {story}"
                + ("." if scheme_type == "LIFESTYLE-LARGE-GIFT" else "; both declarations say so."),
                people=[official.id],
                bodies=[body.id],
                positions=[position.id],
                declarations=[d.id for d in declarations],
                facts=facts,
            )

    def body_by_id(self, body_id: str) -> Body:
        return next(b for b in self.bodies if b.id == body_id)

    @staticmethod
    def money_log_with(rng: random.Random, low: float, high: float, round_to: int = 1000) -> Decimal:
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
        return Decimal(round(value / round_to) * round_to).quantize(CENT)

    def describe_wealth(self) -> None:
        """Puts the declared figures into each unexplained-wealth scheme, for checking the ground truth."""
        declarations = {d.id: d for d in self.declarations}
        for scheme, _ in self.schemes:
            if scheme.type != "UNEXPLAINED-WEALTH":
                continue
            before, after = (declarations[i] for i in scheme.declarations)
            worth_before, worth_after = net_worth(before), net_worth(after)
            income = sum((r.value for r in after.sections["income"]), Decimal(0))
            growth = worth_after - worth_before
            scheme.description += (
                f" Declared net worth went from {worth_before} to {worth_after} {CURRENCY} (+{growth}), "
                "while the "
                f"household declared {income} {CURRENCY} of income for {after.year}."
            )
            scheme.facts = {
                "net_worth_before": str(worth_before),
                "net_worth_after": str(worth_after),
                "growth": str(growth),
                "income": str(income),
                "unexplained": str(growth - income),
            }

    def finish(self) -> Country:
        self.processes.sort(key=lambda p: (p.tender_start, p.buyer_id, p.title, p.supplier_id))
        for number, process in enumerate(self.processes, start=1):
            process.id = f"process-{number:06d}"
            process.ocid = f"{OCID_PREFIX}{number:06d}"
        schemes: list[PlantedScheme] = []
        for number, (scheme, processes) in enumerate(self.schemes, start=1):
            scheme.id = f"scheme-{number:02d}"
            scheme.processes = [p.id for p in processes]
            schemes.append(scheme)
        return Country(
            seed=self.seed,
            scale=self.scale,
            generator_version=GENERATOR_VERSION,
            name=COUNTRY_NAME,
            code=COUNTRY_CODE,
            currency=CURRENCY,
            addresses=sorted(self.addresses, key=lambda a: a.id),
            bodies=list(self.bodies),
            people=sorted(self.people.values(), key=lambda p: p.id),
            positions=list(self.positions),
            family=sorted(self.family, key=lambda t: t.id),
            companies=sorted(self.companies.values(), key=lambda c: c.id),
            ownerships=sorted(self.ownerships, key=lambda o: o.id),
            directorships=sorted(self.directorships, key=lambda d: d.id),
            processes=self.processes,
            declarations=sorted(self.declarations, key=lambda d: d.id),
            schemes=schemes,
            debarments=sorted(self.debarments, key=lambda d: d.id),
        )


def owned(row: DeclarationRow) -> Decimal:
    """The part of an asset row the owner holds: a row's value is the whole asset's value and
    ``share_percent`` the share owned (100 when not given), as DECL-WEALTH reads it."""
    share = Decimal(row.details.get("share_percent", "100"))
    return row.value if share == 100 else (row.value * share / 100).quantize(CENT)


def net_worth(declaration: Declaration) -> Decimal:
    """Declared assets (the shares owned) minus declared liabilities, for the whole household."""
    assets = sum(
        (
            owned(row)
            for section in ("real_estate", "vehicles", "securities", "corporate_rights", "cash_and_accounts")
            for row in declaration.sections[section]
        ),
        Decimal(0),
    )
    debts = sum((row.value for row in declaration.sections["liabilities"]), Decimal(0))
    return assets - debts


def generate_country(seed: int, scale: float) -> Country:
    """The demo country for ``seed`` at ``scale``.

    Scale 1.0 is about 25 bodies, 200 officials, 600 companies and 2000 contracting processes.

    Deterministic: the same seed and scale always give the same country.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"the seed must be an integer, not {seed!r}")
    if not (0 < scale <= 1000):
        raise ValueError(f"the scale must be above 0 and at most 1000, not {scale!r}")
    return _Builder(seed, float(scale)).build()

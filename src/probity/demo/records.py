"""The demo country's records: the plain dataclasses the generator builds and the noise layer and the
writers read (people, companies, contracting processes, declarations, planted schemes …), and who the
company register knows (``bods_people``).

Generator ids look like ``person-418230`` (``probity.demo.generator``); ``Country`` (the whole country,
with its noise) lives in the generator, above this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from probity.demo.generator import Country

COUNTRY_SHORT_NAME = "Demoland"


# --- the country's records -----------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    """One spelling of a name, with its ISO 15924 script and its status (legal, transliteration …)."""

    text: str
    script: str
    kind: str = "legal"


@dataclass
class Address:
    id: str
    street: str
    city: str
    postcode: str

    @property
    def full(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}, {COUNTRY_SHORT_NAME}"


@dataclass
class Body:
    """A public body: ministry, agency, regulator or state enterprise, placed under a parent."""

    id: str
    name: str
    kind: str
    parent_id: str | None
    abbreviation: str
    sectors: tuple[str, ...]
    address_id: str


@dataclass
class Person:
    id: str
    names: list[Name]  # names[0] is the legal name in Latin script, as the civil register holds it
    given_name: str
    family_name: str
    gender: str
    birth_date: date
    origin: str  # "native", "cn" or "ru": which name tradition the person's names follow
    national_id: str
    address_id: str
    registry_names: list[Name]  # how the company register records the name (may be another script)

    @property
    def name(self) -> str:
        return self.names[0].text

    def name_in(self, script: str) -> str:
        for name in self.names:
            if name.script == script:
                return name.text
        return self.name


@dataclass
class Position:
    id: str
    body_id: str
    title: str
    rank: str  # head, deputy, procurement, finance, staff
    holder_id: str
    start_date: date
    is_pep: bool
    salary: Decimal  # a year, in CURRENCY


@dataclass
class FamilyTie:
    """``relative`` is the ``kind`` (spouse, child, parent) of ``person``."""

    id: str
    person_id: str
    relative_id: str
    kind: str


@dataclass
class Company:
    id: str
    name: str
    names: list[Name]  # names[0] is the registered (Latin) name
    kind: str  # "operating" or "holding"
    legal_form: str
    sector: str | None
    founded: date
    address_id: str
    registry_number: str
    tax_id: str


@dataclass
class Ownership:
    """``owner`` (a person or a company) holds ``share`` per cent of ``company``.

    When ``nominee_for`` is set the registered owner is a nominee holding the shares for that person.
    """

    id: str
    owner_id: str
    company_id: str
    share: Decimal
    start_date: date
    nominee_for: str | None = None


@dataclass
class Directorship:
    id: str
    person_id: str
    company_id: str
    role: str
    start_date: date


@dataclass
class Bid:
    tenderer_id: str
    value: Decimal
    date: date
    status: str  # valid, disqualified


@dataclass
class Amendment:
    """A change to a signed contract; ``value`` is the contract's value after it."""

    date: date
    rationale: str
    value: Decimal


@dataclass
class Debarment:
    """A company excluded from public contracts by ``authority`` from ``start`` to ``end``."""

    id: str
    company_id: str
    authority: str
    start: date
    end: date | None
    grounds: str


@dataclass
class Process:
    """One contracting process: tender, bids, one award and its contract (OCDS-like)."""

    id: str
    ocid: str
    buyer_id: str
    title: str
    sector: str
    category: str  # goods, works, services
    method: str  # open, selective, limited, direct
    method_details: str
    estimated_value: Decimal
    tender_start: date
    tender_end: date
    bids: list[Bid]
    supplier_id: str
    award_value: Decimal
    award_date: date
    contract_signed: date
    contract_end: date
    call_published: bool = True  # False: the tender was never advertised (no tender period is published)
    amendments: list[Amendment] = field(default_factory=list)

    @property
    def contract_value(self) -> Decimal:
        """The contract's value after its amendments."""
        return self.amendments[-1].value if self.amendments else self.award_value

    @property
    def tenderer_ids(self) -> list[str]:
        seen: list[str] = []
        for bid in self.bids:
            if bid.tenderer_id not in seen:
                seen.append(bid.tenderer_id)
        return seen


@dataclass
class DeclarationRow:
    owner_id: str
    kind: str
    description: str
    value: Decimal
    details: dict[str, str] = field(default_factory=dict)


@dataclass
class Declaration:
    id: str
    person_id: str
    position_id: str
    year: int
    submitted: date
    family: list[tuple[str, str]]  # (person id, relation to the declarant)
    sections: dict[str, list[DeclarationRow]]


@dataclass
class PlantedScheme:
    """One planted scheme and the generator ids of everything involved in it."""

    id: str
    type: str
    title: str
    description: str
    variant: str = ""
    people: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    positions: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)
    declarations: list[str] = field(default_factory=list)
    ownerships: list[str] = field(default_factory=list)
    directorships: list[str] = field(default_factory=list)
    family_ties: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)


def bods_people(country: Country) -> list[str]:
    """Generator ids of the people the company register knows: owners, nominees, nominators, directors."""
    found: set[str] = set()
    for ownership in country.ownerships:
        if ownership.owner_id.startswith("person-"):
            found.add(ownership.owner_id)
        if ownership.nominee_for:
            found.add(ownership.nominee_for)
    found.update(d.person_id for d in country.directorships)
    return sorted(found)

"""One graph whatever the order: a declaration naming a spouse, a register where the spouse holds 40 % of a
company, and contracts the declarant's body awards that company, loaded in every order through the import
jobs, with the queued jobs run by the worker and no admin step; both cross-register detectors flag, naming
the spouse and the company. Also: re-ingesting duplicates nothing, an analyst's rejection stays, and a link
whose rule stops holding goes."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from itertools import permutations
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from probity.config import WarehouseSetting
from probity.core.jobs import inbox_save, job_enqueue
from probity.core.links import link_decide, links_drain, relink_all
from probity.core.models import FamilyRelation, Finding, Job, LinkTouch, Person, RecordLink
from probity.ownership.models import Party
from tests.declarations.conftest import BASE
from tests.ownership.test_ingest import entity, holds, person

pytestmark = pytest.mark.django_db

RunJobs = Callable[[], list[Job]]

DECLARATION: dict[str, Any] = copy.deepcopy(BASE) | {
    "external_id": "decl-kc-2023",
    "declarant": {"id": "person-kc", "name": "Kamil Costa", "birth_date": "1961-07-15"},
    "position": {"title": "Minister", "body": {"name": "Ministry of Roads"}},
    "family_members": [{"id": "fm-1", "relation": "spouse", "name": "Daria Rossi", "birth_date": "1966-09-30"}],
    "vehicles": [],
}
REGISTER = [
    entity("s1", "Moravec Construction", identifiers=[{"scheme": "XD-CR", "id": "100"}]),
    person("p1", "Daria Rossi", birthDate="1966-09"),
    holds("r1", "p1", "s1", 40),
]
ROADS = {
    "id": "XD-GOV-001",
    "name": "Ministry of Roads",
    "roles": ["buyer"],
    "identifier": {"scheme": "XD-GOV", "id": "001"},
}
MORAVEC = {
    "id": "XD-CR-100",
    "name": "Moravec Construction",
    "roles": ["supplier"],
    "identifier": {"scheme": "XD-CR", "id": "100"},
}
RELEASE = {
    "ocid": "ocds-x-1",
    "id": "ocds-x-1-1",
    "date": "2023-05-02T00:00:00Z",
    "tag": ["compiled"],
    "initiationType": "tender",
    "buyer": {"id": ROADS["id"], "name": ROADS["name"]},
    "parties": [ROADS, MORAVEC],
    "tender": {"id": "t1", "status": "complete", "procurementMethod": "open"},
    "awards": [
        {
            "id": "a1",
            "status": "active",
            "date": "2023-05-02T00:00:00Z",
            "value": {"amount": 120000.0, "currency": "EUR"},
            "suppliers": [{"id": MORAVEC["id"], "name": MORAVEC["name"]}],
        }
    ],
}


@pytest.fixture(autouse=True)
def own_folders(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path / "var"
    settings.PROBITY_WAREHOUSE = WarehouseSetting("duckdb", str(tmp_path / "warehouse.duckdb"))


def _job(kind: str, name: str, content: Any, **parameters: Any) -> Job:
    file = inbox_save(name=name, chunks=[json.dumps(content).encode("utf-8")])
    return job_enqueue(kind=kind, parameters={"file": file, **parameters}, actor=None)


LOADERS: dict[str, Callable[[], Job]] = {
    "declaration": lambda: _job("declarations.import", "declarations.json", [DECLARATION]),
    "register": lambda: _job("ownership.ingest", "register.json", REGISTER, dataset="xd"),
    "contracts": lambda: _job("procurement.ingest", "releases.json", {"version": "1.1", "releases": [RELEASE]}),
}


def _load(what: str, run_jobs: RunJobs) -> None:
    job = LOADERS[what]()
    ran = run_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, (what, job.error)
    failed = [(j.kind, j.error) for j in ran if j.status == Job.Status.FAILED]
    assert not failed, failed


def _latest(code: str) -> Finding:
    finding = Finding.objects.filter(detector_code=code).order_by("-run__started_at", "-pk").first()
    assert finding is not None, f"{code} never ran"
    return finding


@pytest.mark.parametrize("order", list(permutations(LOADERS)), ids=lambda order: "-".join(order))
def test_both_detectors_flag_the_spouses_company_in_every_order(order: tuple[str, ...], run_jobs: RunJobs) -> None:
    for what in order:
        _load(what, run_jobs)
    undeclared = _latest("DECL-UNDECLARED-COMPANY")
    assert undeclared.outcome == "flag", undeclared.explanation
    assert "Moravec Construction (held by the spouse Daria Rossi" in undeclared.explanation
    award = _latest("DECL-COI-AWARD")
    assert award.outcome == "flag", award.explanation
    assert "Moravec Construction, held by the spouse Daria Rossi" in award.explanation
    assert "Ministry of Roads awarded 1 contract(s)" in award.explanation
    # the graph: one spouse, tied to the declarant, the register person linked to her with the reason
    spouse = Person.objects.get(name="Daria Rossi")
    minister = Person.objects.get(source_key="person-kc")
    assert FamilyRelation.objects.filter(person=minister, relative=spouse, kind="spouse").count() == 1
    assert Party.objects.get(record_id="p1").person == spouse
    link = RecordLink.objects.get(source="ownership.party", person=spouse)
    assert (link.rule, link.reason_params) == ("register_name_birth", {"name": "Daria Rossi", "month": "1966-09"})
    assert not LinkTouch.objects.exists()


def _everything(run_jobs: RunJobs) -> None:
    for what in LOADERS:
        _load(what, run_jobs)


def test_reingesting_and_relinking_duplicate_no_person_tie_or_link(run_jobs: RunJobs) -> None:
    _everything(run_jobs)
    counts = (Person.objects.count(), FamilyRelation.objects.count(), RecordLink.objects.count())
    assert counts == (2, 1, 2)  # the minister, the spouse; one tie; the member's link and the party's
    _everything(run_jobs)
    relink_all()
    call_command("entities", "relink")
    assert (Person.objects.count(), FamilyRelation.objects.count(), RecordLink.objects.count()) == counts
    assert _latest("DECL-COI-AWARD").outcome == "flag"


def test_a_rejected_link_stays_rejected_after_relink(run_jobs: RunJobs, make_user: Any) -> None:
    _everything(run_jobs)
    link = RecordLink.objects.get(source="ownership.party")
    link_decide(link=link, state=RecordLink.State.REJECTED, actor=make_user("analyst"))
    run_jobs()
    assert Party.objects.get(record_id="p1").person is None
    relink_all()
    links_drain()
    link.refresh_from_db()
    assert link.state == RecordLink.State.REJECTED
    assert Party.objects.get(record_id="p1").person is None
    assert not RecordLink.objects.filter(source="ownership.party", state=RecordLink.State.AUTOMATIC).exists()
    # and the detectors judged the graph again: the spouse is no longer in the register
    assert _latest("DECL-UNDECLARED-COMPANY").outcome == "not_applicable"


def test_a_link_goes_when_its_rule_stops_holding_unless_confirmed(run_jobs: RunJobs, make_user: Any) -> None:
    _everything(run_jobs)
    spouse = Person.objects.get(name="Daria Rossi")
    spouse.birth_date = "1967-01-30"  # corrected: no longer the register's birth month
    spouse.save()
    from probity.core.links import links_touch

    links_touch("core.person", [spouse.pk])
    run_jobs()
    assert Party.objects.get(record_id="p1").person is None
    assert not RecordLink.objects.filter(source="ownership.party").exists()
    # an analyst links them by hand and confirms: the rule still fails, the link stays
    party = Party.objects.get(record_id="p1")
    link = RecordLink.objects.create(
        source="ownership.party", source_key=str(party.pk), person=spouse, rule="analyst", reason_params={}
    )
    link_decide(link=link, state=RecordLink.State.CONFIRMED, actor=make_user("analyst"))
    run_jobs()
    relink_all()
    assert Party.objects.get(record_id="p1").person == spouse
    assert RecordLink.objects.get(pk=link.pk).state == RecordLink.State.CONFIRMED

"""Fixtures shared by every test of the cases module.

* ``case_files`` (automatic): evidence documents go to a folder of the test's own (``PROBITY_CASE_FILES_DIR``).
* ``_fast_password_hashing`` (automatic): MD5 in place of Argon2id, so that making users costs nothing (the
  cases tests make many, and none of them is about passwords).
* ``make_officer(*roles, username=None)``: a user made through ``core.services.user_create``, by default a
  ``case_handler``.
* ``officers``: three case handlers (``officer-1``, ``officer-2``, ``officer-3``); ``approver``: a fourth case
  handler who may approve outcomes; ``case_admin``: an administrator (draws, assigns, edits the catalogue);
  ``case_auditor``: an auditor (reads everything, re-runs draws).
* ``person``, ``organisation``, ``body``: a person, a company and a public body of the graph.
* ``pool``: the pool of the shipped type ``procurement-review`` for every body, with ``officers`` as members
  (a full share each). ``make_pool(case_type_code, officers, body=None, name=None)`` makes others.
* ``make_finding(subject=..., detector_code=..., subject_type=None)``: a flagged ``Finding`` of a detector run
  about a person, an organisation or any other subject (``subject`` a model instance or a string key);
  ``flagged_finding``: one about ``organisation``.
* ``make_case(**arguments)``: ``services.case_open`` of a ``procurement-review`` case opened by ``case_admin``
  (any argument of ``case_open`` may be given); ``open_case``: one such case, titled "Inflated contract".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from probity.cases import services
from probity.cases.models import Case, Pool, PoolMember
from probity.core.models import DetectorRun, Finding, Organisation, Person, PublicBody


@pytest.fixture(autouse=True)
def case_files(settings: Any, tmp_path: Path) -> Path:
    """The folder evidence documents are stored in during the test (never ``var/``)."""
    folder = tmp_path / "case-files"
    settings.PROBITY_CASE_FILES_DIR = str(folder)
    return folder


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_officer(make_user: Callable[..., User]) -> Callable[..., User]:
    """A user with ``roles`` (``case_handler`` when none are given)."""

    def make(*roles: str, username: str | None = None) -> User:
        return make_user(*(roles or ("case_handler",)), username=username)

    return make


@pytest.fixture
def officers(make_officer: Callable[..., User]) -> list[User]:
    return [make_officer(username=f"officer-{n}") for n in (1, 2, 3)]


@pytest.fixture
def approver(make_officer: Callable[..., User]) -> User:
    return make_officer(username="approver-1")


@pytest.fixture
def case_admin(make_officer: Callable[..., User]) -> User:
    return make_officer("administrator", username="case-admin")


@pytest.fixture
def case_auditor(make_officer: Callable[..., User]) -> User:
    return make_officer("auditor", username="case-auditor")


@pytest.fixture
def person(db: None) -> Person:
    return Person.objects.create(name="Ana Petrović")


@pytest.fixture
def organisation(db: None) -> Organisation:
    return Organisation.objects.create(name="Blue River Construction Ltd")


@pytest.fixture
def body(db: None) -> PublicBody:
    return PublicBody.objects.create(name="Ministry of Roads")


@pytest.fixture
def make_pool(db: None) -> Callable[..., Pool]:
    def make(
        case_type_code: str, members: Sequence[User], *, body: PublicBody | None = None, name: str | None = None
    ) -> Pool:
        pool = Pool.objects.create(
            name=name or f"{case_type_code} officers{f' ({body.name})' if body else ''}",
            case_type_code=case_type_code,
            body=body,
        )
        for officer in members:
            PoolMember.objects.create(pool=pool, officer=officer)
        return pool

    return make


@pytest.fixture
def pool(make_pool: Callable[..., Pool], officers: list[User]) -> Pool:
    return make_pool("procurement-review", officers, name="Procurement reviewers")


@pytest.fixture
def make_finding(db: None) -> Callable[..., Finding]:
    counter = iter(range(1, 1_000_000))

    def make(
        *, subject: Any = None, detector_code: str = "TEST-FLAG", subject_type: str | None = None, label: str = ""
    ) -> Finding:
        if isinstance(subject, Person):
            kind, key, name = "person", str(subject.pk), subject.name
        elif isinstance(subject, Organisation):
            kind, key, name = "organisation", str(subject.pk), subject.name
        else:
            number = next(counter)
            kind, key, name = "tender", str(subject or f"ocds-test-{number}"), label or f"Tender {number}"
        now = timezone.now()
        run = DetectorRun.objects.create(
            detector_code=detector_code,
            started_at=now,
            finished_at=now,
            status=DetectorRun.Status.SUCCEEDED,
            dataset="test",
            started_by="test",
            flagged=1,
            subjects_checked=1,
        )
        return Finding.objects.create(
            run=run,
            detector_code=detector_code,
            subject_type=subject_type or kind,
            subject_id=key,
            subject_label=label or name,
            outcome=Finding.Outcome.FLAG,
            score=0.9,
            explanation="Flagged by a test detector.",
        )

    return make


@pytest.fixture
def flagged_finding(make_finding: Callable[..., Finding], organisation: Organisation) -> Finding:
    return make_finding(subject=organisation, detector_code="PROC-SINGLE-BID")


@pytest.fixture
def make_case(case_admin: User) -> Callable[..., Case]:
    def make(**arguments: Any) -> Case:
        arguments.setdefault("case_type", "procurement-review")
        arguments.setdefault("title", "Inflated contract")
        arguments.setdefault("actor", case_admin)
        return services.case_open(**arguments)

    return make


@pytest.fixture
def open_case(make_case: Callable[..., Case]) -> Case:
    return make_case()

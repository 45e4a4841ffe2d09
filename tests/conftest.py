"""Shared fixtures: a temporary data folder instead of var/, users in each role, browser clients that have
passed the second factor, and the synthetic demo country, generated once per test session."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client, override_settings
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import DjangoDbBlocker

from probity.config import warehouse_setting
from probity.core.services import user_create
from probity.demo.generator import Country, generate_country

if TYPE_CHECKING:
    from probity.demo.writers import Manifest

SHARED_DATA = Path(
    os.environ.get("PROBITY_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
)

TEST_PASSWORD = "correct horse battery staple 42"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every Spark test is also ``slow``: the local Spark session alone takes about ten seconds to start."""
    for item in items:
        if item.get_closest_marker("spark") is not None:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def shared_data() -> Path:
    """The reference data folder (../shared/data); tests that need it are skipped where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent")
    return SHARED_DATA.resolve()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(*roles: str, username: str | None = None, password: str = TEST_PASSWORD) -> User:
        name = username or f"{'-'.join(roles) or 'plain'}-{next(counter)}"
        return user_create(username=name, password=password, roles=list(roles))

    return make


def attach_totp(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


@pytest.fixture
def verified_client(make_user: Callable[..., User]) -> Callable[..., Client]:
    """A test client signed in as a new user with ``roles`` who has passed the second factor."""

    def make(*roles: str, user: User | None = None) -> Client:
        user = user or make_user(*roles)
        device = attach_totp(user)
        client = Client()
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        client.user = user  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture(autouse=True)
def _default_language_after_each_test() -> Iterator[None]:
    """A test that switches the language must not leave the next test (or text it stores) in that language."""
    yield
    translation.deactivate()


# --- a temporary data folder in place of var/, and database rows shared by the tests of a module ---------


@pytest.fixture(scope="session", autouse=True)
def session_var_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The data folder of this test session in place of var/: ``settings.VAR_DIR``, the default warehouse
    (``VAR_DIR/warehouse.duckdb``) and ``PROBITY_VAR_DIR`` for the commands tests run in a child process. Shared
    by the session's tests (the cache of compiled SQL is kept); a test that needs its own sets them again."""
    folder = tmp_path_factory.mktemp("var")
    overrides: dict[str, Any] = {"VAR_DIR": folder}
    if warehouse_setting(None, Path(django_settings.VAR_DIR)) == django_settings.PROBITY_WAREHOUSE:
        overrides["PROBITY_WAREHOUSE"] = warehouse_setting(None, folder)
    with pytest.MonkeyPatch.context() as patch, override_settings(**overrides):
        patch.setenv("PROBITY_VAR_DIR", str(folder))
        yield folder


@contextmanager
def rolled_back(django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    """Database access for a fixture wider than one test: what is written inside is seen by the tests that use
    the fixture (each in its own savepoint) and rolled back when the fixture ends."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


# --- the demo country ---------------------------------------------------------------------------------------

DEMO_SEED, DEMO_SCALE = 20260, 0.05


class DemoCountry:
    """A generated demo country, shared by every test of the session that asks for the same seed and scale.

    Its files (as ``probity demo generate`` writes them) are written on first use into a folder of the
    session. Read them, never change them: ``copy_to`` gives a test its own copy to change.
    """

    def __init__(self, seed: int, scale: float, folder: Path) -> None:
        self.seed, self.scale = seed, scale
        self.country: Country = generate_country(seed, scale)
        self._folder = folder

    @cached_property
    def manifest(self) -> Manifest:
        # Deferred: the writers import FollowTheMoney (over a second), which tests of the country alone never need.
        from probity.demo.writers import write_country

        return write_country(self.country, self._folder)

    @property
    def out(self) -> Path:
        """The folder of the written files."""
        return self.manifest.out_dir

    def json(self, relative: str) -> Any:
        return json.loads((self.out / relative).read_text(encoding="utf-8"))

    def jsonl(self, relative: str) -> Iterator[dict[str, Any]]:
        with (self.out / relative).open(encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)

    def copy_to(self, folder: Path) -> Path:
        """A copy of the files in ``folder``, for a test that changes or removes some."""
        shutil.copytree(self.out, folder)
        return folder


@pytest.fixture(scope="session")
def demo_countries(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int, float], DemoCountry]:
    """``demo_countries(seed, scale)``: the demo country of that seed and scale, generated once per session."""
    made: dict[tuple[int, float], DemoCountry] = {}

    def get(seed: int, scale: float) -> DemoCountry:
        if (seed, scale) not in made:
            folder = tmp_path_factory.mktemp(f"demo-{seed}-{scale:g}")
            made[seed, scale] = DemoCountry(seed, scale, folder)
        return made[seed, scale]

    return get


@pytest.fixture(scope="session")
def demo_country(demo_countries: Callable[[int, float], DemoCountry]) -> DemoCountry:
    """The demo country most tests use: seed 20260 at scale 0.05, small and with every scheme type planted
    (both variants of the family-supplier and of the bid-rigging schemes)."""
    return demo_countries(DEMO_SEED, DEMO_SCALE)


@pytest.fixture
def run_jobs(db: None) -> Callable[[], list[Any]]:
    """Drains the job queue in this process, as a worker would; returns the jobs that ran."""
    from probity.core.models import Job
    from probity.core.worker import run_worker

    def drain() -> list[Any]:
        before = set(Job.objects.filter(status__in=["queued"]).values_list("pk", flat=True))
        run_worker(batch=True, startup_delay=False, interval=0)
        return list(Job.objects.filter(pk__in=before).order_by("pk"))

    return drain

"""A module plugs in through its AppConfig alone: pages, API, navigation, roles, detectors, finding subjects,
dashboard tiles, public datasets and hooks reach the project without an edit to core.

The minimal module is ``tests.core.plugin_module``; it is installed for these tests only, by adding it to the
settings' app list — the one place outside a module that adding a module touches.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import clear_url_caches

from probity.core import detectors as detector_registry_module
from probity.core import modules
from probity.core.api import build_api
from probity.core.detectors import detector_registry, get_detector
from probity.core.models import Finding
from probity.core.roles import all_role_permissions
from probity.core.services import api_token_create, detector_run
from probity.urls import build_urlpatterns
from tests.conftest import TEST_PASSWORD
from tests.core.plugin_module import hooks

PLUGIN = "tests.core.plugin_module"


def _urlconf() -> ModuleType:
    """The project's URL map assembled as ``probity.urls`` assembles it, with the plug-in installed."""
    urlconf = ModuleType("plugin_test_urls")
    api = build_api(routers=modules.api_routers())
    urlconf.urlpatterns = build_urlpatterns(api)  # type: ignore[attr-defined]
    urlconf.api = api  # type: ignore[attr-defined]
    return urlconf


@pytest.fixture
def plugin_installed() -> Iterator[ModuleType]:
    registry = dict(detector_registry_module._REGISTRY)
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, PLUGIN]):
        urlconf = _urlconf()
        with override_settings(ROOT_URLCONF=urlconf):
            clear_url_caches()
            yield urlconf
    clear_url_caches()
    detector_registry_module._REGISTRY.clear()
    detector_registry_module._REGISTRY.update(registry)
    # Forget the plug-in's detectors module, so that the next installation registers them again on import.
    for name in [name for name in sys.modules if name.startswith(f"{PLUGIN}.detectors")]:
        del sys.modules[name]


def test_the_plugin_is_a_module_and_core_is_one_too(plugin_installed: ModuleType) -> None:
    labels = [config.label for config in modules.module_configs()]
    assert labels[0] == "core"
    assert labels[-1] == "plugin_module"
    assert apps.get_app_config("plugin_module").verbose_name == "Plug-in test module"


@pytest.mark.django_db
def test_its_page_and_api_are_served(plugin_installed: ModuleType, make_user: Callable[..., User]) -> None:
    client = Client()
    assert client.get("/plugin/").content == b"plug-in page"
    user = make_user("analyst")
    _token, secret = api_token_create(user=user, name="plug-in test")
    response = client.get("/api/v1/plugin/ping", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert response.json() == {"answer": "pong"}
    schema = plugin_installed.api.get_openapi_schema()
    assert "/api/v1/plugin/ping" in schema["paths"]
    # core's own endpoints and the error body are still there, and unknown paths still answer in the API's shape
    assert "/api/v1/findings" in schema["paths"]
    missing = client.get("/api/v1/plugin/nothing", headers={"Authorization": f"Bearer {secret}"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_its_subject_type_reaches_the_findings_filter(plugin_installed: ModuleType) -> None:
    schema = plugin_installed.api.get_openapi_schema()
    parameters = schema["paths"]["/api/v1/findings"]["get"]["parameters"]
    subject_filter = next(p for p in parameters if p["name"] == "subject_type")
    assert "plugin_thing" in str(subject_filter["schema"])
    assert ("plugin_thing", "Plug-in thing") in modules.subject_type_choices()
    assert str(modules.subject_type_label("plugin_thing")) == "Plug-in thing"


@pytest.mark.django_db
def test_its_navigation_item_shows_to_roles_with_the_permission(
    plugin_installed: ModuleType, verified_client: Callable[..., Client]
) -> None:
    assert [item.url_name for item in modules.navigation_items()][-4:] == [
        "plugin_module:index",
        "core:jobs",
        "core:audit",
        "core:tokens",
    ]
    auditor = verified_client("auditor")  # auditors may view the audit log
    response = auditor.get("/plugin/")
    assert response.status_code == 200
    from probity.core.context_processors import navigation

    request = response.wsgi_request
    labels = [str(item["label"]) for item in navigation(request)["nav_items"]]
    assert "Plug-in page" in labels
    declarant = verified_client("declarant")
    request = declarant.get("/plugin/").wsgi_request
    assert "Plug-in page" not in [str(item["label"]) for item in navigation(request)["nav_items"]]


def test_its_role_grants_are_merged(plugin_installed: ModuleType) -> None:
    assert "core.view_auditentry" in all_role_permissions()["analyst"]


def test_a_grant_to_an_unknown_role_is_an_error(plugin_installed: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tests.core.plugin_module.roles.ROLE_PERMISSIONS", {"sorcerer": {"core.view_finding"}})
    with pytest.raises(LookupError, match="plugin_module grants permissions to the unknown role 'sorcerer'"):
        all_role_permissions()


@pytest.mark.django_db
def test_its_detector_is_registered_and_its_findings_are_stored(plugin_installed: ModuleType) -> None:
    assert "PLUGIN-THING" in detector_registry()
    run = detector_run(code="PLUGIN-THING", parameters={"threshold": 2})
    assert (run.flagged, run.passed) == (1, 1)
    finding = Finding.objects.get(run=run, subject_id="b")
    assert finding.subject_type == "plugin_thing"
    finding.full_clean()  # the subject type is a valid choice of the shared Finding model
    assert get_detector("PLUGIN-THING").__module__ == "tests.core.plugin_module.detectors"


@pytest.mark.django_db
def test_its_dashboard_tile_shows(plugin_installed: ModuleType, verified_client: Callable[..., Client]) -> None:
    response = verified_client("auditor").get("/")
    assert ("Plug-in things", 42) in [(str(label), count) for label, count in response.context["cards"]]
    response = verified_client("declarant").get("/")
    assert "Plug-in things" not in [str(label) for label, _count in response.context["cards"]]


def test_its_public_datasets_are_listed(plugin_installed: ModuleType) -> None:
    dataset = next(d for d in modules.public_datasets() if d.code == "plugin-things")
    assert list(dataset.rows()) == [{"thing": "one"}]


@pytest.mark.django_db
def test_it_answers_the_password_changed_hook_and_can_refuse(
    plugin_installed: ModuleType, verified_client: Callable[..., Client]
) -> None:
    client = verified_client("analyst")
    hooks.CALLS.clear()
    refused = client.post(
        "/account/password/",
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "refused-passphrase-2026",
            "new_password2": "refused-passphrase-2026",
        },
    )
    assert refused.status_code == 200
    assert "The plug-in module refuses this password." in refused.content.decode()
    user = User.objects.get(pk=client.user.pk)  # type: ignore[attr-defined]
    assert user.check_password(TEST_PASSWORD)  # unchanged
    accepted = client.post(
        "/account/password/",
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "accepted-passphrase-2026",
            "new_password2": "accepted-passphrase-2026",
        },
    )
    assert accepted.status_code == 302
    assert [call["new_password"] for call in hooks.CALLS] == ["refused-passphrase-2026", "accepted-passphrase-2026"]
    assert User.objects.get(pk=user.pk).check_password("accepted-passphrase-2026")


def test_without_the_plugin_nothing_of_it_is_left() -> None:
    assert "plugin_module" not in [config.label for config in modules.module_configs()]
    assert "plugin_thing" not in dict(modules.subject_type_choices())
    assert not [item for item in modules.navigation_items() if item.url_name.startswith("plugin_module:")]


def test_two_modules_cannot_declare_the_same_subject_type(
    plugin_installed: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = apps.get_app_config("plugin_module")
    monkeypatch.setattr(config, "subject_types", (modules.SubjectType("person", "Person again"),))
    with pytest.raises(ValueError, match="declared by both core and plugin_module"):
        modules.subject_types()

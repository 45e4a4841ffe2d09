"""The module contract: what a Probity module contributes, declared on its ``AppConfig``.

A module is a Django app whose ``AppConfig`` subclasses ``ModuleConfig`` and names its contributions
by conventional attributes (as NetBox's ``PluginConfig`` names ``navigation.menu_items``). Each name is
relative to the module's package — ``"api.router"`` is ``router`` in ``<module>/api.py`` — so the base
never imports a module and never knows a module's names: the project (``probity.urls``,
``probity.api``) and core's shared pages read the contributions through the functions below, in the
order of ``INSTALLED_APPS``. Adding a module touches no file outside it except the settings' app list.

=====================  =======================================================================
attribute              contributes
=====================  =======================================================================
``url_prefix``         its web pages: ``<module>/urls.py`` included under this prefix
``api_routers``        ``(prefix, "api.router")`` pairs mounted under ``/api/v1`` (or a router factory)
``navigation``         ``NavItem``\\s shown in the main navigation to users with the permission
``role_permissions``   ``{role: {"app.codename", …}}`` granted to core's roles (never taken away)
``detectors``          packages whose import registers detectors (``("detectors",)``)
``jobs``               packages whose import registers job kinds (``("jobs",)``, see ``core.jobs``)
``schedules``          ``ScheduleDefault``\\s: job kinds to run at set times, created once, then edited by people
``subject_types``      ``SubjectType``\\s its findings are about (``Finding.subject_type`` choices)
``dashboard_tiles``    ``DashboardTile``\\s on the dashboard, each a count for the signed-in user
``public_datasets``    ``PublicDataset``\\s the public portal may publish
``hooks``              ``{hook name: "services.function"}``: what it does when core announces an event
``linkers``            ``Linker``\\s: how its records join the graph of people and organisations (``core.links``)
``profile_sections``   ``ProfileSection``\\s on the page of a person or an organisation (``core.profiles``)
``case_panels``        ``CasePanel``\\s: what it shows on the page of a case that came from one of its records
=====================  =======================================================================

Hooks core announces: ``password_changed`` (``user``, ``old_password``, ``new_password``), called
inside the transaction that changes a password; a receiver that cannot go along raises
``HookRefused`` with a sentence for the user, and the password is not changed. ``finding_cases``
(``finding_ids``) asks which case each finding is in; each receiver answers ``{finding id: {"reference",
"url"}}`` for the findings it knows, and core merges the answers (``core.services.finding_cases``).

Hooks modules announce to each other (neither imports the other): ``case_open`` (``source``,
``source_key``, ``case_type``, ``title``, ``actor``, optional ``summary``, ``assignee``,
``person_ids``, ``organisation_ids``) asks the cases module for a case about a record and answers its
reference (the open case already about that record, if any); ``debarment_decided`` (``organisation``,
``years``, ``reference``, ``reason``, ``actor``) tells a module that keeps debarments that a case closed
with one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from inspect import isfunction
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from django.apps import AppConfig, apps
from django.utils.functional import Promise

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


@dataclass(frozen=True)
class NavItem:
    """One entry of the main navigation: a URL name, its label, and the permission it needs."""

    url_name: str
    label: str | Promise
    permission: str | None  # None: any signed-in user
    # Lower comes first; modules default to the middle, core puts its account pages last.
    weight: int = 500


@dataclass(frozen=True)
class SubjectType:
    """A kind of thing a finding is about (``Finding.subject_type``)."""

    code: str
    label: str | Promise


@dataclass(frozen=True)
class DashboardTile:
    """A number on the dashboard: ``count(user)`` of what this user may see."""

    code: str
    label: str | Promise
    count: Callable[[AbstractBaseUser | AnonymousUser], int]
    permission: str | None = None  # None: any signed-in user


@dataclass(frozen=True)
class PublicDataset:
    """A dataset the public portal may publish: what it is, and the function that yields its rows."""

    code: str
    title: str | Promise
    description: str | Promise
    rows: Callable[[], Iterator[Mapping[str, Any]]]
    columns: Sequence[tuple[str, str | Promise]] = ()  # (name, description)
    licence: str = "CC-BY-4.0"


@dataclass(frozen=True)
class ScheduleDefault:
    """A schedule a module proposes: created with these values if missing, then administrators edit it."""

    code: str
    label: str | Promise
    kind: str
    cron: str  # minute hour day-of-month month day-of-week, UTC
    parameters: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True


@dataclass(frozen=True)
class CasePanel:
    """What a module shows on the page of a case that came from one of its records (``Case.source``): the
    HTML of ``render(request, source_key)``, or None. The module decides who reads what: a protected
    report's content is shown only to its handlers."""

    source: str
    render: Callable[[Any, str], str | None]


class HookRefused(Exception):
    """Raised by a hook receiver that cannot go along with the event; the message is for the user."""


class ModuleConfig(AppConfig):
    """The ``AppConfig`` of a Probity module: its contributions by conventional, relative names."""

    # Django takes the one AppConfig subclass an ``apps.py`` defines or imports whose ``default`` is true. A
    # module's ``apps.py`` imports this base class too, so the base is never the default and every subclass is.
    default = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "default" not in cls.__dict__:
            cls.default = True

    url_prefix: str | None = None
    api_routers: Sequence[tuple[str, str]] = ()
    navigation: str | None = None
    role_permissions: str | None = None
    detectors: Sequence[str] = ()
    jobs: Sequence[str] = ()
    schedules: str | None = None
    subject_types: Sequence[SubjectType] = ()
    dashboard_tiles: str | None = None
    public_datasets: str | None = None
    hooks: Mapping[str, str] = MappingProxyType({})
    linkers: str | None = None
    profile_sections: str | None = None
    case_panels: str | None = None

    def ready(self) -> None:
        for package in (*self.detectors, *self.jobs):
            import_module(f"{self.name}.{package}")

    def resolve(self, relative: str) -> Any:
        """``"api.router"`` → the object ``router`` of ``<this module>.api``."""
        module_path, _dot, attribute = relative.rpartition(".")
        module = import_module(f"{self.name}.{module_path}" if module_path else self.name)
        try:
            return getattr(module, attribute)
        except AttributeError:
            raise LookupError(f"The module {self.label} declares {relative!r}, which does not exist.") from None


def module_configs() -> list[ModuleConfig]:
    """Every installed module, in the order of ``INSTALLED_APPS``."""
    return [config for config in apps.get_app_configs() if isinstance(config, ModuleConfig)]


def url_includes() -> list[tuple[str, str]]:
    """``(prefix, "<module>.urls")`` for every module with pages; the empty prefix comes last."""
    includes = [
        (config.url_prefix, f"{config.name}.urls") for config in module_configs() if config.url_prefix is not None
    ]
    return sorted(includes, key=lambda include: include[0] == "")


def api_routers() -> list[tuple[str, Any]]:
    """``(prefix, Router)`` for every router every module contributes. A name may also point to a function
    that builds the router, for a router whose schema depends on what is installed."""
    routers: list[tuple[str, Any]] = []
    for config in module_configs():
        for prefix, name in config.api_routers:
            router = config.resolve(name)
            routers.append((prefix, router() if isfunction(router) else router))
    return routers


def _contributed(attribute: str) -> list[Any]:
    """The objects every module names in ``attribute`` (a relative name of a sequence), in module order."""
    contributed: list[Any] = []
    for config in module_configs():
        name = getattr(config, attribute)
        if name:
            contributed.extend(config.resolve(name))
    return contributed


def navigation_items() -> list[NavItem]:
    """The main navigation: every module's items, by weight, in module order within a weight."""
    return sorted(_contributed("navigation"), key=lambda item: item.weight)


def role_grants() -> list[tuple[str, Mapping[str, set[str]]]]:
    """``(module label, {role: permissions})`` for every module that grants permissions."""
    return [
        (config.label, config.resolve(config.role_permissions))
        for config in module_configs()
        if config.role_permissions
    ]


def subject_types() -> list[SubjectType]:
    """Every kind of finding subject, in module order; a code declared twice is an error."""
    seen: dict[str, str] = {}
    types: list[SubjectType] = []
    for config in module_configs():
        for subject_type in config.subject_types:
            if subject_type.code in seen:
                raise ValueError(
                    f"The subject type {subject_type.code!r} is declared by both {seen[subject_type.code]} "
                    f"and {config.label}."
                )
            seen[subject_type.code] = config.label
            types.append(subject_type)
    return types


def subject_type_choices() -> list[tuple[str, str | Promise]]:
    """``Finding.subject_type``'s choices (a callable, so a new module needs no core migration)."""
    return [(subject_type.code, subject_type.label) for subject_type in subject_types()]


def subject_type_label(code: str) -> str | Promise:
    return dict(subject_type_choices()).get(code, code)


def dashboard_tiles() -> list[DashboardTile]:
    return _contributed("dashboard_tiles")


def schedule_defaults() -> list[ScheduleDefault]:
    return _contributed("schedules")


def public_datasets() -> list[PublicDataset]:
    datasets: list[PublicDataset] = _contributed("public_datasets")
    codes = [dataset.code for dataset in datasets]
    duplicated = sorted({code for code in codes if codes.count(code) > 1})
    if duplicated:
        raise ValueError(f"Two modules publish a dataset with the same code: {', '.join(duplicated)}.")
    return datasets


def hook_receivers(hook: str) -> list[Callable[..., Any]]:
    """The functions that answer ``hook``, in module order."""
    return [config.resolve(config.hooks[hook]) for config in module_configs() if hook in config.hooks]


def hook_call(hook: str, **arguments: Any) -> list[Any]:
    """Calls every receiver of ``hook`` with ``arguments`` (keywords); returns their answers."""
    return [receiver(**arguments) for receiver in hook_receivers(hook)]


def linkers() -> list[Any]:
    """Every module's ``core.links.Linker``\\s, in module order."""
    return _contributed("linkers")


def profile_sections() -> list[Any]:
    """Every module's ``core.profiles.ProfileSection``\\s, in module order."""
    return _contributed("profile_sections")


def case_panels(source: str) -> list[CasePanel]:
    """Every module's ``CasePanel``\\s for cases from ``source``, in module order."""
    return [panel for panel in _contributed("case_panels") if panel.source == source]

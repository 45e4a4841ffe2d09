"""Roles are Django groups with fixed permissions; this module is the one place that defines them.

``roles_sync`` (run after every migrate) creates the groups and resets their permissions to what is
written here, so a role means the same thing on every installation.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

from probity.core.modules import role_grants

ADMINISTRATOR = "administrator"
ANALYST = "analyst"
VERIFIER = "verifier"
DECLARANT = "declarant"
CASE_HANDLER = "case_handler"
AUDITOR = "auditor"

ROLE_LABELS = {
    ADMINISTRATOR: _("Administrator"),
    ANALYST: _("Analyst"),
    VERIFIER: _("Verifier"),
    DECLARANT: _("Declarant"),
    CASE_HANDLER: _("Case handler"),
    AUDITOR: _("Auditor (read-only)"),
}
ALL_ROLES = tuple(ROLE_LABELS)

# Everyone except declarants works with other people's data, so must use a second factor; declarants must
# too when PROBITY_DECLARANT_SECOND_FACTOR is "required" (``needs_second_factor``).
STAFF_ROLES = frozenset({ADMINISTRATOR, ANALYST, VERIFIER, CASE_HANDLER, AUDITOR})

CORE_MODELS = ("publicbody", "person", "personname", "familyrelation", "organisation", "position", "identifier")
GRAPH_MODELS = ("person", "personname", "familyrelation", "organisation", "identifier")

# Permission codenames per role, as "app_label.codename".
ROLE_PERMISSIONS: dict[str, set[str]] = {
    ADMINISTRATOR: {
        *(f"core.{action}_{model}" for model in CORE_MODELS for action in ("view", "add", "change", "delete")),
        "core.view_finding",
        "core.change_finding",
        "core.triage_finding",
        "core.view_detectorrun",
        "core.run_detector",
        "core.view_auditentry",
        "core.verify_auditentry",
        "core.manage_jobs",
        "core.view_recordlink",
        "core.decide_recordlink",
        "core.view_job",
        "core.view_schedule",
        "core.change_schedule",
        "core.view_apitoken",
        "core.delete_apitoken",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
    },
    ANALYST: {
        *(f"core.view_{model}" for model in CORE_MODELS),
        # manage the graph of people and organisations; public bodies and positions stay the administrators'
        *(f"core.{action}_{model}" for model in GRAPH_MODELS for action in ("add", "change")),
        "core.view_recordlink",
        "core.decide_recordlink",
        "core.view_finding",
        "core.triage_finding",
        "core.view_detectorrun",
        "core.run_detector",
    },
    VERIFIER: {
        *(f"core.view_{model}" for model in CORE_MODELS),
        "core.view_finding",
        "core.triage_finding",
        "core.view_detectorrun",
    },
    DECLARANT: set(),  # sees only their own records, through the object rules in rules.py
    CASE_HANDLER: {"core.view_publicbody", "core.view_position"},  # cases: only those assigned (rules.py)
    AUDITOR: {
        *(f"core.view_{model}" for model in CORE_MODELS),
        "core.view_recordlink",
        "core.view_finding",
        "core.view_detectorrun",
        "core.view_auditentry",
        "core.verify_auditentry",
        "auth.view_user",
        "auth.view_group",
    },
}


def all_role_permissions() -> dict[str, set[str]]:
    """The core table above plus what each module grants (``ModuleConfig.role_permissions``); a module may
    only add, never take away."""
    merged = {role: set(codes) for role, codes in ROLE_PERMISSIONS.items()}
    for module, grants in role_grants():
        for role, codes in grants.items():
            if role not in merged:
                raise LookupError(f"The module {module} grants permissions to the unknown role {role!r}.")
            merged[role] |= set(codes)
    return merged


def roles_sync() -> dict[str, int]:
    """Creates the role groups and sets each one's permissions exactly; returns permission counts."""
    counts: dict[str, int] = {}
    for role, wanted in all_role_permissions().items():
        group, _created = Group.objects.get_or_create(name=role)
        permissions = []
        for dotted in sorted(wanted):
            app_label, codename = dotted.split(".", 1)
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is None:
                raise LookupError(f"Role {role!r} names the unknown permission {dotted!r}.")
            permissions.append(permission)
        group.permissions.set(permissions)
        counts[role] = len(permissions)
    return counts


def roles_sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("plan") is not None and not Permission.objects.filter(content_type__app_label="core").exists():
        return
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    # Core's post_migrate runs before that of the apps listed after it, whose permissions the roles name.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=kwargs.get("using", "default"))
    roles_sync()


def user_roles(user: Any) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached: set[str] | None = getattr(user, "_probity_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        if getattr(user, "is_superuser", False):
            cached.add(ADMINISTRATOR)
        user._probity_roles = cached
    return cached


def declarant_second_factor_required() -> bool:
    """The administrator's policy ``PROBITY_DECLARANT_SECOND_FACTOR``, read now (not at start-up); anything
    but ``optional`` counts as required."""
    return str(getattr(settings, "PROBITY_DECLARANT_SECOND_FACTOR", "optional")) != "optional"


def needs_second_factor(user: Any) -> bool:
    """Staff roles always; declarants when the policy requires it."""
    roles = user_roles(user)
    if roles & STAFF_ROLES:
        return True
    return DECLARANT in roles and declarant_second_factor_required()

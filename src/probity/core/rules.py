"""Object-level access rules: where a role may see a record only because of who it belongs to.

A declarant sees only their own declarations and their own person record (and family); a case
handler only the cases assigned to them. Each app registers its rules here with
``register_rule``; ``ObjectRulesBackend`` answers ``user.has_perm(perm, obj)`` from them and
``visible_to`` narrows a queryset the same way, so views and the API apply one definition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, Q, QuerySet

from probity.core.roles import user_roles


@dataclass(frozen=True)
class ObjectRule:
    """Users holding one of ``roles`` may do ``actions`` on objects matched by ``condition(user)``."""

    model_label: str
    roles: frozenset[str]
    actions: frozenset[str]
    condition: Callable[[Any], Q]

    def allows(self, user: Any, action: str, obj: Model) -> bool:
        if action not in self.actions or not (user_roles(user) & self.roles):
            return False
        return type(obj)._default_manager.filter(self.condition(user), pk=obj.pk).exists()


_RULES: dict[str, list[ObjectRule]] = {}


def register_rule(model_label: str, *, roles: set[str], actions: set[str], condition: Callable[[Any], Q]) -> None:
    rule = ObjectRule(model_label.lower(), frozenset(roles), frozenset(actions), condition)
    rules = _RULES.setdefault(rule.model_label, [])
    if rule not in rules:
        rules.append(rule)


def owned_by(path: str) -> Callable[[Any], Q]:
    """Condition for records whose ``path`` leads to the requesting user (e.g. ``declarant__user``)."""
    return lambda user: Q(**{path: user})


# Cases assigned to a handler (e.g. ``assigned_to("assignee")``) use the same condition.
assigned_to = owned_by


def visible_to(user: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """The part of ``queryset`` that ``user`` may view: all of it with the model's view permission,
    otherwise only what an object rule grants, otherwise nothing."""
    model = queryset.model
    if not user.is_authenticated:
        return queryset.none()
    if user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}"):
        return queryset
    condition: Q | None = None
    for rule in _RULES.get(model._meta.label_lower, []):
        if "view" in rule.actions and user_roles(user) & rule.roles:
            condition = rule.condition(user) if condition is None else condition | rule.condition(user)
    return queryset.filter(condition).distinct() if condition is not None else queryset.none()


class ObjectRulesBackend:
    """Authentication backend that only answers object permissions; it never authenticates."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: Any) -> None:
        return None

    def has_perm(self, user: Any, perm: str, obj: Model | None = None) -> bool:
        if obj is None or not user.is_active:
            return False
        app_label, _dot, codename = perm.partition(".")
        action = codename.split("_", 1)[0]
        rules = _RULES.get(obj._meta.label_lower, [])
        return any(rule.allows(user, action, obj) for rule in rules if obj._meta.app_label == app_label)


def register_core_rules() -> None:
    from probity.core.roles import DECLARANT

    # A declarant sees their own person record and the family members linked to it.
    register_rule(
        "core.person",
        roles={DECLARANT},
        actions={"view"},
        condition=lambda user: Q(user=user) | Q(relative_of__person__user=user),
    )

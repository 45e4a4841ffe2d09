"""Object rules of the declarations app: a declarant sees only their own declarations and versions."""

from __future__ import annotations

from probity.core.roles import DECLARANT
from probity.core.rules import owned_by, register_rule


def register_declaration_rules() -> None:
    register_rule(
        "declarations.declaration", roles={DECLARANT}, actions={"view"}, condition=owned_by("declarant__user")
    )
    register_rule(
        "declarations.declarationversion",
        roles={DECLARANT},
        actions={"view"},
        condition=owned_by("declaration__declarant__user"),
    )

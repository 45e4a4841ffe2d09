from typing import Any

from probity.core.modules import HookRefused

CALLS: list[dict[str, Any]] = []


def password_changed(**arguments: Any) -> None:
    CALLS.append(arguments)
    if arguments["new_password"].startswith("refused"):
        raise HookRefused("The plug-in module refuses this password.")

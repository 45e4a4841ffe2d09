"""``probity declarations`` subcommands for e-filing: deadlines, reminders and non-filers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

COMMANDS: dict[str, Callable[[Any, dict[str, Any]], int]] = {}


def add_parsers(sub: Any) -> None:
    """Add this area's subcommands to the ``probity declarations`` parser."""

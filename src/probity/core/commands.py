"""The one way to write a ``probity`` command with subcommands.

Subclass ``SubcommandCommand`` and declare each subcommand in ``add_subcommands`` with the method that
runs it; the method receives the parsed options as keywords and may return an exit status::

    class Command(SubcommandCommand):
        help = "Verify the audit log or show its latest entries."

        def add_subcommands(self, subcommands: Subcommands) -> None:
            subcommands.add("verify", self.verify, help="recompute every entry's seal")
            tail = subcommands.add("tail", self.tail, help="print the latest entries")
            tail.add_argument("-n", type=int, default=20)

        def verify(self, **options: Any) -> None: ...
        def tail(self, *, n: int, **options: Any) -> None: ...

A subcommand with subcommands of its own (``probity reporting keys create``) is a group:
``keys = subcommands.group("keys", help=...)``, then ``keys.add("create", self.keys_create)``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

Handler = Callable[..., int | None]
_HANDLER = "_subcommand_handler"


class Subcommands:
    """The subcommands of one command (or of one group of it)."""

    def __init__(self, parser: argparse.ArgumentParser, dest: str) -> None:
        self._parser = parser
        self._dest = dest
        self._action = parser.add_subparsers(dest=dest, required=True, metavar="SUBCOMMAND")
        self.names: list[str] = []

    def _add_parser(self, name: str, help: str, description: str | None) -> argparse.ArgumentParser:
        self.names.append(name)
        self._action.metavar = "{" + ",".join(self.names) + "}"
        kwargs: dict[str, Any] = {"help": help}
        if description is not None:
            kwargs["description"] = description
        return self._action.add_parser(name, **kwargs)

    def add(self, name: str, handler: Handler, *, help: str, description: str | None = None) -> argparse.ArgumentParser:
        """A subcommand run by ``handler(**options)``; returns its parser for its own arguments."""
        parser = self._add_parser(name, help, description)
        parser.set_defaults(**{_HANDLER: handler})
        return parser

    def group(self, name: str, *, help: str, description: str | None = None) -> Subcommands:
        """A subcommand that only groups subcommands of its own."""
        parser = self._add_parser(name, help, description)
        return Subcommands(parser, f"{self._dest}_{name.replace('-', '_')}")


class SubcommandCommand(BaseCommand):
    """A management command whose work is done by one of its subcommands."""

    # Subcommands that need neither the database nor the web routes skip Django's system checks,
    # which import every URL module and the API.
    without_system_checks: frozenset[str] = frozenset()

    def add_subcommands(self, subcommands: Subcommands) -> None:
        raise NotImplementedError

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_subcommands(Subcommands(parser, "subcommand"))

    def execute(self, *args: Any, **options: Any) -> str | None:
        if options.get("subcommand") in self.without_system_checks:
            options["skip_checks"] = True
        return super().execute(*args, **options)

    def handle(self, *args: Any, **options: Any) -> None:
        handler: Handler = options.pop(_HANDLER)
        status = handler(**options)
        if status:
            sys.exit(status)

"""The ``probity`` console command: Probity's batch jobs, and Django's ``manage.py`` for everything else.

``probity --help`` lists Probity's own subcommands first, then Django's (``probity migrate``,
``probity createsuperuser`` …). Configuration problems end with one sentence and exit code 2.
"""

from __future__ import annotations

import os
import sys

HELP_WORDS = {"-h", "--help", "help"}


def _probity_help() -> str:
    from django.apps import apps
    from django.core.management import get_commands, load_command_class

    from probity.core.modules import ModuleConfig

    # Probity's own apps and every installed module (a module need not live in the probity package).
    probity_apps = {
        config.name
        for config in apps.get_app_configs()
        if config.name.startswith("probity.") or isinstance(config, ModuleConfig)
    }

    lines = [
        "usage: probity <subcommand> [options]",
        "",
        "Probity: software for preventing corruption (declarations, procurement risk, ownership, reporting).",
        "",
        "Probity subcommands:",
    ]
    for name, app in sorted(get_commands().items()):
        if app in probity_apps:
            command = load_command_class(app, name)
            summary = (command.help or "").strip().splitlines()[0] if command.help else ""
            lines.append(f"  {name:<14} {summary}")
    lines += [
        "",
        "Run 'probity <subcommand> --help' for a subcommand's options and its own subcommands.",
        "Django's commands work too (migrate, createsuperuser, runserver, shell, compilemessages …);",
        "'probity help --commands' lists every command.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probity.settings")
    from probity.config import ConfigurationError

    # ``probity procurement indicators FILE`` touches no database: it runs without Django's start-up.
    from probity.procurement.indicators.command import main as procurement_indicators_main

    status = procurement_indicators_main(argv)
    if status is not None:
        return status

    try:
        import django

        django.setup()
    except ConfigurationError as exc:
        print(f"probity: configuration error: {exc}", file=sys.stderr)
        return 2

    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError

    if len(argv) == 1 or (len(argv) == 2 and argv[1] in HELP_WORDS):
        print(_probity_help())
        return 0
    try:
        execute_from_command_line(argv)
    except ConfigurationError as exc:
        print(f"probity: configuration error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        from django.db import connection

        settings_dict = connection.settings_dict
        where = settings_dict.get("HOST") or settings_dict.get("NAME")
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"probity: the database at {where} cannot be used ({reason}); check DATABASE_URL.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("probity: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

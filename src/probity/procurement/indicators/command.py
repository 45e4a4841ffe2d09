"""``probity procurement indicators FILE`` without Django's start-up.

Run on a file into a private in-memory DuckDB (the default, without ``--warehouse``), the command
touches neither the database nor the web routes nor the other apps, yet ``django.setup()`` (every
app's models, detectors and their libraries) costs about a second before it starts. ``main`` runs
the same subcommand — the same parser and the same handler as the management command
``probity.procurement.management.commands.procurement`` — with only the settings module loaded, and
returns ``None`` for any other command line so that the caller falls back to the full start-up::

    status = fast_main(argv)      # in probity.cli.main, before django.setup()
    if status is not None:
        return status

It can also be run directly: ``python -m probity.procurement.indicators.command procurement
indicators FILE -s SETTINGS``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from probity.config import ConfigurationError

HELP_WORDS = frozenset({"-h", "--help", "help", "--version"})
# Options of Django's command line that need the full start-up: fall back when one is given.
FULL_STARTUP_OPTIONS = ("settings", "pythonpath", "warehouse")


def main(argv: Sequence[str] | None = None) -> int | None:
    """Runs ``probity procurement indicators …`` if ``argv`` is that command (without
    ``--warehouse``); returns its exit code, or ``None`` if ``argv`` is another command."""
    args = list(sys.argv if argv is None else argv)
    if len(args) < 3 or args[1] != "procurement" or "indicators" not in args[2:]:
        return None
    if HELP_WORDS & set(args[2:]):
        return None
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probity.settings")
    # Start reading FILE now, while the rest starts (see prefetch.py); the run checks it is usable.
    # Imported here, not at the top: every other command line (which returns above) must not pay for it.
    from probity.procurement.indicators import prefetch as prefetching

    prefetch = prefetching.start(args)
    try:
        return _run(args, prefetch)
    finally:
        if prefetch is not None:
            prefetch.close()  # unless the run took it over


def _run(args: list[str], prefetch: object) -> int | None:
    # Imported here, not at the top: every other command line (which returns before) must not pay for them.
    from django.core.management.base import CommandError

    from probity.procurement.management.commands.procurement import Command

    command = Command()
    # As Django's run_from_argv: parser errors print the usage and exit with status 2.
    command._called_from_command_line = True  # type: ignore[attr-defined]
    parser = command.create_parser(os.path.basename(args[0]), args[1])
    options = vars(parser.parse_args(args[2:]))
    if options.get("subcommand") != "indicators" or any(options.get(name) for name in FULL_STARTUP_OPTIONS):
        return None
    options["prefetch"] = prefetch
    try:
        return command.indicators(**options)
    except CommandError as exc:
        command.stderr.write(f"{exc.__class__.__name__}: {exc}")
        return exc.returncode
    except ConfigurationError as exc:
        print(f"probity: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("probity: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    status = main(["probity", *sys.argv[1:]])
    if status is None:
        print("usage: python -m probity.procurement.indicators.command procurement indicators FILE …", file=sys.stderr)
        status = 2
    sys.exit(status)

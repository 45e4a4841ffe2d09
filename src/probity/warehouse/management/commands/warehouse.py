"""``probity warehouse``: look at the analytics warehouse from the console.

probity warehouse info              engine, location, versions, connection and tables
probity warehouse tables            the tables, with row counts from the catalogue
probity warehouse query "SELECT …"  run one read-only SELECT and print the first rows
"""

from __future__ import annotations

import argparse
from datetime import UTC
from typing import Any

from django.core.management.base import CommandError

from probity.config import ConfigurationError
from probity.core.commands import SubcommandCommand, Subcommands
from probity.warehouse.services import warehouse_query, warehouse_status

DEFAULT_LIMIT = 20
MAX_LIMIT = 10_000


def _text_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain fixed-width table for the console."""
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * width for width in widths]), *(line(row) for row in rows)])


def _cell(value: Any, width: int = 40) -> str:
    if value is None:
        return ""
    try:
        import pandas as pd  # a third of a second to import: the rows printed come from it anyway

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):  # lists, arrays: not a single missing value
        pass
    text = str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


class Command(SubcommandCommand):
    help = (
        "Shows the analytics warehouse: engine and versions, its tables, and read-only SQL queries.\n\n"
        'Subcommands: info, tables, query "SELECT …".'
    )

    def add_subcommands(self, subcommands: Subcommands) -> None:
        subcommands.add(
            "info", self.info, help="engine, location, versions, whether the connection works, and the tables"
        )
        subcommands.add("tables", self.tables, help="the tables, with row counts and refresh times from the catalogue")
        query = subcommands.add(
            "query",
            self.query,
            help="run one read-only SELECT and print the first rows",
            description="Runs one read-only SELECT in the engine's SQL dialect and prints the first rows.",
        )
        query.formatter_class = argparse.RawDescriptionHelpFormatter
        query.add_argument("sql", help='the query, for example "SELECT buyer, count(*) FROM contracts GROUP BY 1"')
        query.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"rows to print (default {DEFAULT_LIMIT})")

    def info(self, **options: Any) -> None:
        report = warehouse_status()
        facts = [
            ("Engine", report.engine),
            ("Location", report.location),
            ("Ibis version", report.ibis_version),
            ("Engine version", report.engine_version),
            ("Connection", "works" if report.connected else f"FAILED: {report.error}"),
        ]
        for label, value in facts:
            self.stdout.write(f"{label + ':':<16}{value}")
        self.stdout.write("")
        self._write_tables(report.tables)
        if not report.connected:
            raise CommandError(f"The warehouse cannot be reached: {report.error}")

    def tables(self, **options: Any) -> None:
        report = warehouse_status()
        self._write_tables(report.tables)
        if not report.connected:
            raise CommandError(f"The warehouse cannot be reached: {report.error}")

    def _write_tables(self, tables: list[Any]) -> None:
        if not tables:
            self.stdout.write("No tables yet.")
            return
        rows = []
        for table in tables:
            present = {None: "unknown", True: "yes", False: "MISSING"}[table.present]
            rows.append(
                [
                    table.name,
                    "" if table.row_count is None else str(table.row_count),
                    table.refreshed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if table.refreshed_at else "",
                    present,
                    _cell(table.source),
                ]
            )
        self.stdout.write(_text_table(["table", "rows", "refreshed", "in engine", "source"], rows))

    def query(self, *, sql: str, limit: int, **options: Any) -> None:
        if not 1 <= limit <= MAX_LIMIT:
            raise CommandError(f"--limit must be between 1 and {MAX_LIMIT}.")
        try:
            result = warehouse_query(query=sql, limit=limit)
        except (ValueError, ConfigurationError) as exc:
            raise CommandError(str(exc)) from exc
        frame, more = result.frame, result.more
        headers = [str(column) for column in frame.columns]
        rows = [[_cell(value) for value in record] for record in frame.itertuples(index=False, name=None)]
        self.stdout.write(_text_table(headers, rows))
        count = f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
        self.stdout.write(f"({count}; more rows not shown, use --limit)" if more else f"({count})")

"""Reading the file while Probity starts: ``probity procurement indicators FILE`` on the private path.

Python's start-up before the command can read its file (the libraries, Django's settings and
command line, the indicators' registry and the settings file) takes a quarter of a second on one
core, and DuckDB reading the JSON releases its lock on the interpreter. So ``command.main`` starts
the read in a thread as soon as it sees the command line, before it has parsed it, and the
indicators run takes the result if it is what they need (``Prefetch.take``): the same file, the
same memory limit and spill folder, and the tables they read among those read. Otherwise — another command line,
settings that choose indicators outside Cardinal's eleven, a read that failed — the prefetch is
closed and the run reads the file itself, exactly as without it. The guess never changes a result.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from probity.config import var_dir

if TYPE_CHECKING:
    import duckdb

    from probity.procurement.flatten import FlattenReport

# The tables Cardinal's eleven indicators read (``run.needed_tables`` of them; a test keeps the two
# equal). A settings file that enables only Cardinal's indicators needs a subset of them.
CARDINAL_TABLES = ("award_items", "award_suppliers", "awards", "bid_tenderers", "bids", "processes")
DEFAULT_MEMORY_LIMIT = "1GB"  # the command's --memory-limit default
# Options of the indicators command that take a value (so their value is not taken for FILE).
_VALUED = frozenset({"-s", "--settings", "--format", "-o", "--output", "--indicators", "-v", "--verbosity"})


def guess_file(argv: Sequence[str]) -> str | None:
    """FILE in ``probity procurement indicators … FILE …``, or ``None`` when the command line asks for
    something the prefetch cannot do (another memory limit, the warehouse, help) or has no FILE."""
    words = list(argv)
    if "indicators" not in words or any(
        word.startswith(("--memory-limit", "--warehouse", "--pythonpath")) or word in ("-h", "--help") for word in words
    ):
        return None
    index = words.index("indicators") + 1
    while index < len(words):
        word = words[index]
        if word in _VALUED:
            index += 2
            continue
        if not word.startswith("-"):
            return word
        index += 1
    return None


def temp_directory() -> Path:
    """Where the private database spills (as the command's: ``VAR_DIR/tmp/duckdb``)."""
    return var_dir() / "tmp" / "duckdb"


class Prefetch:
    """A private DuckDB database reading ``path`` into ``CARDINAL_TABLES`` in a background thread."""

    def __init__(self, path: str | Path, tables: Sequence[str] = CARDINAL_TABLES, workers: int = 2) -> None:
        self.path = Path(path)
        self.tables = tuple(tables)
        self.workers = workers
        self.memory_limit = DEFAULT_MEMORY_LIMIT
        self.spill_directory = temp_directory()
        self.connection: duckdb.DuckDBPyConnection | None = None
        self.report: FlattenReport | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="probity-prefetch", daemon=True)

    def start(self) -> Prefetch:
        self._thread.start()
        return self

    def _read(self) -> None:
        try:
            # Imported in the thread, not at the top: the import (DuckDB's with it) overlaps the start-up.
            from probity.procurement.flatten import flatten_file, private_connection

            self.spill_directory.mkdir(parents=True, exist_ok=True)
            connection = private_connection(memory_limit=self.memory_limit, temp_directory=self.spill_directory)
            self.connection = connection
            self.report = flatten_file(
                connection, self.path, tables=self.tables, processes_view=True, workers=self.workers
            )
        except BaseException as exc:  # reported by the run's own read, which will fail the same way
            self.error = exc

    def take(
        self,
        path: str | Path,
        tables: Sequence[str],
        memory_limit: str | None,
        spill_directory: str | Path | None = None,
    ) -> tuple[duckdb.DuckDBPyConnection, FlattenReport] | None:
        """The connection and report, if this read is what a run of ``tables`` on ``path`` with
        ``memory_limit`` needs, handed over to the caller (who closes it); else ``None`` (and the
        prefetch is closed)."""
        self._thread.join()
        usable = (
            self.error is None
            and self.connection is not None
            and self.report is not None
            and _same_file(self.path, Path(path))
            and (memory_limit or DEFAULT_MEMORY_LIMIT) == self.memory_limit
            and (spill_directory is None or Path(spill_directory) == self.spill_directory)
            and set(tables) <= set(self.tables)
        )
        if not usable:
            self.close()
            return None
        connection, report = self.connection, self.report
        assert connection is not None and report is not None
        self.connection = None  # the run owns it now, and closes it
        return connection, report

    def close(self) -> None:
        self._thread.join()
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _same_file(left: Path, right: Path) -> bool:
    try:
        return os.path.samefile(left, right)
    except OSError:
        return False


def start(argv: Sequence[str]) -> Prefetch | None:
    """A started prefetch for this command line, or ``None``; never raises."""
    file = guess_file(argv)
    if file is None or not os.path.isfile(file):
        return None
    try:
        return Prefetch(file).start()
    except Exception:  # noqa: BLE001 — an optimisation only: the run reads the file itself
        return None

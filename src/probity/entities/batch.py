"""Screening for people: one name, or a CSV of thousands, answered with labelled matches and, for each
score, the reasons in sentences.

This wraps the public functions of ``screening`` (``match_one``, ``FEATURES``) and adds what a person
needs around them: reading a CSV that may hold broken rows (each rejected with its line and reason, the
good ones screened), writing the answer as CSV or Excel, and ``ScreeningBatch`` — an upload screened in
the background (job ``entities.screen_batch``) whose result files are served only to the person who asked.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext as _
from followthemoney import registry

from probity.core.audit import audit_record
from probity.core.jobs import inbox_save, job_enqueue
from probity.core.models import Job
from probity.entities import screening
from probity.entities.models import Entity, ScreeningBatch

MAX_ROWS = 100_000
# An upload of at most this many rows is answered at once; a larger one is screened in the background.
INLINE_ROWS = 50
DEFAULT_RESULTS = 3
MAX_NAME = 500

# Column headers accepted for each field (compared lower-case, spaces and dashes as underscores).
HEADERS = {
    "name": ("name", "full_name", "fullname", "caption", "names"),
    "schema": ("schema", "kind", "type", "entity_type"),
    "birth_date": ("birth_date", "birthdate", "date_of_birth", "dob", "born"),
    "country": ("country", "nationality", "jurisdiction", "countries"),
    "identifier": ("identifier", "id_number", "registration_number", "tax_number", "idnumber"),
    "reference": ("reference", "ref", "your_reference", "id", "row_id", "key"),
}
KINDS = {
    "": "LegalEntity",
    "legalentity": "LegalEntity",
    "legal_entity": "LegalEntity",
    "entity": "LegalEntity",
    "any": "LegalEntity",
    "person": "Person",
    "people": "Person",
    "individual": "Person",
    "company": "Company",
    "organisation": "Organization",
    "organization": "Organization",
    "vessel": "Vessel",
}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class BatchFileError(ValueError):
    """The whole file cannot be screened (not CSV text, no name column, too many rows); says why."""


@dataclass(frozen=True)
class ScreeningRow:
    """One name to screen, as read from a form, a CSV line or a watchlist."""

    line: int
    name: str
    schema: str = "LegalEntity"
    birth_date: str = ""
    country: str = ""
    identifier: str = ""
    reference: str = ""

    def example(self) -> dict[str, Any]:
        """The FtM entity example ``screening.match_one`` reads."""
        schema = self.schema
        if self.birth_date and schema == "LegalEntity":
            schema = "Person"  # only people have birth dates
        properties: dict[str, list[str]] = {}
        if self.name:
            properties["name"] = [self.name]
        if self.birth_date and schema == "Person":
            properties["birthDate"] = [self.birth_date]
        if self.country:
            properties["country"] = [self.country]
        if self.identifier:
            properties["registrationNumber"] = [self.identifier]
        return {"id": self.reference or str(self.line), "schema": schema, "properties": properties}


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str
    name: str = ""


@dataclass
class ScreeningFile:
    rows: list[ScreeningRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True)
class ScreeningMatch:
    """One list entity found for a name: the score, whether it is a match, and why, in sentences."""

    entity_id: str
    entity_pk: int | None
    name: str
    schema: str
    dataset: str
    score: float
    match: bool
    features: dict[str, float]
    explanation: list[str]
    birth_date: str = ""
    countries: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowResult:
    row: ScreeningRow
    matches: list[ScreeningMatch]

    @property
    def matched(self) -> bool:
        return any(m.match for m in self.matches)


# --- reading ---------------------------------------------------------------------------------------


def _header_key(text: str) -> str:
    return text.strip().lower().replace(" ", "_").replace("-", "_")


def kind_schema(text: str) -> str | None:
    """The FtM schema a kind written by a person names (person, company …), or None when unknown."""
    cleaned = _header_key(text)
    if cleaned in KINDS:
        return KINDS[cleaned]
    for schema in ("Person", "Company", "Organization", "LegalEntity", "Vessel"):
        if cleaned == schema.lower():
            return schema
    return None


def row_check(
    *,
    line: int,
    name: str,
    kind: str = "",
    birth_date: str = "",
    country: str = "",
    identifier: str = "",
    reference: str = "",
) -> ScreeningRow:
    """One cleaned row; ``ValueError`` with the reason (a sentence) when it cannot be screened."""
    name, birth_date, country = name.strip(), birth_date.strip(), country.strip()
    identifier, reference = identifier.strip(), reference.strip()
    if not name and not identifier:
        raise ValueError(_("The row has no name and no identifier."))
    if len(name) > MAX_NAME:
        raise ValueError(_("The name is longer than %(n)s characters.") % {"n": MAX_NAME})
    schema = kind_schema(kind)
    if schema is None:
        raise ValueError(
            _("The kind “%(kind)s” is unknown; write person, company, organisation, vessel or leave it empty.")
            % {"kind": kind.strip()}
        )
    if birth_date:
        cleaned_date = registry.date.clean(birth_date)
        if cleaned_date is None:
            raise ValueError(
                _("The date of birth “%(date)s” is not a date; write it as YYYY-MM-DD, YYYY-MM or YYYY.")
                % {"date": birth_date}
            )
        if schema not in {"Person", "LegalEntity"}:
            raise ValueError(_("Only a person has a date of birth, and the row's kind is not a person."))
        birth_date = cleaned_date[:10]
    if country:
        code = registry.country.clean(country)
        if code is None:
            raise ValueError(
                _("“%(country)s” is not a country; write its name or its two-letter code.") % {"country": country}
            )
        country = code
    return ScreeningRow(
        line=line,
        name=name,
        schema=schema,
        birth_date=birth_date,
        country=country,
        identifier=identifier[:200],
        reference=reference[:200],
    )


def _decode(content: bytes, file_name: str) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchFileError(
            _("%(file)s is not UTF-8 text (the first wrong byte is at position %(at)s); save it as CSV UTF-8.")
            % {"file": file_name, "at": exc.start}
        ) from None


def screening_csv_read(*, content: bytes, file_name: str = "upload.csv") -> ScreeningFile:
    """Reads a CSV of names: a header row naming at least a ``name`` column (also ``kind``,
    ``birth_date``, ``country``, ``identifier``, ``reference``), then one name a line. Rows that cannot be
    screened are kept as problems with their line and reason; the whole file is refused
    (``BatchFileError``) only when it is not text, has no name column or too many rows."""
    text = _decode(content, file_name)
    if not text.strip():
        raise BatchFileError(_("%(file)s is empty.") % {"file": file_name})
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise BatchFileError(_("%(file)s has no header row.") % {"file": file_name}) from exc
    columns: dict[str, int] = {}
    for index, heading in enumerate(header):
        key = _header_key(heading)
        for field_name, aliases in HEADERS.items():
            if key in aliases and field_name not in columns:
                columns[field_name] = index
    if "name" not in columns and "identifier" not in columns:
        if len(header) == 1 and header[0].strip():
            raise BatchFileError(
                _(
                    "%(file)s has no “name” column: its first line, “%(first)s”, is read as the header. Add a "
                    "first line “name” (and optionally kind, birth_date, country, identifier, reference)."
                )
                % {"file": file_name, "first": header[0][:80]}
            )
        raise BatchFileError(
            _(
                "%(file)s has no “name” column; its header names %(columns)s. Name one column “name” (and "
                "optionally kind, birth_date, country, identifier, reference)."
            )
            % {"file": file_name, "columns": ", ".join(f"“{h}”" for h in header[:12])}
        )
    result = ScreeningFile()
    line = reader.line_num
    while True:
        start = line + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.problems.append(
                RowProblem(start, _("The line cannot be read as CSV (%(reason)s).") % {"reason": exc})
            )
            line = reader.line_num
            continue
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue  # blank lines are not rows
        if len(result.rows) + len(result.problems) >= MAX_ROWS:
            raise BatchFileError(
                _("%(file)s holds more than %(n)s rows; split it into smaller files.")
                % {"file": file_name, "n": MAX_ROWS}
            )

        def cell(field_name: str, values: list[str] = values) -> str:
            index = columns.get(field_name)
            return values[index] if index is not None and index < len(values) else ""

        if len(values) > len(header):
            result.problems.append(
                RowProblem(
                    start,
                    _("The row has %(n)s values but the header names %(m)s columns (a stray separator?).")
                    % {"n": len(values), "m": len(header)},
                    cell("name")[:MAX_NAME],
                )
            )
            continue
        try:
            result.rows.append(
                row_check(
                    line=start,
                    name=cell("name"),
                    kind=cell("schema"),
                    birth_date=cell("birth_date"),
                    country=cell("country"),
                    identifier=cell("identifier"),
                    reference=cell("reference"),
                )
            )
        except ValueError as exc:
            result.problems.append(RowProblem(start, str(exc), cell("name")[:MAX_NAME]))
    return result


# --- screening -------------------------------------------------------------------------------------


def _percent(value: float) -> str:
    return f"{round(value * 100)} %"


def explain(features: dict[str, float], score: float, threshold: float) -> list[str]:
    """The reasons for a score, one sentence each, ending with what the score means at ``threshold``."""
    sentences: list[str] = []
    name_score = features.get("name_score")
    if name_score is not None:
        if name_score >= 0.999:
            sentences.append(_("A name is the same on both sides (compared across scripts)."))
        elif name_score > 0:
            sentences.append(
                _("The closest pair of names is %(percent)s alike (compared across scripts).")
                % {"percent": _percent(name_score)}
            )
        else:
            sentences.append(_("No name is alike."))
    known = {
        "identifier_match": _("An identifier (registration, tax, passport or similar number) is the same."),
        "dob_year_disjoint": _("Both have dates of birth and no year agrees, which lowers the score by 0.35."),
        "dob_day_disjoint": _("The years of birth agree but the full dates differ, which lowers the score by 0.1."),
        "country_disjoint": _("Both name countries and none is shared, which lowers the score by 0.1."),
    }
    for feature, value in features.items():
        if feature == "name_score" or not value:
            continue
        if feature in known:
            sentences.append(known[feature])
        else:  # a feature the scorer gained later: its own description
            description = screening.FEATURES.get(feature, feature.replace("_", " "))
            sentences.append(_("%(feature)s (%(value)s).") % {"feature": description.rstrip("."), "value": value})
    if score >= threshold:
        sentences.append(
            _("The score %(score)s is at or above the threshold %(threshold)s: a match to review.")
            % {"score": f"{score:.2f}", "threshold": f"{threshold:.2f}"}
        )
    else:
        sentences.append(
            _("The score %(score)s is below the threshold %(threshold)s: not counted as a match.")
            % {"score": f"{score:.2f}", "threshold": f"{threshold:.2f}"}
        )
    return sentences


def screen_row(
    *, row: ScreeningRow, dataset: str = "default", threshold: float = screening.DEFAULT_THRESHOLD, limit: int = 5
) -> RowResult:
    """The best ``limit`` list entities for one row, each with its explanation. ``screening.QueryError``
    when the row cannot be screened."""
    response = screening.match_one(
        row.example(),
        dataset=dataset,
        limit=limit,
        threshold=threshold,
        cutoff=min(screening.DEFAULT_CUTOFF, threshold),
    )
    results = response["results"]
    pks = dict(Entity.objects.filter(ftm_id__in=[r["id"] for r in results]).values_list("ftm_id", "pk"))
    matches = []
    for result in results:
        properties = result.get("properties") or {}
        features = {k: float(v) for k, v in (result.get("features") or {}).items()}
        countries = sorted(
            {c for p in ("country", "nationality", "jurisdiction", "citizenship") for c in properties.get(p, [])}
        )
        matches.append(
            ScreeningMatch(
                entity_id=result["id"],
                entity_pk=pks.get(result["id"]),
                name=result["caption"],
                schema=result["schema"],
                dataset=", ".join(result.get("datasets") or []),
                score=float(result["score"]),
                match=bool(result["match"]),
                features=features,
                explanation=explain(features, float(result["score"]), threshold),
                birth_date=", ".join(properties.get("birthDate", [])[:3]),
                countries=tuple(countries),
                topics=tuple(properties.get("topics", [])),
            )
        )
    return RowResult(row=row, matches=matches)


def screen_rows(
    *,
    rows: Sequence[ScreeningRow],
    dataset: str = "default",
    threshold: float = screening.DEFAULT_THRESHOLD,
    limit: int = DEFAULT_RESULTS,
    progress: Callable[[int], object] | None = None,
) -> tuple[list[RowResult], list[RowProblem]]:
    """Screens every row; a row the screening refuses becomes a problem with its line and reason."""
    results: list[RowResult] = []
    problems: list[RowProblem] = []
    for row in rows:
        try:
            results.append(screen_row(row=row, dataset=dataset, threshold=threshold, limit=limit))
        except screening.QueryError as exc:
            problems.append(RowProblem(row.line, str(exc), row.name))
        if progress is not None:
            progress(1)
    return results, problems


# --- writing ---------------------------------------------------------------------------------------


def _status(match: ScreeningMatch | None) -> str:
    if match is None:
        return _("no match")
    return _("match") if match.match else _("possible match")


def result_table(
    results: Iterable[RowResult], problems: Iterable[RowProblem]
) -> tuple[list[str], list[list[Any]], list[list[Any]]]:
    """Header, one line per name and match found (or one saying none was), and the rejected rows."""
    header = [
        _("line"),
        _("reference"),
        _("name screened"),
        _("status"),
        _("rank"),
        _("matched name"),
        _("score"),
        _("match"),
        _("kind"),
        _("dataset"),
        _("entity id"),
        _("date of birth"),
        _("countries"),
        _("topics"),
        _("explanation"),
    ]
    lines: list[list[Any]] = []
    for result in results:
        row = result.row
        if not result.matches:
            lines.append([row.line, row.reference, row.name, _status(None), "", "", "", _("no")] + [""] * 7)
            continue
        for rank, match in enumerate(result.matches, start=1):
            lines.append(
                [
                    row.line,
                    row.reference,
                    row.name,
                    _status(match),
                    rank,
                    match.name,
                    round(match.score, 4),
                    _("yes") if match.match else _("no"),
                    match.schema,
                    match.dataset,
                    match.entity_id,
                    match.birth_date,
                    ", ".join(match.countries),
                    ", ".join(match.topics),
                    " ".join(match.explanation),
                ]
            )
    rejected = [[p.line, p.name, p.reason] for p in sorted(problems, key=lambda p: p.line)]
    return header, lines, rejected


def _safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (names come from uploads and outside lists)."""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


def result_write(*, results: Sequence[RowResult], problems: Sequence[RowProblem], path: Path) -> Path:
    """Writes the answer as CSV (rejected rows last, with the status “rejected” and the reason) or, for a
    ``.xlsx`` path, as an Excel workbook with the sheets “Screening” and “Rejected rows”."""
    header, lines, rejected = result_table(results, problems)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook  # imported here: only Excel needs it

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(_("Screening"))
        sheet.append(header)
        for line in lines:
            sheet.append([_safe_cell(v) for v in line])
        broken = workbook.create_sheet(_("Rejected rows"))
        broken.append([_("line"), _("name"), _("reason")])
        for line in rejected:
            broken.append([_safe_cell(v) for v in line])
        workbook.save(path)
        return path
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([_safe_cell(v) for v in line] for line in lines)
        for line_no, name, reason in rejected:
            writer.writerow([line_no, "", _safe_cell(name), _("rejected")] + [""] * 10 + [reason])
    return path


# --- batches: an upload screened for the person who asked -------------------------------------------


def results_dir() -> Path:
    """Where batch results wait for download: ``VAR_DIR/screening``, never served directly."""
    folder = Path(settings.VAR_DIR) / "screening"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def batch_file(*, batch: ScreeningBatch, fmt: str) -> Path:
    """A finished batch's result file (``fmt`` "csv" or "xlsx"); ``FileNotFoundError`` if there is none."""
    if fmt not in {"csv", "xlsx"} or not batch.result_stem:
        raise FileNotFoundError(fmt)
    path = results_dir() / f"{batch.result_stem}.{fmt}"
    if not path.is_file():
        raise FileNotFoundError(path.name)
    return path


def batch_download_name(*, batch: ScreeningBatch, fmt: str) -> str:
    stem = Path(batch.file_name).stem or "screening"
    return f"{stem}-screened.{fmt}"


def batch_run(
    *,
    batch: ScreeningBatch,
    content: bytes,
    progress: Callable[[int], object] | None = None,
    total: Callable[[int | None], object] | None = None,
) -> ScreeningBatch:
    """Screens an uploaded CSV for its batch and writes both result files; the batch records the counts
    (or, for a file that cannot be read, why it failed)."""
    try:
        read = screening_csv_read(content=content, file_name=batch.file_name)
    except BatchFileError as exc:
        batch.status, batch.error, batch.finished_at = ScreeningBatch.Status.FAILED, str(exc), timezone.now()
        batch.save(update_fields=["status", "error", "finished_at"])
        raise
    if total is not None:
        total(len(read.rows))
    results, refused = screen_rows(rows=read.rows, dataset=batch.dataset, threshold=batch.threshold, progress=progress)
    problems = read.problems + refused
    stem = f"batch{batch.pk}-{secrets.token_hex(8)}"
    for fmt in ("csv", "xlsx"):
        result_write(results=results, problems=problems, path=results_dir() / f"{stem}.{fmt}")
    batch.result_stem = stem
    batch.rows = len(results)
    batch.matched = sum(1 for r in results if r.matched)
    batch.rejected = len(problems)
    batch.status = ScreeningBatch.Status.DONE
    batch.finished_at = timezone.now()
    batch.save()
    audit_record(
        action="screening_batch",
        object_type="entities.screeningbatch",
        object_id=str(batch.pk),
        object_label="Screening batch",
        details={"rows": batch.rows, "matched": batch.matched, "rejected": batch.rejected, "dataset": batch.dataset},
    )
    return batch


def batch_summary(batch: ScreeningBatch) -> str:
    """One sentence on where a batch stands."""
    if batch.status == ScreeningBatch.Status.FAILED:
        return _("%(file)s could not be screened: %(reason)s") % {"file": batch.file_name, "reason": batch.error}
    if batch.status == ScreeningBatch.Status.QUEUED:
        return _("%(file)s is being screened in the background.") % {"file": batch.file_name}
    return _(
        "%(file)s: %(rows)s name(s) screened, %(matched)s with a match at %(threshold)s, %(rejected)s row(s) rejected."
    ) % {
        "file": batch.file_name,
        "rows": batch.rows,
        "matched": batch.matched,
        "threshold": f"{batch.threshold:.2f}",
        "rejected": batch.rejected,
    }


def batch_visible(*, user: User, batch: ScreeningBatch) -> bool:
    """Only the person who asked downloads a batch's results."""
    return bool(user.is_authenticated and batch.requested_by_id == user.pk)


def batch_create(
    *,
    actor: User,
    file_name: str,
    content: bytes,
    dataset: str = "default",
    threshold: float = screening.DEFAULT_THRESHOLD,
    background: bool | None = None,
    trigger: str = Job.Trigger.PAGE,
) -> ScreeningBatch:
    """Takes an upload: a small one (at most ``INLINE_ROWS`` names) is screened at once, a larger one by
    the job ``entities.screen_batch``. A file that cannot be read at all is refused at once
    (``BatchFileError``) so the person sees why before anything is queued."""
    read = screening_csv_read(content=content, file_name=file_name)
    if not read.rows and read.problems:
        first = read.problems[0]
        raise BatchFileError(
            _("%(file)s holds no row that can be screened; the first problem, line %(line)s: %(reason)s")
            % {"file": file_name, "line": first.line, "reason": first.reason}
        )
    if not read.rows:
        raise BatchFileError(_("%(file)s holds a header but no names.") % {"file": file_name})
    batch = ScreeningBatch.objects.create(
        requested_by=actor, file_name=Path(file_name).name[:200], dataset=dataset, threshold=threshold
    )
    if background is None:
        background = len(read.rows) > INLINE_ROWS
    if not background:
        return batch_run(batch=batch, content=content)
    stored = inbox_save(name=file_name, chunks=[content])
    job = job_enqueue(
        kind="entities.screen_batch",
        parameters={"batch": batch.pk, "file": stored},
        actor=actor,
        trigger=trigger,
    )
    batch.job = job
    batch.save(update_fields=["job"])
    return batch

"""Reads of the public register: its queries and its open-data formats (JSON, CSV), which read
``PublishedDeclaration`` only, never a declaration version. Which declarations to publish is
``declarations.selectors.declarations_matching``."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Q, QuerySet

from probity.declarations.models import PublishedDeclaration

# --- the public register: queries and open-data formats -------------------------------------------


# What public outputs load: the public row, the version's *number* and the profile's *name* — never
# the version's content, which does not even enter the process that serves the public.
PUBLIC_COLUMNS = (
    "declaration_id",
    "content",
    "declarant_name",
    "body_name",
    "position_title",
    "declaration_type",
    "year",
    "published_at",
    "withdrawn_at",
    "version__number",
    "profile__name",
)


def published_public() -> QuerySet[PublishedDeclaration]:
    """Every published, not withdrawn declaration, loading only the public columns."""
    return (
        PublishedDeclaration.objects.filter(withdrawn_at__isnull=True)
        .select_related("version", "profile")
        .only(*PUBLIC_COLUMNS)
    )


def public_declarations(
    *, q: str = "", body: str = "", year: int | None = None, declaration_type: str = ""
) -> QuerySet[PublishedDeclaration]:
    """Published (not withdrawn) declarations matching a search; reads ``PublishedDeclaration`` only."""
    queryset = published_public()
    term = " ".join(q.split()).casefold()
    if term:
        queryset = queryset.filter(Q(search_text__contains=term) | Q(declarant_name__icontains=term))
    if body.strip():
        queryset = queryset.filter(body_name__icontains=body.strip())
    if year is not None:
        queryset = queryset.filter(year=year)
    if declaration_type:
        queryset = queryset.filter(declaration_type=declaration_type)
    return queryset.order_by("declarant_name", "-year", "declaration_id")


def public_record(*, published: PublishedDeclaration) -> dict[str, Any]:
    """One published declaration as open data (the JSON download and the API use this one shape)."""
    return {
        "id": published.declaration_id,
        "declarant": published.declarant_name,
        "body": published.body_name,
        "position": published.position_title,
        "declaration_type": published.declaration_type,
        "year": published.year,
        "version": published.version.number,
        "published_at": published.published_at.isoformat(),
        "redaction_profile": published.profile.name,
        "content": published.content,
    }


CSV_COLUMNS = (
    "declaration_id",
    "declarant",
    "body",
    "position",
    "declaration_type",
    "year",
    "section",
    "row",
    "field",
    "value",
)


def _flatten(node: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _flatten(value, f"{prefix}[{i}]")
    elif node is None:
        yield prefix, ""
    elif isinstance(node, bool):
        yield prefix, "true" if node else "false"
    else:
        yield prefix, str(node)


def _cell(value: str) -> str:
    """Neutralises spreadsheet formulas (``=``, ``+``, ``@``, or ``-`` not starting a number)."""
    if value[:1] in {"=", "+", "@", "\t", "\r"} or (value[:1] == "-" and not re.match(r"^-\d", value)):
        return "'" + value
    return value


def csv_rows(*, published: PublishedDeclaration) -> Iterator[list[str]]:
    """One CSV row per published value: section, row number, field path within the row, value."""
    head = [
        str(published.declaration_id),
        published.declarant_name,
        published.body_name,
        published.position_title,
        published.declaration_type,
        str(published.year),
    ]
    for key, value in published.content.items():
        if isinstance(value, list):
            if not value:
                continue
            for i, row in enumerate(value):
                for path, text in _flatten(row, ""):
                    yield [*head, key, str(i + 1), path, text]
        else:
            for path, text in _flatten(value, ""):
                yield [*head, key, "", path, text]


def csv_text(*, rows: Iterable[list[str]], header: bool = True) -> Iterator[str]:
    """CSV lines (UTF-8 text) for ``rows``, formula-neutralised, with the header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(c) for c in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_lines(*, queryset: Iterable[PublishedDeclaration]) -> Iterator[str]:
    """A JSON array of public records, streamed piece by piece."""
    yield "["
    first = True
    for published in queryset:
        yield ("" if first else ",") + json.dumps(public_record(published=published), ensure_ascii=False)
        first = False
    yield "]\n"

"""Indicator results as Cardinal prints them (JSON), and as CSV.

Cardinal's JSON: ``{"OCID": {ocid: {code: value}}, "Buyer": {…}, "ProcuringEntity": {…},
"Tenderer": {…}}``, with only the groups that have results. The CSV has one row per result:
``group,id,indicator,value``, sorted.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from probity.procurement.indicators.base import SUBJECT_TYPES

Row = tuple[str, str, str, float]


def cardinal_results(rows: Iterable[Row]) -> dict[str, dict[str, dict[str, float]]]:
    """(subject type, subject id, code, value) rows → Cardinal's nested results map."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    for subject_type, subject_id, code, value in rows:
        results.setdefault(subject_type, {}).setdefault(subject_id, {})[code] = float(value)
    ordered = {group: results[group] for group in SUBJECT_TYPES if group in results}
    for group, subjects in ordered.items():
        ordered[group] = {key: dict(sorted(subjects[key].items())) for key in sorted(subjects)}
    return ordered


def _number(value: float) -> float | str | None:
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def cardinal_json(results: Mapping[str, Mapping[str, Mapping[str, float]]], *, indent: int | None = None) -> str:
    """The JSON text Cardinal's ``indicators`` command prints (without its ``Meta`` block): compact,
    as serde_json writes it, with NaN as ``null`` and infinities as ``"Infinity"``/``"-Infinity"``."""
    finite = all(
        math.isfinite(value) for subjects in results.values() for codes in subjects.values() for value in codes.values()
    )
    clean: Mapping[str, Any] = results
    if not finite:
        clean = {
            group: {key: {code: _number(value) for code, value in codes.items()} for key, codes in subjects.items()}
            for group, subjects in results.items()
        }
    if indent is None:
        import orjson  # 30 ms to import: only for compact JSON

        return orjson.dumps(clean).decode()
    return json.dumps(clean, ensure_ascii=False, indent=indent)


def results_csv(results: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str:
    """One line per result: group, id, indicator, value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["group", "id", "indicator", "value"])
    for group, subjects in results.items():
        for key, codes in subjects.items():
            for code, value in codes.items():
                writer.writerow([group, key, code, repr(float(value))])
    return buffer.getvalue()

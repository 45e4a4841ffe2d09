"""The verifier's side-by-side view: a declaration's content beside the declarant's previous one,
section by section and row by row, with each finding's issues beside the sections they name."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from probity.core.models import Finding
from probity.declarations.schema import ROW_SECTIONS

HEADER_SECTIONS = ("declarant", "position", "period")
# Fields that identify a row across years, most specific first; rows match on owner, kind and the first.
IDENTITY_FIELDS = (
    "registry_number",
    "registration",
    "account_number",
    "company",
    "make_model",
    "issuer",
    "institution",
    "source",
    "creditor",
    "organisation",
    "counterparty",
    "location",
    "description",
)
SAME, ADDED, REMOVED, CHANGED = "same", "added", "removed", "changed"


@dataclass(frozen=True)
class CellDiff:
    key: str
    old: Any
    new: Any
    kind: str


@dataclass(frozen=True)
class RowDiff:
    kind: str
    cells: list[CellDiff]


@dataclass
class SectionDiff:
    name: str
    rows: list[RowDiff]
    issues: list[tuple[str, str]] = field(default_factory=list)  # (detector code, issue) about this section

    @property
    def counts(self) -> dict[str, int]:
        counts = {SAME: 0, ADDED: 0, REMOVED: 0, CHANGED: 0}
        for row in self.rows:
            counts[row.kind] += 1
        return counts


def _row_key(row: dict[str, Any]) -> tuple[str, str, str]:
    identity = ""
    for name in IDENTITY_FIELDS:
        value = row.get(name)
        if isinstance(value, str) and value.strip():
            identity = f"{name}={value.strip().casefold()}"
            break
    return (str(row.get("owner", row.get("id", ""))), str(row.get("kind", row.get("relation", ""))), identity)


def _cells(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[CellDiff]:
    old, new = old or {}, new or {}
    cells = []
    for key in list(dict.fromkeys([*new, *old])):
        before, after = old.get(key), new.get(key)
        if key not in old:
            kind = ADDED
        elif key not in new:
            kind = REMOVED
        else:
            kind = SAME if before == after else CHANGED
        cells.append(CellDiff(key, before, after, kind))
    return cells


def match_rows(old_rows: list[dict[str, Any]], new_rows: list[dict[str, Any]]) -> list[RowDiff]:
    """Pairs rows of one section across two declarations: first on owner, kind and identity, then on
    owner and kind in order; what is left was added or removed."""
    pairs: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []
    unmatched_old = list(range(len(old_rows)))
    new_partner: dict[int, int] = {}
    for rule in (lambda r: _row_key(r), lambda r: _row_key(r)[:2]):
        for j, row in enumerate(new_rows):
            if j in new_partner:
                continue
            for i in unmatched_old:
                if rule(old_rows[i]) == rule(row):
                    new_partner[j] = i
                    unmatched_old.remove(i)
                    break
    for j, row in enumerate(new_rows):
        pairs.append((old_rows[new_partner[j]] if j in new_partner else None, row))
    pairs.extend((old_rows[i], None) for i in unmatched_old)
    result = []
    for old, new in pairs:
        cells = _cells(old, new)
        if old is None:
            kind = ADDED
        elif new is None:
            kind = REMOVED
        else:
            kind = SAME if all(c.kind == SAME for c in cells) else CHANGED
        result.append(RowDiff(kind, cells))
    return result


def compare_contents(old: dict[str, Any] | None, new: dict[str, Any]) -> list[SectionDiff]:
    """Section by section: the header parts, family members and every row section that either has."""
    old = old or {}
    sections: list[SectionDiff] = []
    for name in HEADER_SECTIONS:
        if old.get(name) or new.get(name):
            before, after = old.get(name), new.get(name)
            sections.append(SectionDiff(name, match_rows([before] if before else [], [after] if after else [])))
    for name in ("family_members", *ROW_SECTIONS):
        if old.get(name) or new.get(name):
            sections.append(SectionDiff(name, match_rows(list(old.get(name) or []), list(new.get(name) or []))))
    return sections


def attach_issues(sections: list[SectionDiff], findings: Iterable[Finding]) -> None:
    """Puts each finding's listed issues beside the sections they name."""
    for finding in findings:
        for issue in (finding.evidence or {}).get("issues") or []:
            for section in sections:
                if re.search(rf"(?<![a-z_]){re.escape(section.name)}(?![a-z_])", str(issue)):
                    section.issues.append((finding.detector_code, str(issue)))

"""The bundled Open Contracting Data Standard: OCDS 1.1.5 schemas and codelists, the bid extension.

Everything here is read from files inside the package (``standards/ocds/``); nothing is fetched.

- ``release_schema()``: the 1.1.5 release schema with the bid extension applied, the way OCDS
  applies extensions (an RFC 7396 JSON merge patch of the extension's ``release-schema.json``).
  It is also the merge schema: ``ocdsmerge`` reads its merge rules from it.
- ``release_validator()``: a JSON Schema (draft 4) validator for one release. ``$ref`` is resolved
  only against the bundled schemas; a reference to anything else is an error, never a download.
- ``release_is_valid(release)``: the same verdict, compiled with fastjsonschema (fast path).
- ``codelist(name)``: the codes of a bundled codelist (``currency.csv``, ``bidStatus.csv`` …).
- ``merge_rules()``: the ocdsmerge rules derived from ``release_schema()``.
"""

from __future__ import annotations

import copy
import csv
import json
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

# jsonschema, fastjsonschema and ocdsmerge are imported by the functions that use them: the procurement ingest
# imports this module with the app (at start-up), and together they take half a second to import.
if TYPE_CHECKING:
    from jsonschema.protocols import Validator

OCDS_DIR = Path(__file__).resolve().parent / "ocds"
SCHEMA_DIR = OCDS_DIR / "schema-1.1.5"
BID_EXTENSION_DIR = OCDS_DIR / "bid-extension"
OCDS_VERSION = "1.1.5"
RELEASE_SCHEMA_ID = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"


class OfflineReferenceError(LookupError):
    """A schema referred to a document that is not bundled (Probity never downloads schemas)."""


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: ``patch`` applied to ``target`` (a new value; neither argument is changed)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


@lru_cache(maxsize=1)
def _release_schema() -> dict[str, Any]:
    core = _load(SCHEMA_DIR / "release-schema.json")
    patched: dict[str, Any] = json_merge_patch(core, _load(BID_EXTENSION_DIR / "release-schema.json"))
    return patched


def release_schema() -> dict[str, Any]:
    """The OCDS 1.1.5 release schema patched with the bid extension (a fresh copy each call)."""
    return copy.deepcopy(_release_schema())


def package_schema(kind: str) -> dict[str, Any]:
    """The bundled ``release-package`` or ``record-package`` schema (unpatched)."""
    if kind not in ("release-package", "record-package"):
        raise ValueError(f"Unknown OCDS package schema {kind!r}; use release-package or record-package.")
    return _load(SCHEMA_DIR / f"{kind}-schema.json")


@cache
def codelist(name: str) -> frozenset[str]:
    """The codes of a bundled codelist, by file name (``currency.csv``); ``KeyError`` if unknown."""
    for folder in (SCHEMA_DIR / "codelists", BID_EXTENSION_DIR / "codelists"):
        path = folder / name
        if path.is_file():
            with path.open(encoding="utf-8", newline="") as handle:
                return frozenset(row["Code"] for row in csv.DictReader(handle) if row.get("Code"))
    raise KeyError(f"There is no bundled OCDS codelist named {name!r}.")


def _refuse_retrieval(uri: str) -> Any:
    raise OfflineReferenceError(f"The schema refers to {uri}, which is not bundled; Probity does not download schemas.")


@lru_cache(maxsize=1)
def release_validator() -> Validator:
    """A draft-4 validator for one release against ``release_schema()``; offline."""
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    schema = _release_schema()
    resource = Resource.from_contents(schema, default_specification=DRAFT4)
    registry: Registry[Any] = Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]  # attrs field
    registry = registry.with_resource(RELEASE_SCHEMA_ID, resource)
    return Draft4Validator(schema, registry=registry)


@lru_cache(maxsize=1)
def _fast_release_check() -> Any:
    import fastjsonschema

    # No defaults filled in (the data must stay as published), no format checks (as jsonschema
    # by default), and no handler that could fetch a remote $ref.
    refuse = {scheme: _refuse_retrieval for scheme in ("http", "https", "file", "ftp")}
    return fastjsonschema.compile(release_schema(), handlers=refuse, use_default=False, use_formats=False)


def release_is_valid(release: Any) -> bool:
    """Whether a release passes ``release_schema()``: the same verdict as ``release_validator()``, ~40× faster.

    Use it first and ask ``release_validator().iter_errors`` for the messages only when it fails.
    """
    import fastjsonschema

    try:
        _fast_release_check()(release)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


@lru_cache(maxsize=1)
def merge_rules() -> dict[tuple[str, ...], str]:
    """The ocdsmerge merge rules (``omitWhenMerged`` / ``wholeListMerge`` by path) of ``release_schema()``."""
    from ocdsmerge.rules import get_merge_rules

    # A dict schema is dereferenced locally (its $refs are all "#/definitions/…"); a missing or
    # empty schema would make ocdsmerge look the latest version up online, so it is never passed.
    return get_merge_rules(release_schema())


def _date_time_fields(schema: dict[str, Any]) -> frozenset[str]:
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in (node.get("properties") or {}).items():
                if isinstance(value, dict) and value.get("format") == "date-time":
                    names.add(key)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return frozenset(names)


@lru_cache(maxsize=1)
def date_time_fields() -> frozenset[str]:
    """Names of the properties the release schema declares as ``format: date-time`` (date, endDate …)."""
    return _date_time_fields(_release_schema())

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
import re
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


def _distinct_ids(items: list[Any]) -> bool:
    """Whether every item is an object with a string ``id`` and no two ids are equal: then no two items are
    equal, so ``uniqueItems`` holds without comparing the items whole."""
    ids = set()
    for item in items:
        if type(item) is not dict:
            return False
        value = item.get("id")
        if type(value) is not str:
            return False
        ids.add(value)
    return len(ids) == len(items)


# The fast check only gives a verdict, so the code fastjsonschema generates is trimmed of work done for
# error messages on every call (a field's name built with ``format(**locals())`` before each nested check);
# its ``uniqueItems`` test (every item turned into frozensets) first asks ``_distinct_ids``; and an enum of
# strings (a chain of ``isinstance(v, str) and v == 'AED' or …``, 300 long for currencies) becomes one
# look-up in a frozenset. No edit can change a verdict; if fastjsonschema's output changes shape, they
# simply stop matching.
_NAME_ARGUMENT = re.compile(r'custom_formats, \(name_prefix or "data"\) \+ "[^"\n]*"\.format\(\*\*locals\(\)\)\)')
_UNIQUE_ITEMS = re.compile(r"if (\w+)_len > len\(set\(fn\((\w+)\) for \2 in \1\)\):")
_ENUM_LINE = re.compile(
    r"^(?P<indent> *)if not \((?P<terms>(?:isinstance\()?(?P<var>\w+)(?:, str\) | is None).*)\):$", re.MULTILINE
)
_ENUM_TERM = re.compile(
    r"isinstance\((?P<var>\w+), str\) and (?P=var) == (?P<text>'(?:[^'\\]|\\.)*')|(?P<none>\w+) is None"
)


def _enum_sets(code: str, namespace: dict[str, Any]) -> str:
    """``code`` with each enum of strings (and null) tested by membership in a frozenset put in ``namespace``."""
    import ast

    def replace(line: re.Match[str]) -> str:
        variable = line["var"]
        texts: list[str] = []
        allows_none = False
        position = 0
        terms = line["terms"]
        while True:
            term = _ENUM_TERM.match(terms, position)
            if term is None or (term["var"] or term["none"]) != variable:
                return line[0]  # not a plain enum of strings: left as generated
            if term["none"]:
                allows_none = True
            else:
                texts.append(ast.literal_eval(term["text"]))
            position = term.end()
            if position == len(terms):
                break
            if not terms.startswith(" or ", position):
                return line[0]
            position += 4
        name = f"_ENUM_{len(namespace)}"
        namespace[name] = frozenset(texts)
        test = f"isinstance({variable}, str) and {variable} in {name}"
        if allows_none:
            test += f" or {variable} is None"
        return f"{line['indent']}if not ({test}):"

    return _ENUM_LINE.sub(replace, code)


@lru_cache(maxsize=1)
def _fast_release_check() -> Any:
    import fastjsonschema

    # No defaults filled in (the data must stay as published), no format checks (as jsonschema
    # by default), and no handler that could fetch a remote $ref.
    refuse = {scheme: _refuse_retrieval for scheme in ("http", "https", "file", "ftp")}
    code = fastjsonschema.compile_to_code(
        release_schema(), handlers=refuse, use_default=False, use_formats=False, detailed_exceptions=False
    )
    code = _NAME_ARGUMENT.sub("custom_formats, name_prefix)", code)
    code = _UNIQUE_ITEMS.sub(
        r"if \1_len > 1 and not _distinct_ids(\1) and \1_len > len(set(fn(\2) for \2 in \1)):", code
    )
    first = re.search(r"^def (\w+)\(", code, re.MULTILINE)
    if first is None:  # not the code fastjsonschema writes: its own compiled function, untrimmed
        return fastjsonschema.compile(release_schema(), handlers=refuse, use_default=False, use_formats=False)
    namespace: dict[str, Any] = {"_distinct_ids": _distinct_ids}
    code = _enum_sets(code, namespace)
    exec(compile(code, "<OCDS release schema, fastjsonschema>", "exec"), namespace)  # noqa: S102 - generated from the bundled schema
    return namespace[first.group(1)]


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

"""The OpenRefine Reconciliation Service API (v0.2) over Probity's screening.

OpenRefine (and other clients of the W3C Entity Reconciliation API, v0.2) first reads the *service
manifest*, then sends batches of queries: ``{"q0": {"query": "name", "type": "Person", "limit": 3,
"properties": [{"pid": "birthDate", "v": "1952"}]}}``. Each query is answered with candidates
``{"id", "name", "type": [{"id", "name"}], "score", "match", "features", "description"}``, scored by
``screening.match_one`` (the same scores as ``/match``). Entity ids are FtM ids; the manifest's ``view``
URL opens the entity's page in Probity.
"""

from __future__ import annotations

import json
from typing import Any

from followthemoney import model

from probity.entities import screening
from probity.entities.batch import explain

VERSIONS = ["0.2"]
DEFAULT_LIMIT = 3
MAX_LIMIT = 25
MAX_QUERIES = 100
SCHEMA_SPACE = "https://followthemoney.tech/explorer/schemata/"
TYPES = (
    ("LegalEntity", "Person or organisation"),
    ("Person", "Person"),
    ("Company", "Company"),
    ("Organization", "Organisation"),
    ("Vessel", "Vessel"),
)
# Short property names people use in OpenRefine, as FtM properties.
PROPERTY_ALIASES = {
    "birth_date": "birthDate",
    "dob": "birthDate",
    "date_of_birth": "birthDate",
    "identifier": "registrationNumber",
    "id_number": "idNumber",
    "tax_number": "taxNumber",
    "nationality": "nationality",
    "country": "country",
}


class ReconcileError(ValueError):
    """A request that is not a reconciliation request; the message says what is wrong."""


def manifest(*, dataset: str, base_url: str) -> dict[str, Any]:
    """The service manifest for ``dataset`` (``base_url`` is the site's address, without a final slash)."""
    title = "all lists" if dataset in {"default", "all"} else f"the list “{dataset}”"
    return {
        "versions": VERSIONS,
        "name": f"Probity screening against {title}",
        "identifierSpace": f"{base_url}/entities/ftm/",
        "schemaSpace": SCHEMA_SPACE,
        "defaultTypes": [{"id": code, "name": name} for code, name in TYPES],
        "view": {"url": f"{base_url}/entities/ftm/{{{{id}}}}/"},
        "documentation": f"{base_url}/api/v1/docs",
    }


def _values(value: Any) -> list[str]:
    """A property value as OpenRefine sends it: a string, a number, ``{"id": …}``, or a list of these."""
    if value is None:
        return []
    if isinstance(value, list):
        return [v for item in value for v in _values(item)]
    if isinstance(value, dict):
        inner = value.get("id", value.get("name"))
        return _values(inner)
    text = str(value).strip()
    return [text] if text else []


def _example(query: dict[str, Any]) -> tuple[dict[str, Any], int]:
    text = query.get("query")
    if not isinstance(text, str | int | float) or not str(text).strip():
        raise ReconcileError("each query needs a non-empty 'query' text")
    type_ = query.get("type")
    if isinstance(type_, list):
        type_ = type_[0] if type_ else None
    if isinstance(type_, dict):
        type_ = type_.get("id")
    schema_name = str(type_ or "LegalEntity")
    schema = model.get(schema_name)
    if schema is None or not schema.matchable:
        raise ReconcileError(f"unknown type {schema_name!r}; use one of {', '.join(c for c, _ in TYPES)}")
    properties: dict[str, list[str]] = {"name": [str(text).strip()]}
    for item in query.get("properties") or []:
        if not isinstance(item, dict):
            raise ReconcileError('\'properties\' must be a list of {"pid": …, "v": …} objects')
        pid = str(item.get("pid", "")).strip()
        prop_name = PROPERTY_ALIASES.get(pid, pid)
        if schema.get(prop_name) is None:
            continue  # a column the schema has no property for is ignored, as the protocol allows
        properties.setdefault(prop_name, []).extend(_values(item.get("v")))
    limit = query.get("limit", DEFAULT_LIMIT)
    try:
        limit = max(1, min(MAX_LIMIT, int(limit)))
    except (TypeError, ValueError):
        raise ReconcileError("'limit' must be a whole number") from None
    return {"schema": schema.name, "properties": properties}, limit


def reconcile_one(query: dict[str, Any], *, dataset: str) -> dict[str, Any]:
    """One query's ``{"result": [candidates]}``."""
    if not isinstance(query, dict):
        raise ReconcileError("each query must be an object with a 'query' text")
    example, limit = _example(query)
    try:
        response = screening.match_one(example, dataset=dataset, limit=limit)
    except screening.QueryError as exc:
        raise ReconcileError(str(exc)) from exc
    candidates = []
    for result in response["results"]:
        schema = model.get(result["schema"])
        features = result.get("features") or {}
        candidates.append(
            {
                "id": result["id"],
                "name": result["caption"],
                "type": [{"id": result["schema"], "name": str(schema.label) if schema else result["schema"]}],
                "score": round(float(result["score"]) * 100, 2),
                "match": bool(result["match"]),
                "description": " ".join(
                    explain({k: float(v) for k, v in features.items()}, result["score"], screening.DEFAULT_THRESHOLD)
                ),
                "features": [{"id": name, "value": value} for name, value in features.items()],
            }
        )
    return {"result": candidates}


def parse_queries(raw: str) -> dict[str, Any]:
    """The ``queries`` parameter: a JSON object of query objects."""
    try:
        queries = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ReconcileError(f"'queries' is not JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(queries, dict):
        raise ReconcileError('\'queries\' must be a JSON object of queries, as {"q0": {"query": …}}')
    if len(queries) > MAX_QUERIES:
        raise ReconcileError(f"send at most {MAX_QUERIES} queries at once")
    return queries


def reconcile(queries: dict[str, Any], *, dataset: str) -> dict[str, Any]:
    """Every query answered, keyed as asked; ``ReconcileError`` naming the first query that is wrong."""
    answers: dict[str, Any] = {}
    for key, query in queries.items():
        try:
            answers[key] = reconcile_one(query, dataset=dataset)
        except ReconcileError as exc:
            raise ReconcileError(f"query {key!r}: {exc}") from exc
    return answers


def single_query(raw: str) -> dict[str, Any]:
    """The older single ``query`` parameter: a JSON query object or just the text."""
    try:
        query = json.loads(raw)
    except json.JSONDecodeError:
        return {"query": raw}
    return query if isinstance(query, dict) else {"query": raw}

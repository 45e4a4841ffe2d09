"""Screening: match query entities against Probity's stored lists, in the shapes of yente's ``/match``.

A query is an FtM entity example (``{"schema": "Person", "properties": {"name": [...], "birthDate": [...]}}``).
Candidates are found through the phonetic name keys (so a query in Latin letters finds a list entry in
Cyrillic or Chinese) and through identifiers, then scored by ``probity-v1``: the name score of
``names.py``, raised when an identifier agrees, lowered when birth dates or countries disagree. Each
result carries these ``features`` so a client can see why it scored as it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from followthemoney import model, registry

from probity.entities import names
from probity.entities.models import Entity, EntityName
from probity.entities.resolution import IDENTIFIER_PROPS

ALGORITHM = "probity-v1"
# Clients written for OpenSanctions pass their algorithm names; they are served by probity-v1.
ALGORITHM_ALIASES = frozenset(
    {
        ALGORITHM,
        "best",
        "default",
        "logic-v1",
        "logic-v2",
        "regression-v1",
        "regression-v2",
        "name-based",
        "name-qualified",
    }
)
DEFAULT_LIMIT = 5
MAX_LIMIT = 500
DEFAULT_THRESHOLD = 0.7
DEFAULT_CUTOFF = 0.5
MAX_CANDIDATES = 2000
TARGET_TOPICS = frozenset(
    {
        "sanction",
        "sanction.linked",
        "debarment",
        "role.pep",
        "role.rca",
        "crime",
        "poi",
        "corp.disqual",
        "export.control",
    }
)

FEATURES = {
    "name_score": "Best similarity of any two names across scripts (0–1).",
    "identifier_match": "An identifier (tax, registration, passport, INN …) is the same.",
    "dob_year_disjoint": "Both have birth dates and no year agrees (penalty 0.35).",
    "dob_day_disjoint": "Birth years agree but no full date does (penalty 0.1).",
    "country_disjoint": "Both name countries and none is shared (penalty 0.1).",
}


class QueryError(ValueError):
    """A query that cannot be screened (unknown schema, no name and no identifier …)."""


@dataclass(frozen=True)
class ScreeningQuery:
    schema: str
    names: list[str]
    birth_dates: list[str]
    countries: set[str]
    identifiers: set[str]


def _identifier_key(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())


def parse_query(example: dict[str, Any]) -> ScreeningQuery:
    """Reads one entity example; raises ``QueryError`` with the reason when it cannot be used."""
    schema = model.get(str(example.get("schema", "")))
    if schema is None:
        raise QueryError(f"unknown schema {example.get('schema')!r}")
    if not schema.matchable:
        raise QueryError(f"the schema {schema.name} cannot be matched; use Person, Company, LegalEntity …")
    raw = example.get("properties") or {}
    if not isinstance(raw, dict):
        raise QueryError("'properties' must be an object of lists of values")
    values: dict[str, list[str]] = {}
    for prop_name, items in raw.items():
        prop = schema.get(prop_name)
        if prop is None:
            raise QueryError(f"the schema {schema.name} has no property {prop_name!r}")
        items = [items] if isinstance(items, str) else items
        if not isinstance(items, list):
            raise QueryError(f"the property {prop_name!r} must be a list of values")
        for item in items:
            cleaned = prop.type.clean(str(item)) if item is not None else None
            if cleaned:
                values.setdefault(prop_name, []).append(cleaned)
    query_names = [n for p in ("name", "alias", "previousName", "weakAlias") for n in values.get(p, [])]
    parts = [values.get(p, []) for p in ("firstName", "middleName", "fatherName", "lastName")]
    if not query_names and any(parts):
        query_names = [" ".join(v[0] for v in parts if v)]
    countries = {v for p in schema.properties.values() if p.type == registry.country for v in values.get(p.name, [])}
    identifiers = {_identifier_key(v) for p in IDENTIFIER_PROPS for v in values.get(p, [])}
    if not query_names and not identifiers:
        raise QueryError("the query needs a name or an identifier")
    return ScreeningQuery(
        schema=schema.name,
        names=query_names,
        birth_dates=values.get("birthDate", []),
        countries=countries,
        identifiers={i for i in identifiers if i},
    )


def _compatible_schemata(schema_name: str) -> list[str]:
    """Stored schemata a query of ``schema_name`` may match (a LegalEntity query finds companies and people)."""
    schema = model.get(schema_name)
    assert schema is not None
    out = []
    for candidate in model.schemata.values():
        if candidate.matchable and (candidate.is_a(schema.name) or schema.is_a(candidate.name)):
            out.append(candidate.name)
    return sorted(out)


def _candidates(query: ScreeningQuery, dataset: str, exclude_ids: set[str]) -> list[Entity]:
    keys: set[str] = set()
    for name in query.names:
        keys |= names.name_keys(name)
    by_name = Q()
    for key in sorted(keys):
        by_name |= Q(keys__contains=f" {key} ")
    entity_ids: set[int] = set()
    if keys:
        entity_ids |= set(EntityName.objects.filter(by_name).values_list("entity_id", flat=True)[: MAX_CANDIDATES * 5])
    queryset = Entity.objects.filter(schema__in=_compatible_schemata(query.schema))
    if dataset not in {"default", "all"}:
        queryset = queryset.filter(dataset=dataset)
    candidates = list(queryset.filter(pk__in=entity_ids).prefetch_related("names")[:MAX_CANDIDATES])
    if query.identifiers:
        # Identifiers live in the JSON properties; scan only entities that have any, in Python (portable).
        seen = {c.pk for c in candidates}
        for entity in queryset.exclude(pk__in=seen).prefetch_related("names").iterator(chunk_size=2000):
            if _entity_identifiers(entity) & query.identifiers:
                candidates.append(entity)
    return [c for c in candidates if c.ftm_id not in exclude_ids]


def _entity_identifiers(entity: Entity) -> set[str]:
    properties = entity.properties or {}
    return {_identifier_key(v) for p in IDENTIFIER_PROPS for v in properties.get(p, []) if v}


def score_entity(query: ScreeningQuery, entity: Entity) -> tuple[float, dict[str, float]]:
    """The ``probity-v1`` score of one stored entity for a query, and its features."""
    entity_names = [entity.caption] + [n.name for n in entity.names.all()]
    name_score = names.best_name_score(query.names, entity_names)[0] if query.names else 0.0
    features: dict[str, float] = {"name_score": round(name_score, 4)}
    score = name_score
    if query.identifiers and _entity_identifiers(entity) & query.identifiers:
        features["identifier_match"] = 1.0
        score = max(score, 0.95) if name_score >= 0.5 or not query.names else max(score, 0.8)
    entity_births = [d for d in (entity.properties or {}).get("birthDate", []) if d]
    if query.birth_dates and entity_births:
        years_q = {d[:4] for d in query.birth_dates}
        years_e = {d[:4] for d in entity_births}
        if not years_q & years_e:
            features["dob_year_disjoint"] = 1.0
            score -= 0.35
        else:
            full_q = {d for d in query.birth_dates if len(d) >= 10}
            full_e = {d[:10] for d in entity_births if len(d) >= 10}
            if full_q and full_e and not full_q & full_e:
                features["dob_day_disjoint"] = 1.0
                score -= 0.1
    if query.countries and entity.countries and not query.countries & set(entity.countries):
        features["country_disjoint"] = 1.0
        score -= 0.1
    return max(0.0, min(1.0, score)), features


def entity_response(entity: Entity, cluster_ids: dict[str, list[str]]) -> dict[str, Any]:
    """An entity in yente's ``EntityResponse`` shape."""
    return {
        "id": entity.ftm_id,
        "caption": entity.caption,
        "schema": entity.schema,
        "properties": entity.properties or {},
        "datasets": [entity.dataset],
        "referents": sorted(i for i in cluster_ids.get(entity.cluster, []) if i != entity.ftm_id),
        "target": bool(set(entity.topics or []) & TARGET_TOPICS),
        "first_seen": entity.first_seen,
        "last_seen": entity.last_seen,
        "last_change": entity.last_seen,
    }


def match_one(
    example: dict[str, Any],
    *,
    dataset: str,
    limit: int = DEFAULT_LIMIT,
    threshold: float = DEFAULT_THRESHOLD,
    cutoff: float = DEFAULT_CUTOFF,
    exclude_ids: set[str] | None = None,
) -> dict[str, Any]:
    """One query's ``EntityMatches``: results at or above ``cutoff``, best first, ``match`` at ``threshold``."""
    query = parse_query(example)
    scored = []
    for entity in _candidates(query, dataset, exclude_ids or set()):
        score, features = score_entity(query, entity)
        if score >= cutoff:
            scored.append((score, entity, features))
    scored.sort(key=lambda item: (-item[0], item[1].ftm_id))
    clusters = {e.cluster for _, e, _ in scored[:limit]}
    cluster_ids: dict[str, list[str]] = {}
    for ftm_id, cluster in Entity.objects.filter(cluster__in=clusters).values_list("ftm_id", "cluster"):
        cluster_ids.setdefault(cluster, []).append(ftm_id)
    results = []
    for score, entity, features in scored[:limit]:
        results.append(
            {
                **entity_response(entity, cluster_ids),
                "score": round(score, 4),
                "match": score >= threshold,
                "features": features,
            }
        )
    return {
        "status": 200,
        "results": results,
        "total": {"value": len(scored), "relation": "eq"},
        "query": {"id": example.get("id"), "schema": query.schema, "properties": example.get("properties") or {}},
    }


def dataset_exists(dataset: str) -> bool:
    return dataset in {"default", "all"} or Entity.objects.filter(dataset=dataset).exists()

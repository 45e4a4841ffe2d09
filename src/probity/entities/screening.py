"""Screening: match query entities against Probity's stored lists, in the shapes of yente's ``/match``.

A query is an FtM entity example (``{"schema": "Person", "properties": {"name": [...], "birthDate": [...]}}``).
Candidates are found in the name key table (``name_keys.NameKey``: an indexed ``key IN (…)`` filtered by
dataset and schema, so a query in Latin letters finds a list entry in Cyrillic or Chinese, "SergeiLavrov"
finds "Sergei Lavrov" and "Ted Doe" finds "Theodore Doe") and through identifiers. They are ranked by the
keys they share with the query, rare keys weighing most (very common keys are left out when the query has
rarer ones), and only the ``MAX_SCORED`` best are scored by ``probity-v1``: the name score of ``names.py``
for the schema's kind of name (a person's, or an organisation's with its legal form folded), raised when an
identifier agrees, lowered when birth dates or countries disagree. Each result carries these ``features``
so a client can see why it scored as it did. ``match_many`` screens many queries with shared look-ups.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Model
from followthemoney import model, registry
from rigour.text.distance import levenshtein

from probity.entities import names
from probity.entities.models import Entity, EntityName
from probity.entities.name_keys import NameKey
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


KEY_WEIGHT_SCALE = 1_000_000
"""A key shared by ``df`` stored names weighs ``log(1 + KEY_WEIGHT_SCALE / df)``: rare keys count most."""
KEY_ROWS_BUDGET = 40_000
"""Key rows read per query at most, rarest keys first; a key more common than this is left out (when the
query has another), as it would only add candidates that its rarer keys already rank."""
MAX_SCORED = 100
"""Candidates scored in full per query: the best ranked by shared keys (ties broken by a quick comparison
of the names' letters)."""
RERANK_POOL = 600
"""Candidates tied at the cut that the quick comparison reads at most."""
QUERY_CHUNK = 200
"""Queries of a batch whose keys are looked up together."""
IN_CHUNK = 900
"""Values per ``IN (…)`` of one SQL statement."""


def _query_keys(query: ScreeningQuery) -> set[str]:
    keys: set[str] = set()
    for name in query.names:
        keys |= names.index_keys(name)
    return keys


def _select_in(
    model_class: type[Model],
    columns: list[str],
    column: str,
    values: list[Any],
    where: str = "",
    params: tuple[Any, ...] = (),
    *,
    count: bool = False,
) -> Iterator[tuple[Any, ...]]:
    """Rows of ``columns`` whose ``column`` is one of ``values`` (and ``where``), ``IN_CHUNK`` values per query;
    with ``count``, the number of rows of each distinct ``columns``.

    Plain SQL: the look-ups of screening run per query with hundreds of values, where the ORM's preparation
    of each value costs more than the look-up itself. Only column names (quoted) are written into the SQL."""
    quote = connection.ops.quote_name
    selected = ", ".join(quote(c) for c in columns)
    table = quote(model_class._meta.db_table)
    for offset in range(0, len(values), IN_CHUNK):
        chunk = values[offset : offset + IN_CHUNK]
        marks = ", ".join(["%s"] * len(chunk))
        counted = ", COUNT(*)" if count else ""
        sql = f"SELECT {selected}{counted} FROM {table} WHERE {quote(column)} IN ({marks}){where}"  # noqa: S608
        if count:
            sql += f" GROUP BY {selected}"
        with connection.cursor() as cursor:
            cursor.execute(sql, [*chunk, *params])
            yield from cursor.fetchall()


def _key_frequencies(keys: set[str]) -> dict[str, int]:
    """How many stored names have each key (keys that no name has are absent)."""
    return {str(key): int(n) for key, n in _select_in(NameKey, ["key"], "key", sorted(keys), count=True)}


def _chosen_keys(keys: set[str], frequencies: dict[str, int]) -> list[str]:
    """The keys a query reads, rarest first, within ``KEY_ROWS_BUDGET`` rows (at least its rarest key)."""
    present = sorted((frequencies[k], k) for k in keys if k in frequencies)
    chosen: list[str] = []
    total = 0
    for count, key in present:
        if chosen and total + count > KEY_ROWS_BUDGET:
            continue
        chosen.append(key)
        total += count
    return chosen


def _weight(count: int) -> float:
    return math.log(1.0 + KEY_WEIGHT_SCALE / max(count, 1))


NamesCache = dict[int, list[tuple[str, str]]]
"""(name, normalised name) of each entity read so far, by entity id."""


def _read_names(ids: list[int], cache: NamesCache) -> None:
    missing = [i for i in ids if i not in cache]
    for entity_id in missing:
        cache[entity_id] = []
    rows = _select_in(EntityName, ["entity_id", "name", "normalised"], "entity_id", missing)
    for entity_id, name, normalised in rows:
        cache[entity_id].append((name, normalised))


def _retrieve(queries: list[ScreeningQuery], dataset: str, cache: NamesCache) -> list[list[int]]:
    """The candidate entity ids of each query, best first, with one key look-up for all the queries."""
    query_keys = [_query_keys(q) for q in queries]
    frequencies = _key_frequencies(set().union(*query_keys)) if query_keys else {}
    chosen = [_chosen_keys(keys, frequencies) for keys in query_keys]
    wanted = sorted(set().union(*chosen)) if chosen else []
    schemata = [set(_compatible_schemata(q.schema)) for q in queries]
    where = ""
    params: tuple[Any, ...] = ()
    if dataset not in {"default", "all"}:
        where, params = f" AND {connection.ops.quote_name('dataset')} = %s", (dataset,)
    by_key: dict[str, list[tuple[int, str]]] = {}
    for key, entity_id, schema in _select_in(NameKey, ["key", "entity_id", "schema"], "key", wanted, where, params):
        by_key.setdefault(key, []).append((entity_id, schema))
    ranked: list[list[int]] = []
    for query, keys, allowed in zip(queries, chosen, schemata, strict=True):
        scores: dict[int, float] = {}
        for key in keys:
            weight = _weight(frequencies[key])
            for entity_id in {e for e, schema in by_key.get(key, ()) if schema in allowed}:
                scores[entity_id] = scores.get(entity_id, 0.0) + weight
        ranked.append(_cut(query, scores, cache))
    return ranked


def _cut(query: ScreeningQuery, scores: dict[int, float], cache: NamesCache) -> list[int]:
    """The ``MAX_SCORED`` best candidates by key weight; those tied at the cut are told apart by a quick
    comparison of their normalised names with the query's."""
    order = sorted(scores, key=lambda e: (-scores[e], e))
    if len(order) <= MAX_SCORED:
        return order
    floor = scores[order[MAX_SCORED - 1]]
    sure = [e for e in order if scores[e] > floor + 1e-9]
    tied = [e for e in order if abs(scores[e] - floor) <= 1e-9][:RERANK_POOL]
    room = MAX_SCORED - len(sure)
    query_tokens = [names.squash(t) for n in query.names for t in names.normalise(n).split()]
    _read_names(tied, cache)
    quick = {e: max((_quick_similarity(query_tokens, n) for _, n in cache[e]), default=0.0) for e in tied}
    tied.sort(key=lambda e: (-quick[e], e))
    return sure + tied[:room]


@lru_cache(maxsize=65536)
def _squashed(normalised: str) -> tuple[str, ...]:
    return tuple(names.squash(t) for t in normalised.split())


def _quick_similarity(query_tokens: list[str], normalised: str) -> float:
    """0–1: how many of the query's words have a close spelling among the name's (letters only)."""
    candidate = _squashed(normalised)
    if not query_tokens or not candidate:
        return 0.0
    total = 0.0
    for token in query_tokens:
        total += max(1.0 - levenshtein(token, c) / max(len(token), len(c), 1) for c in candidate)
    return total / len(query_tokens)


def _identifier_candidates(query: ScreeningQuery, dataset: str, exclude: set[int]) -> list[Entity]:
    """Entities with an identifier of the query (read from the JSON properties of entities that have any)."""
    if not query.identifiers:
        return []
    queryset = Entity.objects.filter(schema__in=_compatible_schemata(query.schema))
    if dataset not in {"default", "all"}:
        queryset = queryset.filter(dataset=dataset)
    queryset = queryset.filter(properties__has_any_keys=list(IDENTIFIER_PROPS)).exclude(pk__in=exclude)
    return [entity for entity in queryset.iterator(chunk_size=2000) if _entity_identifiers(entity) & query.identifiers]


Candidate = tuple[Entity, list[str]]
"""A candidate entity with its stored names (caption first)."""


def _with_names(entities: list[Entity], cache: NamesCache) -> list[Candidate]:
    """The entities with their names (read in one query per ``IN_CHUNK`` entities not read yet)."""
    _read_names([e.pk for e in entities], cache)
    return [(e, [e.caption, *(n for n, _ in cache[e.pk] if n != e.caption)]) for e in entities]


def _candidates_many(queries: list[ScreeningQuery], dataset: str, exclude_ids: set[str]) -> list[list[Candidate]]:
    """The candidates of each query with their names, best ranked first."""
    cache: NamesCache = {}
    ranked = _retrieve(queries, dataset, cache)
    wanted = sorted(set().union(*ranked)) if ranked else []
    entities: list[Entity] = []
    for offset in range(0, len(wanted), IN_CHUNK):
        entities.extend(Entity.objects.filter(pk__in=wanted[offset : offset + IN_CHUNK]))
    loaded = {e.pk: c for e, c in zip(entities, _with_names(entities, cache), strict=True)}
    out: list[list[Candidate]] = []
    for query, ids in zip(queries, ranked, strict=True):
        candidates = [loaded[i] for i in ids if i in loaded]
        extra = _identifier_candidates(query, dataset, {c.pk for c, _ in candidates})
        candidates += _with_names(extra, cache)
        out.append([c for c in candidates if c[0].ftm_id not in exclude_ids])
    return out


def _candidates(query: ScreeningQuery, dataset: str, exclude_ids: set[str]) -> list[Candidate]:
    return _candidates_many([query], dataset, exclude_ids)[0]


def _entity_identifiers(entity: Entity) -> set[str]:
    properties = entity.properties or {}
    return {_identifier_key(v) for p in IDENTIFIER_PROPS for v in properties.get(p, []) if v}


def score_entity(
    query: ScreeningQuery, entity: Entity, entity_names: list[str] | None = None
) -> tuple[float, dict[str, float]]:
    """The ``probity-v1`` score of one stored entity for a query, and its features (``entity_names``: its
    names when already read, else they are read from the entity)."""
    if entity_names is None:
        entity_names = [entity.caption] + [n.name for n in entity.names.all()]
    kind = names.kind_of_schema(query.schema if query.schema != "LegalEntity" else entity.schema)
    name_score = names.best_name_score(query.names, entity_names, kind=kind)[0] if query.names else 0.0
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
    candidates = _candidates(query, dataset, exclude_ids or set())
    return _response(example, query, candidates, limit=limit, threshold=threshold, cutoff=cutoff)


def match_many(
    examples: list[dict[str, Any]],
    *,
    dataset: str,
    limit: int = DEFAULT_LIMIT,
    threshold: float = DEFAULT_THRESHOLD,
    cutoff: float = DEFAULT_CUTOFF,
) -> list[dict[str, Any] | QueryError]:
    """``match_one`` for many queries at once (a batch, a watchlist): the same answers, in the same order,
    with the key look-ups and entity loads of ``QUERY_CHUNK`` queries shared. A query that cannot be
    screened gives its ``QueryError`` in its place instead of stopping the others."""
    out: list[dict[str, Any] | QueryError] = []
    for offset in range(0, len(examples), QUERY_CHUNK):
        chunk = examples[offset : offset + QUERY_CHUNK]
        parsed: list[ScreeningQuery | QueryError] = []
        for example in chunk:
            try:
                parsed.append(parse_query(example))
            except QueryError as exc:
                parsed.append(exc)
        good = [q for q in parsed if isinstance(q, ScreeningQuery)]
        candidates = iter(_candidates_many(good, dataset, set()))
        for example, query in zip(chunk, parsed, strict=True):
            if isinstance(query, QueryError):
                out.append(query)
                continue
            found = next(candidates)
            out.append(_response(example, query, found, limit=limit, threshold=threshold, cutoff=cutoff))
    return out


def _response(
    example: dict[str, Any],
    query: ScreeningQuery,
    candidates: list[Candidate],
    *,
    limit: int,
    threshold: float,
    cutoff: float,
) -> dict[str, Any]:
    scored = []
    for entity, entity_names in candidates:
        score, features = score_entity(query, entity, entity_names)
        if score >= cutoff:
            scored.append((score, entity, features))
    scored.sort(key=lambda item: (-item[0], item[1].ftm_id))
    clusters = {e.cluster for _, e, _ in scored[:limit]}
    cluster_ids: dict[str, list[str]] = {}
    if clusters:
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


_warm = threading.Event()


def warm_up() -> None:
    """Loads what the first screening would otherwise wait for (about 10 s: rigour's person-name data, the
    ICU transliterator, the legal-form tables), once per process. Idempotent."""
    if _warm.is_set():
        return
    names.name_score("Theodore Doe", "Ted Doe", kind="person")
    names.name_score("Сергей Лавров", "Sergei Lavrov", kind="person")
    names.name_score("ACME Holdings Limited", "Acme Holdings Ltd", kind="organisation")
    _warm.set()


def warm_up_in_background() -> threading.Thread:
    """``warm_up`` in a daemon thread, for a web server or job worker at start (not for tests, which do not
    need it): the process answers at once and the first screening no longer waits."""
    thread = threading.Thread(target=warm_up, name="screening-warm-up", daemon=True)
    thread.start()
    return thread

"""Reads of the entities app: searching entities, and everything the entity page shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from followthemoney import model, registry

from probity.entities import names
from probity.entities.models import Entity, EntityName, EntityReference, MatchCandidate


def entity_search(*, q: str = "", dataset: str = "", schema: str = "") -> QuerySet[Entity]:
    """Entities whose names sound like ``q`` in any script (or contain it), newest data first."""
    queryset = Entity.objects.all()
    if dataset:
        queryset = queryset.filter(dataset=dataset)
    if schema:
        queryset = queryset.filter(schema=schema)
    else:
        queryset = queryset.filter(schema__in=[s.name for s in model.schemata.values() if s.matchable])
    q = q.strip()
    if q:
        keys = names.name_keys(q)
        condition = Q(caption__icontains=q) | Q(names__name__icontains=q)
        normalised = names.normalise(q)
        if normalised:
            condition |= Q(names__normalised__contains=normalised)
        if keys:
            # every key of the query must be among the name's keys ("putin vladimir" finds "Путин Владимир")
            by_keys = Q()
            for key in sorted(keys):
                by_keys &= Q(keys__contains=f" {key} ")
            ids = EntityName.objects.filter(by_keys).values_list("entity_id", flat=True)
            condition |= Q(pk__in=ids)
        queryset = queryset.filter(condition).distinct()
    return queryset.order_by("caption", "pk")


@dataclass
class Relation:
    """Another entity this one is linked to through an FtM relation (ownership, family, sanction …)."""

    schema: str
    role: str
    other: Entity | None
    other_id: str
    via: Entity
    details: list[str] = field(default_factory=list)


@dataclass
class EntityPage:
    entity: Entity
    names: list[EntityName]
    identifiers: list[tuple[str, str]]
    same_cluster: list[Entity]
    candidates: list[MatchCandidate]
    relations: list[Relation] = field(default_factory=list)
    properties: list[tuple[str, list[str]]] = field(default_factory=list)


def _property_label(schema_name: str, prop_name: str) -> str:
    schema = model.get(schema_name)
    prop = schema.get(prop_name) if schema else None
    return str(prop.label) if prop else prop_name


def entity_identifiers(*, entity: Entity) -> list[tuple[str, str]]:
    """(property label, value) of each identifier-typed property."""
    schema = model.get(entity.schema)
    out: list[tuple[str, str]] = []
    if schema is None:
        return out
    for prop_name, values in sorted((entity.properties or {}).items()):
        prop = schema.get(prop_name)
        if prop is not None and prop.type == registry.identifier:
            out.extend((str(prop.label), value) for value in values)
    return out


RELATION_DETAIL_PROPS = (
    "role",
    "relationship",
    "percentage",
    "sharesCount",
    "amount",
    "currency",
    "status",
    "startDate",
    "endDate",
    "date",
)
"""Properties of a relation entity shown beside it ("nominee shareholder", "100.00 %", "218793.66 XTS" …)."""


def relation_details(*, via: Entity) -> list[str]:
    """The relation's own facts, in a fixed order: role, kinship, share, amount, dates."""
    properties = via.properties or {}
    out: list[str] = []
    for prop in RELATION_DETAIL_PROPS:
        values = [str(v) for v in properties.get(prop, []) if v]
        if not values or prop == "currency":
            continue
        if prop == "percentage":
            out.extend(f"{v} %" for v in values)
        elif prop == "amount":
            currency = " ".join(str(c) for c in properties.get("currency", []))
            out.extend(f"{v} {currency}".strip() for v in values)
        elif prop in {"startDate", "endDate", "date"}:
            out.append(f"{_property_label(via.schema, prop)} {', '.join(values)}")
        else:
            out.extend(values)
    return out


def entity_relations(*, entity: Entity) -> list[Relation]:
    """Relations that name this entity (and, through a confirmed cluster, its other records)."""
    ids = list(Entity.objects.filter(cluster=entity.cluster).values_list("ftm_id", flat=True)) or [entity.ftm_id]
    refs = list(EntityReference.objects.filter(target_id__in=ids).select_related("entity")[:200])
    other_ids = {
        r.target_id
        for ref in refs
        for r in EntityReference.objects.filter(entity=ref.entity).exclude(target_id__in=ids)
    }
    others = {e.ftm_id: e for e in Entity.objects.filter(ftm_id__in=other_ids)}
    relations = []
    for ref in refs:
        via = ref.entity
        targets = [r for r in EntityReference.objects.filter(entity=via).exclude(target_id__in=ids)]
        details = relation_details(via=via)
        if not targets:
            relations.append(Relation(via.schema, _property_label(via.schema, ref.prop), None, "", via, details))
        for target in targets:
            relations.append(
                Relation(
                    via.schema,
                    _property_label(via.schema, ref.prop),
                    others.get(target.target_id),
                    target.target_id,
                    via,
                    details,
                )
            )
    return relations


def entity_page(*, entity: Entity) -> EntityPage:
    candidates = list(
        MatchCandidate.objects.filter(Q(left=entity) | Q(right=entity))
        .select_related("left", "right")
        .order_by("-probability", "pk")
    )
    visible_props: list[tuple[str, list[str]]] = []
    for prop_name, values in sorted((entity.properties or {}).items()):
        if prop_name in {"name", "alias", "weakAlias", "previousName"}:
            continue
        visible_props.append((_property_label(entity.schema, prop_name), values))
    return EntityPage(
        entity=entity,
        names=list(entity.names.order_by("kind", "script", "name")),
        identifiers=entity_identifiers(entity=entity),
        same_cluster=list(Entity.objects.filter(cluster=entity.cluster).exclude(pk=entity.pk).order_by("ftm_id")),
        candidates=candidates,
        relations=entity_relations(entity=entity),
        properties=visible_props,
    )


def candidate_other(*, candidate: MatchCandidate, entity: Entity) -> Entity:
    return candidate.right if candidate.left_id == entity.pk else candidate.left


def dataset_counts() -> list[dict[str, Any]]:
    return list(Entity.objects.values("dataset").annotate(count=Count("pk")).order_by("dataset"))

"""CORE-ID-SHARED: an organisation whose registry or tax identifier is also recorded for another one.

Why it signals risk: a company registry number or tax ID identifies exactly one legal person. When
two organisations in Probity's records carry the same one, either a record is wrong (which hides
who is who from every other check) or one name is being used as a front for another — a known way
to disguise that "competing" bidders are the same firm, or that a debarred supplier is back under
a new name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from probity.core.detectors import Detector, Judgement, Parameter, register
from probity.core.models import Identifier, Organisation

NOT_APPLICABLE = gettext_noop("No identifier in the schemes %(schemes)s is recorded.")
FLAG = gettext_noop("Identifiers shared with: %(others)s")
PASS = gettext_noop("None of its identifiers (%(count)d checked) is recorded for another organisation.")


@register
class SharedIdentifier(Detector):
    code = "CORE-ID-SHARED"
    title = _("Identifier shared by several organisations")
    description = _(
        "Flags an organisation when one of its registry, tax, VAT or LEI identifiers is also recorded "
        "for a different organisation. Either a record is wrong or one name fronts for another. "
        "Organisations with no identifier in the chosen schemes are not applicable."
    )
    subject_type = "organisation"
    reads = ("core",)  # core.organisation and core.identifier only
    fields = ("organisation.identifiers.scheme", "organisation.identifiers.value")
    parameters = (
        Parameter(
            "schemes",
            ["company_register", "tax_id", "vat", "lei"],
            _("identifier schemes to compare (comma-separated)"),
            list,
        ),
    )

    def dataset(self) -> str:
        return "core.organisation + core.identifier"

    def count_subjects(self) -> int:
        return Organisation.objects.count()

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        schemes = list(params["schemes"])
        holders: dict[tuple[str, str, str], set[int]] = defaultdict(set)
        by_organisation: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
        rows = Identifier.objects.filter(organisation__isnull=False, scheme__in=schemes).values_list(
            "organisation_id", "scheme", "issuer", "value_hash"
        )
        for organisation_id, scheme, issuer, value_hash in rows.iterator():
            key = (scheme, issuer.upper(), value_hash)
            holders[key].add(organisation_id)
            by_organisation[organisation_id].append(key)
        names = dict(Organisation.objects.values_list("id", "name"))
        for organisation_id, name in names.items():
            keys = by_organisation.get(organisation_id)
            if not keys:
                yield Judgement(
                    "organisation",
                    str(organisation_id),
                    "not_applicable",
                    NOT_APPLICABLE,
                    {"schemes": ", ".join(schemes)},
                    subject_label=name,
                    evidence={"reason": "missing_field", "schemes": schemes},
                )
                continue
            shared: list[dict[str, Any]] = []
            for scheme, issuer, value_hash in keys:
                others = sorted(holders[(scheme, issuer, value_hash)] - {organisation_id})
                if others:
                    shared.append(
                        {
                            "scheme": scheme,
                            "issuer": issuer,
                            "also_held_by": [{"id": other, "name": names.get(other, "")} for other in others],
                        }
                    )
            if shared:
                other_names = sorted({o["name"] for s in shared for o in s["also_held_by"]})
                yield Judgement(
                    "organisation",
                    str(organisation_id),
                    "flag",
                    FLAG,
                    {"others": "; ".join(other_names)},
                    subject_label=name,
                    score=1.0,
                    evidence={"shared": shared},
                )
            else:
                yield Judgement(
                    "organisation",
                    str(organisation_id),
                    "pass",
                    PASS,
                    {"count": len(keys)},
                    subject_label=name,
                    score=0.0,
                    evidence={"identifiers_checked": len(keys)},
                )

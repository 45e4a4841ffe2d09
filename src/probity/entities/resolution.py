"""Entity resolution with Splink: blocking on name keys, comparisons on name, birth date, country, identifiers
and address.

Each entity becomes one *record* of plain columns built from ``names.py`` (fingerprint, token skeletons
in every transliteration, blocking keys). Splink (DuckDB backend by default, Spark for scale) scores
every blocked pair with a Fellegi–Sunter model; the per-field match weights it returns are the
explanation an analyst sees ("name: same tokens in another order, +8.1; birth date: same year, +2.3 …").

The model's m and u probabilities are set here, not learned per run, so a score means the same on every
installation and the tests are deterministic; ``train=True`` re-estimates u by random sampling and m by
expectation maximisation on the data at hand (what the benchmark does at scale).

The address (a person's residence, a company's registered address) is compared on its folded parts
(``names.address_parts``: street with house number, postcode, city; street types spelt out): the same
address; the same postcode (or city, when one side has no postcode) and a similar street (a house number
left out, a slip); the same postcode or city only; different. Namesakes born the same month, and
namesakes when the register gives no birth date, are told apart by it: the register and the
declarations both give where a person lives.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_noop

from probity.entities import names

LOGGER = logging.getLogger("probity.entities")

PERSON_SCHEMAS = ("Person",)
ORGANISATION_SCHEMAS = ("Company", "Organization", "LegalEntity", "PublicBody")
IDENTIFIER_PROPS = (
    "idNumber",
    "taxNumber",
    "innCode",
    "registrationNumber",
    "leiCode",
    "vatCode",
    "ogrnCode",
    "okpoCode",
    "passportNumber",
    "swiftBic",
    "imoNumber",
    "wikidataId",
)
DEFAULT_PRIOR = 0.001
"""Prior probability that two records are the same entity (Splink's ``probability_two_random_records_match``)."""
TF_MIN_RECORDS = 1000
PRIOR_ESTIMATE_MIN_RECORDS = 1000
"""From this many records on, ``linker_for`` also estimates the prior from the data (``estimate_prior``) and
keeps the estimate when it is below the bound from the data's shape (``prior_for``); smaller jobs (unit
tests, a handful of list entries) keep the fixed bound, so their scores are deterministic."""
PRIOR_ESTIMATE_RECALL = 0.6
"""The share of true pairs assumed to agree exactly on name fingerprint and birth month (the estimate's rule)."""
RECORD_COLUMNS = (
    "unique_id",
    "source_dataset",
    "name_fp",
    "name_skel",
    "name_tokens",
    "name_keys",
    "key_first",
    "key_last",
    "name_initials",
    "name_abbrevs",
    "birth_date",
    "birth_ym",
    "birth_year",
    "countries",
    "identifiers",
    "addr_key",
    "addr_street",
    "addr_postcode",
    "addr_city",
)

# Human-readable labels of the comparison levels, shown with the weights on the entity page.
LEVEL_LABELS: dict[str, dict[int, str]] = {
    "name": {
        -1: "missing",
        5: "same name",
        4: "same sounds in any order",
        3: "two or more tokens agree",
        6: "same name with a given name as its initial",
        2: "similar spelling",
        1: "one token sounds alike",
        0: "different",
    },
    "birth": {
        -1: "missing",
        3: "same date",
        5: "same month, day unknown on one side",
        2: "same month",
        1: "same year",
        4: "same year, another month",
        0: "different",
    },
    "country": {-1: "missing", 1: "a country in common", 0: "different"},
    "identifier": {-1: "missing", 1: "an identifier in common", 0: "different"},
    "address": {
        -1: "missing",
        3: "same address",
        2: "same postcode, similar street",
        1: "same postcode or city only",
        0: "different",
    },
}
# The address labels for translation (the entity page shows them through its own label table).
ADDRESS_LABELS_FOR_TRANSLATION = (
    gettext_noop("Address"),
    gettext_noop("same address"),
    gettext_noop("same postcode, similar street"),
    gettext_noop("same postcode or city only"),
)


def schemas_for(schema: str) -> tuple[str, ...]:
    """The FtM schemata resolved together with ``schema`` (people with people, companies with organisations)."""
    return PERSON_SCHEMAS if schema == "Person" else ORGANISATION_SCHEMAS


def _normalise_identifier(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())


SKELETON_MIN_JARO_WINKLER = 0.92
"""Two names whose consonant skeletons agree count as "same sounds" only if their spellings are this close
(Jaro-Winkler of the fingerprints): skeletons merge so much that "Leon Jurak" and "Ilan Jurak", or
"Natalia Volkova" and "Andrei Volkov", share one; a transliteration or a slip keeps the spelling close."""


def sound_key(token: str) -> str:
    """The token's consonant skeleton, or its folded spelling when the skeleton is shorter than two letters.

    A skeleton of one letter ("gao" → "k", "bo" → "p") says almost nothing about how a token sounds:
    without the fallback "Gao Wei" and "Zhou Bo" would share the skeleton "k p".
    """
    key = names.skeleton(token)
    return key if len(key) >= 2 else names.squash(token)


def _abbreviations(tokens: Sequence[str]) -> list[str]:
    """The name written with one of its tokens as an initial, tokens sorted: "klara kosta" → "k kosta", …"""
    if len(tokens) < 2:
        return []
    forms = {" ".join(sorted([*tokens[:i], token[0], *tokens[i + 1 :]])) for i, token in enumerate(tokens)}
    return sorted(forms)


def name_columns(all_names: Iterable[str], *, organisation: bool = False) -> dict[str, Any]:
    """The name columns of a record from every name of the entity."""
    all_names = [n for n in all_names if n and n.strip()]
    if organisation:
        all_names = [names.organisation_name(n) for n in all_names]
    tokens: set[str] = set()
    keys: set[str] = set()
    for name in all_names:
        for form in names.transliterations(name):
            for token in names._split(form):
                if token in names.TITLES or len(token) == 1:
                    continue
                tokens.add(names.squash(token))
                key = names.skeleton(token)
                if len(key) >= 2:
                    keys.add(key)
    primary = all_names[0] if all_names else ""
    primary_tokens = [t for t in names.tokens(primary) if len(t) > 1] if primary else []
    skeletons = sorted(names.skeleton(t) for t in primary_tokens if names.skeleton(t))
    sounds = sorted(sound_key(t) for t in primary_tokens)
    # "K. Costa": the initials kept (the fingerprint drops them), to meet "Klara Costa"'s abbreviations.
    every_token = [names.squash(t) for t in names.tokens(primary)] if primary else []
    has_initial = any(len(t) == 1 for t in every_token) and any(len(t) > 1 for t in every_token)
    return {
        "name_fp": names.name_fingerprint(primary) or None,
        "name_skel": " ".join(sounds) or None,
        "name_tokens": sorted(tokens) or None,
        "name_keys": sorted(keys) or None,
        "key_first": skeletons[0] if skeletons else None,
        "key_last": skeletons[-1] if skeletons else None,
        "name_initials": " ".join(sorted(every_token)) if has_initial else None,
        "name_abbrevs": _abbreviations([names.squash(t) for t in primary_tokens]) or None,
    }


def birth_columns(birth_date: str | None) -> dict[str, Any]:
    value = (birth_date or "").strip()
    return {
        "birth_date": value[:10] if len(value) >= 10 else None,
        "birth_ym": value[:7] if len(value) >= 7 else None,
        "birth_year": value[:4] if len(value) >= 4 else None,
    }


def address_columns(address: str | None, *, postcode: str | None = None, city: str | None = None) -> dict[str, Any]:
    """The address columns of a record: ``address`` as one text, with its postcode and city when given apart."""
    parts = names.address_parts(address, postcode=postcode, city=city)
    known = [p for p in (parts.street, parts.postcode, parts.city) if p]
    return {
        "addr_key": "|".join(p or "" for p in (parts.street, parts.postcode, parts.city)) if known else None,
        "addr_street": parts.street,
        "addr_postcode": parts.postcode,
        "addr_city": parts.city,
    }


def address_of(entity: Any, address_entities: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The address columns of an ``Entity``: its FtM ``addressEntity`` (street, postal code, city) when it is
    among ``address_entities`` (FtM id → properties), else its first ``address`` text."""
    properties = entity.properties or {}
    for ref in properties.get("addressEntity", []) or []:
        found = (address_entities or {}).get(ref)
        if not found:
            continue
        street = " ".join(found.get("street", [])[:1] + found.get("street2", [])[:1]).strip()
        text = street or next(iter(found.get("full", [])), "")
        if text:
            return address_columns(
                text,
                postcode=next(iter(found.get("postalCode", [])), None),
                city=next(iter(found.get("city", [])), None),
            )
    texts = [t for t in properties.get("address", []) or [] if t and str(t).strip()]
    return address_columns(texts[0] if texts else None)


def record_of(entity: Any, address_entities: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The Splink record of one stored ``Entity`` (names prefetched); ``address_entities``: the properties of
    the FtM ``Address`` entities it may refer to, by FtM id."""
    properties = entity.properties or {}
    ordered = sorted(entity.names.all(), key=lambda n: (n.kind != "name", n.pk))
    identifiers = sorted({_normalise_identifier(v) for p in IDENTIFIER_PROPS for v in properties.get(p, []) if v})
    return {
        "unique_id": entity.pk,
        "source_dataset": entity.dataset,
        **name_columns([entity.caption] + [n.name for n in ordered], organisation=entity.schema != "Person"),
        **birth_columns(entity.birth_date),
        "countries": sorted(entity.countries) or None,
        "identifiers": identifiers or None,
        **address_of(entity, address_entities),
    }


def _level(cll: Any, creator: Any, m: float, u: float, label: str) -> Any:
    return creator.configure(m_probability=m, u_probability=u, label_for_charts=label)


def settings(
    link_type: str = "dedupe_only", *, scale: bool = False, prior: float = DEFAULT_PRIOR, tf: bool = False
) -> Any:
    """The Splink settings: comparisons with fixed m/u and the blocking rules.

    ``scale`` leaves out the blocking rules that explode arrays (used by the 1M × 200k benchmark);
    ``tf`` weighs an exact name by how rare it is in the data (a common name says less), which needs
    enough records for the frequencies to mean something (``TF_MIN_RECORDS``).
    """
    # Splink (and DuckDB, pyarrow, Spark below) are imported only when a resolution runs: a quarter of a
    # second and more at start-up that pages, the API and most commands never need.
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_fp"),
            _level(
                cll,
                cll.ExactMatchLevel("name_fp", term_frequency_adjustments=tf),
                0.45,
                0.0002,
                LEVEL_LABELS["name"][5],
            ),
            _level(
                cll,
                cll.And(cll.ExactMatchLevel("name_skel"), cll.JaroWinklerLevel("name_fp", SKELETON_MIN_JARO_WINKLER)),
                0.2,
                0.0005,
                LEVEL_LABELS["name"][4],
            ),
            _level(
                cll, cll.ArrayIntersectLevel("name_tokens", min_intersection=2), 0.15, 0.001, LEVEL_LABELS["name"][3]
            ),
            # "K. Costa" against "Klara Costa": one name is the other with a given name reduced to its initial
            _level(
                cll,
                cll.CustomLevel(
                    "(name_initials_l IS NOT NULL AND array_contains(name_abbrevs_r, name_initials_l)) OR "
                    "(name_initials_r IS NOT NULL AND array_contains(name_abbrevs_l, name_initials_r))"
                ),
                0.04,
                0.0005,
                LEVEL_LABELS["name"][6],
            ),
            # a spelling slip: close strings whose consonant skeletons differ by at most one letter
            # (two edits at most: on a sorted fingerprint Jaro-Winkler alone rewards a shared first token,
            # "jonas orban" against "jonas radan")
            _level(
                cll,
                cll.And(
                    cll.JaroWinklerLevel("name_fp", 0.9),
                    cll.LevenshteinLevel("name_fp", 2),
                    cll.LevenshteinLevel("name_skel", 1),
                ),
                0.08,
                0.004,
                LEVEL_LABELS["name"][2],
            ),
            _level(cll, cll.ArrayIntersectLevel("name_keys", min_intersection=1), 0.04, 0.05, LEVEL_LABELS["name"][1]),
            _level(cll, cll.ElseLevel(), 0.04, 0.9443, LEVEL_LABELS["name"][0]),
        ],
    )
    # A date known only to the month or year on one side is compared at the precision both sides have:
    # agreeing there is what a true pair does (m as high as for the full date), and as rare for two
    # strangers as a month (1 in ~1 000) or a year (1 in ~70) is. Scoring it like a full date that
    # differs in its day (m 0.06) made every register person, whose birth date the register gives
    # as a year and month, look like a near miss.
    month_unknown = "(birth_ym_l IS NULL OR birth_ym_r IS NULL)"
    day_unknown = "(birth_date_l IS NULL OR birth_date_r IS NULL)"
    birth = cl.CustomComparison(
        output_column_name="birth",
        comparison_levels=[
            cll.NullLevel("birth_year"),
            _level(cll, cll.ExactMatchLevel("birth_date"), 0.85, 0.0001, LEVEL_LABELS["birth"][3]),
            _level(
                cll,
                cll.CustomLevel(f"birth_ym_l = birth_ym_r AND {day_unknown}"),
                0.85,
                0.001,
                LEVEL_LABELS["birth"][5],
            ),
            _level(cll, cll.ExactMatchLevel("birth_ym"), 0.06, 0.001, LEVEL_LABELS["birth"][2]),
            _level(
                cll,
                cll.CustomLevel(f"birth_year_l = birth_year_r AND {month_unknown}"),
                0.85,
                0.014,
                LEVEL_LABELS["birth"][1],
            ),
            _level(cll, cll.ExactMatchLevel("birth_year"), 0.005, 0.009, LEVEL_LABELS["birth"][4]),
            _level(cll, cll.ElseLevel(), 0.035, 0.9859, LEVEL_LABELS["birth"][0]),
        ],
    )
    country = cl.CustomComparison(
        output_column_name="country",
        comparison_levels=[
            cll.NullLevel("countries"),
            _level(
                cll, cll.ArrayIntersectLevel("countries", min_intersection=1), 0.95, 0.3, LEVEL_LABELS["country"][1]
            ),
            _level(cll, cll.ElseLevel(), 0.05, 0.7, LEVEL_LABELS["country"][0]),
        ],
    )
    identifier = cl.CustomComparison(
        output_column_name="identifier",
        comparison_levels=[
            cll.NullLevel("identifiers"),
            _level(
                cll,
                cll.ArrayIntersectLevel("identifiers", min_intersection=1),
                0.9,
                0.00001,
                LEVEL_LABELS["identifier"][1],
            ),
            _level(cll, cll.ElseLevel(), 0.1, 0.99999, LEVEL_LABELS["identifier"][0]),
        ],
    )
    # The same place: the same postcode, or the same city when one side gives no postcode.
    same_place = (
        "(addr_postcode_l = addr_postcode_r OR "
        "((addr_postcode_l IS NULL OR addr_postcode_r IS NULL) AND addr_city_l = addr_city_r))"
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("addr_key"),
            _level(
                cll,
                cll.CustomLevel(f"addr_street_l = addr_street_r AND {same_place}"),
                0.75,
                0.0002,
                LEVEL_LABELS["address"][3],
            ),
            # a house number left out, a slip in the street's name
            _level(
                cll,
                cll.And(cll.JaroWinklerLevel("addr_street", 0.88), cll.CustomLevel(same_place)),
                0.12,
                0.001,
                LEVEL_LABELS["address"][2],
            ),
            _level(
                cll,
                cll.CustomLevel("addr_postcode_l = addr_postcode_r OR addr_city_l = addr_city_r"),
                0.106,  # most moves stay in the same city: a different city counts more against a match
                0.03,  # not 0.05: a weight of 0 would be read back as "missing" in the explanation
                LEVEL_LABELS["address"][1],
            ),
            # a true pair at two addresses: the person moved, or one source gives a service address
            _level(cll, cll.ElseLevel(), 0.024, 0.9688, LEVEL_LABELS["address"][0]),
        ],
    )
    rules: list[Any] = [
        block_on("name_skel"),
        block_on("key_first", "birth_year"),
        block_on("key_last", "birth_year"),
    ]
    if not scale:
        rules += [
            # people at the same address whose name is written another way and whose birth date one side lacks
            block_on("addr_street", "addr_postcode", "key_last"),
            block_on("name_keys", "birth_ym", arrays_to_explode=["name_keys"]),
            block_on("identifiers", arrays_to_explode=["identifiers"]),
        ]
    return SettingsCreator(
        link_type=link_type,  # type: ignore[arg-type]
        comparisons=[name, birth, country, identifier, address],
        blocking_rules_to_generate_predictions=rules,
        probability_two_random_records_match=prior,
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
    )


@dataclass(frozen=True)
class Prediction:
    """One scored pair: the two record ids, Splink's probability and weight, and the weight of each field."""

    left_id: int
    right_id: int
    probability: float
    match_weight: float
    explanation: dict[str, Any]


def db_api(backend: str = "duckdb", **options: Any) -> Any:
    """The Splink database API: DuckDB in memory by default, or Spark (``spark=`` a session, or a local one)."""
    if backend == "duckdb":
        from splink import DuckDBAPI

        return DuckDBAPI(**options)
    if backend == "spark":
        from splink import SparkAPI

        spark = options.pop("spark", None)
        if spark is None:
            from pyspark.sql import SparkSession  # the optional "spark" extra

            spark = SparkSession.builder.master("local[2]").appName("probity-entities").getOrCreate()
        return SparkAPI(spark_session=spark, **options)
    raise ValueError(f"unknown resolution backend {backend!r}: use 'duckdb' or 'spark'")


def prior_for(link_type: str, sizes: Sequence[int], datasets: int = 1) -> float:
    """The prior that two records are the same entity, bounded by what the data's shape allows.

    Each source lists an entity at most once, so in a link between two sources a record has at most
    one partner: at most ``min(sizes)`` true pairs among ``product(sizes)``, a prior of at most
    ``1 / max(sizes)``. In a dedupe across ``datasets`` sources of ``n`` records in all, a cluster has
    at most one record per source: at most ``n (S − 1) / 2`` true pairs among ``n (n − 1) / 2``.
    Small jobs keep ``DEFAULT_PRIOR``; a fixed 0.001 over thousands × thousands of records made every
    namesake without a birth date a "match" (demo country at scale 5: precision 0.06).
    """
    sizes = [s for s in sizes if s > 0]
    if not sizes:
        return DEFAULT_PRIOR
    if link_type == "link_only" and len(sizes) == 2:
        return min(DEFAULT_PRIOR, 1.0 / max(sizes))
    total = sum(sizes)
    if datasets >= 2 and total > 1:
        return min(DEFAULT_PRIOR, (datasets - 1) / (total - 1))
    return DEFAULT_PRIOR


def _size_of(table: Any) -> int | None:
    for attribute in ("num_rows", "shape"):
        value = getattr(table, attribute, None)
        if value is not None:
            return int(value[0] if isinstance(value, tuple) else value)
    return None


def _datasets_of(tables: Sequence[Any]) -> int:
    found: set[Any] = set()
    for table in tables:
        if hasattr(table, "column_names") and "source_dataset" in table.column_names:
            found.update(table.column("source_dataset").unique().to_pylist())
        elif hasattr(table, "columns") and "source_dataset" in table.columns:
            found.update(table["source_dataset"].unique().tolist())
    return len(found)


def _estimate_prior(linker: Any) -> None:
    """Sets the linker's prior to Splink's estimate from the data: pairs agreeing exactly on name
    fingerprint and birth month, taken to be ``PRIOR_ESTIMATE_RECALL`` of the true pairs."""
    from splink import block_on

    linker.training.estimate_probability_two_random_records_match(
        [block_on("name_fp", "birth_ym")], recall=PRIOR_ESTIMATE_RECALL
    )


def estimate_prior_of(linker: Any) -> float | None:
    """Splink's estimate of the prior from the data (``_estimate_prior``). ``None`` when Splink cannot
    estimate it (no such pair, an error) or the estimate is not a probability."""
    try:
        _estimate_prior(linker)
    except Exception as exc:  # noqa: BLE001 — any failure falls back to the shape bound
        LOGGER.info("prior not estimated (%s: %s); the bound from the data's shape is kept", type(exc).__name__, exc)
        return None
    value = getattr(linker._settings_obj, "_probability_two_random_records_match", None)
    if not isinstance(value, float | int) or not 0.0 < float(value) < 1.0:
        return None
    return float(value)


def _set_prior(linker: Any, prior: float) -> None:
    linker._settings_obj._probability_two_random_records_match = prior


def linker_for(
    tables: Sequence[Any],
    *,
    backend: str = "duckdb",
    link_type: str = "dedupe_only",
    scale: bool = False,
    api: Any = None,
    tf: bool = False,
    estimate_prior: bool | None = None,
) -> Any:
    """A Splink linker over ``tables`` (pandas/pyarrow frames, or names of tables already in ``api``).

    The prior is ``prior_for`` the tables' sizes when they are frames (``DEFAULT_PRIOR`` for named tables):
    an upper bound, right when most records have a partner in each other source.

    ``estimate_prior``: ``None`` (the default) estimates the prior from the data when the frames hold at least
    ``PRIOR_ESTIMATE_MIN_RECORDS`` records and keeps the lower of the estimate and the bound — few records
    with a partner (82 of 4 054 declared persons in the demo country's register) make the bound far too high,
    and the bound stays when the estimate is higher or fails; ``True`` takes Splink's estimate as it is (the
    national-scale benchmark, named tables); ``False`` keeps the bound.
    """
    from splink import Linker

    api = api or db_api(backend)
    sizes = [_size_of(table) for table in tables]
    prior = DEFAULT_PRIOR
    known = [s for s in sizes if s is not None]
    if len(known) == len(sizes):
        prior = prior_for(link_type, known, _datasets_of(tables))
    frames = [api.register(table) for table in tables]
    linker = Linker(
        frames if len(frames) > 1 else frames[0],
        settings(link_type, scale=scale, tf=tf, prior=prior),
        log_level=None,
    )
    if estimate_prior is True:
        _estimate_prior(linker)
    elif estimate_prior is None and len(known) == len(sizes) and sum(known) >= PRIOR_ESTIMATE_MIN_RECORDS:
        estimated = estimate_prior_of(linker)
        chosen = prior if estimated is None else min(prior, estimated)
        _set_prior(linker, chosen)
        LOGGER.info("prior %.3g (bound %.3g, estimate %s)", chosen, prior, estimated)
    return linker


def level_weights(linker: Any) -> dict[str, list[tuple[float, str]]]:
    """For each comparison, the weight of each level and its label (to name the level a pair reached)."""
    out: dict[str, list[tuple[float, str]]] = {}
    for comparison in linker._settings_obj.comparisons:
        levels = []
        for level in comparison.comparison_levels:
            if level.is_null_level:
                levels.append((0.0, "missing"))
            else:
                levels.append((float(level._log2_bayes_factor), str(level.label_for_charts)))
        out[comparison.output_column_name] = levels
    return out


def explanation_of(row: dict[str, Any], levels: dict[str, list[tuple[float, str]]]) -> dict[str, Any]:
    """Per field: the level the pair reached and its weight (log2 of the Bayes factor; + agrees, − disagrees)."""
    out: dict[str, Any] = {}
    for field_name, options in levels.items():
        weight = row.get(f"mw_{field_name}")
        if weight is None:
            continue
        weight = float(weight)
        label = min(options, key=lambda option: abs(option[0] - weight))[1] if options else ""
        out[field_name] = {"level": label, "weight": round(weight, 2)}
    return out


def link_records(
    records: Sequence[dict[str, Any]], *, backend: str = "duckdb", threshold: float = 0.5
) -> list[Prediction]:
    """Scores every blocked pair of ``records`` and returns those at or above ``threshold``."""
    if len(records) < 2:
        return []
    import pyarrow as pa

    table = pa.Table.from_pylist([{c: r.get(c) for c in RECORD_COLUMNS} for r in records], schema=_arrow_schema())
    linker = linker_for([table], backend=backend, tf=len(records) >= TF_MIN_RECORDS)
    frame = linker.inference.predict(threshold_match_probability=threshold)
    rows = frame.as_record_list()
    levels = level_weights(linker)
    predictions = []
    for row in rows:
        predictions.append(
            Prediction(
                left_id=int(row["unique_id_l"]),
                right_id=int(row["unique_id_r"]),
                probability=float(row["match_probability"]),
                match_weight=float(row["match_weight"]),
                explanation=explanation_of(row, levels),
            )
        )
    predictions.sort(key=lambda p: (-p.probability, p.left_id, p.right_id))
    return predictions


def _arrow_schema() -> Any:
    import pyarrow as pa

    text = pa.string()
    return pa.schema(
        [
            ("unique_id", pa.int64()),
            ("source_dataset", text),
            ("name_fp", text),
            ("name_skel", text),
            ("name_tokens", pa.list_(text)),
            ("name_keys", pa.list_(text)),
            ("key_first", text),
            ("key_last", text),
            ("name_initials", text),
            ("name_abbrevs", pa.list_(text)),
            ("birth_date", text),
            ("birth_ym", text),
            ("birth_year", text),
            ("countries", pa.list_(text)),
            ("identifiers", pa.list_(text)),
            ("addr_key", text),
            ("addr_street", text),
            ("addr_postcode", text),
            ("addr_city", text),
        ]
    )

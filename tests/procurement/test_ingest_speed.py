"""The OCDS ingest's shortcuts (issue 15: a 1 GB file within 3× of ``json`` + ocdsmerge) change no result.

- the fast schema check (fastjsonschema, trimmed of work for messages) gives the full validator's verdict;
- the OCDS 1.0 → 1.1 upgrade is skipped only where it would change nothing, log nothing and raise nothing;
- the quick date and number walk gives what the walk that tracks paths gives.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probity.procurement import ingest
from probity.procurement.ingest import (
    _Accepted,
    _Candidate,
    _check,
    _normalise_dates,
    _normalise_dates_traced,
    _OutOfBounds,
    _upgrade_changes_nothing,
)
from probity.standards import ocds

property_settings = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def benchmark_release(stage: str = "contract", number: int = 1) -> dict[str, Any]:
    """A release as ``benchmarks/ocds_ingest.py`` writes them (OCDS 1.1 in shape, no version declared)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        from ocds_ingest import release  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    data: dict[str, Any] = release(f"ocds-speed-{number:05d}", number, stage, random.Random(number))  # noqa: S311
    return data


FIXTURES = [
    benchmark_release("tender"),
    benchmark_release("award", 2),
    benchmark_release("contract", 3),
    {
        "ocid": "ocds-speed-4",
        "id": "r4",
        "date": "2021-03-01T10:00:00+01:00",
        "tag": ["award"],
        "initiationType": "tender",
        "parties": [
            {"id": "b", "name": "B", "roles": ["buyer", "procuringEntity"]},
            {"id": "s", "name": "S", "roles": ["supplier", "tenderer"], "identifier": {"scheme": "X", "id": "1"}},
        ],
        "buyer": {"id": "b", "name": "B"},
        "tender": {
            "id": "t",
            "procuringEntity": {"id": "b", "name": "B"},
            "tenderers": [{"id": "s", "name": "S"}],
            "items": [{"id": "1", "quantity": 2}, {"id": "2"}],
            "amendments": [{"id": "am", "date": "2021-03-02"}],
        },
        "awards": [{"id": "a", "suppliers": [{"id": "s"}], "items": [{"id": "1"}], "value": {"amount": 9}}],
        "contracts": [
            {
                "id": "c",
                "awardID": "a",
                "implementation": {
                    "transactions": [
                        {"id": "tr", "value": {"amount": 5, "currency": "EUR"}, "payer": {"id": "b", "name": "B"}}
                    ]
                },
            }
        ],
    },
]


def real_releases() -> list[dict[str, Any]]:
    """The releases of the reference data in ../shared/data/ocds/real (none where it is absent)."""
    folder = Path(__file__).resolve().parents[3] / "shared" / "data" / "ocds" / "real"
    found = []
    for path in sorted(folder.rglob("releases/*.json"))[:120]:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            data.pop("version", None)
            found.append(data)
    return found


# --- mutations: small changes of a release that keep it JSON -----------------------------------------


def _containers(node: Any, found: list[Any]) -> list[Any]:
    if isinstance(node, dict | list):
        found.append(node)
        for value in node.values() if isinstance(node, dict) else node:
            _containers(value, found)
    return found


ODD_VALUES: list[Any] = [None, True, 0, 1, 1.0, -3, 1e30, "", "x", "2021-13-01", "active", "EUR", "XXX", "open"]
ODD_VALUES += [[], {}, [1, 1], {"id": 1}, ["tender", "tender"], {"amount": "5", "currency": "GBP"}]


@st.composite
def mutated_releases(draw: st.DrawFn, bases: list[dict[str, Any]]) -> dict[str, Any]:
    data = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 4))):
        containers = _containers(data, [])
        node = draw(st.sampled_from(containers))
        action = draw(st.sampled_from(["set", "delete", "duplicate", "same_id", "int_id"]))
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            if action == "delete":
                del node[key]
            elif action == "set":
                node[key] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
            elif action == "int_id" and "id" in node:
                node["id"] = draw(st.integers(0, 3))
            elif action == "same_id" and "id" in node:
                node["id"] = "1"
        elif isinstance(node, list) and node:
            index = draw(st.integers(0, len(node) - 1))
            if action == "duplicate":
                node.append(copy.deepcopy(node[index]))
            elif action == "delete":
                del node[index]
            elif action == "set":
                node[index] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
            elif action == "same_id" and isinstance(node[index], dict):
                node.append({**copy.deepcopy(node[index]), "extra": 1})
    return data


# --- the fast schema check ---------------------------------------------------------------------------


def _full_verdict(data: Any) -> bool:
    return not any(True for _error in ocds.release_validator().iter_errors(data))


def test_fast_check_agrees_with_the_full_validator_on_the_fixtures() -> None:
    for data in [*FIXTURES, *real_releases()]:
        assert ocds.release_is_valid(data) is _full_verdict(data), data.get("id")
    assert all(ocds.release_is_valid(data) for data in FIXTURES)


@property_settings
@given(mutated_releases([*FIXTURES, *real_releases()[:40]]))
def test_fast_check_agrees_with_the_full_validator_on_mutated_releases(data: dict[str, Any]) -> None:
    before = json.dumps(data)
    assert ocds.release_is_valid(data) is _full_verdict(data)
    assert json.dumps(data) == before  # nothing filled in


def _calls(function: Callable[[Any], Any], data: Any) -> dict[str, int]:
    """How often ``function(data)`` calls each function, by name."""
    function(data)  # warm (compiles the check)
    counts: dict[str, int] = {}

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            counts[frame.f_code.co_name] = counts.get(frame.f_code.co_name, 0) + 1
        elif event == "c_call":
            counts[arg.__name__] = counts.get(arg.__name__, 0) + 1

    sys.setprofile(profile)
    try:
        function(data)
    finally:
        sys.setprofile(None)
    return counts


def test_fast_check_builds_no_messages_and_compares_no_items_whole_for_a_valid_release() -> None:
    """On a valid release, fastjsonschema's generated code named every nested field with
    ``format(**locals())`` and turned every item of a ``uniqueItems`` list into frozensets."""
    data = FIXTURES[2]
    assert ocds.release_is_valid(data)
    counts = _calls(ocds.release_is_valid, data)
    assert counts.get("locals", 0) == 0
    assert counts.get("fn", 0) == 0  # the items' ids are distinct strings: no need to compare them whole


def test_fast_check_looks_codes_up_in_a_set() -> None:
    """fastjsonschema compared a currency with the 300 codes of the codelist one by one."""
    names = ocds._fast_release_check().__globals__
    assert any(isinstance(value, frozenset) and "GBP" in value for value in names.values())
    data = copy.deepcopy(FIXTURES[2])
    for currency, valid in [("GBP", True), (None, True), ("XXY", False), ("gbp", False), (1, False)]:
        data["tender"]["value"]["currency"] = currency
        assert ocds.release_is_valid(data) is valid is _full_verdict(data)


def test_fast_check_still_finds_repeated_items() -> None:
    data = copy.deepcopy(FIXTURES[2])
    data["tender"]["items"].append(copy.deepcopy(data["tender"]["items"][0]))
    assert not ocds.release_is_valid(data) and not _full_verdict(data)
    data["tender"]["items"][-1]["id"] = 0  # same content but for an id that is not a string: compared whole
    assert ocds.release_is_valid(data) and _full_verdict(data)


# --- the upgrade that changes nothing ----------------------------------------------------------------


def _upgraded(data: dict[str, Any]) -> tuple[str | None, int]:
    """The upgraded release as JSON text in its key order (None if the upgrade fails), and its log count."""
    from ocdskit.upgrade import upgrade_release_10_11

    class Count(logging.Handler):
        count = 0

        def emit(self, record: logging.LogRecord) -> None:
            Count.count += 1

    handler = Count()
    logger = logging.getLogger("ocdskit")
    logger.addHandler(handler)
    try:
        copied = copy.deepcopy(data)
        upgrade_release_10_11(copied, reorder=False)
        return json.dumps(copied), Count.count
    except Exception:  # noqa: BLE001 - a failing upgrade is one of the outcomes compared
        return None, Count.count
    finally:
        logger.removeHandler(handler)


def test_releases_in_1_1_shape_need_no_upgrade() -> None:
    for data in FIXTURES:
        assert _upgrade_changes_nothing(data), data["id"]
        assert _upgraded(data) == (json.dumps(data), 0)


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r["buyer"].pop("id"),  # 1.0: the organisation itself, no reference
        lambda r: r["buyer"].update(identifier={"scheme": "X", "id": "2"}),
        lambda r: r["parties"][0].update(name="Other"),  # the upgrade logs the difference
        lambda r: r["parties"][0].update(roles=["procuringEntity", "buyer"]),  # it would sort the roles
        lambda r: r["parties"][0].update(roles="buyer"),
        lambda r: r["parties"][0].pop("roles"),
        lambda r: r["parties"][0].update(id=7),
        lambda r: r.update(parties=None),  # the upgrade fails
        lambda r: r["tender"].update(amendment={"rationale": "x"}),
        lambda r: r["awards"][0]["suppliers"].append({"id": "new", "name": "N"}),
        lambda r: r["contracts"][0]["implementation"].update(
            transactions=[{"id": "tr", "value": {"amount": 5}, "providerOrganization": {"scheme": "X", "id": "9"}}]
        ),
        lambda r: r["contracts"][0]["implementation"]["transactions"][0].pop("value"),
        lambda r: r.update(awards={"id": "a"}),
        lambda r: r.update(buyer={"name": "B", "id": "b"}),  # the reference would be rewritten id first
    ],
)
def test_releases_the_upgrade_would_change_are_upgraded(change: Callable[[dict[str, Any]], Any]) -> None:
    data = copy.deepcopy(FIXTURES[3])
    change(data)
    assert not _upgrade_changes_nothing(data)


@property_settings
@given(mutated_releases(FIXTURES))
def test_the_upgrade_is_skipped_only_where_it_changes_nothing(data: dict[str, Any]) -> None:
    if _upgrade_changes_nothing(data):
        assert _upgraded(data) == (json.dumps(data), 0)


def test_a_release_in_1_1_shape_without_a_version_is_not_passed_to_the_upgrade(monkeypatch: Any) -> None:
    import ocdskit.upgrade

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("upgrade called")

    monkeypatch.setattr(ocdskit.upgrade, "upgrade_release_10_11", refuse)
    accepted = _check(_Candidate(copy.deepcopy(FIXTURES[3]), None, "f.jsonl", "line 1", 1))
    assert isinstance(accepted, _Accepted)
    assert accepted.upgraded and accepted.declared_version == "1.0"  # recorded as read: 1.0, upgraded
    assert [note.code for note in accepted.warnings] == ["dates_normalised"]


# --- the quick date and number walk ------------------------------------------------------------------

DATES = ["2021-03-01T10:00:00Z", "2021-03-01T10:00:00+01:00", "2021-03-01", "2021-03-01T10:00:00.000Z", "soon", ""]
leaves = st.one_of(
    st.sampled_from(DATES),
    st.sampled_from([None, True, 3, -2.5, 1e17, 1e19, -1e25, 10**41, float("nan"), float("inf"), "text"]),
    st.sampled_from([ingest._NUMBER_MARK + "1e400", ingest._DEEP_MARK, "\x00other"]),
)
keys = st.sampled_from(["date", "endDate", "amount", "title", "value", "items"])
trees = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4))


def _outcome(walk: Callable[[dict[str, Any], frozenset[str]], Any], data: dict[str, Any]) -> tuple[Any, str]:
    try:
        notes = walk(data, ocds.date_time_fields())
        result: Any = [(note.code, note.path, note.message) for note in notes]
    except _OutOfBounds as error:
        result = (error.code, error.reason)
    return result, json.dumps(data)


@property_settings
@given(st.dictionaries(keys, trees, max_size=5))
def test_quick_walk_gives_what_the_traced_walk_gives(data: dict[str, Any]) -> None:
    assert _outcome(_normalise_dates, copy.deepcopy(data)) == _outcome(_normalise_dates_traced, copy.deepcopy(data))


def test_quick_walk_gives_what_the_traced_walk_gives_deep_and_on_the_fixtures() -> None:
    deep: dict[str, Any] = {"date": "2021-01-01T00:00:00+02:00"}
    node = deep
    for _ in range(ingest.MAX_DEPTH + 2):
        node["tender"] = {"endDate": "2021-01-01"}
        node = node["tender"]
    for data in [deep, *FIXTURES, *real_releases()]:
        assert _outcome(_normalise_dates, copy.deepcopy(data)) == _outcome(_normalise_dates_traced, copy.deepcopy(data))

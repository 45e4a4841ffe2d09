"""The bundled OCDS 1.1.5 schema with the bid extension: patched, validated and merged offline."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from ocdsmerge.merge import CompiledRelease

from probity.standards import ocds


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test; the caches start empty."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the OCDS standard module tried to use the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for cached in (
        ocds._release_schema,
        ocds.release_validator,
        ocds.merge_rules,
        ocds.date_time_fields,
        ocds._fast_release_check,
    ):
        cached.cache_clear()


def release(**fields: Any) -> dict[str, Any]:
    return {
        "ocid": "ocds-213czf-1",
        "id": "1",
        "date": "2020-01-01T00:00:00Z",
        "tag": ["tender"],
        "initiationType": "tender",
        **fields,
    }


def test_release_schema_is_ocds_115_with_the_bid_extension_applied(offline: None) -> None:
    schema = ocds.release_schema()

    assert schema["id"].endswith("1__1__5/release-schema.json")
    assert set(schema["properties"]["bids"]["properties"]) == {"statistics", "details"}
    assert {"Bid", "Statistic"} <= set(schema["definitions"])
    assert "tender" in schema["properties"]  # the core schema is still there
    schema["properties"].clear()  # callers get a copy
    assert "bids" in ocds.release_schema()["properties"]


def test_json_merge_patch_follows_rfc_7396() -> None:
    target = {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": "keep"}
    patch = {"a": {"b": None, "x": 3}, "d": [3], "f": {"g": None}}

    assert ocds.json_merge_patch(target, patch) == {"a": {"c": 2, "x": 3}, "d": [3], "e": "keep", "f": {}}
    assert target == {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": "keep"}


def test_validator_checks_bids_and_currencies_offline(offline: None) -> None:
    validator = ocds.release_validator()
    good = release(bids={"details": [{"id": "b1", "status": "valid", "value": {"amount": 10, "currency": "EUR"}}]})
    bad = release(bids={"details": [{"id": "b1", "value": {"amount": "ten", "currency": "ZZZ"}}]})

    assert list(validator.iter_errors(good)) == []
    assert ocds.release_is_valid(good) and not ocds.release_is_valid(bad)
    problems = {(".".join(map(str, error.absolute_path)), error.validator) for error in validator.iter_errors(bad)}
    assert problems == {("bids.details.0.value.amount", "type"), ("bids.details.0.value.currency", "enum")}


def test_a_reference_outside_the_bundle_is_refused_not_downloaded(offline: None) -> None:
    from jsonschema import Draft4Validator
    from referencing import Registry
    from referencing.exceptions import Unresolvable

    schema = {"$ref": "https://example.org/remote-schema.json"}
    validator = Draft4Validator(schema, registry=Registry(retrieve=ocds._refuse_retrieval))
    with pytest.raises(Unresolvable):
        validator.validate({})


def test_codelists_are_read_from_the_bundle() -> None:
    currencies = ocds.codelist("currency.csv")

    assert {"USD", "EUR", "MDL", "PYG", "UAH"} <= currencies
    assert "DOLLARS" not in currencies
    assert "valid" in ocds.codelist("bidStatus.csv")
    with pytest.raises(KeyError):
        ocds.codelist("nothing.csv")


def test_merge_rules_compile_bids_by_id_offline(offline: None) -> None:
    rules = ocds.merge_rules()
    assert rules[("tag",)] == "omitWhenMerged"

    compiled = CompiledRelease(merge_rules=rules)
    compiled.append(release(bids={"details": [{"id": "b1", "status": "pending"}, {"id": "b2", "status": "pending"}]}))
    compiled.append(release(id="2", date="2020-02-01T00:00:00Z", bids={"details": [{"id": "b1", "status": "valid"}]}))
    statuses = {bid["id"]: bid["status"] for bid in compiled.asdict()["bids"]["details"]}
    assert statuses == {"b1": "valid", "b2": "pending"}


def test_date_time_fields_come_from_the_schema() -> None:
    assert {"date", "startDate", "endDate", "dateSigned", "datePublished"} <= ocds.date_time_fields()
    assert "title" not in ocds.date_time_fields()


def test_fast_check_agrees_with_the_full_validator_on_real_releases(shared_data: Path) -> None:
    """``release_is_valid`` (fastjsonschema) decides whether the slow validator is asked for messages."""
    from ocdskit.upgrade import upgrade_release_10_11

    validator = ocds.release_validator()
    verdicts = []
    for path in sorted((shared_data / "ocds" / "real").rglob("releases/*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != "1.1":
            upgrade_release_10_11(data, reorder=False)
        data.pop("version", None)
        full = not any(True for _error in validator.iter_errors(data))
        assert ocds.release_is_valid(data) is full, path
        verdicts.append(full)
    assert len(verdicts) > 200
    assert True in verdicts and False in verdicts  # both outcomes occur in the real data


def test_fast_check_does_not_fill_in_defaults() -> None:
    data = release(tender={"id": "t"})
    before = json.dumps(data, sort_keys=True)

    assert ocds.release_is_valid(data)
    assert json.dumps(data, sort_keys=True) == before

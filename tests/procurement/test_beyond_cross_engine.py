"""The beyond-Cardinal indicators give identical results on DuckDB and on Spark (demo country data),
and from either source of inputs: compiled releases flattened in Python, or the flattened
``procurement_*`` warehouse tables turned into the same inputs inside the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from probity.config import WarehouseSetting
from probity.demo.generator import Country
from probity.demo.writers import debarment_rows, ocds_releases
from probity.procurement.flatten import flatten_into_warehouse
from probity.procurement.indicators import beyond_inputs
from probity.procurement.indicators.beyond import INDICATORS, Inputs, indicator_expression
from probity.procurement.tables import TABLES, warehouse_name
from probity.warehouse.services import SparkWarehouse, Warehouse, warehouse_connect
from tests.conftest import DemoCountry
from tests.warehouse.conftest import spark_warehouse  # noqa: F401  (the shared Spark session fixture)


def inputs_on(warehouse: Warehouse, country: Country, releases_file: Path | None = None) -> Inputs:
    """The inputs from the Python flattening, or (``releases_file``) from the procurement tables."""
    tables: dict[str, Any] = beyond_inputs.input_rows(ocds_releases(country)).tables()
    if releases_file is not None:
        flatten_into_warehouse(warehouse, releases_file)
        flat = {t: warehouse.table(warehouse_name(t)) for t in TABLES}
        tables["awards"] = beyond_inputs.awards_from_tables(flat)
        tables["bids"] = beyond_inputs.bids_from_tables(flat)
    tables["register"] = beyond_inputs.register_table((c.registry_number, c.founded) for c in country.companies)
    tables["debarments"] = beyond_inputs.debarment_table(
        {
            "id": r["id"],
            "name": r["name"],
            "identifiers": [p.split(":", 1)[1] for p in r["identifiers"].split(";")],
            "start": r["start_date"],
            "end": r["end_date"] or None,
        }
        for r in debarment_rows(country)
    )
    return Inputs(**{name: warehouse.create_table(f"xb_{name}", table) for name, table in tables.items()})


def results_on(warehouse: Warehouse, country: Country, releases_file: Path | None = None) -> dict[str, pd.DataFrame]:
    inputs = inputs_on(warehouse, country, releases_file)
    return {
        code: warehouse.execute(indicator_expression(indicator, inputs)).sort_values("ocid").reset_index(drop=True)
        for code, indicator in INDICATORS.items()
    }


def plain(values: pd.Series) -> list[object]:
    out: list[object] = []
    for value in values:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            out.append(None)
        elif hasattr(value, "item"):
            out.append(value.item())
        else:
            out.append(value)
    return out


def assert_same(on_duckdb: dict[str, pd.DataFrame], on_other: dict[str, pd.DataFrame]) -> None:
    for code in INDICATORS:
        left, right = on_duckdb[code], on_other[code]
        assert list(left.columns) == list(right.columns), code
        assert len(left) == len(right) > 50, code
        assert (left["outcome"] == "flag").any(), code  # every indicator flags something in the demo
        for column in left.columns:
            if column.startswith("e_") and pd.api.types.is_float_dtype(left[column]):
                np.testing.assert_allclose(
                    left[column].astype("float64").to_numpy(),
                    right[column].astype("float64").to_numpy(),
                    rtol=1e-12,
                    equal_nan=True,
                    err_msg=f"{code}.{column}",
                )
            else:
                a, b = plain(left[column]), plain(right[column])
                assert [None if v is None else float(v) if isinstance(v, int) else v for v in a] == [
                    None if v is None else float(v) if isinstance(v, int) else v for v in b
                ], f"{code}.{column}"


@pytest.fixture(scope="session")
def releases_file(demo_country: DemoCountry) -> Path:
    return demo_country.out / "ocds" / "releases.jsonl"


def test_inputs_built_in_the_warehouse_give_the_same_results(demo_country: DemoCountry, releases_file: Path) -> None:
    country = demo_country.country
    with warehouse_connect(setting=WarehouseSetting("duckdb", ":memory:")) as duckdb:
        from_python = results_on(duckdb, country)
    with warehouse_connect(setting=WarehouseSetting("duckdb", ":memory:")) as duckdb:
        from_tables = results_on(duckdb, country, releases_file)
    assert_same(from_python, from_tables)


@pytest.mark.spark
def test_every_indicator_gives_the_same_results_on_duckdb_and_spark(
    spark_warehouse: SparkWarehouse,  # noqa: F811
    demo_country: DemoCountry,
    releases_file: Path,
) -> None:
    country = demo_country.country
    with warehouse_connect(setting=WarehouseSetting("duckdb", ":memory:")) as duckdb:
        on_duckdb = results_on(duckdb, country)
    assert_same(on_duckdb, results_on(spark_warehouse, country))
    assert_same(on_duckdb, results_on(spark_warehouse, country, releases_file))  # inputs built by Spark itself

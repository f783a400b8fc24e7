"""The field catalog's own invariants, and the README's copy of it."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from screener.fields import (FIELD_NAMES, FIELDS, GROUPS, INFO_FIELDS, UNITS, catalog_markdown, field,
                             stocks_schema)

README = Path(__file__).resolve().parents[1] / "README.md"


def test_names_are_unique_snake_case_and_schema_follows_catalog_order():
    assert len(set(FIELD_NAMES)) == len(FIELD_NAMES)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in FIELD_NAMES)
    assert tuple(stocks_schema().names) == FIELD_NAMES


def test_every_field_has_a_known_group_unit_and_help():
    for spec in FIELDS:
        assert spec.group in GROUPS and spec.unit in UNITS, spec.name
        assert spec.label and spec.help.endswith("."), spec.name
        lo, hi = spec.valid
        assert lo is None or hi is None or lo < hi, spec.name


def test_yahoo_units_are_converted_where_yahoo_uses_percent():
    # DESIGN.md: debtToEquity and dividendYield arrive in percent; every other info key is already ours.
    scaled = {spec.name: spec.source_scale for spec in INFO_FIELDS if spec.source_scale != 1}
    assert scaled == {"debt_to_equity": 0.01, "dividend_yield": 0.01}


def test_display_units_round_trip_and_read_as_people_expect():
    growth = field("revenue_growth")
    assert growth.to_display(0.1) == 10 and math.isclose(growth.from_display(12.5), 0.125)
    assert growth.format(0.1234) == "12.3%"
    assert field("index_weight").format(0.00052) == "0.052%"  # IWM weights are hundredths of a percent
    assert field("debt_to_equity").format(0.5) == "0.50×"
    assert field("market_cap").format(950e6) == "$950M" and field("market_cap").format(1.234e9) == "$1.23B"
    assert field("close").format(-3.2) == "-$3.20"
    assert field("insider_buying").format(True) == "yes"
    assert field("roe").format(None) == "—" and field("roe").format(float("nan")) == "—"
    assert field("roe").format(pd.NA) == "—"


def test_readme_field_table_is_the_catalog():
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- fields:start -->\n(.*?)\n<!-- fields:end -->", text, re.S)
    assert block, "README.md lacks the <!-- fields:start --> ... <!-- fields:end --> block"
    assert block.group(1) == catalog_markdown(), "README field table is stale: run `python -m screener fields`"

"""Screen value: validation, URL / JSON / SQL / English forms on hand-made screens."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from screener.fields import FIELD_BY_NAME, FIELDS
from screener.screen import (
    DEFAULT_LIMIT, MAX_FILTERS, MAX_NOTES, OPS, OPS_BY_KIND, Filter, Screen, ScreenError, SortKey,
    filter_english, from_dict, from_query, to_dict, to_english, to_query, to_query_params, to_sql,
)

SEED_URL = ("f=earnings_growth:gt:0&f=debt_to_equity:lt:1&f=revenue_growth:gt:0.1"
            "&f=insider_buying:is_true&f=rs_6m:gt:0&f=volume_surge:gte:2")


# --- construction ----------------------------------------------------------------------


def test_ops_table_covers_every_kind_and_only_known_ops():
    kinds = {spec.kind for spec in FIELDS}
    assert kinds <= set(OPS_BY_KIND)
    assert all(set(ops) <= set(OPS) for ops in OPS_BY_KIND.values())
    assert set(OPS_BY_KIND["bool"]) - {"not_null"} == {"is_true", "is_false", "eq"}
    assert set(OPS_BY_KIND["str"]) - {"not_null"} == {"eq", "ne", "in", "not_in"}


@pytest.mark.parametrize("field, op, value, message", [
    ("nope", "gt", 1.0, "unknown field"),
    ("roe", "like", 1.0, "unknown operator"),
    ("roe", "eq", 0.1, "does not apply"),              # no equality on floats
    ("sector", "gt", "Energy", "does not apply"),
    ("insider_buying", "gt", 1, "does not apply"),
    ("roe", "gt", float("nan"), "finite"),
    ("roe", "gt", float("inf"), "finite"),
    ("roe", "gt", 1e16, "too large"),
    ("roe", "gt", 10**400, "too large"),
    ("roe", "gt", "0.1", "needs a number"),
    ("roe", "gt", True, "needs a number"),
    ("rs_rating", "gte", 70.5, "whole numbers"),
    ("roe", "between", (0.5, 0.1), "low <= high"),
    ("roe", "between", (0.1,), "exactly two"),
    ("roe", "between", "0.1|0.5", "list of values"),
    ("sector", "in", (), "1 to 50"),
    ("sector", "in", tuple(f"s{i}" for i in range(51)), "1 to 50"),
    ("sector", "eq", "x" * 101, "100 characters"),
    ("sector", "eq", "Energy\x00", "control characters"),
    ("sector", "eq", "a|b", "'|'"),
    ("sector", "eq", "   ", "non-empty"),
    ("quality_bucket", "eq", "garbage", "one of quality, middle, junk"),
    ("insider_buying", "eq", "yes", "true or false"),
    ("insider_buying", "is_true", True, "takes no value"),
    ("as_of", "gt", "2026-01-01", "needs a date"),
])
def test_invalid_filters_are_refused_with_a_reason(field, op, value, message):
    with pytest.raises(ScreenError, match=re.escape(message)):
        Filter(field, op, value)


def test_values_are_normalised_to_the_field_kind():
    assert Filter("rs_rating", "gte", 70.0).value == 70 and isinstance(Filter("rs_rating", "gte", 70.0).value, int)
    assert Filter("roe", "gt", 1).value == 1.0 and isinstance(Filter("roe", "gt", 1).value, float)
    assert str(Filter("roe", "gt", -0.0).value) == "0.0"
    assert Filter("sector", "in", ["Energy", "Energy", "Utilities"]).value == ("Energy", "Utilities")
    assert Filter("sector", "eq", "  Energy ").value == "Energy"
    assert Filter("sector", "eq", "Cafe\u0301").value == "Caf\u00e9"  # NFC


def test_screen_refuses_what_cannot_be_shown_or_run():
    with pytest.raises(ScreenError):
        Screen(filters=(Filter("roe", "gt", 0.1), Filter("roe", "gt", 0.1)))
    with pytest.raises(ScreenError):
        Screen(filters=tuple(Filter("roe", "gt", float(i)) for i in range(MAX_FILTERS + 1)))
    with pytest.raises(ScreenError):
        Screen(sort=(SortKey("roe"), SortKey("roe", True)))
    with pytest.raises(ScreenError):
        Screen(columns=("ticker", "bogus"))
    for limit in (0, 5001, True, 2.5):
        with pytest.raises(ScreenError):
            Screen(limit=limit)
    with pytest.raises(ScreenError):
        Screen(preset="../etc")


def test_shown_columns_put_ticker_first_and_default_to_filter_and_sort_fields():
    screen = Screen((Filter("roe", "gt", 0.1), Filter("sector", "eq", "Energy")), (SortKey("rs_rating", True),))
    assert screen.shown_columns() == ("ticker", "name", "sector", "market_cap", "roe", "rs_rating")
    assert Screen(columns=("roe", "ticker")).shown_columns() == ("ticker", "roe")


# --- URL form --------------------------------------------------------------------------


def test_seed_url_parses_to_the_design_seed_screen():
    screen, notes = from_query(SEED_URL)
    assert notes == []
    assert screen.filters == (
        Filter("earnings_growth", "gt", 0.0), Filter("debt_to_equity", "lt", 1.0),
        Filter("revenue_growth", "gt", 0.1), Filter("insider_buying", "is_true"),
        Filter("rs_6m", "gt", 0.0), Filter("volume_surge", "gte", 2.0))
    assert screen.limit == DEFAULT_LIMIT and screen.sort == () and screen.columns == ()


@pytest.mark.parametrize("url", [
    SEED_URL,
    "f=sector:in:Energy|Consumer+Discretionary&f=quality_bucket:not_in:junk|middle&sort=-rs_rating,ticker",
    "f=market_cap:between:300000000|2000000000&f=rs_rating:in:90|95&cols=ticker,name,roe&limit=25",
    "f=industry:eq:Oil+%26+Gas+E%26P&f=sector:ne:Energy&preset=quality-breakout",
    "f=fundamentals_as_of:gte:2026-11-01&f=stale:eq:false&f=roe:gt:1e-05&f=beta:lt:-0.25",
    "f=sector:not_null&f=is_profitable:is_false&sort=pct_from_52w_high&limit=5000",
    "",
])
def test_canonical_url_round_trips_identically(url):
    screen, notes = from_query(url)
    assert notes == []
    assert to_query(screen) == url
    assert from_query(to_query(screen)) == (screen, [])


def test_non_canonical_url_is_normalised():
    screen, notes = from_query("?f=revenue_growth:gt:0.10&f=roe:gt:%2B1.50e-1&sort=-rs_rating&limit=200")
    assert notes == []
    assert to_query(screen) == "f=revenue_growth:gt:0.1&f=roe:gt:0.15&sort=-rs_rating"


def test_mapping_input_and_query_params_dict():
    screen, _ = from_query(SEED_URL + "&sort=-rs_rating&limit=50")
    params = to_query_params(screen)
    assert params["f"] == [p.split("=", 1)[1] for p in SEED_URL.split("&")]
    assert params["sort"] == "-rs_rating" and params["limit"] == "50"
    assert from_query(params) == (screen, [])
    assert from_query(list(params.items())[:0]) == (Screen(), [])


@pytest.mark.parametrize("param, fragment", [
    ("f=foo:gt:1", "unknown field 'foo'"),
    ("f=revenue_growth:gt:0;DROP TABLE stocks", "not a plain number"),
    ("f=' OR 1=1 --", "expected field:operator:value"),
    ("f=sector:eq:' OR 1=1 --", None),  # a harmless text value: kept, and bound as a parameter
    ("f=revenue_growth:gt:1e400", "too large"),
    ("f=revenue_growth:gt:99999999999999999999", "too large"),
    ("f=revenue_growth:gt:NaN", "not a plain number"),
    ("f=revenue_growth:gt:inf", "not a plain number"),
    ("f=revenue_growth:gt:1_000", "not a plain number"),
    ("f=revenue_growth:gt:10%25", "write 0.1 for 10%"),
    ("f=revenue_growth:gt:", "needs a value"),
    ("f=revenue_growth:between:1|0", "low <= high"),
    ("f=insider_buying:gt:1", "does not apply"),
    ("f=insider_buying:is_true:yes", "takes no value"),
    ("f=rs_rating:gt:ninety", "not a plain number"),
    ("f=sector:eq:%00", "control characters"),
    ("f=sector:eq:\u00c9nergie\U0001F600", None),
    ("f=revenue_growth", "expected field:operator:value"),
    ("f=%FF%FE:gt:1", "unknown field"),
    ("f=" + "x" * 7000, "longer than"),
    ("sort=-nope", "unknown field"),
    ("cols=ticker,ticker", "listed twice"),
    ("cols=-roe", "unknown field"),
    ("limit=0", "ignored limit"),
    ("limit=1e3", "ignored limit"),
    ("limit=\u0661\u0662", "ignored limit"),  # Arabic-Indic digits are not a limit
    ("preset=../../etc/passwd", "not a preset name"),
])
def test_hostile_params_are_dropped_with_a_note_never_raised(param, fragment):
    screen, notes = from_query(param + "&f=roe:gt:0.1")
    assert Filter("roe", "gt", 0.1) in screen.filters
    if fragment is None:
        assert notes == []
        sql, params = to_sql(screen)
        assert "OR 1=1" not in sql and "nergie" not in sql
    else:
        assert len(notes) == 1 and fragment in notes[0], notes


def test_duplicates_and_repeated_single_params_are_noted():
    screen, notes = from_query("f=roe:gt:0.1&f=roe:gt:0.10&limit=5&limit=6&sort=roe&sort=-roe")
    assert screen.filters == (Filter("roe", "gt", 0.1),) and screen.limit == 5
    assert screen.sort == (SortKey("roe"),)
    assert len(notes) == 3
    assert "same as an earlier filter" in notes[0]
    assert all("the first one counts" in n for n in notes[1:])


def test_ten_thousand_params_are_capped_with_bounded_notes():
    url = "&".join(f"f=roe:gt:{i}" for i in range(10_000))
    screen, notes = from_query(url)
    assert [f.value for f in screen.filters] == [float(i) for i in range(MAX_FILTERS)]
    assert len(notes) <= MAX_NOTES + 1
    assert any("beyond the first 1,000" in n for n in notes)
    garbage = "&".join(f"f=bad{i}:gt:1" for i in range(5_000))
    screen, notes = from_query(garbage)
    assert screen.filters == () and len(notes) == MAX_NOTES + 1
    assert notes[-1].startswith("... and") and "more problems" in notes[-1]


def test_huge_query_string_is_cut():
    screen, notes = from_query("f=roe:gt:0.1&x=" + "a" * 200_000)
    assert screen.filters == (Filter("roe", "gt", 0.1),)
    assert any("longer than" in n for n in notes)


def test_other_parameters_are_ignored_silently():
    assert from_query("page=Stock&ticker=AAPL&embed=true") == (Screen(), [])


# --- JSON form -------------------------------------------------------------------------


def test_json_round_trip_and_shape():
    screen, _ = from_query("f=sector:in:Energy|Utilities&f=as_of:between:2026-01-01|2026-12-31"
                           "&f=insider_buying:is_true&sort=-rs_rating&cols=ticker,roe&limit=10&preset=x1")
    document = to_dict(screen)
    assert document == {
        "filters": [
            {"field": "sector", "op": "in", "value": ["Energy", "Utilities"]},
            {"field": "as_of", "op": "between", "value": ["2026-01-01", "2026-12-31"]},
            {"field": "insider_buying", "op": "is_true"},
        ],
        "sort": [{"field": "rs_rating", "descending": True}],
        "columns": ["ticker", "roe"],
        "limit": 10,
    }
    text = json.dumps(document)
    parsed, notes = from_dict(json.loads(text))
    assert notes == [] and parsed == screen.without_preset()
    assert json.dumps(to_dict(parsed)) == text


def test_json_with_bad_parts_keeps_the_good_ones_and_notes_the_rest():
    document = {
        "filters": [
            {"field": "roe", "op": "gt", "value": 0.1},
            {"field": "roe", "op": "gt", "value": "0.1; DROP TABLE stocks"},
            {"field": "roe", "op": "gt", "value": float("nan")},
            {"field": "nope", "op": "gt", "value": 1},
            {"field": "roe", "op": "gt", "value": 1, "sql": "1=1"},
            "roe > 1",
            {"field": "sector", "op": "in", "value": ["Energy", 3]},
        ],
        "sort": [{"field": "roe", "descending": "yes"}, {"field": "rs_rating", "descending": True}],
        "columns": ["ticker", "bogus"],
        "limit": 10**9,
        "sql": "SELECT 1",
    }
    screen, notes = from_dict(document)
    assert screen == Screen((Filter("roe", "gt", 0.1),), (SortKey("rs_rating", True),), ("ticker",))
    assert len(notes) == 10
    assert notes[0] == "ignored unknown key 'sql'"


@pytest.mark.parametrize("document", [None, [], "filters", 3, {"filters": "roe>1"}, {"sort": 5}])
def test_json_that_is_not_a_screen_yields_an_empty_screen_with_notes(document):
    screen, notes = from_dict(document)
    assert screen == Screen() and notes


# --- SQL form --------------------------------------------------------------------------


def test_sql_is_parameterised_with_quoted_catalog_identifiers():
    screen, _ = from_query("f=revenue_growth:gt:0.1&f=sector:not_in:Energy|Utilities"
                           "&f=insider_buying:is_true&sort=-rs_rating&cols=ticker,name&limit=20")
    sql, params = to_sql(screen)
    assert sql == (
        'SELECT "ticker", "name" FROM "stocks" WHERE coalesce("revenue_growth" > ?, false) '
        'AND ("sector" IS NULL OR "sector" NOT IN (?, ?)) AND coalesce("insider_buying", false) '
        'ORDER BY "rs_rating" DESC NULLS LAST, "ticker" ASC LIMIT ?')
    assert params == [0.1, "Energy", "Utilities", 20]


def test_sql_refuses_a_table_name_that_is_not_an_identifier():
    with pytest.raises(ValueError):
        to_sql(Screen(), table='stocks"; DROP TABLE x; --')


# --- English form ----------------------------------------------------------------------


def test_english_reads_like_the_design_example():
    screen = Screen((Filter("debt_to_equity", "lt", 1.0), Filter("revenue_growth", "gt", 0.1)))
    assert to_english(screen) == "Debt/equity < 1× and revenue growth > 10%"


def test_english_for_each_operator_shape():
    cases = {
        ("market_cap", "between", (3e8, 2e9)): "market cap from $300M to $2B",
        ("sector", "in", ("Energy", "Utilities")): "sector is one of (Energy, Utilities)",
        ("sector", "not_in", ("Energy",)): "sector is not Energy",
        ("quality_bucket", "not_in", ("junk", "middle")): "quality bucket is none of (junk, middle)",
        ("sector", "eq", "Energy"): "sector is Energy",
        ("is_profitable", "is_false", None): "not profitable",
        ("insider_buying", "eq", True): "insider buying",
        ("rs_rating", "gte", 70): "RS rating ≥ 70",
        ("rs_6m", "gt", 0.0): "RS vs IWM (6m) > 0%",
        ("roe", "gt", 0.1234): "return on equity > 12.34%",
        ("close", "lt", -5.0): "close < -$5",
        ("volume", "gt", 1_000_000): "volume > 1,000,000",
        ("pe_trailing", "lte", 15.5): "P/E (ttm) ≤ 15.5×",
        ("as_of", "eq", dt.date(2026, 11, 20)): "as of = 2026-11-20",
        ("sector", "not_null", None): "sector is known",
    }
    for (field, op, value), expected in cases.items():
        assert filter_english(Filter(field, op, value)) == expected


def test_english_of_seed_screen_with_sort():
    screen, _ = from_query(SEED_URL + "&sort=-volume_surge")
    assert to_english(screen) == (
        "Earnings growth > 0%, debt/equity < 1×, revenue growth > 10%, insider buying, "
        "RS vs IWM (6m) > 0% and volume surge ≥ 2×; sorted by volume surge (highest first)")
    assert to_english(Screen()) == "All stocks"


def test_every_catalog_label_can_start_or_continue_a_sentence():
    for spec in FIELDS:
        op = OPS_BY_KIND[spec.kind][-1]  # not_null for every kind
        assert filter_english(Filter(spec.name, op), sentence_start=True)[0].isupper() or \
            not spec.label[0].isalpha()
        assert spec.name in FIELD_BY_NAME

"""Property tests: parsing never raises, round trips hold, SQL holds no user text.

The SQL check does not trust the generator: it tokenises the SQL text and accepts
only double-quoted catalog identifiers (plus the table name), ``?`` placeholders,
punctuation and a fixed keyword list.  Any literal, digit or unknown word fails it.
"""

from __future__ import annotations

import datetime as dt
import re
import string

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.fields import FIELD_NAMES, FIELDS, stocks_schema
from screener.screen import (
    MAX_LIST_ITEMS, OPS, OPS_BY_KIND, Filter, Screen, SortKey, from_dict, from_query, to_dict, to_query, to_sql,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SQL_WORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "ORDER", "BY",
             "ASC", "DESC", "NULLS", "LAST", "LIMIT", "coalesce", "false", "true"}
_TOKEN = re.compile(r'\s+|"[^"]*"|\?|[A-Za-z_]+|<>|>=|<=|[(),<>=]')

_CONNECTION = duckdb.connect(":memory:")
_CONNECTION.register("empty_stocks", stocks_schema().empty_table())
_CONNECTION.execute("CREATE TABLE stocks AS SELECT * FROM empty_stocks")


def assert_sql_is_only_catalog_identifiers_and_placeholders(sql: str, params: list) -> None:
    position = 0
    placeholders = 0
    while position < len(sql):
        match = _TOKEN.match(sql, position)
        assert match, f"unexpected text at {position}: {sql[position:position + 30]!r}"
        token = match.group(0)
        if token.startswith('"'):
            assert token[1:-1] in FIELD_NAMES or token == '"stocks"', token
        elif token == "?":
            placeholders += 1
        elif token[0].isalpha() or token[0] == "_":
            assert token in SQL_WORDS, token
        position = match.end()
    assert placeholders == len(params)


# --- strategies ------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_number = st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_infinity=False)


def _scalar_for(spec):
    if spec.kind == "float":
        return _number
    if spec.kind == "int":
        return st.integers(min_value=-10**15, max_value=10**15)
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "date":
        return st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1))
    if spec.choices:
        return st.sampled_from(spec.choices)
    printable = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn"),
                              blacklist_characters="|\u00a0")
    return st.text(alphabet=printable, min_size=1, max_size=30).filter(lambda t: t.strip() and t.isprintable())


@st.composite
def valid_filters(draw):
    spec = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from(OPS_BY_KIND[spec.kind]))
    scalar = _scalar_for(spec)
    if op in ("is_true", "is_false", "not_null"):
        return Filter(spec.name, op)
    if op == "between":
        low, high = sorted([draw(scalar), draw(scalar)])
        return Filter(spec.name, op, (low, high))
    if op in ("in", "not_in"):
        return Filter(spec.name, op, tuple(draw(st.lists(scalar, min_size=1, max_size=5))))
    return Filter(spec.name, op, draw(scalar))


@st.composite
def valid_screens(draw):
    filters = tuple(dict.fromkeys(draw(st.lists(valid_filters(), max_size=8))))
    sort_fields = draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=3, unique=True))
    sort = tuple(SortKey(name, draw(st.booleans())) for name in sort_fields)
    columns = tuple(draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=6, unique=True)))
    limit = draw(st.integers(min_value=1, max_value=5000))
    preset = draw(st.none() | st.from_regex(r"[a-z0-9][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True))
    return Screen(filters, sort, columns, limit, preset)


_keys = st.sampled_from(["f", "sort", "cols", "limit", "preset", "x", "F", ""])
_field_like = st.sampled_from([*FIELD_NAMES, "bogus", "", "ticker\"", "roe;--"])
_op_like = st.sampled_from([*OPS, "like", "", "GT", "eq;"])


@st.composite
def filter_tokens(draw):
    """field:op:value strings near the valid ones, where the interesting bugs are."""
    parts = [draw(_field_like), draw(_op_like)]
    if draw(st.booleans()):
        values = draw(st.lists(st.one_of(_text, _number.map(repr), st.sampled_from(
            ["nan", "inf", "-0", "1e999", "' OR 1=1 --", "0;DROP TABLE stocks", "true", "2026-02-30"])),
            min_size=1, max_size=4))
        parts.append("|".join(values))
    return ":".join(parts)


# --- properties ------------------------------------------------------------------------


@SETTINGS
@given(st.text(max_size=300))
def test_any_query_text_parses_without_raising_and_reparses_to_itself(text):
    screen, notes = from_query(text)
    assert isinstance(screen, Screen) and all(isinstance(n, str) for n in notes)
    assert from_query(to_query(screen)) == (screen, [])


@SETTINGS
@given(st.lists(st.tuples(_keys, st.one_of(_text, filter_tokens())), max_size=30))
def test_any_params_parse_and_produce_safe_executable_sql(pairs):
    screen, _ = from_query(pairs)
    sql, params = to_sql(screen)
    assert_sql_is_only_catalog_identifiers_and_placeholders(sql, params)
    _CONNECTION.execute(sql, params).fetchall()


@SETTINGS
@given(valid_screens())
def test_valid_screens_round_trip_through_url_and_json_and_run(screen):
    assert from_query(to_query(screen)) == (screen, [])
    parsed, notes = from_dict(to_dict(screen))
    assert notes == [] and parsed == screen.without_preset()
    sql, params = to_sql(screen)
    assert_sql_is_only_catalog_identifiers_and_placeholders(sql, params)
    _CONNECTION.execute(sql, params).fetchall()


@SETTINGS
@given(st.recursive(st.none() | st.booleans() | _number | _text,
                    lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.sampled_from(["filters", "sort", "columns", "limit", "field", "op",
                                                       "value", "descending", "sql"]), children, max_size=5),
                    max_leaves=30))
def test_any_json_parses_without_raising(document):
    screen, notes = from_dict(document)
    assert isinstance(screen, Screen) and isinstance(notes, list)


def test_list_values_are_capped_in_urls():
    screen, notes = from_query("f=sector:in:" + "|".join(string.ascii_letters[:MAX_LIST_ITEMS + 1]))
    assert screen.filters == () and "1 to 50" in notes[0]


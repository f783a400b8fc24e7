"""Screener page building blocks without Streamlit: escaping, wording, units, links, facts.

Hand-made inputs whose answers are worked out in the test (plain Python / pandas).
"""

from __future__ import annotations

import dataclasses
import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screener.db import Funnel, FunnelStep
from screener.fields import FIELD_BY_NAME, FIELDS
from screener.presets import BUILTIN_BY_SLUG, PresetStore
from screener.screen import OPS_BY_KIND, Filter, Screen, SortKey, to_query_params
from screener.ui.screener_facts import industry_options, picker_options, snapshot_facts, spread_caption
from screener.ui.screener_inputs import (
    parse_list_text, rounded_default, to_shown, to_stored, ui_ops,
)
from screener.ui.screener_link import export_stem, is_modified, resolve_link, screen_params, settle
from screener.links import stock_page_url, yahoo_url
from screener.ui.screener_table import display_frame, number_format
from screener.ui.screener_text import explain_empty, match_headline
from screener.ui.text import escape_markdown
from screener.ui.screener_view import runnable_screen

# --- escaping ------------------------------------------------------------------------------

HOSTILE = ["<script>alert(1)</script>", "**bold**", "[x](javascript:alert(1))", ":red[hi] $x^2$",
           "# heading", "a_b_c", "`code`", "line\nbreak", "back\\slash", "Qualité 日本"]


def _unescape(text: str) -> str:
    """What a CommonMark renderer shows for backslash escapes of ASCII punctuation."""
    out, index = [], 0
    while index < len(text):
        if text[index] == "\\" and index + 1 < len(text) and text[index + 1] in string.punctuation:
            out.append(text[index + 1])
            index += 2
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_markdown_reads_back_as_the_literal_text(text):
    escaped = escape_markdown(text)
    assert _unescape(escaped) == " ".join(text.splitlines())
    # every Markdown-active character is escaped: none stands bare
    bare = [c for i, c in enumerate(escaped) if c in string.punctuation and c != "\\"
            and (i == 0 or escaped[i - 1] != "\\")]
    assert bare == []
    assert "\n" not in escaped


@given(st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_escaping_any_text_round_trips(text):
    assert _unescape(escape_markdown(text)) == " ".join(text.splitlines())


# --- wording -------------------------------------------------------------------------------

def _funnel(total: int, rows: list[tuple[str, int, int, int, int]]) -> Funnel:
    """Steps from (description, remaining, removed, removed_alone, only_blocker)."""
    item = Filter("roe", "gt", 0.0)
    return Funnel(total, tuple(FunnelStep(item, d, r, rm, alone, only) for d, r, rm, alone, only in rows))


def test_headline_counts_with_thousands_separators():
    assert match_headline(23, 1998) == "23 of 1,998 stocks match"
    assert match_headline(1, 2000) == "1 of 2,000 stocks matches"
    assert match_headline(0, 2000) == "0 of 2,000 stocks match"


def test_no_explanation_when_something_matches():
    assert explain_empty(_funnel(10, [("A", 3, 7, 7, 0)])) is None
    assert explain_empty(Funnel(5, ())) is None


def test_empty_result_names_the_biggest_only_blocker_first():
    funnel = _funnel(100, [("Earnings growth > 0%", 40, 60, 60, 2), ("Insider buying", 5, 35, 80, 0),
                           ("Volume surge ≥ 2×", 0, 5, 90, 5)])
    text = explain_empty(funnel)
    assert text == ("No stock passes all 3 filters. Relaxing 'Volume surge ≥ 2×' alone would bring back 5. "
                    "Also: 'Earnings growth > 0%' alone, 2.")


def test_empty_result_without_a_single_blocker_names_where_it_runs_dry():
    funnel = _funnel(100, [("A", 10, 90, 90, 0), ("B", 0, 10, 95, 0), ("C", 0, 0, 50, 0)])
    assert explain_empty(funnel) == ("No stock passes all 3 filters. No single filter is the only obstacle: "
                                     "every stock fails at least two. The list runs dry at 'B'.")


def test_single_filter_removing_everything():
    assert explain_empty(_funnel(7, [("Sector is Nowhere", 0, 7, 7, 7)])) == (
        "No stock passes the filter. 'Sector is Nowhere' removes all 7 stocks.")


# --- units ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, stored, shown", [
    ("revenue_growth", 0.1, 10.0), ("revenue_growth", 0.123, 12.3), ("revenue_growth", -0.5, -50.0),
    ("market_cap", 5e8, 500.0), ("market_cap", 1.25e9, 1250.0), ("debt_to_equity", 0.5, 0.5),
    ("rs_rating", 70, 70), ("close", 12.34, 12.34),
])
def test_display_units_by_hand(name, stored, shown):
    spec = FIELD_BY_NAME[name]
    assert to_shown(spec, stored) == shown
    assert to_stored(spec, shown) == stored


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: round(x, 4)))
@settings(max_examples=200, deadline=None)
def test_typed_percent_reads_back_without_binary_noise(typed):
    spec = FIELD_BY_NAME["revenue_growth"]
    stored = to_stored(spec, typed)
    assert stored == pytest.approx(typed / 100, rel=1e-12, abs=1e-15)
    assert to_shown(spec, stored) == pytest.approx(typed, rel=1e-12, abs=1e-12)
    assert len(repr(stored)) <= 22  # no 0.30000000000000004 tails in URLs


@pytest.mark.parametrize("name, shown, expected", [
    ("market_cap", 812.3, 810.0), ("revenue_growth", 8.03, 8.0), ("revenue_growth", 15.6, 16.0),
    ("revenue_growth", 0.123, 0.1), ("debt_to_equity", 0.456, 0.46), ("rs_rating", 49.6, 50), ("roe", 0.0, 0.0),
])
def test_rounded_defaults(name, shown, expected):
    assert rounded_default(FIELD_BY_NAME[name], shown) == expected


def test_operators_offered_per_kind():
    assert ui_ops(FIELD_BY_NAME["insider_buying"]) == ("is_true", "is_false", "not_null")
    assert ui_ops(FIELD_BY_NAME["sector"]) == ("in", "not_in", "not_null")
    assert ui_ops(FIELD_BY_NAME["quality_bucket"]) == ("in", "not_in", "not_null")
    assert ui_ops(FIELD_BY_NAME["ticker"])[0] == "in"
    assert "between" in ui_ops(FIELD_BY_NAME["roe"]) and "eq" not in ui_ops(FIELD_BY_NAME["roe"])
    for spec in FIELDS:  # every offered operator is one the Screen accepts for that field
        for op in ui_ops(spec):
            assert op in OPS_BY_KIND[spec.kind]


def test_typed_lists():
    assert parse_list_text(FIELD_BY_NAME["ticker"], " aapl, MOG-A ,,msft ") == ("AAPL", "MOG-A", "MSFT")
    assert parse_list_text(FIELD_BY_NAME["rs_rating"], "70, 80") == (70, 80)
    with pytest.raises(ValueError, match="whole numbers"):
        parse_list_text(FIELD_BY_NAME["rs_rating"], "70, eighty")
    with pytest.raises(ValueError, match="at least one"):
        parse_list_text(FIELD_BY_NAME["ticker"], " , ")


# --- table ---------------------------------------------------------------------------------

def test_display_frame_scales_by_unit_and_adds_links_after_ticker():
    frame = pd.DataFrame({"ticker": ["MOG-A", "X Y"], "market_cap": [5e8, np.nan],
                          "revenue_growth": [0.1, -0.25], "debt_to_equity": [0.5, 2.0],
                          "rs_rating": pd.array([70, None], dtype="Int64"), "name": ["A", "B"]})
    shown = display_frame(frame)
    assert list(shown.columns) == ["ticker", "stock_page", "yahoo", "market_cap", "revenue_growth",
                                   "debt_to_equity", "rs_rating", "name"]
    assert shown["market_cap"].iloc[0] == 500.0 and np.isnan(shown["market_cap"].iloc[1])
    assert shown["revenue_growth"].tolist() == [10.0, -25.0]
    assert shown["debt_to_equity"].tolist() == [0.5, 2.0]
    assert shown["rs_rating"].iloc[0] == 70 and pd.isna(shown["rs_rating"].iloc[1])
    assert shown["stock_page"].tolist() == ["Stock?ticker=MOG-A", "Stock?ticker=X%20Y"]
    assert shown["yahoo"].tolist() == ["https://finance.yahoo.com/quote/MOG-A", "https://finance.yahoo.com/quote/X%20Y"]
    assert frame["market_cap"].iloc[0] == 5e8  # the input is not modified


def test_links_cannot_escape_their_target():
    assert stock_page_url("../../x?y=1&z") == "Stock?ticker=..%2F..%2Fx%3Fy%3D1%26z"
    assert yahoo_url("A/B") == "https://finance.yahoo.com/quote/A%2FB"


@pytest.mark.parametrize("name, expected", [
    ("revenue_growth", "%,.1f%%"), ("market_cap", "$%,.0fM"), ("debt_to_equity", "%,.2f×"),
    ("close", "$%,.2f"), ("rs_rating", "%,d"), ("volume", "%,d"), ("beta", "%,.2f"),
])
def test_number_formats(name, expected):
    assert number_format(FIELD_BY_NAME[name]) == expected


# --- facts ---------------------------------------------------------------------------------

@pytest.fixture
def tiny_stocks() -> pd.DataFrame:
    return pd.DataFrame({
        "ticker": list("ABCDE"),
        "sector": pd.array(["Energy", "Energy", "Utilities", None, "Energy"], dtype="string"),
        "industry": pd.array(["Oil", "Gas", "Power", "Misc", None], dtype="string"),
        "roe": [0.1, 0.2, np.nan, 0.4, 0.5],
        "rs_rating": pd.array([10, 20, 30, None, None], dtype="Int64"),
    })


def test_facts_spreads_match_pandas_quantiles(tiny_stocks):
    facts = snapshot_facts(tiny_stocks)
    assert facts.total == 5
    roe = facts.spreads["roe"]
    assert roe.known == 4
    assert roe.median == pytest.approx(np.nanmedian([0.1, 0.2, 0.4, 0.5]))
    assert roe.p10 == pytest.approx(np.quantile([0.1, 0.2, 0.4, 0.5], 0.1))
    assert facts.spreads["rs_rating"].known == 3 and facts.spreads["rs_rating"].median == 20
    assert "market_cap" not in facts.spreads  # absent column: no spread, no crash
    assert facts.values["sector"] == ("Energy", "Utilities")
    assert facts.industries_by_sector == {"Energy": ("Gas", "Oil"), "Utilities": ("Power",)}
    caption = spread_caption(FIELD_BY_NAME["roe"], roe, facts.total)
    assert caption.startswith("4 of 5 stocks have a value") and "median 30.0%" in caption


def test_picker_options_keep_selected_values_the_snapshot_lacks(tiny_stocks):
    facts = snapshot_facts(tiny_stocks)
    assert picker_options(FIELD_BY_NAME["sector"], facts, ("Mars",)) == ["Energy", "Utilities", "Mars"]
    assert picker_options(FIELD_BY_NAME["quality_bucket"], facts) == ["quality", "middle", "junk"]
    assert industry_options(facts, ("Utilities",), ()) == ["Power"]
    assert industry_options(facts, ("Energy",), ("Power",)) == ["Gas", "Oil", "Power"]
    assert industry_options(facts, (), ()) == ["Gas", "Misc", "Oil", "Power"]


# --- links and presets ---------------------------------------------------------------------

@pytest.fixture
def store(tmp_path) -> PresetStore:
    return PresetStore(tmp_path, readonly=False)


def test_preset_only_link_loads_the_preset(store):
    screen, notes = resolve_link({"preset": ["quality-compounders"]}, store)
    assert notes == []
    assert screen == BUILTIN_BY_SLUG["quality-compounders"].screen_with_slug()


def test_link_with_filters_is_the_screen_and_keeps_the_tag(store):
    screen, notes = resolve_link({"f": ["roe:gt:0.3"], "preset": ["quality-compounders"]}, store)
    assert notes == []
    assert screen == Screen((Filter("roe", "gt", 0.3),), preset="quality-compounders")
    assert is_modified(screen, BUILTIN_BY_SLUG["quality-compounders"])


def test_unknown_or_hostile_preset_is_dropped_with_a_note(store):
    screen, notes = resolve_link({"f": ["roe:gt:0.3"], "preset": ["no-such-thing"]}, store)
    assert screen == Screen((Filter("roe", "gt", 0.3),))
    assert notes == ["ignored preset 'no-such-thing': there is no such preset"]
    screen, notes = resolve_link({"preset": ["../../etc/passwd"]}, store)
    assert screen == Screen() and len(notes) == 1


def test_saved_preset_link_and_a_broken_file(store):
    saved = store.save("Cheap growth", "", Screen((Filter("pe_trailing", "lt", 15.0),)))
    screen, _ = resolve_link({"preset": [saved.slug], "limit": ["50"]}, store)
    assert screen == dataclasses.replace(saved.screen_with_slug(), limit=50)
    (store.folder / "broken.json").write_text("{")
    screen, notes = resolve_link({"preset": ["broken"]}, store)
    assert screen == Screen() and "not valid JSON" in notes[0]


@pytest.mark.parametrize("slug", sorted(BUILTIN_BY_SLUG))
def test_canonical_link_of_every_builtin_reads_back_exactly(store, slug):
    screen = BUILTIN_BY_SLUG[slug].screen_with_slug()
    assert resolve_link(to_query_params(screen), store) == (screen, [])


def test_a_tag_without_anything_to_describe_is_dropped():
    assert settle(Screen(preset="quality-breakout")) == Screen()
    kept = Screen(sort=(SortKey("roe"),), preset="quality-breakout")
    assert settle(kept) == kept


def test_screen_params_keep_only_screen_keys_as_lists():
    assert screen_params({"f": "a", "sort": ["x", "y"], "embed": ["true"]}) == {"f": ["a"], "sort": ["x", "y"]}


def test_export_stems():
    preset = BUILTIN_BY_SLUG["quality-breakout"]
    assert export_stem(preset.screen_with_slug(), preset, demo=False) == "quality-breakout"
    changed = dataclasses.replace(preset.screen_with_slug(), limit=10)
    assert export_stem(changed, preset, demo=True) == "quality-breakout-modified-demo"
    assert export_stem(Screen(), None, demo=False) == "screen"


def test_runnable_screen_leaves_out_columns_an_old_snapshot_lacks():
    screen = Screen((Filter("roe", "gt", 0.1), Filter("rs_rating", "gte", 70)), (SortKey("rs_rating", True),))
    present = {"ticker", "name", "sector", "market_cap", "roe"}
    reduced, missing = runnable_screen(screen, present)
    assert missing == ["rs_rating"]
    assert reduced.filters == (Filter("roe", "gt", 0.1),) and reduced.sort == ()
    assert set(reduced.shown_columns()) <= present
    assert runnable_screen(screen, {spec.name for spec in FIELDS}) == (screen, [])

"""The Screener page through Streamlit's AppTest, checked against pandas on the snapshot's file.

Every expected count is computed here with plain pandas on ``stocks.parquet`` (nulls
never pass a condition), never copied from the page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from screener.fields import stocks_schema
from screener.presets import READONLY_ENV
from screener.ui.text import escape_markdown
from tests.support.apptest import open_page, plain, rerun

SCREENER = "pages/1_Screener.py"
HEADLINE = re.compile(r"^([\d,]+) of ([\d,]+) stocks? match(?:es)?$")


# --- helpers ---------------------------------------------------------------------------------


def open_screener(data_dir: Path, monkeypatch, **params) -> AppTest:
    monkeypatch.delenv(READONLY_ENV, raising=False)
    return open_page(SCREENER, data_dir, monkeypatch, params)


def stocks_of(data_dir: Path) -> pd.DataFrame:
    (path,) = sorted(data_dir.glob("snapshots/date=*/stocks.parquet"))
    return pd.read_parquet(path)


def stocks_of_dir(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "stocks.parquet")


def yes(series: pd.Series) -> pd.Series:
    """A condition where null counts as not passing."""
    return series.astype("boolean").fillna(False).astype(bool)


def shown_count(at: AppTest) -> tuple[int, int]:
    for header in at.subheader:
        match = HEADLINE.match(header.value)
        if match:
            return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))
    raise AssertionError(f"no match headline in {[h.value for h in at.subheader]}")


def result_table(at: AppTest) -> pd.DataFrame:
    tables = [d.value for d in at.dataframe if "ticker" in d.value.columns]
    assert len(tables) == 1
    return tables[0]


def url_filters(at: AppTest) -> list[str]:
    value = at.query_params.get("f", [])
    return [value] if isinstance(value, str) else list(value)


def alerts(elements) -> list[str]:
    return [plain(element.value) for element in elements]


def choose_new_filter(at: AppTest, group: str, field: str, op: str | None = None) -> None:
    """Pick a group, a field and (when given) an operator in the "Add a filter" box, as a user would."""
    at.selectbox(key="scr.add.group").set_value(group)
    rerun(at)
    at.selectbox(key=f"scr.add.field.{group}").set_value(field)
    rerun(at)
    if op is not None:
        at.selectbox(key=f"scr.add.op.{field}").set_value(op)
        rerun(at)


def row_buttons(at: AppTest, suffix: str) -> list:
    return [b for b in at.button if b.key and b.key.startswith("scr.row.") and b.key.endswith(suffix)]


# --- runs at all -----------------------------------------------------------------------------


def test_page_runs_on_the_demo_snapshot(demo_data_dir, monkeypatch):
    at = open_screener(demo_data_dir, monkeypatch)
    frame = stocks_of(demo_data_dir)
    assert shown_count(at) == (len(frame), len(frame))
    assert at.selectbox(key="scr.preset").value == ""
    table = result_table(at)
    assert len(table) == 200  # default limit, first rows by ticker
    assert table["ticker"].tolist() == sorted(frame["ticker"])[:200]
    assert at.query_params == {}  # the empty screen has an empty link


def test_page_without_any_snapshot_explains_what_to_run(tmp_path, monkeypatch):
    at = open_screener(tmp_path / "empty", monkeypatch)
    assert any("No snapshot yet" in info.value for info in at.info)
    assert any("nightly --source demo" in code.value for code in at.code)


def test_damaged_newest_snapshot_is_skipped(fresh_data_dir, monkeypatch):
    damaged = fresh_data_dir / "snapshots" / "date=2026-11-23"
    damaged.mkdir()
    (damaged / "stocks.parquet").write_bytes(b"not parquet")
    at = open_screener(fresh_data_dir, monkeypatch, preset="insider-momentum")
    assert any(escape_markdown("date=2026-11-23") in error.value for error in at.error)
    assert shown_count(at)[1] == len(stocks_of_dir(fresh_data_dir / "snapshots" / "date=2026-11-20"))



def test_older_snapshot_without_a_column_leaves_that_part_out(fresh_data_dir, monkeypatch):
    (path,) = fresh_data_dir.glob("snapshots/date=*/stocks.parquet")
    older = pd.read_parquet(path).drop(columns=["rs_rating"])
    schema = stocks_schema()
    schema = schema.remove(schema.get_field_index("rs_rating"))
    pq.write_table(pa.Table.from_pandas(older, preserve_index=False).cast(schema), path)
    at = open_screener(fresh_data_dir, monkeypatch, preset="insider-momentum")
    assert any("no rs_rating column" in plain(w.value) for w in at.warning)
    expected = (yes(older["insider_buying"]) & yes(older["insider_buys_6m"] >= 2) & yes(older["above_sma_50"])).sum()
    assert shown_count(at)[0] == expected
    at.switch_page("pages/4_Presets.py")
    rerun(at)  # the Presets page counts what it can and leaves the rest blank
    (table,) = [d.value for d in at.dataframe if "matches" in d.value.columns]
    assert pd.isna(table.set_index("name").loc["Insider buying with momentum", "matches"])


# --- presets and links set the widgets and the count ------------------------------------------


def test_preset_param_sets_widgets_and_count(demo_data_dir, monkeypatch):
    frame = stocks_of(demo_data_dir)
    expected = (yes(frame["quality_bucket"] == "quality") & yes(frame["is_profitable"]) & (frame["roe"] > 0.15)
                & (frame["debt_to_equity"] < 0.5) & (frame["revenue_growth"] > 0.05)
                & yes(frame["above_sma_200"]))
    assert 5 <= expected.sum() < len(frame)  # a non-trivial count on the demo snapshot
    at = open_screener(demo_data_dir, monkeypatch, preset="quality-compounders")
    assert shown_count(at) == (expected.sum(), len(frame))
    assert at.selectbox(key="scr.preset").value == "quality-compounders"
    editors = sorted(n.value for n in at.number_input if n.key.startswith("scr.row."))
    assert editors == [0.5, 5.0, 15.0]  # d/e 0.5×, revenue growth 5%, ROE 15%: display units
    assert at.selectbox(key="scr.sort.field").value == "quality_score"
    assert at.toggle(key="scr.sort.desc").value is True
    table = result_table(at)
    want = frame[expected].sort_values(["quality_score", "ticker"], ascending=[False, True])
    assert table["ticker"].tolist() == want["ticker"].tolist()
    assert table["roe"].tolist() == pytest.approx((want["roe"] * 100).tolist())  # shown in percent
    assert url_filters(at) == ["quality_bucket:eq:quality", "is_profitable:is_true", "roe:gt:0.15",
                               "debt_to_equity:lt:0.5", "revenue_growth:gt:0.05", "above_sma_200:is_true"]
    assert at.query_params["preset"] == "quality-compounders"


def test_second_preset_count(demo_data_dir, monkeypatch):
    frame = stocks_of(demo_data_dir)
    expected = (yes(frame["insider_buying"]) & yes(frame["insider_buys_6m"] >= 2) & yes(frame["rs_rating"] >= 70)
                & yes(frame["above_sma_50"])).sum()
    at = open_screener(demo_data_dir, monkeypatch, preset="insider-momentum")
    assert shown_count(at) == (expected, len(frame))


def test_url_query_sets_pickers_sort_and_count(demo_data_dir, monkeypatch):
    frame = stocks_of(demo_data_dir)
    mask = (yes(frame["sector"].isin(["Energy", "Financials"])) & frame["market_cap"].between(3e8, 2e9)
            & yes(frame["rs_rating"] >= 50))
    at = open_screener(demo_data_dir, monkeypatch,
                       f=["sector:in:Energy|Financials", "market_cap:between:300000000|2000000000",
                          "rs_rating:gte:50"], sort="-rs_rating", limit="25")
    assert shown_count(at) == (mask.sum(), len(frame))
    assert at.multiselect(key="scr.pick.sector").value == ["Energy", "Financials"]
    between = sorted(n.value for n in at.number_input if n.key.startswith("scr.row."))
    assert between == [50, 300.0, 2000.0]  # $M for market cap
    assert at.number_input(key="scr.limit").value == 25
    table = result_table(at)
    want = frame[mask].sort_values(["rs_rating", "ticker"], ascending=[False, True], na_position="last")
    assert table["ticker"].tolist() == want["ticker"].head(25).tolist()
    assert at.query_params["limit"] == "25" and at.query_params["sort"] == "-rs_rating"


def test_empty_result_explains_itself_with_pandas_near_misses(demo_data_dir, monkeypatch):
    frame = stocks_of(demo_data_dir)
    passes = pd.DataFrame({
        "earnings": frame["earnings_growth"] > 0, "debt": frame["debt_to_equity"] < 1.0,
        "revenue": frame["revenue_growth"] > 0.10, "insiders": yes(frame["insider_buying"]),
        "rs": frame["rs_6m"] > 0, "surge": frame["volume_surge"] >= 2,
    })
    assert passes.all(axis=1).sum() == 0, "the seed screen is expected to be empty on the demo night"
    fails = ~passes
    only = fails[fails.sum(axis=1) == 1].sum()
    at = open_screener(demo_data_dir, monkeypatch, preset="quality-breakout")
    assert shown_count(at) == (0, len(frame))
    (warning,) = [w.value for w in at.warning if "No stock passes" in w.value]
    assert f"would bring back {only.max():,}\\." in warning
    funnel = next(d.value for d in at.dataframe if "only_blocker" in d.value.columns)
    assert funnel["only_blocker"].tolist() == only.tolist()
    assert funnel["removed_alone"].tolist() == fails.sum().tolist()
    assert funnel["remaining"].tolist() == passes.cumprod(axis=1).sum().tolist()


def test_link_round_trip_restores_the_same_screen(demo_data_dir, monkeypatch):
    first = open_screener(demo_data_dir, monkeypatch, f=["sector:not_in:Financials", "roe:gt:0.1"],
                          sort="-market_cap", cols="name,roe,market_cap")
    params = dict(first.query_params)
    second = open_screener(demo_data_dir, monkeypatch, **params)
    assert second.session_state["screener.screen"] == first.session_state["screener.screen"]
    assert shown_count(second) == shown_count(first)
    assert list(result_table(second).columns) == ["ticker", "stock_page", "yahoo", "name", "roe", "market_cap"]
    frame = stocks_of(demo_data_dir)
    expected = ((frame["sector"] != "Financials").fillna(True) & (frame["roe"] > 0.1)).sum()
    assert shown_count(second)[0] == expected  # not_in keeps unknown sectors


# --- hostile links ---------------------------------------------------------------------------


def _assert_link_note(at: AppTest) -> None:
    assert any("left out" in w.value for w in at.warning)
    assert any(e.label == "What was left out" for e in at.expander)


def test_hostile_parameters_are_dropped_with_a_note(demo_data_dir, monkeypatch):
    frame = stocks_of(demo_data_dir)
    hostile = ["nope:gt:1", "roe:like:1", "roe:gt:1e400", "roe:gt:NaN", "is_profitable:gt:abc",
               "roe;DROP TABLE stocks:gt:1", "roe:gt:0.1 OR 1=1", "sector:eq:a|b", "rs_rating:gte:70.5",
               "market_cap:between:5|1", "roe", "x" * 7000, "\u202e\u0000:gt:1"]
    at = open_screener(demo_data_dir, monkeypatch, f=["rs_rating:gte:60", *hostile],
                       sort="-nope,rs_rating,rs_rating", limit="-5", cols="name,<script>", preset="../../x")
    _assert_link_note(at)
    assert shown_count(at) == (yes(frame["rs_rating"] >= 60).sum(), len(frame))
    assert url_filters(at) == ["rs_rating:gte:60"]  # the address bar now holds only what was used
    assert "limit" not in at.query_params and at.query_params["cols"] == "name"


def test_a_thousand_parameters_and_unicode(demo_data_dir, monkeypatch):
    frame = stocks_of(demo_data_dir)
    garbage = [f"nope{i}:gt:{i}" for i in range(999)]  # 1,000 parameters in all: Streamlit's own ceiling
    at = open_screener(demo_data_dir, monkeypatch, f=[*garbage, "name:ne:日本 Ünïcode ∑"])
    _assert_link_note(at)
    notes = at.expander[[e.label for e in at.expander].index("What was left out")].markdown[0].value
    assert "more problems not listed" in notes  # a flood is summarised, not echoed
    assert shown_count(at) == (len(frame), len(frame))  # garbage dropped, a harmless unicode filter kept
    assert url_filters(at) == ["name:ne:日本 Ünïcode ∑"]


def test_over_a_thousand_parameters_never_reach_the_page(demo_data_dir, monkeypatch):
    """Streamlit 1.67 discards a query string of more than 1,000 fields before any page code
    runs (it logs a warning): the page opens on the empty screen, cleanly."""
    frame = stocks_of(demo_data_dir)
    at = open_screener(demo_data_dir, monkeypatch, f=[f"roe:gt:{i}" for i in range(1200)])
    assert shown_count(at) == (len(frame), len(frame))


def test_sql_text_as_a_value_is_only_a_value(demo_data_dir, monkeypatch):
    at = open_screener(demo_data_dir, monkeypatch, f=["ticker:in:A');DROP TABLE stocks;--"])
    assert shown_count(at)[0] == 0
    at.query_params.clear()
    at.query_params["f"] = "roe:gt:0"
    rerun(at)  # the table is still there
    frame = stocks_of(demo_data_dir)
    assert shown_count(at)[0] == (frame["roe"] > 0).sum()


def test_extreme_but_valid_numbers_open_cleanly(demo_data_dir, monkeypatch):
    frame = stocks_of(demo_data_dir)
    at = open_screener(demo_data_dir, monkeypatch, f=["roe:gt:-999999999999999", "volume:lt:1000000000000000",
                                                      "market_cap:between:0|1e15", "return_1m:gte:-1e-300"])
    expected = ((frame["roe"] > -999999999999999) & yes(frame["volume"] < 10**15)
                & frame["market_cap"].between(0, 1e15) & (frame["return_1m"] >= -1e-300))
    assert shown_count(at)[0] == expected.sum()
    assert sorted(n.value for n in at.number_input if n.key.startswith("scr.row."))[0] == pytest.approx(-1e17)


# --- editing through the widgets ------------------------------------------------------------


def test_add_edit_and_remove_a_filter(demo_data_dir, monkeypatch):
    frame = stocks_of(demo_data_dir)
    at = open_screener(demo_data_dir, monkeypatch)
    choose_new_filter(at, "growth", "revenue_growth", "gt")
    at.number_input(key="scr.add.value.revenue_growth.gt.v").set_value(10.0)  # percent
    at.button(key="scr.add.go").click()
    rerun(at)
    assert shown_count(at)[0] == (frame["revenue_growth"] > 0.10).sum()
    assert url_filters(at) == ["revenue_growth:gt:0.1"]

    (editor,) = [n for n in at.number_input if n.key.startswith("scr.row.")]
    editor.set_value(25.0)
    rerun(at)
    assert shown_count(at)[0] == (frame["revenue_growth"] > 0.25).sum()
    assert url_filters(at) == ["revenue_growth:gt:0.25"]

    at.multiselect(key="scr.pick.sector").set_value(["Energy"])
    rerun(at)
    assert shown_count(at)[0] == ((frame["revenue_growth"] > 0.25) & yes(frame["sector"] == "Energy")).sum()
    assert url_filters(at) == ["revenue_growth:gt:0.25", "sector:in:Energy"]

    (remove,) = row_buttons(at, ".rm")  # the sector filter lives in its picker, not in a row
    remove.click()
    rerun(at)
    assert shown_count(at)[0] == yes(frame["sector"] == "Energy").sum()
    assert url_filters(at) == ["sector:in:Energy"]

    at.button(key="scr.clear").click()
    rerun(at)
    assert shown_count(at) == (len(frame), len(frame))
    assert at.multiselect(key="scr.pick.sector").value == []
    assert at.query_params == {}


def test_bad_edit_is_refused_and_the_filter_kept(demo_data_dir, monkeypatch):
    at = open_screener(demo_data_dir, monkeypatch, f="market_cap:between:300000000|2000000000")
    low = next(n for n in at.number_input if n.key.endswith(".lo"))
    low.set_value(5000.0)  # above the high end
    rerun(at)
    assert any("low <= high" in text for text in alerts(at.error))
    assert url_filters(at) == ["market_cap:between:300000000|2000000000"]
    assert sorted(n.value for n in at.number_input if n.key.startswith("scr.row.")) == [300.0, 2000.0]


def test_add_filter_on_a_boolean_and_a_bucket(demo_data_dir, monkeypatch):
    frame = stocks_of(demo_data_dir)
    at = open_screener(demo_data_dir, monkeypatch)
    choose_new_filter(at, "quality", "quality_bucket")
    at.multiselect(key="scr.add.value.quality_bucket.in.v").set_value(["quality", "middle"])
    at.button(key="scr.add.go").click()
    rerun(at)
    choose_new_filter(at, "ownership", "insider_buying", "is_false")
    at.button(key="scr.add.go").click()
    rerun(at)
    expected = yes(frame["quality_bucket"].isin(["quality", "middle"])) & yes(~frame["insider_buying"].astype("boolean"))
    assert shown_count(at)[0] == expected.sum()
    assert url_filters(at) == ["quality_bucket:in:quality|middle", "insider_buying:is_false"]


def test_add_filter_on_typed_tickers_and_a_date(demo_data_dir, monkeypatch):
    frame = stocks_of(demo_data_dir)
    picked = sorted(frame["ticker"])[:3]
    at = open_screener(demo_data_dir, monkeypatch)
    choose_new_filter(at, "identity", "ticker")
    at.text_input(key="scr.add.value.ticker.in.v").set_value(", ".join(t.lower() for t in picked) + ", NOPE")
    at.button(key="scr.add.go").click()
    rerun(at)
    assert shown_count(at)[0] == 3
    choose_new_filter(at, "bookkeeping", "as_of", "between")
    at.button(key="scr.add.go").click()  # both ends start at the snapshot date
    rerun(at)
    as_of = pd.to_datetime(frame["as_of"]).dt.date
    expected = (frame["ticker"].isin(picked) & (as_of == pd.Timestamp("2026-11-20").date())).sum()
    assert shown_count(at)[0] == expected
    assert url_filters(at) == [f"ticker:in:{'|'.join(picked)}|NOPE", "as_of:between:2026-11-20|2026-11-20"]


def test_adding_without_a_value_says_so(demo_data_dir, monkeypatch):
    at = open_screener(demo_data_dir, monkeypatch)
    choose_new_filter(at, "identity", "ticker")
    at.button(key="scr.add.go").click()
    rerun(at)
    assert any("fill in a value" in text for text in alerts(at.error))
    assert at.query_params == {}


def test_sort_columns_and_rows_widgets(demo_data_dir, monkeypatch):
    frame = stocks_of(demo_data_dir)
    at = open_screener(demo_data_dir, monkeypatch, f="roe:gt:0.2")
    at.selectbox(key="scr.sort.field").set_value("market_cap")
    rerun(at)
    at.multiselect(key="scr.columns").set_value(["name", "market_cap"])
    at.number_input(key="scr.limit").set_value(10)
    rerun(at)
    table = result_table(at)
    want = frame[frame["roe"] > 0.2].sort_values(["market_cap", "ticker"], ascending=[False, True])
    assert table["ticker"].tolist() == want["ticker"].head(10).tolist()
    assert list(table.columns) == ["ticker", "stock_page", "yahoo", "name", "market_cap"]
    assert table["market_cap"].tolist() == pytest.approx((want["market_cap"].head(10) / 1e6).tolist())
    assert at.query_params["sort"] == "-market_cap" and at.query_params["cols"] == "name,market_cap"
    assert at.query_params["limit"] == "10"


def test_switching_pages_keeps_the_screen(demo_data_dir, monkeypatch):
    at = open_screener(demo_data_dir, monkeypatch, preset="junk-rally")
    before = shown_count(at)
    at.switch_page("pages/4_Presets.py")
    rerun(at)
    at.query_params.clear()  # Streamlit clears query parameters on a page switch
    at.switch_page(SCREENER)
    rerun(at)
    assert shown_count(at) == before
    assert at.selectbox(key="scr.preset").value == "junk-rally"
    assert at.query_params["preset"] == "junk-rally"  # written back to the address bar


def test_loading_a_preset_from_the_picker_replaces_the_screen(demo_data_dir, monkeypatch):
    frame = stocks_of(demo_data_dir)
    at = open_screener(demo_data_dir, monkeypatch, f="roe:gt:0.5")
    at.selectbox(key="scr.preset").set_value("oversold-quality")
    rerun(at)
    expected = (yes(frame["quality_bucket"] == "quality") & yes(frame["is_profitable"])
                & (frame["pct_from_52w_high"] <= -0.25) & (frame["return_1m"] < 0)).sum()
    assert shown_count(at)[0] == expected
    assert "roe:gt:0.5" not in url_filters(at)


# --- saving presets --------------------------------------------------------------------------


def test_save_preset_through_the_form(fresh_data_dir, monkeypatch):
    at = open_screener(fresh_data_dir, monkeypatch, f=["roe:gt:0.2", "sector:in:Energy"], sort="-roe")
    at.text_input(key="scr.save.name").set_value("Energy **winners**")
    at.text_input(key="scr.save.description").set_value("High ROE <b>energy</b>")
    at.button(key="FormSubmitter:scr.save.form-Save preset").click()
    rerun(at)
    path = fresh_data_dir / "presets" / "energy-winners.json"
    document = json.loads(path.read_text())
    assert document["name"] == "Energy **winners**" and document["description"] == "High ROE <b>energy</b>"
    assert document["screen"]["filters"] == [{"field": "roe", "op": "gt", "value": 0.2},
                                             {"field": "sector", "op": "in", "value": ["Energy"]}]
    picker = at.selectbox(key="scr.preset")
    assert picker.value == "energy-winners"
    assert "Energy **winners** · saved" in picker.options  # plain text in the picker
    (success,) = at.success
    assert "Energy \\*\\*winners\\*\\*" in success.value  # escaped, shown literally
    assert at.query_params["preset"] == "energy-winners"


def test_save_refusals_are_shown_not_raised(fresh_data_dir, monkeypatch):
    at = open_screener(fresh_data_dir, monkeypatch, f="roe:gt:0.2")
    submit = "FormSubmitter:scr.save.form-Save preset"
    for name, message in [("   ", "cannot be empty"), ("Quality compounders", "built-in"), ("!!!", None)]:
        at.text_input(key="scr.save.name").set_value(name)
        at.button(key=submit).click()
        rerun(at)
        if message:
            assert any(message in text for text in alerts(at.error)), (name, alerts(at.error))
    at.text_input(key="scr.save.name").set_value("!!!")  # a second save under the same name
    at.button(key=submit).click()
    rerun(at)
    assert any("already exists" in text for text in alerts(at.error))
    (saved,) = (fresh_data_dir / "presets").glob("*.json")  # only the one good save was written
    assert saved.name.startswith("preset-") and json.loads(saved.read_text())["name"] == "!!!"


def test_read_only_presets_disable_saving(demo_data_dir, monkeypatch):
    at = open_screener(demo_data_dir, monkeypatch)
    monkeypatch.setenv(READONLY_ENV, "1")
    rerun(at)
    assert any("read-only" in info.value for info in at.info)
    assert not [t for t in at.text_input if t.key == "scr.save.name"]
    assert not (demo_data_dir / "presets").exists()

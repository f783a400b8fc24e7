"""Chart builders on tiny hand-made frames: the Vega-Lite spec (data, encodings, formats,
colours, reference rules) is what a reader needs, and no builder fails on empty input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from screener import charts

DATES = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"])


def spec(chart: Any) -> dict[str, Any]:
    return chart.to_dict()


def layers(chart_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return chart_spec.get("layer", [chart_spec])


def rows(chart_spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    """The data rows one layer draws (Altair stores them in top-level named datasets)."""
    data = layer.get("data") or chart_spec.get("data")
    return chart_spec["datasets"][data["name"]]


def mark_type(layer: dict[str, Any]) -> str:
    mark = layer["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def layer_with(chart_spec: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [layer for layer in layers(chart_spec) if mark_type(layer) == kind]
    assert found, f"no {kind} layer in {[mark_type(l) for l in layers(chart_spec)]}"
    return found[0]


def long(series: dict[str, list[float]], dates: pd.DatetimeIndex = DATES) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"date": dates, "series": name, "value": values})
                      for name, values in series.items()], ignore_index=True)


# --------------------------------------------------------------------------- market internals


def test_breadth_chart_shows_only_the_two_shares_on_a_0_to_100_percent_axis():
    breadth = long({"above_sma_50": [0.5, 0.6, 0.7], "above_sma_200": [0.4, 0.4, 0.45],
                    "new_highs": [3, 4, 5], "new_lows": [1, 0, 2]})
    chart = spec(charts.breadth_chart(breadth))
    lines = layer_with(chart, "line")
    drawn = rows(chart, lines)
    assert {r["series"] for r in drawn} == {"Above 50-day SMA", "Above 200-day SMA"}
    assert sorted(r["value"] for r in drawn if r["series"] == "Above 50-day SMA") == [0.5, 0.6, 0.7]
    y = lines["encoding"]["y"]
    assert y["scale"]["domain"] == [0, 1] and y["axis"]["format"] == ".0%" and y["type"] == "quantitative"
    assert lines["encoding"]["x"]["type"] == "temporal"
    rule = layer_with(chart, "rule")
    assert rows(chart, rule) == [{"y": 0.5}]


def test_ratio_chart_draws_ratio_solid_and_its_sma_dashed():
    ratio = long({"ratio": [0.40, 0.41, 0.42], "sma_200": [np.nan, 0.405, 0.41]})
    chart = spec(charts.ratio_chart(ratio))
    encoding = chart["encoding"]
    assert encoding["strokeDash"]["scale"]["domain"] == ["IWM/SPY", "200-day SMA"]
    assert encoding["strokeDash"]["scale"]["range"][0] == [1, 0]
    assert encoding["y"]["scale"]["zero"] is False
    drawn = rows(chart, chart)
    assert [r["value"] for r in drawn if r["series"] == "IWM/SPY"] == [0.40, 0.41, 0.42]


def test_sector_participation_sorts_by_share_drops_null_and_formats_percent():
    participation = pd.DataFrame({"sector": ["Energy", "Utilities", "Financials"], "members": [3, 2, 1],
                                  "with_sma": [3, 2, 0], "above": [3, 1, 0], "share": [1.0, 0.5, np.nan]})
    chart = spec(charts.sector_participation_chart(participation))
    bars = layer_with(chart, "bar")
    assert [r["sector"] for r in rows(chart, bars)] == ["Energy", "Utilities"]
    assert bars["encoding"]["y"]["sort"] == "-x"
    assert bars["encoding"]["x"]["axis"]["format"] == ".0%"
    assert bars["encoding"]["x"]["scale"]["domain"] == [0, 1]


def test_spread_chart_has_a_zero_rule_and_percent_axis():
    spread = long({"quality - junk": [0.0, 0.01, -0.02]})
    chart = spec(charts.spread_chart(spread, "QmJ"))
    rule = layer_with(chart, "rule")
    assert rows(chart, rule) == [{"y": 0.0}]
    line = layer_with(chart, "line")
    assert line["encoding"]["y"]["axis"]["format"] == ".0%"
    assert chart["title"]["text"] == "QmJ"


# --------------------------------------------------------------------------- quality vs junk


def test_cumulative_returns_fix_colours_per_basket_and_dash_iwm():
    returns = long({"junk": [0, -0.01, -0.02], "quality": [0, 0.01, 0.03], "middle": [0, 0, 0],
                    "IWM": [0, 0.005, 0.01]})
    chart = spec(charts.cumulative_returns_chart(returns, "Cum"))
    line = layer_with(chart, "line")
    colour = line["encoding"]["color"]["scale"]
    assert colour["domain"] == ["quality", "middle", "junk", "IWM"]
    assert dict(zip(colour["domain"], colour["range"])) == {
        "quality": charts.QUALITY_GREEN, "middle": charts.MIDDLE_BLUE, "junk": charts.JUNK_RED,
        "IWM": charts.IWM_GREY}
    dash = line["encoding"]["strokeDash"]["scale"]
    assert dict(zip(dash["domain"], dash["range"]))["IWM"] == [6, 4]
    assert dict(zip(dash["domain"], dash["range"]))["quality"] == [1, 0]
    assert line["encoding"]["y"]["axis"]["format"] == ".0%"
    assert rows(chart, layer_with(chart, "rule")) == [{"y": 0.0}]


def test_profitability_lens_uses_green_and_orange():
    returns = long({"profitable": [0, 0.01, 0.02], "unprofitable": [0, -0.01, 0.0], "IWM": [0, 0, 0]})
    colour = layer_with(spec(charts.cumulative_returns_chart(returns, "Cum")), "line")["encoding"]["color"]["scale"]
    assert dict(zip(colour["domain"], colour["range"])) == {
        "profitable": charts.QUALITY_GREEN, "unprofitable": charts.UNPROFITABLE_ORANGE, "IWM": charts.IWM_GREY}


def test_spread_by_sector_colours_by_sign_and_drops_null_spreads():
    by_sector = pd.DataFrame({"sector": ["A", "B", "C"], "quality_return": [0.1, 0.0, np.nan],
                              "junk_return": [0.05, 0.02, 0.01], "spread": [0.05, -0.02, np.nan],
                              "quality_members": [2, 1, 0], "junk_members": [1, 1, 1]})
    chart = spec(charts.spread_by_sector_chart(by_sector))
    bars = layer_with(chart, "bar")
    drawn = rows(chart, bars)
    assert {r["sector"]: r["leader"] for r in drawn} == {"A": "quality led", "B": "junk led"}
    assert bars["encoding"]["x"]["axis"]["format"] == ".0%"
    assert rows(chart, layer_with(chart, "rule")) == [{"x": 0.0}]


def scatter_stocks(returns: list[float]) -> pd.DataFrame:
    n = len(returns)
    return pd.DataFrame({
        "ticker": [f"T{i}" for i in range(n)], "name": [f"Name {i}" for i in range(n)],
        "sector": ["Energy"] * n, "quality_bucket": (["quality", "junk", None] * n)[:n],
        "quality_score": np.linspace(-1, 1, n), "return_6m": returns,
    })


def test_quality_scatter_drops_missing_values_and_keeps_tooltips():
    stocks = scatter_stocks([0.1, -0.2, 0.3, np.nan])
    chart = spec(charts.quality_scatter(stocks))
    points = layer_with(chart, "circle")
    drawn = rows(chart, points)
    assert [r["ticker"] for r in drawn] == ["T0", "T1", "T2"]
    assert drawn[2]["quality_bucket"] == "unbucketed"
    assert {t["field"] for t in points["encoding"]["tooltip"]} >= {"ticker", "name", "quality_score", "return_6m"}
    assert points["encoding"]["y"]["axis"]["format"] == ".0%"
    colour = points["encoding"]["color"]["scale"]
    assert dict(zip(colour["domain"], colour["range"]))["junk"] == charts.JUNK_RED
    assert "regression" in layer_with(chart, "line")["transform"][0]


def test_quality_scatter_pins_outliers_to_the_percentile_axis():
    returns = [0.01 * i for i in range(100)] + [9.0]  # one +900% name
    chart = spec(charts.quality_scatter(scatter_stocks(returns)))
    y = layer_with(chart, "circle")["encoding"]["y"]["scale"]
    low, high = np.quantile(np.array(returns), charts.SCATTER_CLIP_QUANTILES)
    assert y["domain"] == pytest.approx([low, high]) and y["clamp"] is True
    assert high < 9.0
    pinned = sum(1 for r in returns if r < low or r > high)
    assert f"{pinned} outliers pinned" in " ".join(chart["title"]["subtitle"])


def test_sector_mix_normalises_within_each_bucket():
    stocks = pd.DataFrame({
        "sector": ["Energy", "Energy", "Energy", "Utilities", "Utilities", "Energy", None],
        "quality_bucket": ["quality", "quality", "junk", "quality", "junk", None, "junk"],
    })
    mix = charts.sector_mix(stocks)
    known = stocks.dropna()
    expected = pd.crosstab(known["sector"], known["quality_bucket"], normalize="columns")
    for _, row in mix.iterrows():
        assert row["share"] == pytest.approx(expected.loc[row["sector"], row["quality_bucket"]])
    assert mix.groupby("quality_bucket")["share"].sum().tolist() == pytest.approx([1.0, 1.0])
    assert mix.set_index(["sector", "quality_bucket"]).loc[("Energy", "quality"), "members"] == 2


# --------------------------------------------------------------------------- one stock


def stock_history() -> pd.DataFrame:
    return pd.DataFrame({
        "date": DATES, "close": [10.0, 11.0, 12.0], "sma_50": [np.nan, 10.5, 11.0], "sma_200": [np.nan] * 3,
        "volume": [100.0, 1000.0, 120.0], "avg_volume_50d": [np.nan, 100.0, 110.0],
        "volume_surge": [np.nan, 10.0, 120 / 110], "surge": pd.array([None, True, False], dtype="boolean"),
        "rs_line": [1.0, 1.05, 1.1],
    })


def test_price_chart_draws_close_and_smas_without_null_points():
    chart = spec(charts.price_chart(stock_history(), "ABC"))
    drawn = rows(chart, chart)
    assert sorted((r["series"], r["value"]) for r in drawn) == sorted(
        [("Close", 10.0), ("Close", 11.0), ("Close", 12.0), ("SMA 50", 10.5), ("SMA 50", 11.0)])
    assert chart["encoding"]["y"]["axis"]["format"] == "$,.2f"
    assert "ABC" in chart["title"]["text"]


def test_volume_chart_marks_surge_days_and_draws_the_average():
    chart = spec(charts.volume_chart(stock_history()))
    bars = layer_with(chart, "bar")
    kinds = {r["date"][:10]: r["kind"] for r in rows(chart, bars)}
    assert kinds == {"2024-01-02": "normal", "2024-01-03": "surge (≥ 2× average)", "2024-01-04": "normal"}
    assert layer_with(chart, "line")["encoding"]["y"]["field"] == "avg_volume_50d"


def test_volume_chart_cuts_a_giant_surge_at_the_top():
    history = pd.concat([stock_history()] * 40, ignore_index=True)
    history.loc[5, "volume"] = 1e9
    chart = spec(charts.volume_chart(history))
    y = layer_with(chart, "bar")["encoding"]["y"]["scale"]
    ceiling = np.quantile(history["volume"], 0.98) * charts.VOLUME_AXIS_HEADROOM
    assert y["domain"] == pytest.approx([0, ceiling]) and y["clamp"] is True
    assert "1 day(s) above the axis" in " ".join(chart["title"]["subtitle"])


def test_rs_line_has_a_reference_at_one():
    chart = spec(charts.rs_line_chart(stock_history()))
    assert rows(chart, layer_with(chart, "rule")) == [{"y": 1.0}]
    assert [r["rs_line"] for r in rows(chart, layer_with(chart, "line"))] == [1.0, 1.05, 1.1]


def test_quality_components_colour_by_sign_and_skip_nulls():
    components = pd.DataFrame({"component": ["profitability_z", "growth_z", "safety_z"],
                               "label": ["Profitability z", "Growth z", "Safety z"], "value": [1.2, np.nan, -0.3]})
    chart = spec(charts.quality_components_chart(components))
    drawn = rows(chart, layer_with(chart, "bar"))
    assert {r["label"]: r["side"] for r in drawn} == {"Profitability z": "above average",
                                                      "Safety z": "below average"}


def test_snapshot_history_stacks_buckets_per_date():
    history = pd.DataFrame({"date": pd.to_datetime(["2026-11-19", "2026-11-20"]), "stocks": [10, 11],
                            "quality": [3, 3], "middle": [4, 5], "junk": [3, 3], "unbucketed": [0, 0], "stale": [0, 1]})
    chart = spec(charts.snapshot_history_chart(history))
    drawn = rows(chart, chart)
    assert {(r["snapshot"], r["bucket"]): r["stocks"] for r in drawn}[("2026-11-20", "middle")] == 5
    assert len(drawn) == 8


# --------------------------------------------------------------------------- demo label and empty input


def test_demo_subtitle_only_on_demo_charts():
    breadth = long({"above_sma_50": [0.5, 0.6, 0.7], "above_sma_200": [0.4, 0.4, 0.45]})
    assert charts.DEMO_SUBTITLE in spec(charts.breadth_chart(breadth, demo=True))["title"]["subtitle"]
    assert "subtitle" not in spec(charts.breadth_chart(breadth, demo=False))["title"]


EMPTY_LONG = pd.DataFrame({"date": pd.to_datetime([]), "series": pd.Series([], dtype="str"),
                           "value": pd.Series([], dtype="float64")})
EMPTY_STOCKS = scatter_stocks([]).iloc[0:0]


@pytest.mark.parametrize("build", [
    lambda: charts.breadth_chart(EMPTY_LONG),
    lambda: charts.ratio_chart(EMPTY_LONG),
    lambda: charts.sector_participation_chart(pd.DataFrame(columns=["sector", "members", "with_sma", "above",
                                                                     "share"])),
    lambda: charts.spread_chart(EMPTY_LONG, "Spread"),
    lambda: charts.cumulative_returns_chart(EMPTY_LONG, "Cum"),
    lambda: charts.spread_by_sector_chart(pd.DataFrame(columns=["sector", "quality_return", "junk_return",
                                                                "spread", "quality_members", "junk_members"])),
    lambda: charts.quality_scatter(EMPTY_STOCKS),
    lambda: charts.bucket_sector_chart(EMPTY_STOCKS),
    lambda: charts.price_chart(stock_history().iloc[0:0], "ABC"),
    lambda: charts.volume_chart(stock_history().iloc[0:0]),
    lambda: charts.rs_line_chart(stock_history().iloc[0:0]),
    lambda: charts.quality_components_chart(pd.DataFrame(columns=["component", "label", "value"])),
    lambda: charts.snapshot_history_chart(pd.DataFrame(columns=["date", "stocks", "quality", "middle", "junk",
                                                                "unbucketed", "stale"])),
], ids=["breadth", "ratio", "sectors", "spread", "cumulative", "by_sector", "scatter", "mix", "price",
        "volume", "rs", "components", "snapshots"])
def test_every_builder_accepts_empty_input(build):
    chart_spec = build().to_dict()
    assert chart_spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")

"""The field catalog: every column of ``stocks.parquet`` described exactly once.

Widgets, table columns, exports, the README's field table, input validation, the
snapshot schema and the SQL whitelist all read this module, so a metric is added or
renamed in one place.  Definitions follow ``DESIGN.md`` section 2: fractions are
stored as fractions (0.12 means 12%), ratios as ratios, and a missing value is null,
never 0 and never a string.

A field's *unit* decides how people see it (percent, ×, $M/$B) and how a number typed
into a widget maps back to the stored value (``to_display`` / ``from_display``), so a
user filters "revenue growth > 10" in percent while SQL compares ``> 0.10``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import pyarrow as pa

Kind = Literal["float", "int", "bool", "str", "date"]

GROUPS: dict[str, str] = {
    "identity": "Identity",
    "growth": "Growth",
    "balance_sheet": "Balance sheet",
    "profitability": "Profitability",
    "valuation": "Valuation",
    "ownership": "Ownership & insiders",
    "trend": "Trend & strength",
    "volume": "Volume",
    "quality": "Quality",
    "bookkeeping": "Bookkeeping",
}


@dataclass(frozen=True)
class Unit:
    """How a stored number is shown and typed: ``display = stored * scale``.

    ``word`` names the unit in documentation tables; ``excel_format`` is the number
    format an Excel export gives the stored value (None: Excel's default).
    """

    name: str
    word: str
    scale: float = 1.0
    prefix: str = ""
    suffix: str = ""
    decimals: int = 2
    widget_step: float = 1.0
    excel_format: str | None = None


UNITS: dict[str, Unit] = {
    "fraction": Unit("fraction", "%", scale=100.0, suffix="%", decimals=1, widget_step=1.0, excel_format="0.0%"),
    # Index weights are hundredths of a percent (IWM's largest holding is about 1%).
    "weight": Unit("weight", "%", scale=100.0, suffix="%", decimals=3, widget_step=0.01, excel_format="0.000%"),
    "ratio": Unit("ratio", "×", suffix="×", decimals=2, widget_step=0.1, excel_format='0.00"×"'),
    "usd_m": Unit("usd_m", "$M/$B", scale=1e-6, prefix="$", suffix="M", decimals=0, widget_step=50.0,
                  excel_format='"$"#,##0,,"M"'),
    "price": Unit("price", "$ per share", prefix="$", decimals=2, widget_step=1.0, excel_format='"$"#,##0.00'),
    "shares": Unit("shares", "shares", decimals=0, widget_step=1000.0, excel_format="#,##0"),
    "count": Unit("count", "count", decimals=0, widget_step=1.0, excel_format="0"),
    "number": Unit("number", "number", decimals=2, widget_step=0.1, excel_format="0.00"),
    "rank": Unit("rank", "1 to 99", decimals=0, widget_step=1.0, excel_format="0"),
    "bool": Unit("bool", "yes/no", decimals=0),
    "text": Unit("text", "text", decimals=0),
    "date": Unit("date", "date", decimals=0, excel_format="yyyy-mm-dd"),
}


@dataclass(frozen=True)
class Field:
    """One catalog entry.

    ``source_keys`` are yfinance ``Ticker.info`` keys tried in order (the first present
    wins) and ``source_scale`` converts Yahoo's unit into ours (``debtToEquity`` comes
    in percent, so 0.01).  ``valid`` bounds the *stored* value: input outside it is
    rejected per cell as garbage rather than published.  ``direction`` is +1 when
    higher is better for a quality-minded investor, -1 when lower is, 0 when neutral;
    charts and percentile tables use it.  ``choices`` lists the allowed values of a
    categorical text field.
    """

    name: str
    label: str
    group: str
    kind: Kind
    unit: str
    help: str
    direction: int = 0
    source_keys: tuple[str, ...] = ()
    source_scale: float = 1.0
    valid: tuple[float | None, float | None] = (None, None)
    choices: tuple[str, ...] = ()
    filterable: bool = True

    @property
    def unit_info(self) -> Unit:
        return UNITS[self.unit]

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("float", "int")

    def to_display(self, value: float) -> float:
        """Stored value -> the number a person reads and types (0.12 -> 12 for percent)."""
        return value * self.unit_info.scale

    def from_display(self, value: float) -> float:
        """The number a person typed -> the stored value (12 -> 0.12 for percent)."""
        return value / self.unit_info.scale

    def format(self, value: Any) -> str:
        """Human text for one stored value; nulls read as an em dash."""
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return "—"
        if self.kind == "bool":
            return "yes" if bool(value) else "no"
        if self.kind in ("str", "date"):
            return str(value)
        if self.unit == "usd_m":
            return format_money(float(value))
        unit = self.unit_info
        shown = float(value) * unit.scale
        sign = "-" if shown < 0 and unit.prefix else ""
        body = f"{abs(shown) if unit.prefix else shown:,.{unit.decimals}f}"
        return f"{sign}{unit.prefix}{body}{unit.suffix}"


def format_money(usd: float) -> str:
    """$950M, $1.2B: market caps read in millions below a billion, billions above."""
    sign = "-" if usd < 0 else ""
    usd = abs(usd)
    if usd >= 1e9:
        return f"{sign}${usd / 1e9:,.2f}B"
    return f"{sign}${usd / 1e6:,.0f}M"


_GROWTH_RANGE = (-100.0, 10_000.0)  # real Yahoo data reaches +2,575 (257,500%)
_MARGIN_RANGE = (-1_000.0, 1_000.0)  # -400 for a pre-revenue biotech; > 100% after one-off gains
_RETURN_RANGE = (-1.0, 1_000.0)

FIELDS: tuple[Field, ...] = (
    # identity ---------------------------------------------------------------
    Field("ticker", "Ticker", "identity", "str", "text", "Yahoo Finance symbol (class shares as MOG-A)."),
    Field("name", "Name", "identity", "str", "text", "Company name.", source_keys=("longName", "shortName")),
    Field("sector", "Sector", "identity", "str", "text",
          "GICS sector as iShares reports it; Yahoo's sector names are mapped onto GICS.",
          source_keys=("sector",)),
    Field("industry", "Industry", "identity", "str", "text", "Industry as Yahoo Finance reports it.",
          source_keys=("industry",)),
    Field("market_cap", "Market cap", "identity", "float", "usd_m", "Market capitalisation in US dollars.",
          source_keys=("marketCap",), valid=(0.0, 5e13)),
    Field("index_weight", "Index weight", "identity", "float", "weight",
          "Weight in the iShares Russell 2000 ETF (IWM) holdings.", valid=(0.0, 1.0)),
    # growth -----------------------------------------------------------------
    Field("earnings_growth", "Earnings growth", "growth", "float", "fraction",
          "Latest quarter's EPS versus the same quarter a year earlier (Yahoo earningsGrowth, "
          "falling back to earningsQuarterlyGrowth).",
          direction=1, source_keys=("earningsGrowth", "earningsQuarterlyGrowth"), valid=_GROWTH_RANGE),
    Field("revenue_growth", "Revenue growth", "growth", "float", "fraction",
          "Latest quarter's revenue versus the same quarter a year earlier (Yahoo revenueGrowth).",
          direction=1, source_keys=("revenueGrowth",), valid=_GROWTH_RANGE),
    # balance sheet ----------------------------------------------------------
    Field("debt_to_equity", "Debt/equity", "balance_sheet", "float", "ratio",
          "Total debt divided by shareholders' equity (Yahoo debtToEquity / 100). "
          "Negative when equity is negative; usually missing for banks.",
          direction=-1, source_keys=("debtToEquity",), source_scale=0.01, valid=(-1_000.0, 1_000.0)),
    Field("current_ratio", "Current ratio", "balance_sheet", "float", "ratio",
          "Current assets divided by current liabilities.",
          direction=1, source_keys=("currentRatio",), valid=(0.0, 1_000.0)),
    # profitability ----------------------------------------------------------
    Field("eps_ttm", "EPS (ttm)", "profitability", "float", "price",
          "Earnings per share over the trailing twelve months.",
          direction=1, source_keys=("trailingEps",), valid=(-1e5, 1e5)),
    Field("is_profitable", "Profitable", "profitability", "bool", "bool",
          "EPS (ttm) > 0; without EPS, profit margin > 0; null when neither is known.", direction=1),
    Field("profit_margin", "Profit margin", "profitability", "float", "fraction",
          "Net income as a share of revenue, trailing twelve months.",
          direction=1, source_keys=("profitMargins",), valid=_MARGIN_RANGE),
    Field("gross_margin", "Gross margin", "profitability", "float", "fraction",
          "Gross profit as a share of revenue.",
          direction=1, source_keys=("grossMargins",), valid=(-1_000.0, 1.0)),
    Field("operating_margin", "Operating margin", "profitability", "float", "fraction",
          "Operating income as a share of revenue.",
          direction=1, source_keys=("operatingMargins",), valid=_MARGIN_RANGE),
    Field("roe", "Return on equity", "profitability", "float", "fraction",
          "Net income divided by shareholders' equity.",
          direction=1, source_keys=("returnOnEquity",), valid=(-100.0, 100.0)),
    Field("roa", "Return on assets", "profitability", "float", "fraction",
          "Net income divided by total assets.",
          direction=1, source_keys=("returnOnAssets",), valid=(-100.0, 100.0)),
    # valuation --------------------------------------------------------------
    Field("pe_trailing", "P/E (ttm)", "valuation", "float", "ratio",
          "Price divided by trailing twelve-month EPS; missing when EPS is negative.",
          direction=-1, source_keys=("trailingPE",), valid=(0.0, 1e6)),
    Field("pe_forward", "P/E (forward)", "valuation", "float", "ratio",
          "Price divided by analysts' next-year EPS estimate.",
          direction=-1, source_keys=("forwardPE",), valid=(-1e6, 1e6)),
    Field("price_to_book", "Price/book", "valuation", "float", "ratio",
          "Price divided by book value per share.",
          direction=-1, source_keys=("priceToBook",), valid=(-1e5, 1e5)),
    Field("dividend_yield", "Dividend yield", "valuation", "float", "fraction",
          "Annual dividend as a share of price (Yahoo dividendYield / 100).",
          direction=1, source_keys=("dividendYield",), source_scale=0.01, valid=(0.0, 5.0)),
    # ownership & insiders ---------------------------------------------------
    Field("insider_pct_held", "Insiders hold", "ownership", "float", "fraction",
          "Share of shares outstanding held by insiders.",
          direction=1, source_keys=("heldPercentInsiders",), valid=(0.0, 1.5)),
    Field("short_pct_float", "Short interest", "ownership", "float", "fraction",
          "Shares sold short as a share of the float.",
          direction=-1, source_keys=("shortPercentOfFloat",), valid=(0.0, 5.0)),
    Field("insider_buys_6m", "Insider buys (6m)", "ownership", "int", "count",
          "Number of insider purchase transactions in the last six months.", direction=1, valid=(0, 1e6)),
    Field("insider_sells_6m", "Insider sells (6m)", "ownership", "int", "count",
          "Number of insider sale transactions in the last six months.", direction=-1, valid=(0, 1e6)),
    Field("insider_net_shares_6m", "Insider net shares (6m)", "ownership", "float", "shares",
          "Shares bought minus shares sold by insiders in the last six months.",
          direction=1, valid=(-1e12, 1e12)),
    Field("insider_net_pct_6m", "Insider net % (6m)", "ownership", "float", "fraction",
          "Net shares bought by insiders as a share of insider holdings, last six months.",
          direction=1, valid=(-100.0, 100.0)),
    Field("insider_buying", "Insider buying", "ownership", "bool", "bool",
          "Insiders were net buyers over six months (net shares > 0).", direction=1),
    # price, trend & strength ------------------------------------------------
    Field("close", "Close", "trend", "float", "price", "Adjusted close of the as-of session.",
          valid=(0.0, 1e7)),
    Field("return_1m", "Return 1m", "trend", "float", "fraction", "Price return over 21 sessions.",
          direction=1, valid=_RETURN_RANGE),
    Field("return_3m", "Return 3m", "trend", "float", "fraction", "Price return over 63 sessions.",
          direction=1, valid=_RETURN_RANGE),
    Field("return_6m", "Return 6m", "trend", "float", "fraction", "Price return over 126 sessions.",
          direction=1, valid=_RETURN_RANGE),
    Field("return_12m", "Return 12m", "trend", "float", "fraction", "Price return over 252 sessions.",
          direction=1, valid=_RETURN_RANGE),
    Field("sma_50", "SMA 50", "trend", "float", "price", "Mean of the last 50 closes, as-of session included.",
          valid=(0.0, 1e7)),
    Field("sma_200", "SMA 200", "trend", "float", "price", "Mean of the last 200 closes, as-of session included.",
          valid=(0.0, 1e7)),
    Field("above_sma_50", "Above SMA 50", "trend", "bool", "bool", "Close is above its 50-day average.",
          direction=1),
    Field("above_sma_200", "Above SMA 200", "trend", "bool", "bool", "Close is above its 200-day average.",
          direction=1),
    Field("high_52w", "52-week high", "trend", "float", "price", "Highest close of the last 252 sessions.",
          valid=(0.0, 1e7)),
    Field("pct_from_52w_high", "From 52-week high", "trend", "float", "fraction",
          "Close relative to the 52-week high (0% = at the high).", direction=1, valid=(-1.0, 0.0)),
    Field("volatility_1y", "Volatility (1y)", "trend", "float", "fraction",
          "Annualised standard deviation of the last 252 daily log returns.", direction=-1, valid=(0.0, 100.0)),
    Field("beta", "Beta", "trend", "float", "number", "Sensitivity to the market as Yahoo reports it.",
          direction=-1, source_keys=("beta",), valid=(-50.0, 50.0)),
    Field("higher_highs_lows", "Higher highs & lows", "trend", "bool", "bool",
          "Over the last 60 sessions in three 20-session windows, both the high and the low rose "
          "from window to window.", direction=1),
    Field("rs_6m", "RS vs IWM (6m)", "trend", "float", "fraction",
          "6-month return minus IWM's 6-month return.", direction=1, valid=(-100.0, 1_000.0)),
    Field("rs_rating", "RS rating", "trend", "int", "rank",
          "Percentile (1-99) of 0.4·r3m + 0.2·r6m + 0.2·r9m + 0.2·r12m across the universe: "
          "1 + 98·(rank − 1)/(n − 1), tied scores share their average rank, halves round up; "
          "needs 252 sessions of history.", direction=1, valid=(1, 99)),
    # volume -----------------------------------------------------------------
    Field("volume", "Volume", "volume", "int", "shares", "Shares traded in the as-of session.",
          valid=(0, 1e13)),
    Field("avg_volume_50d", "Avg volume (50d)", "volume", "float", "shares",
          "Mean volume of the 50 sessions before the as-of session.", valid=(0.0, 1e13)),
    Field("volume_surge", "Volume surge", "volume", "float", "ratio",
          "As-of volume divided by the 50-day average (2× = 200% of average).", direction=1,
          valid=(0.0, 1e6)),
    # quality ----------------------------------------------------------------
    Field("quality_score", "Quality score", "quality", "float", "number",
          "z-score of the mean of the profitability, growth and safety components "
          "(Asness, Frazzini & Pedersen); null with fewer than two components.", direction=1,
          valid=(-50.0, 50.0)),
    Field("quality_bucket", "Quality bucket", "quality", "str", "text",
          "quality = top 30% of the score, junk = bottom 30%, else middle.",
          choices=("quality", "middle", "junk")),
    Field("profitability_z", "Profitability z", "quality", "float", "number",
          "z of the mean z-rank of ROE, ROA, gross margin and profit margin.", direction=1, valid=(-50.0, 50.0)),
    Field("growth_z", "Growth z", "quality", "float", "number",
          "z of the mean z-rank of earnings growth and revenue growth.", direction=1, valid=(-50.0, 50.0)),
    Field("safety_z", "Safety z", "quality", "float", "number",
          "z of the mean z-rank of −debt/equity, −beta and −volatility; negative equity ranks as the "
          "most indebted.", direction=1, valid=(-50.0, 50.0)),
    # bookkeeping ------------------------------------------------------------
    Field("as_of", "As of", "bookkeeping", "date", "date", "Date of the last price session used."),
    Field("fundamentals_as_of", "Fundamentals as of", "bookkeeping", "date", "date",
          "When this ticker's fundamentals were fetched."),
    Field("stale", "Stale", "bookkeeping", "bool", "bool",
          "The last refresh failed; fundamentals are the last good values."),
)

FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)

#: Fundamental fields filled from a yfinance ``Ticker.info`` dict (or a file with its keys).
INFO_FIELDS: tuple[Field, ...] = tuple(f for f in FIELDS if f.source_keys)

#: Insider fields filled from ``Ticker.insider_purchases`` (or equivalent columns in a file).
INSIDER_FIELDS: tuple[str, ...] = (
    "insider_buys_6m", "insider_sells_6m", "insider_net_shares_6m", "insider_net_pct_6m",
)

_ARROW_TYPES: dict[str, pa.DataType] = {
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "str": pa.string(),
    "date": pa.date32(),
}


def field(name: str) -> Field:
    """The catalog entry for ``name``; a KeyError names the unknown field."""
    try:
        return FIELD_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown field {name!r}; see screener.fields.FIELDS") from None


def fields_in_group(group: str) -> tuple[Field, ...]:
    return tuple(f for f in FIELDS if f.group == group)


def stocks_schema() -> pa.Schema:
    """The exact Arrow schema of ``stocks.parquet``, in catalog order."""
    return pa.schema([pa.field(f.name, _ARROW_TYPES[f.kind], nullable=f.name != "ticker") for f in FIELDS])


#: Columns of ``prices.parquet`` (long format, one row per ticker and session).
PRICES_SCHEMA: pa.Schema = pa.schema([
    pa.field("date", pa.date32(), nullable=False),
    pa.field("ticker", pa.string(), nullable=False),
    pa.field("open", pa.float64()),
    pa.field("high", pa.float64()),
    pa.field("low", pa.float64()),
    pa.field("close", pa.float64(), nullable=False),
    pa.field("volume", pa.int64()),
])

#: Benchmarks every prices panel must contain: IWM for relative strength, SPY for the ratio.
BENCHMARKS: tuple[str, ...] = ("IWM", "SPY")


def catalog_markdown() -> str:
    """The field catalog as a Markdown table, grouped; the README embeds exactly this text.

    ``tests/test_fields.py`` fails when the README's copy drifts, so the documentation
    cannot disagree with the code.  Regenerate with ``python -m screener fields``.
    """
    lines = ["| group | field | label | unit | definition |", "|---|---|---|---|---|"]
    for group, group_label in GROUPS.items():
        for spec in fields_in_group(group):
            definition = spec.help.replace("|", "\\|")
            lines.append(f"| {group_label} | `{spec.name}` | {spec.label} | {spec.unit_info.word} | {definition} |")
    return "\n".join(lines)

"""The iShares holdings parser and Yahoo symbol rule, on hand-made files and on the three real downloads."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from pathlib import Path

import pytest

from screener.holdings import HOLDINGS_COLUMNS, parse_holdings, yahoo_symbol
from screener.sources.base import SourceError
from tests.support.realdata import realdata_path

HEADER = ("Ticker,Name,Sector,Asset Class,Market Value,Weight (%),Notional Value,Quantity,Price,Location,"
          "Exchange,Currency,FX Rate,Market Currency,Accrual Date")
NYSE = "New York Stock Exchange Inc."


def ishares_line(ticker: str, name: str, weight: str, price: str = "10.00", exchange: str = "NASDAQ",
                 asset_class: str = "Equity", sector: str = "Industrials", value: str = "1,234,567.50") -> str:
    cells = [ticker, name, sector, asset_class, value, weight, value, "1,000.00", price, "United States",
             exchange, "USD", "1.00", "USD", "-"]
    return ",".join(f'"{cell}"' for cell in cells)


def ishares_file(*data_lines: str) -> bytes:
    """An iShares download as published: BOM, 9 preamble lines, header, data, NBSP line, disclaimer."""
    preamble = ["iShares Russell 2000 ETF", 'Fund Holdings as of,"May 13, 2025"', 'Inception Date,"May 22, 2000"',
                'Shares Outstanding,"303,600,000.00"', 'Stock,"-"', 'Bond,"-"', 'Cash,"-"', 'Other,"-"', "\xa0"]
    footer = ["\xa0", '"The content contained herein is owned or licensed by BlackRock, "quoted" here,',
              "Holdings subject to change.", 'All other trademarks are those of their respective owners."']
    return "\ufeff".encode() + "\n".join([*preamble, HEADER, *data_lines, *footer]).encode("utf-8")


HAND_MADE = ishares_file(
    ishares_line("BE", "BLOOM ENERGY CLASS A CORP", "1.04", exchange=NYSE),
    ishares_line("RUSHA", "RUSH ENTERPRISES INC CLASS A", "0.20"),
    ishares_line("MOGA", "MOOG INC CLASS A", "0.21", exchange=NYSE),
    ishares_line("ZETA", "ZETA GLOBAL HOLDINGS CORP CLASS A", "0.15", exchange=NYSE),
    ishares_line("XTSLA", "BLK CSH FND TREASURY SL AGENCY", "0.20", exchange="-", asset_class="Money Market",
                 sector="Cash and/or Derivatives"),
    ishares_line("RTYM5", "RUSSELL 2000 EMINI CME JUN 25", "0.00", exchange="Chicago Mercantile Exchange",
                 asset_class="Futures", sector="Cash and/or Derivatives"),
    ishares_line("-", "PULSE BIOSCIENCE INC WARRANTS", "0.00", exchange="NO MARKET (E.G. UNLISTED)"),
    ishares_line("INH", "INHIBRX INC CVR", "0.00", exchange="NO MARKET (E.G. UNLISTED)"),
    ishares_line("GTXI", "GTXI INC - CVR", "0.00"),
    ishares_line("CVI", "CVR ENERGY INC", "0.03", exchange=NYSE),
    ishares_line("PDLI", "PDL BIOPHARMA INC", "0.00", price="0.00", value="0.12"),
    ishares_line("BE", "BLOOM ENERGY CLASS A CORP", "0.01", exchange=NYSE),
    ishares_line("HL", "HECLA MINING", "-", value="-"),
)


# --- yahoo_symbol ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "name", "exchange", "expected"), [
    ("MOGA", "MOOG INC CLASS A", NYSE, "MOG-A"),
    ("GEFB", "GREIF INC CLASS B", NYSE, "GEF-B"),
    ("CRDA", "CRAWFORD CLASS A", NYSE, "CRD-A"),
    ("GEF", "GREIF INC CLASS A", NYSE, "GEF"),            # class A of Greif has no suffix
    ("ZETA", "ZETA GLOBAL HOLDINGS CORP CLASS A", NYSE, "ZETA"),  # single-class issuer ending in A
    ("VIA", "VIA TRANSPORTATION INC CLASS A", NYSE, "VIA"),
    ("MOGA", "MOOG INC", NYSE, "MOGA"),                 # the name does not say which class
    ("MOGA", "MOOG INC CLASS A", "NASDAQ", "MOGA"),      # Nasdaq never uses a suffix
    ("RUSHA", "RUSH ENTERPRISES INC CLASS A", "NASDAQ", "RUSHA"),
    ("BELFB", "BEL FUSE INC CLASS B", "NASDAQ", "BELFB"),
    ("BRK.B", "", "", "BRK-B"),
    ("bf/b", "", "", "BF-B"),
    (" brk b ", "", "", "BRK-B"),
    ("^RUT", "", "", "^RUT"),
    ("IWM", "", "", "IWM"),
])
def test_yahoo_symbol(raw, name, exchange, expected):
    assert yahoo_symbol(raw, name, exchange) == expected


# --- hand-made iShares file -----------------------------------------------------------------------

def test_ishares_file_keeps_listed_equities_in_file_order():
    frame = parse_holdings(HAND_MADE, name="hand.csv")
    assert list(frame.columns) == list(HOLDINGS_COLUMNS)
    assert frame["ticker"].tolist() == ["BE", "RUSHA", "MOG-A", "ZETA", "CVI", "HL"]
    assert frame["raw_ticker"].tolist() == ["BE", "RUSHA", "MOGA", "ZETA", "CVI", "HL"]
    assert frame.attrs["as_of"] == dt.date(2025, 5, 13)
    assert frame.attrs["format"] == "ishares"


def test_ishares_weights_are_fractions_and_dash_is_null():
    frame = parse_holdings(HAND_MADE).set_index("ticker")
    assert frame.loc["BE", "index_weight"] == pytest.approx(0.0104)
    assert frame.loc["MOG-A", "index_weight"] == pytest.approx(0.0021)
    assert frame.loc["BE", "market_value"] == pytest.approx(1_234_567.50)
    assert frame["index_weight"].isna().tolist() == [False, False, False, False, False, True]
    assert frame["market_value"].isna().sum() == 1
    assert frame.loc["BE", "sector"] == "Industrials"
    assert frame.loc["BE", "exchange"] == NYSE


def test_ishares_dropped_rows_are_reported_by_reason():
    dropped = parse_holdings(HAND_MADE).attrs["dropped"]
    assert dropped == {
        "not an equity (cash, futures, money market)": ["XTSLA", "RTYM5"],
        "no ticker": ["PULSE BIOSCIENCE INC WARRANTS"],
        "no exchange listing": ["INH"],
        "placeholder (CVR, escrow, warrant, private placement)": ["GTXI"],
        "zero price (delisted or worthless)": ["PDLI"],
        "duplicate ticker (first row kept)": ["BE"],
    }
    # the first BE row (weight 1.04) is the one kept
    frame = parse_holdings(HAND_MADE)
    assert frame.loc[frame["ticker"] == "BE", "index_weight"].tolist() == [pytest.approx(0.0104)]


def test_gzip_bytes_path_and_text_give_the_same_frame(tmp_path):
    from_bytes = parse_holdings(HAND_MADE)
    path = tmp_path / "renamed-download.txt"  # the name says nothing: content decides
    path.write_bytes(gzip.compress(HAND_MADE))
    from_path = parse_holdings(path)
    from_text = parse_holdings(HAND_MADE.decode("utf-8-sig"))
    for other in (from_path, from_text):
        assert other.equals(from_bytes)
    assert from_path.attrs["source"] == str(path)


def test_malformed_ishares_line_names_its_line_number():
    bad = ishares_file(ishares_line("BE", "BLOOM", "1.04"), '"CRDO","CREDO","Information Technology"')
    with pytest.raises(SourceError) as error:
        parse_holdings(bad, name="bad.csv")
    # 9 preamble lines + header = line 10; BE is line 11, the short line is 12
    assert "bad.csv line 12" in str(error.value)
    assert "expected 15 fields" in str(error.value)


def test_text_in_a_weight_names_line_and_column():
    bad = ishares_file(ishares_line("BE", "BLOOM", "1.04"), ishares_line("HL", "HECLA", "abc"))
    with pytest.raises(SourceError, match=r"bad\.csv line 12, column Weight \(%\): 'abc' is not a number"):
        parse_holdings(bad, name="bad.csv")


# --- plain ticker lists ---------------------------------------------------------------------------

def test_ticker_list_with_optional_columns():
    text = ("Symbol,Name,Sector,Weight (%)\nbrk.b,Berkshire,Financials,1.5\n AAPL ,Apple,,0.5\n"
            ",blank,,\nAAPL,Apple again,,0.1\n")
    frame = parse_holdings(text.encode(), name="mine.csv")
    assert frame["ticker"].tolist() == ["BRK-B", "AAPL"]
    assert frame["index_weight"].tolist() == [pytest.approx(0.015), pytest.approx(0.005)]
    assert frame["sector"].isna().tolist() == [False, True]
    assert frame.attrs == {"as_of": None, "format": "ticker_list", "source": "mine.csv",
                           "dropped": {"no ticker": ["line 4"], "duplicate ticker (first row kept)": ["AAPL"]}}


def test_ticker_only_semicolon_list_and_fraction_weights():
    frame = parse_holdings(b"ticker;index_weight\nAAA;0.25\nBBB;0.75\n")
    assert frame["ticker"].tolist() == ["AAA", "BBB"]
    assert frame["index_weight"].sum() == pytest.approx(1.0)
    single = parse_holdings(b"TICKER\nxyz\n")
    assert single["ticker"].tolist() == ["XYZ"]
    assert single["index_weight"].isna().all()


def test_weight_out_of_range_names_the_line():
    with pytest.raises(SourceError, match=r"w\.csv line 3, column index_weight: '1\.5'"):
        parse_holdings(b"ticker,index_weight\nAAA,0.2\nBBB,1.5\n", name="w.csv")


@pytest.mark.parametrize("content", [
    b"date,close\n2024-01-02,10\n",
    b"",
    b"just some text without structure",
    "Fund Holdings as of,\"May 13, 2025\"\nName,Weight\nX,1\n".encode(),
])
def test_neither_format_raises_naming_the_file_and_what_was_expected(content):
    with pytest.raises(SourceError) as error:
        parse_holdings(content, name="what.csv")
    message = str(error.value)
    assert message.startswith("what.csv: not a holdings file")
    assert "iShares" in message and "'ticker' column" in message


def test_missing_file_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="nope.csv"):
        parse_holdings(tmp_path / "nope.csv")


# --- the three real iShares downloads -------------------------------------------------------------

def real_file(as_of: str) -> Path:
    return realdata_path(f"iwm_holdings_raw/IWM_holdings_{as_of}.csv.gz")


def equity_rows_by_csv_module(path: Path) -> list[dict[str, str]]:
    """An independent reading: skip to the header, stop at the NBSP line, keep Asset Class Equity."""
    lines = gzip.decompress(path.read_bytes()).decode("utf-8-sig").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Ticker,Name,"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == "\xa0")
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[start:end]))))
    return [row for row in rows if row["Asset Class"] == "Equity"]


#: Equity rows each real file lists that are not listed stocks, read off the files by eye
#: (raw ticker, or the name when the ticker is "-").
DROPPED_BY_EYE = {
    "2025-05-13": sorted(["ADRO", "ADRO", "INH", "SCILEX HOLDING Prvt", "PULSE BIOSCIENCE INC WARRANTS",
                          "NEXPOINT STRATEGIC CASH ACCRUAL", "WLLBW", "GTXI", "PDLI", "P5N994", "SBT",
                          "OMNIAB INC $15.00 VESTING Prvt", "OMNIAB INC $12.50 VESTING Prvt"]),
    "2025-11-05": sorted(["INH", "ADRO", "ADRO", "PULSE BIOSCIENCE INC WARRANTS", "PDLI", "GTXI", "P5N994",
                          "SBT", "OMNIAB INC $15.00 VESTING Prvt", "OMNIAB INC $12.50 VESTING Prvt"]),
    "2026-01-21": sorted(["INH", "AKE", "ADRO", "ADRO", "PDLI", "GTXI", "P5N994", "SBT",
                          "OMNIAB INC $12.50 VESTING Prvt", "OMNIAB INC $15.00 VESTING Prvt",
                          "PULSE BIOSCIENCE INC WARRANTS"]),
}


@pytest.mark.parametrize("as_of", sorted(DROPPED_BY_EYE))
def test_real_holdings_rows_weights_and_date(as_of):
    path = real_file(as_of)
    frame = parse_holdings(path)
    equities = equity_rows_by_csv_module(path)

    assert frame.attrs["as_of"] == dt.date.fromisoformat(as_of)
    assert 1_900 <= len(frame) <= 2_000
    assert frame["ticker"].is_unique
    assert len(frame) == len(equities) - len(DROPPED_BY_EYE[as_of])
    dropped = sorted(item for items in frame.attrs["dropped"].values() for item in items
                     if not item.startswith(("XTSLA", "USD", "MSFUT", "CAD", "RTY")))
    assert dropped == DROPPED_BY_EYE[as_of]

    # every kept row carries exactly its own line's weight, and the total matches the csv module's
    weight_by_raw = {row["Ticker"]: float(row["Weight (%)"]) / 100 for row in equities}
    for raw, weight in zip(frame["raw_ticker"], frame["index_weight"]):
        assert weight == pytest.approx(weight_by_raw[raw])
    kept_total = sum(weight_by_raw[raw] for raw in frame["raw_ticker"])
    all_equities = sum(float(row["Weight (%)"]) for row in equities) / 100
    assert frame["index_weight"].sum() == pytest.approx(kept_total)
    assert frame["index_weight"].sum() == pytest.approx(all_equities, abs=1e-9)  # dropped rows weigh 0.00
    assert 0.99 < frame["index_weight"].sum() <= 1.0


#: Every ticker the symbol rule changes in the three real files, checked by hand against
#: Yahoo's spelling (Moog class A, Greif class B, Crawford & Co class A).
CHANGED_BY_EYE = {"MOGA": "MOG-A", "GEFB": "GEF-B", "CRDA": "CRD-A"}

#: NYSE "CLASS A" names whose ticker ends in A but that Yahoo lists as written: the
#: naive rule (NYSE + CLASS X + last letter X) would break all of them.
NYSE_CLASS_LOOKALIKES = {"ACVA", "CBNA", "CIA", "IBTA", "VIA", "ZETA", "ZVIA"}


@pytest.mark.parametrize("as_of", sorted(DROPPED_BY_EYE))
def test_real_holdings_symbol_changes_are_exactly_the_known_class_shares(as_of):
    frame = parse_holdings(real_file(as_of))
    changed = frame[frame["ticker"] != frame["raw_ticker"]]
    assert dict(zip(changed["raw_ticker"], changed["ticker"])) == CHANGED_BY_EYE
    kept_as_written = set(frame["raw_ticker"]) & NYSE_CLASS_LOOKALIKES
    assert kept_as_written  # the look-alikes really are in the files
    assert set(frame.loc[frame["raw_ticker"].isin(kept_as_written), "ticker"]) == kept_as_written
    nasdaq_five = frame[(frame["exchange"] == "NASDAQ") & (frame["raw_ticker"].str.len() == 5)]
    assert len(nasdaq_five) >= 10
    assert (nasdaq_five["ticker"] == nasdaq_five["raw_ticker"]).all()

"""``python -m screener screen`` and ``presets list``: the same screens as the app, for scripts."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from screener.cli import main

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def stocks(demo_data_dir) -> pd.DataFrame:
    return pd.read_parquet(next((demo_data_dir / "snapshots").glob("date=*/stocks.parquet")))


def test_url_screen_matches_pandas_and_writes_csv(demo_data_dir, stocks, tmp_path, capsys):
    out = tmp_path / "result.csv"
    code = main(["screen", "--data-dir", str(demo_data_dir), "--out", str(out),
                 "--url", "https://example.org/Screener?f=revenue_growth:gt:0.1&f=debt_to_equity:lt:1"
                          "&f=sector:in:Financials|Energy&limit=5000"])
    assert code == 0
    expected = stocks[(stocks.revenue_growth > 0.1) & (stocks.debt_to_equity < 1)
                      & stocks.sector.isin(["Financials", "Energy"])]
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sorted(r["ticker"] for r in rows) == sorted(expected.ticker)
    assert f"{len(expected)} of {len(stocks)} stocks match" in capsys.readouterr().out


def test_bad_url_parts_are_dropped_with_a_warning(demo_data_dir, stocks, capsys):
    code = main(["screen", "--data-dir", str(demo_data_dir),
                 "--url", "f=bogus:gt:1&f=roe:gt:0.2;DROP TABLE stocks&f=roe:gt:0.15"])
    captured = capsys.readouterr()
    assert code == 0
    assert "unknown field 'bogus'" in captured.err and "DROP TABLE" in captured.err
    assert f"{int((stocks.roe > 0.15).sum())} of {len(stocks)} stocks match" in captured.out


@pytest.mark.parametrize("suffix", ["xlsx", "parquet"])
def test_preset_screen_writes_typed_files(demo_data_dir, stocks, tmp_path, suffix):
    out = tmp_path / f"compounders.{suffix}"
    assert main(["screen", "--data-dir", str(demo_data_dir), "--preset", "quality-compounders",
                 "--out", str(out)]) == 0
    expected = stocks[(stocks.quality_bucket == "quality") & (stocks.is_profitable == True)  # noqa: E712
                      & (stocks.roe > 0.15) & (stocks.debt_to_equity < 0.5) & (stocks.revenue_growth > 0.05)
                      & (stocks.above_sma_200 == True)]  # noqa: E712
    if suffix == "parquet":
        table = pq.read_table(out)
        assert sorted(table.column("ticker").to_pylist()) == sorted(expected.ticker)
        assert str(table.schema.field("roe").type) == "double"
    else:
        sheet = openpyxl.load_workbook(out).active
        assert sheet.max_row - 1 == len(expected)


def test_unknown_preset_and_missing_snapshot_fail_clearly(demo_data_dir, tmp_path, capsys):
    assert main(["screen", "--data-dir", str(demo_data_dir), "--preset", "../../etc/passwd"]) == 1
    assert "error" in capsys.readouterr().err
    assert main(["screen", "--data-dir", str(tmp_path), "--preset", "quality-breakout"]) == 1
    assert "no snapshot" in capsys.readouterr().err
    assert main(["screen", "--data-dir", str(demo_data_dir), "--preset", "quality-breakout",
                 "--out", str(tmp_path / "x.exe")]) == 1


def test_presets_list_shows_builtins_with_english(tmp_path):
    result = subprocess.run([sys.executable, "-m", "screener", "presets", "list", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert "quality-breakout  [built-in]  Quality small-cap breakout" in result.stdout
    assert "debt/equity < 1×" in result.stdout


def test_backfill_is_for_the_demo_market_only(tmp_path, capsys):
    assert main(["nightly", "--source", "files", "--backfill-weeks", "2", "--data-dir", str(tmp_path)]) == 1
    assert "--backfill-weeks rebuilds past evenings of the demo market" in capsys.readouterr().err
    assert not (tmp_path / "snapshots").exists()
    for bad in ("-1", "105", "two"):
        with pytest.raises(SystemExit):
            main(["nightly", "--source", "demo", "--backfill-weeks", bad, "--data-dir", str(tmp_path)])

"""Command line: ``python -m screener nightly|screen|presets ...``.

Only argument parsing and printing live here; each command calls one function of the
module that owns the work, so scripts and the app share the same code paths.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Sequence

from screener import store
from screener.nightly import NightlyOptions, run_nightly


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1 (0.1 = 10%)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m screener", description="Russell 2000 small-cap screener")
    commands = parser.add_subparsers(dest="command", required=True)

    nightly = commands.add_parser("nightly", help="fetch, compute and publish one dated snapshot",
                                  description="Fetch the universe, prices and fundamentals, compute every "
                                              "signal and the quality score, and publish "
                                              "data/snapshots/date=YYYY-MM-DD/ atomically.")
    nightly.add_argument("--source", choices=("yahoo", "demo", "files"), default="yahoo",
                         help="yahoo (live, needs internet), demo (synthetic market, offline) or files "
                              "(your own CSV/Parquet); default: yahoo")
    nightly.add_argument("--as-of", type=_date, help="last session to use (YYYY-MM-DD); default: latest")
    nightly.add_argument("--data-dir", type=Path, default=None,
                         help="data folder (default: $SCREENER_DATA_DIR, else data/ in the repo)")
    nightly.add_argument("--max-loss", type=_share, default=0.10,
                         help="fail instead of publishing when more than this share of the universe has no "
                              "usable data (default 0.10)")
    nightly.add_argument("--keep-prices", type=int, default=store.DEFAULT_KEEP_PRICES,
                         help="newest snapshots that keep prices.parquet (default 5)")
    files = nightly.add_argument_group("files source")
    files.add_argument("--universe", type=Path,
                       help="iShares IWM holdings CSV as published, or any CSV with a ticker column "
                            "(yahoo: overrides the download)")
    files.add_argument("--prices", type=Path, help="CSV/Parquet with date,ticker,close,volume (+open,high,low); "
                                                   "must include IWM and SPY")
    files.add_argument("--fundamentals", type=Path,
                       help="CSV/Parquet with ticker (or symbol) and yfinance Ticker.info key columns")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "nightly":
        options = NightlyOptions(source=args.source, as_of=args.as_of,
                                 data_dir=args.data_dir or store.default_data_dir(),
                                 max_loss=args.max_loss, keep_prices=args.keep_prices,
                                 universe=args.universe, prices=args.prices, fundamentals=args.fundamentals)
        return run_nightly(options).exit_code
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())

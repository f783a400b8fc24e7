"""Command line: ``python -m screener nightly|screen|presets ...``.

Only argument parsing and printing live here; each command calls one function of the
module that owns the work, so scripts and the app share the same code paths.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from screener import store
from screener.db import SnapshotDB, run_screen
from screener.export import EXPORT_FORMATS, export_bytes
from screener.fields import catalog_markdown
from screener.nightly import NightlyOptions, run_nightly
from screener.presets import PresetError, PresetStore
from screener.screen import Screen, from_query, to_english, to_query
from screener.sources.base import SourceError
from screener.sources.yahoo import YahooOptions, plan_yahoo


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


def _weeks(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= 104:
        raise argparse.ArgumentTypeError("must be between 0 and 104 (two years of weekly snapshots)")
    return value


def _tickers(text: str) -> tuple[str, ...]:
    tickers = tuple(t.strip().upper() for t in text.split(",") if t.strip())
    if not tickers:
        raise argparse.ArgumentTypeError("give tickers separated by commas, e.g. AAPL,MOG-A")
    return tickers


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
    demo = nightly.add_argument_group("demo source")
    demo.add_argument("--backfill-weeks", type=_weeks, default=0, metavar="N",
                      help="first publish a demo snapshot for each of the N weeks before --as-of, the "
                           "history point-in-time baskets need (about 2 s each)")
    files = nightly.add_argument_group("files source")
    files.add_argument("--universe", type=Path,
                       help="iShares IWM holdings CSV as published, or any CSV with a ticker column "
                            "(yahoo: overrides the download)")
    files.add_argument("--prices", type=Path, help="CSV/Parquet with date,ticker,close,volume (+open,high,low); "
                                                   "must include IWM and SPY")
    files.add_argument("--fundamentals", type=Path,
                       help="CSV/Parquet with ticker (or symbol) and yfinance Ticker.info key columns")
    yahoo = nightly.add_argument_group("yahoo source")
    yahoo.add_argument("--tickers", type=_tickers, help="only these tickers, e.g. AAPL,MOG-A (a quick partial run)")
    yahoo.add_argument("--max-age-days", type=float, default=YahooOptions.max_age_days,
                       help="refresh fundamentals older than this many days (default 7; 0 = all)")
    yahoo.add_argument("--rate", type=float, default=YahooOptions.rate,
                       help=f"requests per second to Yahoo (default {YahooOptions.rate:g})")
    yahoo.add_argument("--workers", type=int, default=YahooOptions.workers,
                       help=f"concurrent requests at most (default {YahooOptions.workers})")
    yahoo.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                       help="continue tonight's interrupted run from its checkpoint (default: yes)")
    yahoo.add_argument("--dry-run", action="store_true",
                       help="print the plan and the request estimate; fetch and publish nothing")

    screen = commands.add_parser("screen", help="run a screen on the latest snapshot (for scripts and cron)",
                                 description="Run a preset or a shared screen URL against the newest good "
                                             "snapshot; print the result or write it to a file.")
    which = screen.add_mutually_exclusive_group(required=True)
    which.add_argument("--preset", help="preset slug or name (see `presets list`)")
    which.add_argument("--url", help="a shared screen link or just its query string, e.g. "
                                     "'f=revenue_growth:gt:0.1&f=debt_to_equity:lt:1&sort=-rs_rating'")
    screen.add_argument("--out", type=Path, help="write the result to FILE.csv, FILE.xlsx or FILE.parquet")
    screen.add_argument("--data-dir", type=Path, default=None, help="data folder (default as for nightly)")

    presets = commands.add_parser("presets", help="built-in and saved screen presets")
    presets_commands = presets.add_subparsers(dest="presets_command", required=True)
    listing = presets_commands.add_parser("list", help="list presets with their description")
    listing.add_argument("--data-dir", type=Path, default=None, help="data folder (default as for nightly)")

    commands.add_parser("fields", help="print the field catalog as a Markdown table (as in the README)")
    return parser


def _screen_from_args(args: argparse.Namespace, data_dir: Path) -> tuple[Screen, str]:
    """The Screen to run and a name for it; notes about dropped URL parts go to stderr."""
    if args.preset:
        preset = PresetStore(data_dir).get(args.preset)
        return preset.screen_with_slug(), preset.name
    query = args.url.split("?", 1)[1] if "?" in args.url else args.url
    screen, notes = from_query(query)
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    return screen, screen.preset or "Screen"


def run_nightly_command(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or store.default_data_dir()
    yahoo = YahooOptions(tickers=args.tickers, max_age_days=args.max_age_days, rate=args.rate,
                         workers=args.workers, resume=args.resume, universe=args.universe)
    if args.dry_run:
        if args.source != "yahoo":
            print("error: --dry-run plans a Yahoo night; the demo and files sources need no plan", file=sys.stderr)
            return 1
        try:
            print(plan_yahoo(as_of=args.as_of, data_dir=data_dir, options=yahoo).summary())
        except SourceError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    options = NightlyOptions(source=args.source, as_of=args.as_of, data_dir=data_dir,
                             max_loss=args.max_loss, keep_prices=args.keep_prices,
                             universe=args.universe, prices=args.prices, fundamentals=args.fundamentals,
                             source_options={"options": yahoo} if args.source == "yahoo" else {})
    if args.backfill_weeks:
        if args.source != "demo":
            print("error: --backfill-weeks rebuilds past evenings of the demo market; real sources cannot "
                  "fetch past fundamentals", file=sys.stderr)
            return 1
        anchor = args.as_of or dt.date.today()
        for weeks_back in range(args.backfill_weeks, 0, -1):
            code = run_nightly(replace(options, as_of=anchor - dt.timedelta(weeks=weeks_back))).exit_code
            if code:
                return code
    return run_nightly(options).exit_code


def run_screen_command(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or store.default_data_dir()
    if args.out is not None and args.out.suffix.lstrip(".") not in EXPORT_FORMATS:
        print(f"error: --out must end in {', '.join('.' + e for e in EXPORT_FORMATS)}", file=sys.stderr)
        return 1
    snapshot, skipped = store.latest_snapshot(data_dir)
    for item in skipped:
        print(f"warning: skipped damaged snapshot {item.path.name}: {item.reason}", file=sys.stderr)
    if snapshot is None:
        print(f"error: no snapshot in {data_dir}; run `python -m screener nightly` first", file=sys.stderr)
        return 1
    try:
        screen, name = _screen_from_args(args, data_dir)
    except PresetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with SnapshotDB(snapshot) as db:
        result = run_screen(db, screen)
    demo = " (DEMO market: synthetic data)" if snapshot.is_demo else ""
    print(f"{name}: {to_english(screen)}")
    print(f"snapshot {snapshot.date:%Y-%m-%d}{demo}: {result.count} of {result.funnel.total} stocks match")
    if screen.filters:
        print(result.funnel.to_frame().to_string(index=False))
    if args.out is None:
        print(result.frame.to_string(index=False) if len(result.frame) else "(no rows)")
    else:
        args.out.write_bytes(export_bytes(result.frame, args.out.suffix.lstrip("."), sheet_name=name))
        print(f"wrote {len(result.frame)} rows to {args.out}")
    print(f"link: ?{to_query(screen)}")
    return 0


def run_presets_list(args: argparse.Namespace) -> int:
    listing = PresetStore(args.data_dir or store.default_data_dir()).list_presets()
    for preset in listing.presets:
        kind = "built-in" if preset.builtin else "saved"
        print(f"{preset.slug}  [{kind}]  {preset.name}")
        if preset.description:
            print(f"    {preset.description}")
        print(f"    {to_english(preset.screen)}")
    for broken in listing.broken:
        print(f"{broken.path.name}  [broken]  {broken.reason}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "nightly":
        return run_nightly_command(args)
    if args.command == "screen":
        return run_screen_command(args)
    if args.command == "presets":
        return run_presets_list(args)
    if args.command == "fields":
        print(catalog_markdown())
        return 0
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())

"""Server-side render time of the Overview, Quality vs Junk, Stock and Data pages on the demo snapshot.

Publishes the demo market (2,000 tickers, two years of prices) into a temp folder, then
for each page drives Streamlit's AppTest:

- "cold": the page's first run after every ``st.cache_data`` / ``st.cache_resource`` is
  cleared, so it pays for opening the snapshot, reading ~1M price rows and the market
  computations (what the first visitor after a nightly run waits for);
- "warm": the median of ``--reruns`` reruns of the same page (a widget change or a
  second visitor), everything served from the per-snapshot caches.

Times are script execution in milliseconds, measured around ``AppTest.run()``; the
browser adds its own rendering on top.  Run from the repo root::

    .venv/bin/python benchmarks/bench_market_pages.py [--reruns 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from benchmarks.common import AS_OF, publish_demo, timed_run  # noqa: E402
from screener import store  # noqa: E402


def measure(page: str | None, params: dict[str, str], reruns: int) -> tuple[float, float]:
    """(cold ms, median warm ms) for one page (None: the Overview, app.py itself)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()  # pages are reachable only after the main script has run once
    st.cache_data.clear()
    st.cache_resource.clear()
    if page is not None:
        at.switch_page(page)
    for key, value in params.items():
        at.query_params[key] = value
    cold = timed_run(at)
    warm = statistics.median(timed_run(at) for _ in range(reruns))
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=5, help="warm reruns per page (median reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        publish_demo(data_dir)
        os.environ["SCREENER_DATA_DIR"] = str(data_dir)
        snapshot, _ = store.latest_snapshot(data_dir)
        ticker = str(pd.read_parquet(snapshot.stocks_path, columns=["ticker"])["ticker"].iloc[0])
        pages = [("Overview", None, {}), ("Quality vs Junk", "pages/2_Quality_vs_Junk.py", {}),
                 ("Stock", "pages/3_Stock.py", {"ticker": ticker}), ("Data", "pages/5_Data.py", {})]
        print(f"demo snapshot {AS_OF}, 2,000 tickers; script time per page in ms (warm = median of {args.reruns})")
        print(f"{'page':<18}{'cold':>10}{'warm':>10}")
        for label, page, params in pages:
            cold, warm = measure(page, params, args.reruns)
            print(f"{label:<18}{cold:>10.0f}{warm:>10.0f}")


if __name__ == "__main__":
    main()

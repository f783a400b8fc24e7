"""Server-side rerun time of the Screener (and Presets) page after a widget change, 2,000 tickers.

Target (issue): a filter change reruns the Screener page in under 150 ms server-side.

Publishes the demo market (2,000 tickers) into a temp folder (or uses ``--data-dir``),
opens the Screener with Streamlit's AppTest and times ``AppTest.run()`` right after a
widget change, for several kinds of change.  That is the whole server-side rerun: the
widget callback, the script (``page_setup``, preset listing, widgets, the DuckDB query
for rows + count + funnel, the results table's Arrow serialisation) and AppTest's
in-process message handling; the browser's own rendering comes on top.  Each scenario
alternates between two states so every timed run really changes the screen (the
"counts" column lists the match counts seen, as proof).  Prints p50 / p95 / max in
milliseconds.  Run from the repo root::

    .venv/bin/python benchmarks/bench_app.py [--reruns 40] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from benchmarks.common import publish_demo, timed_run  # noqa: E402
from screener.fields import FIELD_NAMES  # noqa: E402

SCREENER = "pages/1_Screener.py"


def headline(at: AppTest) -> str:
    return next((h.value.split(" of ")[0] for h in at.subheader if "stocks match" in h.value), "?")


def open_page(page: str, params: dict[str, str | list[str]]) -> tuple[AppTest, float]:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(page)
    at.query_params.update(params)
    return at, timed_run(at)


def _edit_threshold(at: AppTest, step: int) -> None:
    editor = next(n for n in at.number_input if n.key.startswith("scr.row.") and n.value in (15.0, 20.0))
    editor.set_value(20.0 if step % 2 == 0 else 15.0)


def _pick_sector(at: AppTest, step: int) -> None:
    at.multiselect(key="scr.pick.sector").set_value(["Energy", "Industrials"] if step % 2 == 0 else [])


def _add_or_remove(at: AppTest, step: int) -> None:
    if step % 2 == 0:
        at.number_input(key="scr.add.value.earnings_growth.gt.v").set_value(10.0)
        at.button(key="scr.add.go").click()
    else:
        removes = [b for b in at.button if b.key and b.key.startswith("scr.row.") and b.key.endswith(".rm")]
        removes[-1].click()


def _switch_preset(at: AppTest, step: int) -> None:
    at.selectbox(key="scr.preset").set_value("insider-momentum" if step % 2 == 0 else "quality-compounders")


def _sort(at: AppTest, step: int) -> None:
    at.toggle(key="scr.sort.desc").set_value(step % 2 == 1)


SCENARIOS: dict[str, tuple[dict[str, str | list[str]], Callable[[AppTest, int], None]]] = {
    "edit a threshold (ROE 15% <-> 20%)": ({"preset": "quality-compounders"}, _edit_threshold),
    "pick sectors (2 <-> none)": ({"preset": "quality-compounders"}, _pick_sector),
    "add / remove a filter": ({"preset": "quality-compounders"}, _add_or_remove),
    "load another preset": ({"preset": "quality-compounders"}, _switch_preset),
    "flip sort, 2,000 rows x all 55 columns": (
        {"sort": "-market_cap", "limit": "2000", "cols": ",".join(n for n in FIELD_NAMES if n != "ticker")}, _sort),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=40)
    parser.add_argument("--data-dir", type=Path, help="a data folder with a published snapshot "
                        "(default: publish the demo market into a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        if args.data_dir is None:
            publish_demo(data_dir)
        os.environ["SCREENER_DATA_DIR"] = str(data_dir)
        os.environ.pop("SCREENER_PRESETS_READONLY", None)
        print(f"data: {data_dir}  reruns per scenario: {args.reruns}")
        print(f"{'Screener: rerun after':44s} {'first ms':>9s} {'p50 ms':>7s} {'p95 ms':>7s} {'max ms':>7s}  counts")
        for name, (params, change) in SCENARIOS.items():
            at, first = open_page(SCREENER, params)
            for step in range(3):  # warm-up: widget state and caches settle
                change(at, step)
                timed_run(at)
            timings, counts = [], set()
            for step in range(args.reruns):
                change(at, step + 1)
                timings.append(timed_run(at))
                counts.add(headline(at))
            cuts = statistics.quantiles(timings, n=20)
            print(f"{name:44s} {first:9.1f} {statistics.median(timings):7.1f} {cuts[18]:7.1f} "
                  f"{max(timings):7.1f}  {' / '.join(sorted(counts))}")
        at, first = open_page("pages/4_Presets.py", {})
        timings = [timed_run(at) for _ in range(args.reruns)]
        print(f"{'Presets page rerun (5 built-ins counted)':44s} {first:9.1f} {statistics.median(timings):7.1f} "
              f"{statistics.quantiles(timings, n=20)[18]:7.1f} {max(timings):7.1f}")


if __name__ == "__main__":
    main()

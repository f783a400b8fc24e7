"""Run every benchmark in turn and print their figures: ``python -m benchmarks``.

Each script also runs on its own (see its docstring for options); this runner only
sequences them so ``make bench`` prints one report.  Benchmarks print figures; they
never fail on a target, because speed is shown, not asserted.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = (
    ("compute step: signals + quality, 2,000 and 20,000 tickers", "bench_compute.py"),
    ("screen query: rows + count + funnel, 2,000 rows", "bench_query.py"),
    ("Screener page rerun after a filter change", "bench_app.py"),
    ("Overview / Quality vs Junk / Stock / Data page renders", "bench_market_pages.py"),
    ("Yahoo night against the fake Yahoo (first and steady-state)", "bench_yahoo.py"),
    ("1, 10 and 25 concurrent sessions on the served app (about 4 minutes)", "load_app.py"),
)


def main() -> int:
    failed = []
    for title, script in SCRIPTS:
        print(f"\n=== {title} ({script})", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / script)], cwd=HERE.parent)
        print(f"--- {script}: {time.monotonic() - started:.1f} s, exit {code}", flush=True)
        if code:
            failed.append(script)
    if failed:
        print(f"\nbenchmarks that did not finish: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

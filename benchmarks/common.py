"""What several benchmarks share: the demo snapshot they publish, and one timed AppTest run."""

from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path
from typing import TYPE_CHECKING

from screener.nightly import NightlyOptions, run_nightly

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

#: The demo market's session (a Friday), as in the tests' ``demo_data_dir``.
AS_OF = dt.date(2026, 11, 20)


def publish_demo(data_dir: Path) -> None:
    """Publish the demo market (2,000 tickers) for ``AS_OF`` into ``data_dir``; stop the benchmark if it fails."""
    outcome = run_nightly(NightlyOptions(source="demo", as_of=AS_OF, data_dir=data_dir),
                          progress=lambda *_: None, out=io.StringIO())
    if outcome.exit_code != 0:
        raise SystemExit(f"demo nightly failed: {outcome.report.get('error')}")


def timed_run(at: AppTest) -> float:
    """Milliseconds of one ``AppTest.run()``; a page exception stops the benchmark."""
    tick = time.perf_counter()
    at.run()
    elapsed = (time.perf_counter() - tick) * 1000
    if at.exception:
        raise SystemExit(f"page raised: {at.exception[0].value}")
    return elapsed

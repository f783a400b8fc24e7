"""Shared fixtures: the demo market and a data folder holding one published demo snapshot.

Both are session-scoped because generating and publishing 2,000 tickers takes a few
seconds; tests that modify a data folder must copy it (``fresh_data_dir``) first.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import pytest

DEMO_AS_OF = dt.date(2026, 11, 20)


@pytest.fixture(scope="session")
def demo_market():
    from screener.sources.demo import load_demo

    return load_demo(as_of=DEMO_AS_OF)


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory, demo_market) -> Path:
    """A data folder with one published demo snapshot (treat as read-only)."""
    from screener.nightly import NightlyOptions, run_nightly

    data_dir = tmp_path_factory.mktemp("demo-data")
    options = NightlyOptions(source="demo", as_of=DEMO_AS_OF, data_dir=data_dir)
    outcome = run_nightly(options, progress=lambda *_: None, out=io.StringIO(),
                          loader=lambda _options, _progress: demo_market)
    assert outcome.exit_code == 0, outcome.report
    return data_dir


@pytest.fixture
def fresh_data_dir(tmp_path, demo_data_dir) -> Path:
    """A private copy of the demo data folder that a test may change."""
    target = tmp_path / "data"
    shutil.copytree(demo_data_dir, target)
    return target


@pytest.fixture(scope="session")
def chromium_ready() -> None:
    """Skip browser tests without Chromium, except in CI (SCREENER_REQUIRE_BROWSER=1), where it fails."""
    import os

    from tests.support.server import chromium_available

    ok, reason = chromium_available()
    if not ok:
        if os.environ.get("SCREENER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here: {reason}")
        pytest.skip(reason)

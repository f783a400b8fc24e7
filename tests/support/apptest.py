"""Opening the app's pages under Streamlit's AppTest, one way for every page test.

:func:`open_page` points ``SCREENER_DATA_DIR`` at a data folder, runs ``app.py`` (the
navigation), switches to the page, sets its query parameters and runs it again;
:func:`rerun` runs once more after a widget change.  Both fail the test on any
exception the script raised, unless told not to.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

import pytest
from streamlit.testing.v1 import AppTest

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = "app.py"


def open_page(page: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
              query_params: Mapping[str, str] | None = None, timeout: float = 30,
              user: Mapping[str, Any] | None = None, check: bool = True) -> AppTest:
    """``page`` (``"app.py"`` for the Overview, or a ``pages/...`` script) on ``data_dir``.

    ``user`` is set as ``at.user`` (the ``st.user`` claims) before the first run; with
    ``check=False`` the caller inspects ``at.exception`` itself.
    """
    monkeypatch.setenv("SCREENER_DATA_DIR", str(data_dir))
    at = AppTest.from_file(str(REPO_ROOT / APP), default_timeout=timeout)
    if user is not None:
        at.user = user
    at.run()
    if page != APP:
        at.switch_page(page)
        for key, value in (query_params or {}).items():
            at.query_params[key] = value
        at.run()
    if check:
        assert not at.exception, [e.value for e in at.exception]
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def plain(markdown: str) -> str:
    """What a reader sees of escaped Markdown: backslash escapes removed."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)

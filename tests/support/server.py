"""Serve the app on loopback for browser tests, load tests and benchmarks.

One helper so every suite starts ``streamlit run app.py`` the same way (headless,
loopback, a free port, a given data folder) and waits for ``/_stcore/health``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
#: Flags this machine needs: no sandbox as root, and no background traffic to a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def chromium_available() -> tuple[bool, str]:
    """Whether browser tests can run; CI sets SCREENER_REQUIRE_BROWSER=1 so a missing browser fails."""
    if not CHROMIUM.exists():
        return False, f"{CHROMIUM} is not installed (scripts/ensure-chromium installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False, "the playwright package is not installed (requirements-dev.txt)"
    return True, ""


@contextlib.contextmanager
def serve_app(data_dir: Path, env: dict[str, str] | None = None, timeout: float = 60.0,
              log: Path | None = None, file_watcher: str = "none") -> Iterator[tuple[str, subprocess.Popen]]:
    """Run the app on a free loopback port; yields (base URL, server process).

    ``file_watcher`` is Streamlit's ``server.fileWatcherType``.  "none" by default: with
    the watcher on, Streamlit unloads every local module when any file of the checkout
    changes, so a colleague saving a file mid-run breaks open sessions (objects of the
    old classes meet the reloaded ones: "filters must be Filter values"), and it costs
    time on every run.  A deployment serves fixed code; "auto" reproduces `make run`.
    """
    port = free_port()
    environment = {**os.environ, "SCREENER_DATA_DIR": str(data_dir), **(env or {})}
    output = open(log, "wb") if log else subprocess.DEVNULL
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", file_watcher],
        cwd=REPO_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                    if answer.read() == b"ok":
                        break
            except OSError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {server.returncode} before becoming healthy")
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not become healthy within {timeout:.0f} s")
            time.sleep(0.3)
        yield base, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if log:
            output.close()

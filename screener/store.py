"""Snapshot folders on disk: atomic publish, validation, discovery, retention, recovery.

Layout under the data folder (``data/`` by default)::

    snapshots/date=YYYY-MM-DD/{stocks.parquet, prices.parquet, run.json}
    .staging/            temp folders of runs in progress (same filesystem, so rename is atomic)
    runs/                one JSON report per nightly run, published or not
    last_run.json        the newest of those reports

Data is precious: a snapshot folder only ever appears complete (written into
``.staging``, read back and validated, then renamed into place), a same-date rerun
swaps folders atomically (``renameat2(RENAME_EXCHANGE)`` on Linux, two renames plus
:func:`recover` elsewhere), and readers skip any folder that fails validation, falling
back to the newest good one and saying why.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as dt
import errno
import fcntl
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from screener.fields import PRICES_SCHEMA, stocks_schema

STOCKS_FILE = "stocks.parquet"
PRICES_FILE = "prices.parquet"
RUN_FILE = "run.json"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_KEEP_PRICES = 5

_SNAPSHOT_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


class SnapshotInvalid(RuntimeError):
    """A snapshot folder (or one about to be published) is not complete and valid."""


@dataclass(frozen=True)
class Snapshot:
    """One published, validated snapshot folder."""

    date: dt.date
    path: Path
    run: dict[str, Any]

    @property
    def stocks_path(self) -> Path:
        return self.path / STOCKS_FILE

    @property
    def prices_path(self) -> Path | None:
        """None once retention has dropped this snapshot's price history."""
        path = self.path / PRICES_FILE
        return path if path.exists() else None

    @property
    def source(self) -> str:
        return str(self.run.get("source", "unknown"))

    @property
    def is_demo(self) -> bool:
        return self.source == "demo"


@dataclass(frozen=True)
class SkippedSnapshot:
    """A snapshot folder a reader ignored, and why (shown in the app)."""

    path: Path
    reason: str


def default_data_dir() -> Path:
    """``$SCREENER_DATA_DIR`` if set, else ``data/`` beside ``app.py`` whatever the working folder.

    Read at call time so the app, the CLI and tests (which point it at a temp folder)
    agree on one folder without passing it around.
    """
    configured = os.environ.get("SCREENER_DATA_DIR")
    return Path(configured) if configured else REPO_ROOT / "data"


def snapshots_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "snapshots"


def snapshot_path(data_dir: Path, date: dt.date) -> Path:
    return snapshots_dir(data_dir) / f"date={date.isoformat()}"


def staging_dir(data_dir: Path) -> Path:
    return Path(data_dir) / ".staging"


# --- writing ---------------------------------------------------------------------------


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON next to ``path`` and rename it into place, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, sort_keys=False, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_table(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd")
    _fsync_file(path)


def to_stocks_table(stocks: pd.DataFrame) -> pa.Table:
    """Conform a frame to the catalog schema exactly: every field, catalog order and types."""
    schema = stocks_schema()
    missing = [name for name in schema.names if name not in stocks.columns]
    if missing:
        raise SnapshotInvalid(f"stocks table lacks catalog columns: {', '.join(missing)}")
    return pa.Table.from_pandas(stocks[schema.names], schema=schema, preserve_index=False)


def to_prices_table(prices: pd.DataFrame) -> pa.Table:
    frame = prices[PRICES_SCHEMA.names].copy()
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    frame = frame.sort_values(["ticker", "date"], kind="stable")
    return pa.Table.from_pandas(frame, schema=PRICES_SCHEMA, preserve_index=False)


def validate_snapshot_folder(folder: Path, require_prices: bool = True,
                             require_every_field: bool = True) -> dict[str, Any]:
    """Read a folder back and check it against the catalog; returns its run.json.

    Cheap enough for every page load: only Parquet footers are read, plus run.json.
    A new snapshot must hold every catalog field; readers pass
    ``require_every_field=False`` so snapshots written before a field was added stay
    readable (their columns must still have the catalog's types).
    """
    run_path = folder / RUN_FILE
    try:
        run = json.loads(run_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SnapshotInvalid(f"{run_path} is missing") from None
    except (OSError, ValueError) as exc:
        raise SnapshotInvalid(f"{run_path} is unreadable: {exc}") from None
    if not isinstance(run, dict):
        raise SnapshotInvalid(f"{run_path} is not a JSON object")
    checks = [(STOCKS_FILE, stocks_schema())]
    if require_prices or (folder / PRICES_FILE).exists():
        checks.append((PRICES_FILE, PRICES_SCHEMA))
    for name, expected in checks:
        path = folder / name
        try:
            metadata = pq.read_metadata(path)
            schema = pq.read_schema(path)
        except FileNotFoundError:
            raise SnapshotInvalid(f"{path} is missing") from None
        except (OSError, pa.ArrowException) as exc:
            raise SnapshotInvalid(f"{path} is unreadable: {exc}") from None
        got = {f.name: f.type for f in schema}
        wrong = [f.name for f in expected
                 if got.get(f.name) != f.type
                 and (f.name in got or require_every_field or f.name in ("ticker", "date", "close"))]
        if wrong:
            raise SnapshotInvalid(f"{path} does not match the catalog schema: {', '.join(wrong)}")
        if name == STOCKS_FILE and metadata.num_rows != run.get("tickers_written", metadata.num_rows):
            raise SnapshotInvalid(
                f"{path} has {metadata.num_rows} rows but run.json says {run.get('tickers_written')}")
    return run


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically with renameat2(RENAME_EXCHANGE); False if unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(a))


@contextlib.contextmanager
def run_lock(data_dir: Path) -> Iterator[None]:
    """One nightly run per data folder at a time; a second one fails at once, not later."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(data_dir) / ".nightly.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another nightly run holds {data_dir}/.nightly.lock") from None
        yield


def recover(data_dir: Path) -> list[str]:
    """Undo what a killed run left behind; returns what was done, for the run report.

    A same-date swap interrupted between its two renames (only possible where
    renameat2 is missing) leaves the old folder as ``.staging/replaced-date=...``;
    it is put back.  Every other staging leftover is deleted.
    """
    actions: list[str] = []
    staging = staging_dir(data_dir)
    if not staging.exists():
        return actions
    for leftover in sorted(staging.iterdir()):
        match = re.match(r"^replaced-(date=\d{4}-\d{2}-\d{2})-", leftover.name)
        target = snapshots_dir(data_dir) / match.group(1) if match else None
        if target is not None and not target.exists():
            os.rename(leftover, target)
            actions.append(f"restored {target.name} from an interrupted swap")
        else:
            shutil.rmtree(leftover, ignore_errors=True)
            actions.append(f"removed leftover {leftover.name}")
    return actions


def publish_snapshot(
    data_dir: Path,
    date: dt.date,
    stocks: pd.DataFrame,
    prices: pd.DataFrame,
    run: dict[str, Any],
    keep_prices: int = DEFAULT_KEEP_PRICES,
) -> Snapshot:
    """Write, validate and atomically publish one snapshot; earlier ones are untouched.

    On any failure the staging folder is removed and no snapshot folder changes.
    """
    data_dir = Path(data_dir)
    staging = staging_dir(data_dir)
    staging.mkdir(parents=True, exist_ok=True)
    snapshots_dir(data_dir).mkdir(parents=True, exist_ok=True)
    work = staging / f"run-{date.isoformat()}-{uuid.uuid4().hex[:12]}"
    work.mkdir()
    try:
        _write_table(to_stocks_table(stocks), work / STOCKS_FILE)
        _write_table(to_prices_table(prices), work / PRICES_FILE)
        write_json_atomic(work / RUN_FILE, run)
        validate_snapshot_folder(work)
        _fsync_dir(work)
        target = snapshot_path(data_dir, date)
        if not target.exists():
            os.rename(work, target)
        elif _exchange(work, target):
            shutil.rmtree(work)  # now holds the replaced snapshot
        else:
            parked = staging / f"replaced-{target.name}-{uuid.uuid4().hex[:12]}"
            os.rename(target, parked)
            os.rename(work, target)
            shutil.rmtree(parked)
        _fsync_dir(snapshots_dir(data_dir))
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    apply_retention(data_dir, keep_prices)
    return Snapshot(date=date, path=target, run=run)


def apply_retention(data_dir: Path, keep_prices: int) -> list[Path]:
    """Drop ``prices.parquet`` from all but the newest ``keep_prices`` good snapshots."""
    dropped = []
    good, _ = list_snapshots(data_dir)
    for snapshot in good[keep_prices:]:
        if snapshot.prices_path is not None:
            snapshot.prices_path.unlink()
            dropped.append(snapshot.path)
    return dropped


def record_run(data_dir: Path, report: dict[str, Any]) -> Path:
    """Keep every run's report (published or failed) and point last_run.json at the newest."""
    runs = Path(data_dir) / "runs"
    stamp = str(report.get("started_at", dt.datetime.now(dt.timezone.utc).isoformat()))
    # Names sort by start time; the random tail keeps two runs started in one second apart.
    name = (re.sub(r"[^0-9A-Za-z]", "", stamp)[:15]
            + f"-{report.get('status', 'unknown')}-{uuid.uuid4().hex[:6]}.json")
    path = runs / name
    write_json_atomic(path, report)
    write_json_atomic(Path(data_dir) / "last_run.json", report)
    return path


# --- reading ---------------------------------------------------------------------------


def _snapshot_folders(data_dir: Path) -> list[tuple[dt.date | None, Path]]:
    """Snapshot folders newest first (by name), with their date or None when the name is bad."""
    root = snapshots_dir(data_dir)
    if not root.exists():
        return []
    folders = []
    for folder in sorted(root.iterdir(), reverse=True):
        match = _SNAPSHOT_DIR.match(folder.name)
        if not match or not folder.is_dir():
            continue
        try:
            folders.append((dt.date.fromisoformat(match.group(1)), folder))
        except ValueError:
            folders.append((None, folder))
    return folders


def _check(date: dt.date | None, folder: Path) -> Snapshot | SkippedSnapshot:
    if date is None:
        return SkippedSnapshot(folder, f"{folder.name} is not a valid date")
    try:
        run = validate_snapshot_folder(folder, require_prices=False, require_every_field=False)
        return Snapshot(date=date, path=folder, run=run)
    except SnapshotInvalid as exc:
        return SkippedSnapshot(folder, str(exc))


def list_snapshots(data_dir: Path) -> tuple[list[Snapshot], list[SkippedSnapshot]]:
    """Good snapshots newest first, and the folders skipped with their reasons."""
    checked = [_check(date, folder) for date, folder in _snapshot_folders(data_dir)]
    return ([c for c in checked if isinstance(c, Snapshot)],
            [c for c in checked if isinstance(c, SkippedSnapshot)])


def latest_snapshot(data_dir: Path) -> tuple[Snapshot | None, list[SkippedSnapshot]]:
    """The newest good snapshot, and the newer folders skipped as damaged (with reasons).

    Stops at the first good folder, so a page load validates one snapshot, not a year of them.
    """
    skipped: list[SkippedSnapshot] = []
    for date, folder in _snapshot_folders(data_dir):
        checked = _check(date, folder)
        if isinstance(checked, Snapshot):
            return checked, skipped
        skipped.append(checked)
    return None, skipped


def read_last_run(data_dir: Path) -> dict[str, Any] | None:
    path = Path(data_dir) / "last_run.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

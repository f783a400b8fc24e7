"""A full disk and a read-only data folder under the nightly job: it fails with a clear message
and exit code, the previous snapshot stays byte-identical, nothing half-written is left
(or the next run cleans it), and once space is back the next run publishes.

The data folder lives on a private 2 MB tmpfs (``tests/support/faults.py``); a filler file
leaves a chosen number of bytes free so ENOSPC strikes at different steps of the run
(before anything is written, inside stocks.parquet, inside prices.parquet, at the small
files).  Read-only is a read-only remount (which stops root too) and, separately, the run
as an unprivileged user (``setpriv``) on folders it does not own.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from screener import store
from screener.nightly import EXIT_FAILED, EXIT_OK, NightlyOptions, run_nightly
from screener.presets import PresetError, PresetStore
from screener.screen import Filter, Screen
from tests.support.faults import fill_disk, folder_digest, private_tmpfs_or_skip, temp_files, write_result
from tests.test_nightly import tiny_market

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = dt.date(2024, 3, 7)
NEXT = dt.date(2024, 3, 8)
NOBODY = 65534


def nightly(data_dir: Path, market, as_of: dt.date):
    options = NightlyOptions(source="files", as_of=as_of, data_dir=data_dir)
    return run_nightly(options, progress=lambda *_: None, out=io.StringIO(), loader=lambda _o, _p: market)


class DiskWatch:
    """Wraps the store's writers: records each snapshot file it starts writing (after a failed
    run the last one is where the disk filled up) and can fill the disk right before a given
    file, as another program filling the disk mid-run would."""

    def __init__(self, monkeypatch, disk: Path) -> None:
        self.names: list[str] = []
        self.fill_before: str | None = None
        self.fillers: list[Path] = []
        self._disk = disk
        write_table, write_json = store._write_table, store.write_json_atomic

        def table(table, path):
            self._starting(Path(path).name)
            return write_table(table, path)

        def json_file(path, payload):
            self._starting(store.RUN_FILE if Path(path).name == store.RUN_FILE else "run report")
            return write_json(path, payload)

        monkeypatch.setattr(store, "_write_table", table)
        monkeypatch.setattr(store, "write_json_atomic", json_file)

    def _starting(self, name: str) -> None:
        if name == self.fill_before:
            self.fillers.append(fill_disk(self._disk, name=f"late-filler-{len(self.fillers)}.bin"))
            self.fill_before = None
        if name != "run report":
            self.names.append(name)

    def reset(self, fill_before: str | None) -> None:
        for filler in self.fillers:
            filler.unlink()
        self.fillers.clear()
        self.names.clear()
        self.fill_before = fill_before


def recorded_or_noted(data_dir: Path, outcome) -> bool:
    """The failed run is either in last_run.json or its report says it could not be recorded."""
    noted = any("could not record the run report" in note for note in outcome.report.get("notes", []))
    recorded = store.read_last_run(data_dir) == json.loads(json.dumps(outcome.report, default=str))
    return noted != recorded and (noted or outcome.report["status"] == "failed")


def cli_nightly(data_dir: Path, inputs: Path, user: int | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m screener nightly --source files`` as cron would run it (optionally as ``user``)."""
    command = [sys.executable, "-m", "screener", "nightly", "--source", "files", "--universe",
               str(inputs / "universe.csv"), "--prices", str(inputs / "prices.parquet"), "--as-of",
               NEXT.isoformat(), "--data-dir", str(data_dir)]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": "/tmp"})


def first_line(output: str) -> str:
    """The run's one-line verdict without the (long, temporary) path: for the report."""
    return output.splitlines()[0].split(": '")[0]


def market_files(folder: Path, market) -> Path:
    """The market as the ``files`` source reads it (universe CSV + prices Parquet), outside the tmpfs."""
    folder.mkdir(parents=True, exist_ok=True)
    market.universe.to_csv(folder / "universe.csv", index=False)
    market.prices.to_parquet(folder / "prices.parquet", index=False)
    for path in (folder, folder / "universe.csv", folder / "prices.parquet"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def test_disk_full_at_every_step_keeps_the_previous_snapshot(tmp_path, monkeypatch):
    baseline_market, next_market = tiny_market(BASELINE, seed=1), tiny_market(NEXT, seed=2)
    scratch = tmp_path / "scratch"  # the next run's file sizes, measured on a normal disk
    assert nightly(scratch, next_market, NEXT).exit_code == EXIT_OK
    sizes = {p.name: p.stat().st_size for p in (scratch / "snapshots" / f"date={NEXT}").iterdir()}
    stocks, prices = sizes[store.STOCKS_FILE], sizes[store.PRICES_FILE]
    # label -> (bytes left free before the run, or None; file before which the disk fills, or None)
    scenarios = {"full before the run": (0, None), "4 KB free": (4096, None),
                 "half of stocks.parquet free": (stocks // 2, None),
                 "stocks + half of prices free": (stocks + prices // 2, None),
                 "fills before run.json": (None, store.RUN_FILE), "fills before the run report": (None, "run report")}

    tmpfs = private_tmpfs_or_skip(tmp_path / "mnt", "2m")
    with tmpfs:
        data_dir = tmpfs.path / "data"
        assert nightly(data_dir, baseline_market, BASELINE).exit_code == EXIT_OK
        preset_store = PresetStore(data_dir, readonly=False)
        preset_store.save("Kept", "saved before the disk filled", Screen((Filter("roe", "gt", 0.1),)))
        baseline_dir = store.snapshot_path(data_dir, BASELINE)
        baseline_before = folder_digest(baseline_dir)
        presets_before = folder_digest(data_dir / "presets")
        watch = DiskWatch(monkeypatch, tmpfs.path)
        lost, hits, survived = [], {}, 0
        for label, (free, fill_before) in scenarios.items():
            watch.reset(fill_before)
            filler = fill_disk(tmpfs.path, leave_bytes=free) if free is not None else None
            outcome = nightly(data_dir, next_market, NEXT)
            hits[label] = watch.names[-1] if outcome.exit_code else "published, report not recorded"
            latest = store.latest_snapshot(data_dir)[0]
            checks = {
                "previous snapshot intact": folder_digest(baseline_dir) == baseline_before,
                "only complete snapshots": store.list_snapshots(data_dir)[1] == [],
                "staging cleaned": not any(store.staging_dir(data_dir).iterdir()),
                "no temp files": temp_files(data_dir) == [],
                "presets intact": folder_digest(data_dir / "presets") == presets_before,
                "run recorded or noted": recorded_or_noted(data_dir, outcome),
            }
            if fill_before == "run report":  # the snapshot was complete before the disk filled up
                checks["published"] = outcome.exit_code == EXIT_OK and latest.date == NEXT
            else:
                checks["exit code"] = outcome.exit_code == EXIT_FAILED
                checks["says the disk is full"] = "No space left on device" in outcome.report.get("error", "")
                checks["still the newest good"] = latest.date == BASELINE
            failed = [name for name, ok in checks.items() if not ok]
            lost += [f"{label}: {name}" for name in failed
                     if name in ("previous snapshot intact", "only complete snapshots", "presets intact")]
            assert not failed, (label, failed, outcome.report.get("error"))
            survived += 1
            if filler is not None:
                filler.unlink()
        watch.reset(None)
        # A saved preset on a full disk: a clear refusal, nothing partial, the old ones intact.
        filler = fill_disk(tmpfs.path)
        with pytest.raises(PresetError, match="No space left on device"):
            preset_store.save("Another", "", Screen((Filter("roe", "gt", 0.2),)))
        with pytest.raises(PresetError, match="No space left on device"):
            preset_store.save("Kept", "overwrite attempt", Screen((Filter("roe", "gt", 0.3),)), overwrite=True)
        assert folder_digest(data_dir / "presets") == presets_before and temp_files(data_dir) == []
        assert preset_store.get("kept").screen == Screen((Filter("roe", "gt", 0.1),))
        filler.unlink()
        # Space is back: the next run publishes normally (a same-date rerun after the last scenario).
        recovered = nightly(data_dir, next_market, NEXT)
        assert recovered.exit_code == EXIT_OK, recovered.report.get("error")
        assert store.latest_snapshot(data_dir)[0].date == NEXT
        assert not any(store.staging_dir(data_dir).iterdir())
    where = ", ".join(f"{label} -> {hit}" for label, hit in hits.items())
    write_result("faults_nightly_disk_full", "nightly on a 2 MB tmpfs filled up before and during the run, "
                 "plus two preset saves on the full disk", runs=len(scenarios) + 1, faults=len(scenarios) + 2,
                 survived=survived + 2, lost=len(lost),
                 figures={"enospc_hit": where, "stocks_bytes": stocks, "prices_bytes": prices},
                 command="pytest tests/test_faults_nightly_disk.py -s")
    print(f"\n[faults_nightly_disk_full] {len(scenarios)} ENOSPC runs ({where}); presets refused 2; "
          f"lost {len(lost)}")
    assert lost == []


def test_cli_on_a_full_disk_fails_with_one_clear_line(tmp_path):
    inputs = market_files(tmp_path / "inputs", tiny_market(NEXT, seed=2))
    tmpfs = private_tmpfs_or_skip(tmp_path / "mnt", "2m")
    with tmpfs:
        data_dir = tmpfs.path / "data"
        assert nightly(data_dir, tiny_market(BASELINE, seed=1), BASELINE).exit_code == EXIT_OK
        before = folder_digest(store.snapshots_dir(data_dir))
        filler = fill_disk(tmpfs.path, leave_bytes=8192)
        done = cli_nightly(data_dir, inputs)
        assert done.returncode == EXIT_FAILED, done
        assert "FAILED:" in done.stdout and "No space left on device" in done.stdout
        assert "Traceback" not in done.stdout + done.stderr
        assert folder_digest(store.snapshots_dir(data_dir)) == before
        filler.unlink()
        again = cli_nightly(data_dir, inputs)
        assert again.returncode == EXIT_OK, again.stdout + again.stderr
        assert store.latest_snapshot(data_dir)[0].date == NEXT
    write_result("faults_nightly_cli_full", "`python -m screener nightly` on a full disk, then with space again",
                 runs=2, faults=1, survived=1, lost=0, figures={"message": first_line(done.stdout)},
                 command="pytest tests/test_faults_nightly_disk.py -s -k cli")
    print(f"\n[faults_nightly_cli_full] exit {done.returncode}: {done.stdout.splitlines()[0]}")


def test_read_only_data_folder_changes_nothing(tmp_path):
    inputs = market_files(tmp_path / "inputs", tiny_market(NEXT, seed=2))
    tmpfs = private_tmpfs_or_skip(tmp_path / "mnt", "8m")
    with tmpfs:
        data_dir = tmpfs.path / "data"
        assert nightly(data_dir, tiny_market(BASELINE, seed=1), BASELINE).exit_code == EXIT_OK
        PresetStore(data_dir, readonly=False).save("Kept", "", Screen((Filter("roe", "gt", 0.1),)))
        before = folder_digest(data_dir)
        tmpfs.read_only()
        in_process = nightly(data_dir, tiny_market(NEXT, seed=2), NEXT)
        cli = cli_nightly(data_dir, inputs)
        with pytest.raises(PresetError, match="Read-only file system"):
            PresetStore(data_dir, readonly=False).save("New", "", Screen((Filter("roe", "gt", 0.2),)))
        # Reading needs no write access: the app and `screen` work on a read-only mount.
        screen = subprocess.run([sys.executable, "-m", "screener", "screen", "--preset", "kept", "--data-dir",
                                 str(data_dir)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        after = folder_digest(data_dir)
    assert in_process.exit_code == EXIT_FAILED and "Read-only file system" in in_process.report["error"]
    assert cli.returncode == EXIT_FAILED and "FAILED:" in cli.stdout and "Read-only file system" in cli.stdout
    assert "Traceback" not in cli.stdout + cli.stderr
    assert screen.returncode == 0 and "of 30 stocks match" in screen.stdout, screen.stderr
    lost = [name for name in set(before) | set(after) if before.get(name) != after.get(name)]
    write_result("faults_nightly_read_only", "nightly, CLI and a preset save on a read-only data mount; "
                 "`screen` still reads it", runs=3, faults=3, survived=3, lost=len(lost),
                 figures={"files_checked": len(before), "message": first_line(cli.stdout)},
                 command="pytest tests/test_faults_nightly_disk.py -s -k read_only")
    print(f"\n[faults_nightly_read_only] exit {cli.returncode}: {cli.stdout.splitlines()[0]}; "
          f"{len(before)} files unchanged")
    assert lost == []


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to run the job as an unprivileged user")
def test_unprivileged_run_on_folders_it_cannot_write():
    """Without mounts: the job runs as nobody on a data folder owned by root (fails at the lock),
    and on one where only ``snapshots/`` is root's (fails at the final rename, cleans staging)."""
    with tempfile.TemporaryDirectory(prefix="screener-faults-") as folder:  # pytest's tmp is root-only
        Path(folder).chmod(0o755)
        run_unprivileged_cases(Path(folder))


def run_unprivileged_cases(tmp_path: Path) -> None:
    inputs = market_files(tmp_path / "inputs", tiny_market(NEXT, seed=2))
    results = {}
    for case in ("data folder", "snapshots folder"):
        data_dir = tmp_path / case.replace(" ", "_")
        assert nightly(data_dir, tiny_market(BASELINE, seed=1), BASELINE).exit_code == EXIT_OK
        for path in [data_dir, *data_dir.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        if case == "snapshots folder":  # everything but snapshots/ belongs to nobody
            for path in [data_dir, *data_dir.rglob("*")]:
                if store.snapshots_dir(data_dir) not in (path, *path.parents):
                    os.chown(path, NOBODY, NOBODY)
        snapshots_before = folder_digest(store.snapshots_dir(data_dir))
        done = cli_nightly(data_dir, inputs, user=NOBODY)
        results[case] = done
        assert done.returncode == EXIT_FAILED, done
        assert "FAILED:" in done.stdout and "Permission denied" in done.stdout
        assert "Traceback" not in done.stdout + done.stderr
        assert folder_digest(store.snapshots_dir(data_dir)) == snapshots_before
        staging = store.staging_dir(data_dir)
        assert not staging.exists() or not any(staging.iterdir())
    last = store.read_last_run(tmp_path / "snapshots_folder")
    assert last["status"] == "failed" and "Permission denied" in last["error"]
    write_result("faults_nightly_unprivileged", "nightly as an unprivileged user on folders it cannot write",
                 runs=2, faults=2, survived=2, lost=0,
                 figures={case: first_line(done.stdout) for case, done in results.items()},
                 command="pytest tests/test_faults_nightly_disk.py -s -k unprivileged")
    print("\n[faults_nightly_unprivileged] " + "; ".join(f"{case}: {done.stdout.splitlines()[0]}"
                                                      for case, done in results.items()))

"""Fault injection helpers: small private filesystems, byte-level digests, a fork server that
runs nightly jobs for the SIGKILL loop, and the suites' result files.

Why a *private* tmpfs: a disk-full or read-only test needs a filesystem it can fill or
freeze, and a mount left behind by a killed test would outlive it.  So the mount lives
in its own mount namespace, held by a tiny ``sh`` helper started with ``unshare``; the
test reaches it through ``/proc/<helper>/root/<mountpoint>`` (a path into the helper's
view of the filesystem) and the mount disappears with the helper, whatever happens to
the test.  ``unshare --mount`` needs root (as in CI); ``unshare -rm`` (a user namespace)
is the fallback; where neither is permitted the test is skipped with the reason.

Why a fork server for the SIGKILL loop: a fresh interpreter spends ~0.5 s importing
pandas/pyarrow/duckdb before a 0.1 s nightly run, so 20+ killed runs would cost most of
the time in imports and a random delay would mostly land in them.  The server imports
once and forks one real child process per nightly run; the test SIGKILLs that child.
The child writes a line to a phase file (unbuffered ``os.write``, so it survives the
kill) when it enters each step, which tells the test where each kill landed.

    python -m tests.support.faults zygote      # the fork server (started by NightlyForkServer)
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from benchmarks.reliability import write_result  # re-exported: the suites' one way to record results

REPO_ROOT = Path(__file__).resolve().parents[2]

__all__ = ["write_result", "folder_digest", "temp_files", "PrivateTmpfs", "MountUnavailable",
           "private_tmpfs_or_skip", "fill_disk", "NightlyForkServer", "ChildRun", "PHASES"]


# --- digests and leftovers -------------------------------------------------------------


def folder_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` by relative path: "byte-identical" made checkable."""
    folder = Path(folder)
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def temp_files(folder: Path) -> list[Path]:
    """Leftover temp files of atomic writes (``.<name>.<hex>.tmp``) anywhere under ``folder``."""
    return sorted(p for p in Path(folder).rglob("*.tmp") if p.is_file())


def _end_child(child: subprocess.Popen, timeout: float) -> None:
    """Close a helper child's stdin (its cue to exit) and wait for it; kill it if it does not go in time."""
    with contextlib.suppress(OSError):
        assert child.stdin is not None
        child.stdin.close()
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(timeout=timeout)


# --- a private tmpfs -------------------------------------------------------------------


class MountUnavailable(RuntimeError):
    """Mounting a private tmpfs is not permitted here (the caller skips, never fails)."""


_HELPER = r"""
mount -t tmpfs -o "size=$2,mode=0777" tmpfs "$1" || exit 3
echo ready
while read -r command; do
  case "$command" in
    ro) mount -o remount,ro "$1" && echo ok || echo failed ;;
    rw) mount -o remount,rw "$1" && echo ok || echo failed ;;
    *) echo unknown ;;
  esac
done
"""


class PrivateTmpfs:
    """A tmpfs of ``size`` (e.g. ``"2m"``) visible only through :attr:`path`.

    ``mountpoint`` must be an empty folder (a pytest ``tmp_path`` child); in the
    helper's namespace the tmpfs covers it, everywhere else it stays empty.
    """

    def __init__(self, mountpoint: Path, size: str) -> None:
        self.mountpoint = Path(mountpoint).resolve()
        self.size = size
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        attempts = ([["unshare", "--mount", "--propagation", "private"]] if os.geteuid() == 0 else []) + [
            ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]]
        problems = []
        self._helper: subprocess.Popen[str] | None = None
        if shutil.which("unshare") is None:
            raise MountUnavailable("unshare(1) is not installed")
        for prefix in attempts:
            helper = subprocess.Popen([*prefix, "sh", "-c", _HELPER, "sh", str(self.mountpoint), size],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True)
            assert helper.stdout is not None
            line = helper.stdout.readline().strip()
            if line == "ready":
                self._helper = helper
                break
            helper.kill()
            _, err = helper.communicate()
            problems.append(f"{' '.join(prefix)}: {err.strip() or 'exit ' + str(helper.returncode)}")
        if self._helper is None:
            raise MountUnavailable("cannot mount a private tmpfs here: " + "; ".join(problems))
        self.path = Path(f"/proc/{self._helper.pid}/root") / self.mountpoint.relative_to("/")

    def _command(self, command: str) -> None:
        assert self._helper is not None and self._helper.stdin and self._helper.stdout
        self._helper.stdin.write(command + "\n")
        self._helper.stdin.flush()
        answer = self._helper.stdout.readline().strip()
        if answer != "ok":
            raise MountUnavailable(f"remount {command} refused: {answer or 'no answer'}")

    def read_only(self) -> None:
        """Remount read-only: every write now fails with EROFS, root's included."""
        self._command("ro")

    def read_write(self) -> None:
        self._command("rw")

    def free_bytes(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def close(self) -> None:
        """End the helper; its namespace, and the tmpfs with it, goes away."""
        if self._helper is None:
            return
        _end_child(self._helper, timeout=10)
        self._helper = None

    def __enter__(self) -> PrivateTmpfs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def private_tmpfs_or_skip(mountpoint: Path, size: str) -> PrivateTmpfs:
    """A :class:`PrivateTmpfs`, or skip the calling test with the reason mounting failed."""
    import pytest

    try:
        return PrivateTmpfs(mountpoint, size)
    except MountUnavailable as exc:
        pytest.skip(f"needs a private tmpfs mount, not permitted here: {exc}")


def fill_disk(folder: Path, leave_bytes: int = 0, name: str = "filler.bin") -> Path:
    """Fill the filesystem holding ``folder`` until about ``leave_bytes`` remain free.

    Writes (unbuffered) until ENOSPC, then gives back ``leave_bytes`` by truncating the
    filler, so the result does not depend on how the filesystem counts blocks.
    """
    filler = Path(folder) / name
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (1 << 20, 65536, 4096, 512, 1):
            chunk = b"\0" * size
            try:
                while True:
                    os.write(fd, chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
        if leave_bytes:
            os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave_bytes))
    finally:
        os.close(fd)
    return filler


# --- the nightly fork server -----------------------------------------------------------

#: Steps a child announces, in run order ("done" = the run returned).
PHASES: tuple[str, ...] = ("fork", "start", "recover", "fetch", "compute", "write stocks.parquet",
                           "write prices.parquet", "write run.json", "validate", "rename", "retention", "record",
                           "done")


@dataclass(frozen=True)
class ChildRun:
    """What became of one forked nightly run."""

    pid: int
    killed: bool
    exit_code: int | None
    phase: str
    seconds: float
    #: (step, seconds after the fork request) for every step the child announced.
    marks: tuple[tuple[str, float], ...] = ()


def _install_phase_marks(phase_file: str) -> Callable[[str], None]:
    """In the child: announce each nightly step on ``phase_file`` before it starts; returns ``mark``."""
    from screener import nightly, store

    fd = os.open(phase_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def mark(name: str) -> None:
        os.write(fd, f"{name}\t{time.monotonic():.4f}\n".encode())

    def marked(function: Any, label: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            name = label(*args) if callable(label) else label
            if name:
                mark(name)
            return function(*args, **kwargs)
        return wrapper

    def json_label(path: Path, *_: Any) -> str:
        return "write run.json" if Path(path).name == store.RUN_FILE else "record"

    store.recover = marked(store.recover, "recover")
    nightly.build_stocks = marked(nightly.build_stocks, "compute")
    store._write_table = marked(store._write_table, lambda _table, path: f"write {Path(path).name}")
    store.write_json_atomic = marked(store.write_json_atomic, json_label)
    # Only the check of the folder about to be published; retention re-validates published ones.
    store.validate_snapshot_folder = marked(
        store.validate_snapshot_folder, lambda folder, *_: "validate" if ".staging" in str(folder) else None)
    store._exchange = marked(store._exchange, "rename")
    store.os.rename = marked(os.rename, "rename")  # the child's own os module: nobody else sees it
    store.apply_retention = marked(store.apply_retention, "retention")
    store.record_run = marked(store.record_run, "record")
    mark("start")
    return mark


def _child(request: dict[str, Any]) -> int:
    """One nightly run on a tiny market, in the forked child."""
    import datetime as dt
    import io

    from screener.nightly import NightlyOptions, run_nightly
    from tests.test_nightly import tiny_market

    mark = _install_phase_marks(request["phases"])
    as_of = dt.date.fromisoformat(request["as_of"])

    def loader(_options: Any, _progress: Any) -> Any:
        mark("fetch")
        return tiny_market(as_of, n=request["n"], seed=request["seed"])

    options = NightlyOptions(source="files", as_of=as_of, data_dir=Path(request["data_dir"]),
                             keep_prices=request["keep_prices"])
    outcome = run_nightly(options, progress=lambda *_: None, out=io.StringIO(), loader=loader)
    mark("done")
    return outcome.exit_code


def zygote() -> None:
    """The fork server: import once, then fork one nightly child per request line.

    Protocol (one JSON object per line): request ``{data_dir, as_of, seed, n,
    keep_prices, phases}`` -> answer ``{"pid": P}``; the test may kill P, then sends
    ``reap`` -> answer ``{"pid": P, "signal": S or null, "code": C or null}``.  The
    child is reaped only on ``reap``, so its pid cannot be reused while the test may
    still signal it.
    """
    import screener.build  # noqa: F401  (imported before forking: that is the point)
    import screener.nightly  # noqa: F401
    import tests.test_nightly  # noqa: F401

    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the server loop
            code = 70
            try:
                code = _child(request)
            except BaseException:  # noqa: BLE001 - shown on stderr; the exit code tells the test
                traceback.print_exc()
            finally:
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        if sys.stdin.readline().strip() != "reap":
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid,
                          "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                          "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None}), flush=True)


class NightlyForkServer:
    """Start :func:`zygote` and run nightly children, optionally SIGKILLing them after a delay."""

    def __init__(self) -> None:
        self._server = subprocess.Popen([sys.executable, "-m", "tests.support.faults", "zygote"], cwd=REPO_ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._server.stdout is not None
        if self._server.stdout.readline().strip() != "ready":
            self.close()
            raise RuntimeError("the nightly fork server did not start")

    def _send(self, text: str) -> dict[str, Any]:
        assert self._server.stdin is not None and self._server.stdout is not None
        self._server.stdin.write(text + "\n")
        self._server.stdin.flush()
        answer = self._server.stdout.readline()
        if not answer:
            raise RuntimeError("the nightly fork server died")
        return json.loads(answer)

    def run(self, data_dir: Path, as_of: str, seed: int, phases: Path, kill: tuple[str, float] | None = None,
            n: int = 100, keep_prices: int = 1000) -> ChildRun:
        """One nightly child; with ``kill=(step, delay)``, SIGKILL it ``delay`` seconds after it
        announced ``step`` (None: let it finish).

        Timing the kill from the child's own announcement, not from the fork, keeps the
        drawn moment inside the intended part of the run on a busy machine.
        """
        phases.unlink(missing_ok=True)
        request = {"data_dir": str(data_dir), "as_of": as_of, "seed": seed, "n": n,
                   "keep_prices": keep_prices, "phases": str(phases)}
        started = time.monotonic()
        pid = self._send(json.dumps(request))["pid"]
        if kill is not None:
            step, delay = kill
            announced = _wait_for_step(pid, phases, step)
            if announced is not None:
                time.sleep(max(0.0, announced + delay - time.monotonic()))
            if _running(pid):
                os.kill(pid, signal.SIGKILL)  # not reaped yet, so this pid is still our child
        status = self._send("reap")  # waits for the child to end
        seconds = time.monotonic() - started
        lines = phases.read_text().splitlines() if phases.exists() else []
        marks = tuple((name, float(stamp) - started) for name, stamp in (line.split("\t") for line in lines))
        return ChildRun(pid=pid, killed=status["signal"] == signal.SIGKILL, exit_code=status["code"],
                        phase=marks[-1][0] if marks else "fork", seconds=seconds, marks=marks)

    def close(self) -> None:
        _end_child(self._server, timeout=30)

    def __enter__(self) -> NightlyForkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _wait_for_step(pid: int, phases: Path, step: str) -> float | None:
    """The monotonic time the child announced ``step``; None if it ended without announcing it."""
    prefix = step + "\t"
    while True:
        text = phases.read_text() if phases.exists() else ""
        for line in text.splitlines():
            if line.startswith(prefix):
                return float(line.split("\t")[1])
        if not _running(pid):
            return None
        time.sleep(0.0005)


def _running(pid: int) -> bool:
    """Whether the child still runs (a zombie has finished, whatever its parent knows)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    if sys.argv[1:] == ["zygote"]:
        zygote()
    else:
        sys.exit("usage: python -m tests.support.faults zygote")

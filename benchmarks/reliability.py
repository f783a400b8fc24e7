"""One-page reliability report: loads held, faults injected and survived, inputs tried, anything lost.

    .venv/bin/python benchmarks/reliability.py [--dir artifacts/reliability]
    make reliability        # runs the fault / hostile / load CI suites first, then prints this page

THE CONTRACT (every reliability suite follows it; the report only reads files)
-------------------------------------------------------------------------------
Each suite (fault injection, fuzzing, hostile input, load) writes ONE JSON file,
``artifacts/reliability/<suite>.json`` under the repo root (the folder is created on
demand; ``$SCREENER_RELIABILITY_DIR`` overrides it, e.g. for tests of the report
itself).  A rerun of the suite overwrites its file; a suite that did not run leaves
no file and the report says "not run".  Write it with :func:`write_result` (atomic:
temp file + rename, so a killed suite never leaves half a file), or by hand with
exactly these keys::

    {
      "suite":    "faults_nightly_sigkill",      # == the file stem; [a-z0-9_]+
      "what":     "nightly SIGKILLed at random moments, 24 runs",   # one line, for humans
      "runs":     24,          # int or null: runs / sessions / requests done (loads, kill loops)
      "inputs":   0,           # int or null: generated inputs tried (fuzz / hostile suites)
      "faults":   24,          # int: faults injected (kills, ENOSPC, read-only, corruptions,
                               #      hostile strings...); 0 for a pure load run
      "survived": 24,          # int: faults after which every invariant held (== faults when green)
      "lost":     0,           # int: things a user or a night LOST (snapshots changed, presets
                               #      reported saved but gone, partial files, failed requests
                               #      that should have succeeded).  Must be 0; the suite's
                               #      test asserts it, the report flags anything else.
      "figures":  {"p95_ms": 41.0, "kills_in_write": 9},   # free-form name -> number or
                               #      short string, printed as "name=value" in the order given
      "variant":  "ci",        # "ci" (the short run .ci/run does) or "full" (the documented long run)
      "command":  "pytest tests/test_faults_nightly.py",    # how to reproduce this file
      "written_at": "2026-11-20T22:01:07+00:00"             # UTC ISO-8601, set by write_result
    }

``runs`` and ``inputs`` may both be present; at least one of them should be non-null.
Extra keys are allowed and ignored.  A file that is not valid JSON or lacks a
required key is shown as BROKEN in the report (and makes the report exit 1), never
silently skipped: a broken result must not read as a green one.

The report exits 0 when every file present is well-formed, has ``lost == 0`` and
``survived == faults``; 1 otherwise.  It never runs the suites itself (the Makefile
target does), so it is instant and can be rerun to reprint the page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

REPO_ROOT = Path(__file__).resolve().parents[1]
DIR_ENV = "SCREENER_RELIABILITY_DIR"
REQUIRED_KEYS = ("suite", "what", "faults", "survived", "lost", "figures")
_SUITE_NAME = re.compile(r"^[a-z0-9_]+$")
#: Width of the printed page; figures wrap onto continuation lines beyond it.
PAGE_WIDTH = 100


def results_dir() -> Path:
    """``$SCREENER_RELIABILITY_DIR`` if set, else ``artifacts/reliability`` in the repo (read at call time)."""
    configured = os.environ.get(DIR_ENV)
    return Path(configured) if configured else REPO_ROOT / "artifacts" / "reliability"


def write_result(suite: str, what: str, *, faults: int, survived: int, lost: int,
                 figures: Mapping[str, Any], runs: int | None = None, inputs: int | None = None,
                 variant: str = "ci", command: str = "") -> Path:
    """Write one suite's result file atomically (see the contract above); returns its path.

    Called by a suite BEFORE it asserts ``lost == 0``, so a failing run still leaves its
    figures behind for the report.
    """
    if not _SUITE_NAME.match(suite):
        raise ValueError(f"suite name {suite!r} must match [a-z0-9_]+ (it is the file name)")
    if runs is None and inputs is None:
        raise ValueError("give runs, inputs or both")
    payload = {
        "suite": suite, "what": what, "runs": runs, "inputs": inputs,
        "faults": int(faults), "survived": int(survived), "lost": int(lost),
        "figures": dict(figures), "variant": variant, "command": command,
        "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{suite}.json"
    tmp = folder / f".{suite}.{uuid.uuid4().hex}.tmp"
    try:
        tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


@dataclass(frozen=True)
class SuiteResult:
    """One result file as read back: its payload, or why it is unusable."""

    path: Path
    payload: dict[str, Any] | None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return (self.problem is None and self.payload is not None and self.payload["lost"] == 0
                and self.payload["survived"] == self.payload["faults"])


def _check(payload: Any, path: Path) -> str | None:
    """Why a payload breaks the contract, or None."""
    if not isinstance(payload, dict):
        return "not a JSON object"
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        return f"missing {', '.join(missing)}"
    if payload["suite"] != path.stem:
        return f"suite {payload['suite']!r} does not match the file name"
    for key in ("faults", "survived", "lost"):
        if isinstance(payload[key], bool) or not isinstance(payload[key], int) or payload[key] < 0:
            return f"{key} is not a non-negative whole number"
    for key in ("runs", "inputs"):
        value = payload.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return f"{key} is not a whole number"
    if payload.get("runs") is None and payload.get("inputs") is None:
        return "neither runs nor inputs"
    if not isinstance(payload["figures"], dict):
        return "figures is not an object"
    return None


def read_results(folder: Path) -> list[SuiteResult]:
    """Every ``*.json`` in ``folder``, by suite name; broken files kept with their problem."""
    results = []
    for path in sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else []:
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            results.append(SuiteResult(path, None, f"unreadable: {exc}"))
            continue
        problem = _check(payload, path)
        results.append(SuiteResult(path, payload if problem is None else None, problem))
    return results


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _wrapped(prefix: str, items: list[str], width: int) -> list[str]:
    """Items side by side within ``width``; an item too long for one line gets lines of its own."""
    lines, line = [], prefix
    for item in items:
        if len(prefix) + len(item) > width:
            if line.strip():
                lines.append(line.rstrip())
            lines += textwrap.wrap(item, width, initial_indent=prefix, subsequent_indent=prefix + "  ")
            line = prefix
            continue
        if len(line) + len(item) + 2 > width and line.strip():
            lines.append(line.rstrip())
            line = prefix
        line += item + "  "
    if line.strip():
        lines.append(line.rstrip())
    return lines


def render(results: list[SuiteResult], folder: Path) -> str:
    """The one-page report as text."""
    good = [r for r in results if r.payload is not None]
    totals = {key: sum(int(r.payload.get(key) or 0) for r in good)  # type: ignore[union-attr]
              for key in ("runs", "inputs", "faults", "survived", "lost")}
    broken = [r for r in results if r.problem is not None]
    verdict = "PASS" if results and all(r.ok for r in results) else ("NO RESULTS" if not results else "FAIL")
    lines = [
        "Reliability report: smallcap-screener".ljust(PAGE_WIDTH - 20) + f"{verdict:>20}",
        "=" * PAGE_WIDTH,
        f"results from {folder}  ({len(results)} suite file(s))",
        f"runs / loads {totals['runs']:,}   inputs tried {totals['inputs']:,}   faults injected "
        f"{totals['faults']:,}   survived {totals['survived']:,}   LOST {totals['lost']:,}",
        "-" * PAGE_WIDTH,
        f"{'suite':<30}{'variant':<8}{'runs':>8}{'inputs':>9}{'faults':>8}{'survived':>10}{'lost':>6}  written",
    ]
    for result in results:
        payload = result.payload
        if payload is None:
            lines.append(f"{result.path.stem:<30}BROKEN: {result.problem}")
            continue
        runs = "" if payload.get("runs") is None else f"{payload['runs']:,}"
        inputs = "" if payload.get("inputs") is None else f"{payload['inputs']:,}"
        flag = "" if result.ok else "  <-- CHECK"
        lines.append(f"{payload['suite']:<30}{str(payload.get('variant', '')):<8}{runs:>8}{inputs:>9}"
                     f"{payload['faults']:>8,}{payload['survived']:>10,}{payload['lost']:>6,}  "
                     f"{str(payload.get('written_at', ''))[:16]}{flag}")
        lines += textwrap.wrap(str(payload["what"]), PAGE_WIDTH, initial_indent="    ", subsequent_indent="    ")
        figures = [f"{name}={_number(value)}" for name, value in payload["figures"].items()]
        lines.extend(_wrapped("    ", figures, PAGE_WIDTH))
    lines.append("-" * PAGE_WIDTH)
    if broken:
        lines.append(f"{len(broken)} result file(s) break the contract (see benchmarks/reliability.py).")
    if not good:
        lines.append("No usable result files.")
    elif totals["lost"]:
        lines.append(f"LOST: {totals['lost']:,} (must be zero).")
    else:
        lines.append(f"Nothing was lost. Faults survived {totals['survived']:,} of {totals['faults']:,}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the one-page reliability report.")
    parser.add_argument("--dir", type=Path, default=None, help=f"result folder (default: ${DIR_ENV} or "
                                                               "artifacts/reliability)")
    args = parser.parse_args(argv)
    folder = args.dir or results_dir()
    results = read_results(folder)
    print(render(results, folder))
    if not results:
        print("No result files: run `make reliability` (or the suites' pytest files) first.")
        return 1
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

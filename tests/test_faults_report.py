"""The reliability report reads the suites' result files by the contract in benchmarks/reliability.py:
totals add up, anything lost or a fault not survived fails it, a broken file is shown as BROKEN
(never skipped), and no files at all is not a pass."""

from __future__ import annotations

import json

import pytest

from benchmarks import reliability


@pytest.fixture
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(reliability.DIR_ENV, str(tmp_path))
    return tmp_path


def test_totals_and_a_passing_page(results_dir, capsys):
    reliability.write_result("alpha", "first suite", runs=3, faults=2, survived=2, lost=0, figures={"p95_ms": 41.5})
    reliability.write_result("beta", "second suite", inputs=1000, faults=10, survived=10, lost=0,
                             figures={"kinds": "a, b"})
    assert reliability.main([]) == 0
    page = capsys.readouterr().out
    assert "PASS" in page.splitlines()[0]
    assert "runs / loads 3   inputs tried 1,000   faults injected 12   survived 12   LOST 0" in page
    assert "p95_ms=41.5" in page and "kinds=a, b" in page and "Nothing was lost" in page
    assert [p.name for p in results_dir.iterdir()] and not list(results_dir.glob("*.tmp"))


@pytest.mark.parametrize("lost, survived", [(1, 2), (0, 1)])
def test_anything_lost_or_not_survived_fails(results_dir, capsys, lost, survived):
    reliability.write_result("alpha", "x", runs=1, faults=2, survived=survived, lost=lost, figures={})
    assert reliability.main([]) == 1
    page = capsys.readouterr().out
    assert "FAIL" in page.splitlines()[0] and "<-- CHECK" in page


@pytest.mark.parametrize("content, problem", [
    ("{not json", "unreadable"),
    (json.dumps({"suite": "broken", "what": "x", "faults": 1, "survived": 1, "figures": {}, "runs": 1}),
     "missing lost"),
    (json.dumps({"suite": "other", "what": "x", "faults": 1, "survived": 1, "lost": 0, "figures": {}, "runs": 1}),
     "does not match the file name"),
    (json.dumps({"suite": "broken", "what": "x", "faults": 1, "survived": 1, "lost": -1, "figures": {},
                 "runs": 1}), "lost is not a non-negative whole number"),
    (json.dumps({"suite": "broken", "what": "x", "faults": 1, "survived": 1, "lost": 0, "figures": {}}),
     "neither runs nor inputs"),
])
def test_a_broken_file_is_shown_and_fails_the_report(results_dir, capsys, content, problem):
    reliability.write_result("alpha", "fine", runs=1, faults=0, survived=0, lost=0, figures={})
    (results_dir / "broken.json").write_text(content)
    assert reliability.main([]) == 1
    page = capsys.readouterr().out
    assert "broken                        BROKEN: " in page and problem in page


def test_no_results_is_not_a_pass(results_dir, capsys):
    assert reliability.main([]) == 1
    assert "NO RESULTS" in capsys.readouterr().out


def test_the_writer_refuses_what_the_reader_would_refuse(results_dir):
    with pytest.raises(ValueError):
        reliability.write_result("Bad Name", "x", runs=1, faults=0, survived=0, lost=0, figures={})
    with pytest.raises(ValueError):
        reliability.write_result("alpha", "x", faults=0, survived=0, lost=0, figures={})

"""The fuzz run's journal (tests/fuzz_report.py): shards take every n-th test, a stopped run resumes
without running a passed test again, and the report adds every shard and every earlier run up."""

from __future__ import annotations

import json

import pytest

import fuzz_report
from fuzz_report import journal_records, parse_shard, summary

pytest_plugins = ["pytester"]

# A test module for the inner sessions: each test feeds one entry point a known count.
FED = """
from fuzz import tried

def test_parse():
    tried("abcnotation.parse_tunebook", 7)

def test_check():
    tried("reader.read_tune", 5)

def test_broken():
    tried("reader.read_tune", 1)
    assert False

def test_more_parse():
    tried("abcnotation.parse_tunebook", 2)
"""


def _record(test: str, outcome: str = "passed", scale: float = fuzz_report.SCALE, **tried: int) -> str:
    return json.dumps({"test": test, "scale": scale, "profile": fuzz_report.PROFILE, "shard": None,
                       "outcome": outcome, "seconds": 1.5, "tried": tried, "findings": []})


@pytest.mark.parametrize("text, expected", [("1/2", (1, 2)), ("2/2", (2, 2)), ("3/7", (3, 7))])
def test_a_shard_is_k_of_n(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/2/3", ""])
def test_a_bad_shard_is_named_in_one_line(text):
    with pytest.raises(ValueError, match="TUNESMITH_FUZZ_SHARD"):
        parse_shard(text)


def test_the_newest_record_of_a_test_counts_and_a_torn_line_is_skipped(tmp_path):
    (tmp_path / "shard-1-of-2.jsonl").write_text("\n".join([
        _record("t.py::a", "failed", x=1), _record("t.py::b", x=10), _record("t.py::a", x=3),
        _record("t.py::c", scale=fuzz_report.SCALE * 2, x=1000), '{"test": "t.py::d", "sc']) + "\n")
    (tmp_path / "shard-2-of-2.jsonl").write_text(_record("t.py::e", y=4) + "\n")
    records = journal_records(tmp_path)
    assert sorted(record["test"] for record in records) == ["t.py::a", "t.py::b", "t.py::e"]
    report = summary(records)
    assert report["entry_points"]["x"]["tried"] == 13  # a's newest (3) and b's 10, not c's other scale
    assert report["entry_points"]["y"]["tried"] == 4
    assert report["failed_tests"] == [] and report["tests"] == 3 and report["seconds"] == 4.5


def _run(pytester, monkeypatch, journal, shard=None):
    monkeypatch.setattr(fuzz_report, "JOURNAL", str(journal))
    monkeypatch.setattr(fuzz_report, "SHARD", shard)
    monkeypatch.setattr(fuzz_report, "COMMIT", "abc1234")
    fuzz_report.TRIED.clear()
    return pytester.runpytest_inprocess("-p", "fuzz_report", "-p", "no:cacheprovider", "test_fed.py")


def test_shards_add_up_and_a_second_run_reruns_only_what_did_not_pass(pytester, monkeypatch, tmp_path):
    pytester.makepyfile(test_fed=FED)
    journal = tmp_path / "journal"
    first = _run(pytester, monkeypatch, journal, "1/2")  # test_parse, test_broken
    first.assert_outcomes(passed=1, failed=1, deselected=2)
    second = _run(pytester, monkeypatch, journal, "2/2")  # test_check, test_more_parse
    second.assert_outcomes(passed=2, deselected=2)
    report = summary(journal_records(journal))
    assert report["entry_points"]["abcnotation.parse_tunebook"]["tried"] == 9
    assert report["entry_points"]["reader.read_tune"]["tried"] == 6  # test_broken's one input counts too
    assert report["failed_tests"] == ["test_fed.py::test_broken"]
    assert report["tests"] == 4 and report["commits"] == {"abc1234": 4}

    again = _run(pytester, monkeypatch, journal)  # unsharded: only the failed test runs again
    again.assert_outcomes(failed=1, deselected=3)
    report = summary(journal_records(journal))
    assert report["entry_points"]["reader.read_tune"]["tried"] == 6  # its newer record replaces the old
    assert sorted(path.name for path in journal.glob("*.jsonl")) == ["all.jsonl", "shard-1-of-2.jsonl",
                                                                      "shard-2-of-2.jsonl"]


def test_the_report_command_fails_below_a_floor_and_names_it(tmp_path, capsys):
    (tmp_path / "all.jsonl").write_text(_record("t.py::a", **{"reader.read_tune": 1}) + "\n")
    assert fuzz_report.main([str(tmp_path), str(tmp_path / "report.json")]) == 1
    out = capsys.readouterr().out
    assert "below the floor: abcnotation.parse_tunebook: 0 of" in out
    assert json.loads((tmp_path / "report.json").read_text())["entry_points"]["reader.read_tune"]["tried"] == 1


def test_the_report_command_says_when_the_journal_is_empty(tmp_path, capsys):
    assert fuzz_report.main([str(tmp_path), str(tmp_path / "report.json")]) == 1
    assert "no tests recorded" in capsys.readouterr().out

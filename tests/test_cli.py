"""The command line is a thin layer: check each command end to end through main()."""

import json

import pytest

from tunesmith.cli import main


def test_data_list(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "oneills" in out and "mit" in out


def test_data_stats_reports_skipped_tunes(capsys, quirks_abc):
    assert main(["data", "stats", str(quirks_abc)]) == 0
    out = capsys.readouterr().out
    assert "3 tunes in 1 files" in out
    assert "skipping quirks.abc" not in out  # full paths, not bare names
    assert f"skipping {quirks_abc}: tune 2: no K: (key) field" in out


def test_bad_data_is_one_clear_line(capsys, tmp_path):
    assert main(["train", "--data", str(tmp_path / "missing.abc"), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing.abc: no such file or folder" in err


def test_train_then_generate_to_a_folder(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--data", "airds", "--out", str(run), "--preset", "tiny", "--steps", "30", "--quiet"]) == 0
    final = json.loads(capsys.readouterr().out.splitlines()[-2])
    assert final["step"] == 30 and final["best_valid_bpc"] > 0
    out = tmp_path / "tunes"
    assert main(["generate", "--model", str(run), "--num", "3", "--meter", "3/4", "--out", str(out),
                 "--max-chars", "200"]) == 0
    files = sorted(out.glob("*.abc"))
    assert [f.name for f in files] == ["tune-001.abc", "tune-002.abc", "tune-003.abc"]
    first = files[0].read_text().splitlines()
    assert first[0].startswith("% tunesmith generate") and first[1] == "X:1" and "M:3/4" in first


def test_generate_without_a_model_says_how_to_train(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="no trained model under ./runs"):
        main(["generate"])


def test_format_needs_out(tiny_run):
    with pytest.raises(SystemExit):
        main(["generate", "--model", str(tiny_run), "--format", "mid"])


def test_check_prints_a_table_and_the_broken_tunes(capsys, tmp_path):
    book = tmp_path / "book.abc"
    book.write_text("X:1\nT:Good\nM:2/4\nL:1/8\nK:D\nABcd|efga|\n\n"
                    "X:2\nT:Short bar\nM:2/4\nL:1/8\nK:D\nABcd|efg|ABcd|\n")
    assert main(["check", str(book), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "tune 2 'Short bar'" in out and "tune 1 " not in out
    assert "every bar the right length" in out and "50.0%" in out
    assert len(json.loads((tmp_path / "r.json").read_text())) == 2


def test_demo_reuses_a_finished_run_and_writes_eight_tunes(tmp_path, monkeypatch, tiny_run, capsys):
    import shutil

    shutil.copytree(tiny_run, tmp_path / "runs" / "demo")
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    assert "reusing the finished run" in capsys.readouterr().out
    assert len(list((tmp_path / "runs" / "demo" / "tunes").glob("tune-*.abc"))) == 8

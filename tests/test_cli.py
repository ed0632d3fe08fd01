"""The command line is a thin layer: check each command end to end through main()."""

import json
import shlex
import shutil

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
    assert first[0] == "X:1" and first[1].startswith(f"N:tunesmith generate --model {run} --num 3 --seed ")
    assert "M:3/4" in first
    # The N: line is the command that writes the same tunes again; a second run adds, never overwrites.
    again = shlex.split(first[1].removeprefix("N:"))[1:]
    assert main([*again, "--out", str(out), "--max-chars", "200"]) == 0
    files = sorted(out.glob("*.abc"))
    assert [f.name for f in files][3:] == ["tune-004.abc", "tune-005.abc", "tune-006.abc"]
    assert files[3].read_text().split("\n", 2)[2] == files[0].read_text().split("\n", 2)[2]


def test_generate_without_a_run_uses_the_shipped_model(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--rhythm", "reel", "--key", "D", "--seed", "5"]) == 0
    tune = capsys.readouterr().out
    assert tune.startswith("X:1\nN:tunesmith generate --model default --num 1 --seed 5")
    assert "\nR:reel\n" in tune and "\nK:D\n" in tune


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


def test_demo_writes_eight_tunes_and_a_gallery(tmp_path, tiny_run, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--model", str(tiny_run), "--out", str(out), "--seed", "3"]) == 0
    tunes = sorted(out.glob("*.abc"))
    assert len(tunes) == 8 and all(t.read_text().startswith("X:1\nN:tunesmith demo --seed 3") for t in tunes)
    page = (out / "index.html").read_text()
    assert page.count('<section class="tune">') == 8 and all(t.name in page for t in tunes)
    printed = capsys.readouterr().out
    assert f"open {out / 'index.html'}" in printed
    if shutil.which("abcm2ps") and shutil.which("fluidsynth"):
        assert len(list(out.glob("*.svg"))) == len(list(out.glob("*.wav"))) == 8
    else:
        assert "sudo apt-get install" in page and "sudo apt-get install" in printed


def test_demo_train_reuses_a_finished_run(tmp_path, monkeypatch, tiny_run, capsys):
    shutil.copytree(tiny_run, tmp_path / "runs" / "demo")
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--train", "--seed", "1"]) == 0
    assert "reusing the finished run" in capsys.readouterr().out
    assert len(list((tmp_path / "out" / "demo").glob("*.abc"))) == 8


@pytest.mark.parametrize(("options", "said"), [
    (["--key", "H"], "key 'H' is not a key"),
    (["--meter", "7"], "meter '7' is not a metre"),
    (["--temperature", "-1"], "temperature must be above 0"),
    (["--num", "0"], "--num must be at least 1 (got 0)"),
])
def test_bad_generate_options_are_one_clear_line(tiny_run, capsys, options, said):
    assert main(["generate", "--model", str(tiny_run), *options]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and said in err


def test_a_rhythm_the_books_lack_is_written_with_a_warning(tiny_run, capsys):
    assert main(["generate", "--model", str(tiny_run), "--rhythm", "disco", "--seed", "1", "--max-chars", "300"]) == 0
    err = capsys.readouterr().err
    assert "rhythm 'disco': the model's tune books have no such tunes (they have " in err and "reel" in err


BOOK = """X:1
T:Low Reel
M:C|
L:1/8
K:D
D,E,F,A, D,F,A,D|E,F,G,A, B,A,G,F,|D,E,F,A, D,F,A,D|E,G,F,E, D,4|]

X:2
T:No Key
M:C|
L:1/8
K:none
ABcd efga|]
"""


def test_transpose_for_an_instrument_and_to_a_key(tmp_path, capsys):
    book = tmp_path / "book.abc"
    book.write_text(BOOK)
    assert main(["transpose", str(book), "--for", "tin whistle", "--out", str(tmp_path / "w.abc")]) == 1
    out, err = (tmp_path / "w.abc").read_text(), capsys.readouterr().err
    assert "D,E,F" not in out and "N:moved up 1 octave in D for the whistle: 0 notes outside" in out
    assert "skipped 2 'No Key'" in err and "1 tunes arranged, 1 skipped or failed" in err
    assert main(["transpose", str(book), "--to", "Em"]) == 1
    assert "the tune is in D (major); Em is minor" in capsys.readouterr().err


def test_chords_and_a_bad_instrument(tmp_path, capsys):
    book = tmp_path / "book.abc"
    book.write_text(BOOK)
    main(["chords", str(book)])
    assert '"D"D,' in capsys.readouterr().out
    assert main(["transpose", str(book), "--for", "theremin"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown instrument 'theremin': choose from fiddle, whistle" in err


def test_generate_for_an_instrument_with_chords(tiny_run, capsys):
    assert main(["generate", "--model", str(tiny_run), "--instrument", "whistle", "--chords", "--seed", "1",
                 "--num", "2", "--max-chars", "500", "--keys", "G,Em"]) == 0
    out = capsys.readouterr().out
    assert out.count("N:every note in the whistle's range (MIDI 62-86)") == 2
    assert "--instrument whistle --keys G,Em --chords" in out


def test_a_tune_cut_at_max_chars_says_so(tiny_run, capsys):
    assert main(["generate", "--model", str(tiny_run), "--seed", "1", "--num", "2", "--max-chars", "60",
                 "--candidates", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("N:unfinished: cut at --max-chars 60") == 2
    assert "2 cut at --max-chars 60" in captured.err

"""What a user plausibly mistypes gets one line that names the argument, the value and what is wrong (exit 2),
before any work: no model is loaded for these, and no traceback is printed."""

import pytest

from tunesmith.cli import build_parser, main
from tunesmith.cli.common import Refused

TUNE = "X:1\nT:Test\nM:4/4\nL:1/8\nK:D\nABcd efga|\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))

# (command line, what the one line says); relative names resolve in a folder holding only the files below.
BAD = [
    (["generate", "--key", "H"], "--key 'H' is not a key (examples: D, G, Ador, Emin, 'Bb mix')"),
    (["generate", "--key", "Dorian"], "--key 'Dorian' is not a key"),
    (["generate", "--meter", "7"], "--meter '7' is not a metre (examples: 4/4, 6/8, C|)"),
    (["generate", "--meter", "6/"], "--meter '6/' is not a metre"),
    (["generate", "--meter", "3/0"], "--meter '3/0' is not a metre"),
    (["generate", "--rhythm", "6/8"], "--rhythm '6/8' is not a tune type (examples: reel, hornpipe, jig"),
    (["generate", "--temperature", "-1"], "--temperature must be above 0 and at most 5 (got -1)"),
    (["generate", "--temperature", "0"], "--temperature must be above 0 and at most 5 (got 0)"),
    (["generate", "--temperature", "nan"], "--temperature must be above 0 and at most 5 (got nan)"),
    (["generate", "--temperature", "50"], "--temperature must be above 0 and at most 5 (got 50)"),
    (["generate", "--temperature", "hot"], "--temperature 'hot' is not a number"),
    (["generate", "--num", "0"], "--num must be at least 1 (got 0)"),
    (["generate", "--top-k", "-1"], "--top-k must be from 0 to 10,000 (got -1)"),
    (["generate", "--top-p", "0"], "--top-p must be above 0 and at most 1 (got 0)"),
    (["generate", "--max-chars", "0"], "--max-chars must be from 1 to 20,000 (got 0)"),
    (["generate", "--parts", "9"], "--parts must be from 1 to 8 (got 9)"),
    (["generate", "--parts", "2", "--bars-per-part", "0"], "--bars-per-part must be from 1 to 64 (got 0)"),
    (["generate", "--seed", "-1"], "--seed must be from 0 to 2,147,483,647 (got -1)"),
    (["generate", "--seed", "1.5"], "--seed '1.5' is not a whole number"),
    (["generate", "--keys", "D,H"], "--keys 'H' is not a key"),
    (["generate", "--keys", ","], "--keys ',': give keys separated by commas"),
    (["generate", "--model", "no-such-run"], "--model 'no-such-run': no such run directory or model file"),
    (["generate", "--out", "tune.abc"], "--out 'tune.abc': a file, not a folder for one .abc per tune"),
    (["generate", "--out", "new.abc"], "--out 'new.abc': a file name, not a folder for one .abc per tune"),
    (["generate", "--tempo", "0"], "--tempo must be from 20 to 400 (got 0)"),
    (["generate", "--instrument", "theremin"], "--instrument 'theremin' is not an instrument: choose from fiddle"),
    (["generate", "--soundfont", "no.sf2"], "--soundfont 'no.sf2': no such file"),
    (["render", "nothere.abc"], "'nothere.abc': no such file"),
    (["render", "notes.txt"], "'notes.txt': not an ABC tune book"),
    (["render", "picture.png"], "'picture.png': not an ABC tune book"),
    (["render", "."], "'.': a folder, not a file"),
    (["render", "tune.abc", "--tune", "0"], "--tune must be from 1 to 100,000 (got 0)"),
    (["render", "tune.abc", "--out", "notes.txt"], "--out 'notes.txt': a file, not a folder"),
    (["render", "tune.abc", "--tempo", "1000"], "--tempo must be from 20 to 400 (got 1000)"),
    (["render", "tune.abc", "--chords-on", "kazoo"], "--chords-on 'kazoo' is not an instrument"),
    (["play", "nothere.wav"], "'nothere.wav': no such file"),
    (["play", "tune.abc", "--tune", "-1"], "--tune must be from 1 to 100,000 (got -1)"),
    (["transpose", "tune.abc", "--to", "H"], "--to 'H' is not a key"),
    (["transpose", "notes.txt", "--to", "G"], "'notes.txt': not an ABC tune book"),
    (["transpose", "tune.abc", "--to", "G", "--out", "no/such/x.abc"], "--out 'no/such/x.abc': no folder 'no/such'"),
    (["chords", "nothere.abc"], "'nothere.abc': no such file"),
    (["check", "picture.png"], "'picture.png': not an ABC tune book"),
    (["check", "nothere.abc"], "nothere.abc: no such file or folder, and not a named corpus"),
    (["check", "tune.abc", "--json", "."], "--json '.': a folder; give a file name"),
    (["check", "tune.abc", "--against", "picture.png"], "--against 'picture.png': not an ABC tune book"),
    (["data", "stats", "picture.png"], "'picture.png': not an ABC tune book"),
    (["data", "stats", "tune.abc", "--show-skipped", "-1"], "--show-skipped must be from 0 to 100,000 (got -1)"),
    (["evaluate", "--samples", "0"], "--samples must be from 1 to 10,000 (got 0)"),
    (["evaluate", "--temperature", "0"], "--temperature must be above 0 and at most 5 (got 0)"),
    (["evaluate", "--keys", "G", "H"], "--keys 'H' is not a key"),
    (["evaluate", "--requests", "0"], "--requests must be from 1 to 1,000 (got 0)"),
    (["evaluate", "--model", "no-such-run"], "--model 'no-such-run': no such run directory or model file"),
    (["plot", "no-such-run"], "'no-such-run': no such run directory"),
    (["train", "--data", "airds", "--out", "run", "--steps", "0"], "--steps must be from 1 to 1,000,000,000 (got 0)"),
    (["train", "--data", "airds", "--out", "run", "--minutes", "0"], "--minutes must be above 0 and at most 10,080"),
    (["train", "--data", "airds", "--out", "run", "--nproc", "0"], "--nproc must be from 1 to 64 (got 0)"),
    (["train", "--data", "airds", "--out", "notes.txt"], "--out 'notes.txt': a file, not a folder"),
    (["train", "--data", "picture.png", "--out", "run"], "--data 'picture.png': not an ABC tune book"),
    (["demo", "--seed", "-5"], "--seed must be from 0 to 2,147,483,647 (got -5)"),
    (["demo", "--minutes", "-1"], "--minutes must be above 0 and at most 10,080 (got -1)"),
    (["export", "no-such-run", "--out", "x.safetensors"], "'no-such-run': no such run directory or model file"),
    (["export", "tune.abc", "--out", "."], "--out '.': a folder; give a file name"),
    (["serve", "--port", "70000"], "--port must be from 1 to 65,535 (got 70000)"),
]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder holding a tune book, a text file and a picture, made the working directory."""
    (tmp_path / "tune.abc").write_text(TUNE)
    (tmp_path / "notes.txt").write_text("shopping: milk, rosin, strings\n")
    (tmp_path / "picture.png").write_bytes(PNG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def no_model(monkeypatch):
    """Loading a model fails the test: each of these must be refused before any model loads."""
    import tunesmith.store.checkpoint

    def refuse(*_args, **_kwargs):
        raise AssertionError("a model was loaded before the bad argument was said")

    monkeypatch.setattr(tunesmith.store.checkpoint, "load_model", refuse)


@pytest.mark.parametrize(("argv", "said"), BAD, ids=[" ".join(argv) for argv, _ in BAD])
def test_a_bad_argument_is_one_line_naming_it(workdir, no_model, capsys, argv, said):
    assert main(argv) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert not any("Traceback" in line for line in err), err
    assert len(err) == 1 and err[-1].startswith("tunesmith: ") and said in err[-1], err


@pytest.mark.parametrize(("value", "said"), [
    ("x", "argument --num: 'x' is not a whole number"),
    ("5000", "argument --num: at most 1,000 tunes in one run (got 5,000)"),
])
def test_a_num_that_is_no_count_is_argparses_error(workdir, capsys, value, said):
    """--num is the one check argparse says itself (main compares --num before any command runs)."""
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "--num", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and said in err.splitlines()[-1]
    assert "show this help message" not in err  # argparse's usage lines, not the whole help


GOOD = [
    ["generate", "--key", "Bb mix", "--meter", "C|", "--rhythm", "slip jig", "--temperature", "5", "--top-p", "1",
     "--top-k", "0", "--num", "1000", "--seed", "0", "--parts", "8", "--bars-per-part", "64", "--out", "tunes",
     "--keys", "D, G,Em", "--instrument", "tin whistle", "--chords-on", "24", "--tempo", "20"],
    ["generate", "--key", "E minor", "--meter", "6/8", "--rhythm", "hornpipe", "--model", "default"],
    ["generate", "--key", "F#m", "--meter", " 9/8", "--rhythm", "Highland Fling"],
    ["render", "tune.abc", "--to", "mid,svg", "--tune", "1", "--out", "out"],
    ["transpose", "tune.abc", "--to", "Ador", "--out", "moved.abc"],
    ["check", "tune.abc", ".", "oneills", "--json", "report.json"],
    ["evaluate", "--keys", "Bb", "F#m", "--samples", "1"],
    ["train", "--data", "airds", "tune.abc", "--out", "runs/new", "--minutes", "0.5", "--nproc", "2"],
    ["demo", "--seed", "2147483647"],
    ["serve", "--port", "65535"],
]


@pytest.mark.parametrize("argv", GOOD, ids=[" ".join(argv[:3]) for argv in GOOD])
def test_what_a_user_means_is_accepted(workdir, argv):
    args = build_parser().parse_args(argv)
    refused = [(name, value) for name, value in vars(args).items()
               if isinstance(value, Refused) or isinstance(value, list) and any(isinstance(v, Refused) for v in value)]
    assert not refused


def test_a_metre_comes_back_as_it_is_written():
    args = build_parser().parse_args(["generate", "--meter", " 6/8 ", "--keys", "D,Ador"])
    assert args.meter == "6/8" and args.keys == ["D", "Ador"]


def test_generate_never_writes_over_a_file(workdir, no_model, capsys):
    assert main(["generate", "--out", "tune.abc"]) == 2
    assert (workdir / "tune.abc").read_text() == TUNE
    assert "generate never writes over a file" in capsys.readouterr().err


def test_generate_out_help_says_tunes_are_numbered_on(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    assert "never written over" in " ".join(capsys.readouterr().out.split())


def test_a_refused_value_is_said_by_the_command_not_argparse():
    """A refusal is kept in the value (argparse would print the whole usage and exit inside parse_args)."""
    args = build_parser().parse_args(["generate", "--key", "H"])
    assert isinstance(args.key, Refused)
    with pytest.raises(ValueError, match=r"^--key 'H' is not a key"):
        args.func(args)


@pytest.mark.parametrize(("meter", "known"),
                         [("1/1", False), ("19/88", False), ("7", False), ("6/8", True), ("C|", True)])
def test_a_metre_is_one_the_lexicon_knows(workdir, no_model, capsys, meter, known):
    """--meter takes what lexicon's METERS holds, the one table the constraint writes M: from; anything else
    is one line naming the option, the value and what is taken."""
    from tunesmith.abc.lexicon import METERS

    assert (meter in METERS) == known
    args = build_parser().parse_args(["generate", "--meter", meter])
    assert (args.meter == meter) if known else isinstance(args.meter, Refused)
    if not known:
        assert main(["generate", "--meter", meter]) == 2
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(err) == 1 and err[0].startswith(f"tunesmith: --meter {meter!r} is not a metre"), err
        assert "C, C| or n/d with n from 1 to 16 and d 2, 4, 8 or 16" in err[0], err


def test_a_path_with_a_newline_is_said_in_one_line(workdir, no_model, capsys):
    """A value is said as repr() shows it: a newline in a file name cannot start a second, forged line."""
    assert main(["render", "tune.abc\ntunesmith: all is well"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tunesmith: 'tune.abc\\ntunesmith: all is well': no such file"), err

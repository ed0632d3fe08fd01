"""`tunesmith fill`, `continue`, `vary` and `set` as a musician types them."""

import pytest

from tunesmith.cli import main
from tunesmith.data.infill import split_at_bars

REEL = ("X:1\nT:Test Reel\nM:C|\nL:1/8\nK:D\n"
        "|:A|dfaf gfed|cABc dAFA|GBdB AFDF|EFGE D3:|\n|:g|fdad fdad|gebe gebe|fdad fgaf|gefe d3:|\n")


@pytest.fixture
def reel(tmp_path):
    path = tmp_path / "reel.abc"
    path.write_text(REEL)
    return path


def _tune(out: str) -> str:
    return "\n".join(line for line in out.splitlines() if not line.startswith("N:"))


def test_fill_prints_the_tune_with_what_it_wrote(reel, tiny_run, capsys):
    assert main(["fill", str(reel), "--bars", "5-8", "--model", str(tiny_run), "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "N:tunesmith fill" in out and "--seed 1" in out and "N:full bars 5-8 written again" in out
    tune = _tune(out)
    assert tune.startswith(REEL[: split_at_bars(REEL)[6]]) and len(split_at_bars(tune)) == len(split_at_bars(REEL))


def test_continue_and_vary_and_set(reel, tiny_run, tmp_path, capsys):
    a_part = tmp_path / "a.abc"
    a_part.write_text(REEL[: REEL.index("\n|:g|")] + "\n")
    assert main(["continue", str(a_part), "--model", str(tiny_run), "--seed", "2"]) == 0
    assert "N:part B written" in capsys.readouterr().out
    assert main(["vary", str(reel), "--model", str(tiny_run), "--seed", "3", "--candidates", "2"]) == 0
    captured = capsys.readouterr()
    assert "N:a variation: bars" in captured.out and "main-beat notes kept" in captured.err
    out = tmp_path / "set.abc"
    assert main(["set", "--rhythm", "reel", "--num", "2", "--model", str(tiny_run), "--seed", "4",
                 "--candidates", "1", "--out", str(out)]) == 0
    assert out.read_text().count("X:") == 2 and "a set of 2 reels" in out.read_text()


@pytest.mark.parametrize("options, said", [
    (["fill", "{reel}", "--bars", "5-30"], "bars 5-30 are not all in it"),
    (["fill", "{reel}", "--bars", "8-5"], "the first comes before the last"),
    (["fill", "{reel}"], "one of the arguments --bars --part is required"),
    (["fill", "{reel}", "--part", "Z"], "A to H"),
    (["continue", "{reel}"], "continued with part C"),
    (["vary", "{reel}", "--amount", "0"], "amount"),
    (["fill", "{reel}", "--bars", "1-2", "--tune", "3"], "has 1 tune"),
])
def test_bad_requests_are_one_clear_line(reel, tiny_run, capsys, options, said):
    argv = [a.format(reel=reel) for a in options] + ["--model", str(tiny_run)]
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own checks (a required option missing) exit from the parser
        code = stop.code
    assert code != 0
    err = capsys.readouterr().err
    assert said in err


def test_out_is_never_written_over(reel, tiny_run, tmp_path, capsys):
    out = tmp_path / "mine.abc"
    out.write_text("my own tune")
    assert main(["fill", str(reel), "--bars", "1-2", "--model", str(tiny_run), "--out", str(out)]) != 0
    assert out.read_text() == "my own tune" and "already there" in capsys.readouterr().err

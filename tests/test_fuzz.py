"""Bad input everywhere there is input: property tests and a mutation corpus built from real tunes.

The rule for every entry point: no exception but the project's own clear ones (one line, naming the
file or tune), no hang, and every good tune in the same input still read. `make fuzz` runs the same
tests with many more examples (HYPOTHESIS_PROFILE=fuzz); `pytest -s` prints how many inputs each
entry point was given. The long loops at the end (tests/fuzz_report.py) feed seeded streams of mutants and
argument lists to each entry point until it reaches its floor: 100,000 inputs under `make fuzz`.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import io
import os
import random
import re
import shutil
import stat
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from fractions import Fraction
from pathlib import Path

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fuzz import CLI_EXAMPLES, FUZZ, MUTANTS, fuzz_only, report, tried
from fuzz.mutations import JUNK, encodings, good_tunes, mutants, seed_tunes
from fuzz_report import CLI_COMMANDS, Stage, cli_entry_point, feed_until_floors, mutant_stream, unique
from tunesmith.abc.reader import read_tune
from tunesmith.abc.text import (
    TuneError,
    canonical_key,
    meter_fraction,
    normalise_tune,
    parse_tunebook,
    split_tunebook,
)
from tunesmith.abc.theory import key_signature
from tunesmith.cli import main
from tunesmith.data.corpus import DataError, load_corpus, load_file, resolve_files
from tunesmith.data.vocab import CharVocab
from tunesmith.judge.quality import check_tune, check_tunebook
from tunesmith.models import build_model
from tunesmith.render.performance import beat_of, tempo_field
from tunesmith.render.rendering import (
    RenderError,
    RenderOptions,
    missing_tools,
    render_tune,
    render_tunebook,
)
from tunesmith.store.checkpoint import describe, save_best

SRC = Path(__file__).resolve().parents[1] / "src" / "tunesmith"


@pytest.fixture(scope="module", autouse=True)
def _print_counts():
    yield
    print("\n" + report())


def assert_clear(error: BaseException, *names: str) -> None:
    """A clear error: one line, naming what it is about."""
    message = str(error)
    assert message and "\n" not in message, repr(message)
    assert len(message) < 400, message[:400]
    for name in names:
        assert name in message, (name, message)


def well_formed(tunes, errors, source: str) -> None:
    for tune in tunes:
        assert tune.text.startswith("X:1\n") and any(line.startswith("K:") for line in tune.text.split("\n"))
        assert normalise_tune(tune.text) == tune.text, "normalising twice changed the tune"
    for error in errors:
        assert isinstance(error, TuneError)
        assert_clear(error, source, f"tune {error.number}")


# ---------------------------------------------------------------- text: the mutation corpus


@pytest.fixture(scope="module")
def corpus_mutants() -> list[str]:
    return mutants(MUTANTS, seed=8)


def test_mutated_tunes_pass_through_every_text_function(corpus_mutants):
    vocab = CharVocab.build(seed_tunes())
    for text in corpus_mutants:
        tried("abcnotation.split_tunebook")
        for line, piece in split_tunebook(text):
            assert line >= 1 and piece.strip()
        tried("abcnotation.parse_tunebook")
        well_formed(*parse_tunebook(text, "mutant.abc"), "mutant.abc")
        tried("abcnotation.normalise_tune")
        try:
            normalise_tune(text, "mutant.abc", 3)
        except TuneError as error:
            assert_clear(error, "mutant.abc: tune 3:")
        tried("quality.check_tune (own reader)")
        read_tune(text)
        check_tune(text, use_abc2midi=False)
        tried("vocab.encode/decode")
        ids = vocab.encode(text, strict=False)
        assert len(ids) == len(text) and all(0 <= i < len(vocab) for i in ids)
        try:
            assert vocab.decode(vocab.encode(text)) == text
        except ValueError as error:
            assert_clear(error, "never seen in training")


def test_good_tunes_survive_their_mutated_neighbours(corpus_mutants):
    """A tune book of good tunes with a mutant between each pair: every good tune is still read."""
    rng = random.Random(3)
    good = good_tunes()
    for start in range(0, min(len(corpus_mutants), 200), 20):
        chosen = rng.sample(good, min(10, len(good)))  # quirks.abc alone has a few; irish.abc many
        bad = corpus_mutants[start:start + 10]
        book = "\n\n".join(piece for pair in zip(chosen, bad) for piece in pair)
        tunes, errors = parse_tunebook(book, "mixed.abc")
        well_formed(tunes, errors, "mixed.abc")
        texts = {tune.text for tune in tunes}
        for tune in chosen:
            assert parse_tunebook(tune)[0][0].text in texts
        tried("abcnotation.parse_tunebook (good + mutants)", len(chosen) + len(bad))


# ---------------------------------------------------------------- text: properties

ABC_CHARS = st.sampled_from(list("ABCDEFGabcdefgzZx,'^_=/|:[]()<>{}!\"+-~.0123456789 \n%\\") + JUNK)
FIELD_VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "3/0", "0/4", "(2+3)/0", "1/0", "0", "C|", "C", "none", "D Major", "Bb", "Amix",
                     "E minor", "DB", "EBm", "6/8", "1/8", "-1/8", "99999999999999999999/1", "1/4=0", "1/0=120"]),
)


@st.composite
def abc_tunes(draw) -> str:
    """Something shaped like a tune: header fields with odd values, a body of ABC-ish characters."""
    fields = draw(st.lists(st.tuples(st.sampled_from("XTRMLKQZNP"), FIELD_VALUES), max_size=7))
    head = [f"{letter}:{value}" for letter, value in fields]
    if draw(st.booleans()):
        head.append(f"K:{draw(FIELD_VALUES)}")
    body = draw(st.lists(st.lists(ABC_CHARS, max_size=30).map("".join), max_size=6))
    return "\n".join(head + body)


@FUZZ
@given(st.text())
@example("X:1\nM:3/0\nK:D\nABc|")
@example("X:1\nT:Empty key\nK:\nABc|")
@example("\ufeffX:1\nK:D\nABc|")
def test_any_text_splits_and_parses(text):
    tried("abcnotation.parse_tunebook")
    well_formed(*parse_tunebook(text, "any.abc"), "any.abc")


@FUZZ
@given(abc_tunes())
def test_tune_shaped_text_through_parser_checker_and_tempo(text):
    tried("abcnotation.parse_tunebook")
    well_formed(*parse_tunebook(text, "shaped.abc"), "shaped.abc")
    tried("quality.check_tune (own reader)")
    report_ = check_tune(text, use_abc2midi=False)
    assert 0 <= report_.bars_correct <= report_.bars_total
    tried("rendering.tempo_field")
    fields = {line[0]: line[2:] for line in text.split("\n") if line[1:2] == ":"}
    if not fields.get("Q"):
        assert tempo_field(fields, None).startswith("Q:")


@FUZZ
@given(FIELD_VALUES)
@example("DBMajor")
def test_meter_and_key_helpers_take_any_value(value):
    tried("abcnotation.meter_fraction/canonical_key")
    bar = meter_fraction(value)
    assert bar is None or (isinstance(bar, Fraction) and bar >= 0)
    assert beat_of(value) > 0
    assert isinstance(canonical_key(value), str)
    signature = key_signature(value)
    assert signature is None or set(signature.values()) <= {-2, -1, 0, 1, 2}


@FUZZ
@given(st.lists(st.text(), min_size=1, max_size=4), st.text())
def test_vocab_round_trip(train, prompt):
    tried("vocab.encode/decode")
    vocab = CharVocab.build(train)
    for text in train:
        assert vocab.decode(vocab.encode_tune(text)) == text
    try:
        ids = vocab.encode(prompt)
    except ValueError as error:
        assert_clear(error, "never seen in training")
    else:
        assert vocab.decode(ids) == prompt
    assert CharVocab.from_dict(vocab.to_dict()).tokens == vocab.tokens


# ---------------------------------------------------------------- files: corpus loading


def _book() -> str:
    """The seed tunes as one book, leaving out the one with a Latin-1 byte (it has its own test)."""
    return "".join(f"{tune}\n\n" for tune in seed_tunes()
                   if not any("\udc80" <= ch <= "\udcff" for ch in tune))


@pytest.mark.parametrize("encoding", list(encodings("")))
def test_every_encoding_of_a_tune_book_loads(tmp_path, encoding):
    text = _book()
    reference = load_file(_write(tmp_path / "plain.abc", text.encode("utf-8", "surrogateescape")))
    path = _write(tmp_path / f"{encoding}.abc", encodings(text)[encoding])
    tried("corpus.load_corpus (file)")
    corpus = load_corpus(str(path))
    well_formed(corpus.tunes, corpus.skipped, str(path))
    if encoding in ("latin-1", "cp1252"):
        # Tunes with non-ASCII bytes are skipped, each with its line; every other tune is read.
        ascii_only = [t for t in reference.tunes if t.text.isascii()]
        assert {t.text for t in ascii_only} <= {t.text for t in corpus.tunes}
        assert all("line" in e.reason for e in corpus.skipped if "UTF-8" in e.reason)
    else:
        assert [t.text for t in corpus.tunes] == [t.text for t in reference.tunes]
    tried("quality.check_tunebook (file)")
    assert len(check_tunebook(path, use_abc2midi=False)) == len(split_tunebook(text))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_folder_of_broken_files_still_loads_its_good_tunes(tmp_path, quirks_abc):
    folder = tmp_path / "books"
    (folder / "deep" / "deeper").mkdir(parents=True)
    shutil.copy(quirks_abc, folder / "deep" / "deeper" / "good.abc")
    _write(folder / "empty.abc", b"")
    _write(folder / "blank.abc", b"\n\n \n\t\n")
    _write(folder / "binary.abc", random.Random(0).randbytes(20_000))
    _write(folder / "zeros.abc", bytes(5000))
    _write(folder / "half.abc", quirks_abc.read_bytes()[:117])
    (folder / "notafile.abc").mkdir()
    (folder / "unreadable.abc").symlink_to("/proc/self/mem")  # EIO on read, even for root
    (folder / "dangling.abc").symlink_to(folder / "nowhere.abc")
    (folder / "deep" / "loop").symlink_to(folder)
    os.mkfifo(folder / "fifo.abc")  # reading it would block forever
    tried("corpus.load_corpus (folder)", 10)
    started = time.monotonic()
    corpus = load_corpus(str(folder))
    assert time.monotonic() - started < 20
    assert {t.title for t in corpus.tunes} >= {"First Tune", "Blank after key"}
    reasons = {Path(e.source).name: e.reason for e in corpus.skipped}
    assert "cannot read file" in reasons["unreadable.abc"]
    assert "no tunes found" in reasons["binary.abc"]
    for error in corpus.skipped:
        assert_clear(error, error.source)


def test_an_unreadable_file_in_a_folder(tmp_path, quirks_abc):
    if os.geteuid() == 0:
        pytest.skip("runs as root, which reads a chmod 000 file anyway (the /proc/self/mem link covers EIO)")
    folder = tmp_path / "books"
    folder.mkdir()
    shutil.copy(quirks_abc, folder / "good.abc")
    locked = _write(folder / "locked.abc", b"X:1\nK:D\nABc|\n")
    locked.chmod(0)
    corpus = load_corpus(str(folder))
    assert len(corpus.tunes) == 3
    assert any("cannot read file" in e.reason for e in corpus.skipped)


@FUZZ
@given(st.text(max_size=300))
@example("")
@example(" ")
@example("a" * 5000)
@example("/" + "a/" * 3000)
@example("~nosuchuser/x.abc")
@example("\x00")
@example("/dev/null")
def test_resolve_files_names_what_it_cannot_use(data):
    tried("corpus.resolve_files")
    try:
        files = resolve_files(data)
    except DataError as error:
        assert_clear(error)
    else:
        assert data.strip() and all(path.is_file() for path in files)


@pytest.mark.parametrize("check", [False, pytest.param(True, marks=[pytest.mark.slow, fuzz_only])])
def test_a_one_megabyte_line(tmp_path, check):
    line = "|:" + "ABcd efga|" * 100_000 + ":|"
    book = f"X:1\nT:Long\nM:4/4\nL:1/8\nK:D\n{line}\n\nX:2\nT:Short\nK:G\nGAB|\n"
    path = _write(tmp_path / "long.abc", book.encode())
    tried("corpus.load_corpus (file)")
    started = time.monotonic()
    corpus = load_corpus(str(path))
    assert [t.title for t in corpus.tunes] == ["Long", "Short"]
    assert time.monotonic() - started < 5
    if check:  # about 6 s: the checker reads 800,000 notes
        tried("quality.check_tune (own reader)")
        assert check_tune(corpus.tunes[0].text, use_abc2midi=False).bars_total == 100_000


def _big_book(tmp_path: Path, megabytes: int) -> tuple[Path, int]:
    tunes = seed_tunes()
    unit = "".join(f"{tune}\n\n" for tune in tunes).encode("utf-8", "surrogateescape")
    copies = megabytes * 2**20 // len(unit) + 1
    path = tmp_path / "big.abc"
    with open(path, "wb") as handle:
        for _ in range(copies):
            handle.write(unit)
    return path, copies


@pytest.mark.parametrize("megabytes", [pytest.param(4), pytest.param(50, marks=[pytest.mark.slow, fuzz_only])])
def test_a_big_tune_book(tmp_path, megabytes):
    path, copies = _big_book(tmp_path, megabytes)
    started = time.monotonic()
    corpus = load_corpus(str(path))
    seconds = time.monotonic() - started
    tried("corpus.load_corpus (file)")
    per_copy = len(parse_tunebook("".join(f"{t}\n\n" for t in seed_tunes()))[0])
    assert len(corpus.tunes) == per_copy * copies
    assert seconds < 5 * megabytes  # about 0.2 s a MB here; a quadratic split would take minutes


# ---------------------------------------------------------------- the tune checker with abc2midi


def test_mutants_through_abc2midi(corpus_mutants):
    if missing_tools(["mid"]):
        pytest.skip("needs abc2midi")
    for text in corpus_mutants[:40] + [m for m in corpus_mutants if "\udc80" in m or "\ud800" in m][:5]:
        tried("quality.check_tune (abc2midi)")
        report_ = check_tune(text)
        assert report_.abc2midi_errors is not None


def test_every_external_tool_call_has_a_timeout_and_no_shell():
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id == "subprocess":
                keywords = {k.arg: k.value for k in node.keywords}
                where = f"{path.name}:{node.lineno}"
                shell = keywords.get("shell")
                assert shell is None or (isinstance(shell, ast.Constant) and shell.value is False), where
                if node.func.attr in ("run", "call", "check_call", "check_output"):
                    assert "timeout" in keywords, f"{where}: subprocess.{node.func.attr} without a timeout"


@pytest.fixture
def sleeping_tools(tmp_path, monkeypatch):
    """abc2midi and abcm2ps that never finish, first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("abc2midi", "abcm2ps"):
        script = bin_dir / tool
        script.write_text("#!/bin/sh\nexec sleep 60\n")  # exec: no orphan keeps the pipes open
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def test_a_hanging_tool_times_out(sleeping_tools, tmp_path, monkeypatch):
    from tunesmith.judge import quality
    from tunesmith.render.rendering import RenderOptions

    tune = "X:1\nT:Slow\nM:4/4\nK:D\nABcd|\n"
    monkeypatch.setattr(quality, "ABC2MIDI_TIMEOUT", 1.0)
    started = time.monotonic()
    errors, messages = quality.run_abc2midi(tune, timeout=1.0)
    assert errors == 1 and "took longer than 1 s" in messages[-1]
    for fmt in ("mid", "svg"):
        with pytest.raises(RenderError, match="timed out after 1 s"):
            render_tune(tune, [fmt], tmp_path / "out", "slow", RenderOptions(timeout_s=1))
    assert time.monotonic() - started < 15
    assert not list((tmp_path / "out").iterdir())


# ---------------------------------------------------------------- rendering: ABC text meets the tools

SECRET = "W:LEAKEDWORD\nCDEF GABc|cBAG FEDC|\n"
HOSTILE_TITLES = ["-o /tmp/pwned", "--help", "../../../../tmp/evil", "$(touch /tmp/pwned)", "`id`; rm -rf ~",
                  "a|b&c>d<e", "\x00nul", "-", "..", "é\u202etxt.exe"]


def _include_lines(secret: Path) -> list[str]:
    """The ways abc2midi and abcm2ps read another file from inside a tune."""
    return [f"%%abc-include {secret}", f"  %%abc-include {secret}", f"% %abc-include {secret}",
            f"%%abc-include\t{secret}", f"I:abc-include {secret}", f"%%format {secret}",
            f"%%EPS {secret}", f"%%abc-include ../../../../../../..{secret}", f"%%MIDI ptstress {secret}"]


def test_tune_text_never_becomes_an_argument_or_a_path(tmp_path, monkeypatch):
    """Hostile titles reach no argv, and every file lands in the output folder under a safe name."""

    if missing_tools(["mid", "svg"]):
        pytest.skip("needs abc2midi and abcm2ps")
    from tunesmith.abc import tools

    argvs: list[list[str]] = []
    real_popen = subprocess.Popen

    def recording_popen(argv, **kwargs):
        argvs.append(list(argv))
        return real_popen(argv, **kwargs)

    monkeypatch.setattr(tools.subprocess, "Popen", recording_popen)
    book = "\n\n".join(f"X:{i}\nT:{title}\nM:4/4\nL:1/8\nK:D\nABcd efga|" for i, title in enumerate(HOSTILE_TITLES, 1))
    path = tmp_path / "book.abc"
    path.write_text(book)
    out = tmp_path / "out"
    results = render_tunebook(path, ["mid", "svg"], out)
    assert argvs, "the tools were not run through abc.tools.run_tool"
    tried("rendering.render_tune", len(results))
    # abcm2ps reads a NUL byte as the end of the file: that tune fails, cleanly, and alone.
    failed = [r for r in results if not r.ok]
    assert [r.title for r in failed] in ([], ["\x00nul"]), [r.error for r in failed]
    for result in failed:
        assert_clear(result.error, "book-")
    fixed = {"abc2midi", "abcm2ps", "midi.abc", "score.abc", "-o", "tune.mid", "-g", "-O", "score"}
    for argv in argvs:
        assert set(argv) <= fixed, argv
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != path]
    assert written and all(p.parent == out and not p.name.startswith(("-", ".")) for p in written)
    assert not Path("/tmp/pwned").exists()


@pytest.mark.parametrize("stem", ["../escape", "/tmp/abs", "..", "", "a/b", "nul\x00"])
def test_render_tune_refuses_a_stem_that_is_not_a_plain_name(tmp_path, stem):
    tried("rendering.render_tune")
    with pytest.raises(RenderError):
        render_tune("X:1\nT:x\nK:D\nABc|\n", ["abc"], tmp_path / "out", stem)
    assert not (tmp_path / "escape.abc").exists()


def test_abc_directives_cannot_make_the_tools_read_other_files(tmp_path):
    """%%abc-include and friends are dropped: the output equals the tune's without that line."""
    from tunesmith.judge.quality import run_abc2midi

    if missing_tools(["mid", "svg"]):
        pytest.skip("needs abc2midi and abcm2ps")
    secret = tmp_path / "secret.abc"
    secret.write_text(SECRET)
    head, body = "X:1\nT:Nosy\nM:4/4\nL:1/8\nK:D\n", "ABcd efga|\n"
    clean = render_tune(head + "%\n" + body, ["mid", "svg"], tmp_path / "clean", "tune")
    for n, line in enumerate(_include_lines(secret)):
        tried("rendering.render_tune")
        result = render_tune(head + line + "\n" + body, ["mid", "svg"], tmp_path / f"try{n}", "tune")
        assert result.files["mid"].read_bytes() == clean.files["mid"].read_bytes(), line
        svg = result.files["svg"].read_text()
        assert "LEAKED" not in svg, line
        assert "LEAKED" not in " ".join(result.warnings), line
        tried("quality.check_tune (abc2midi)")
        _, messages = run_abc2midi(head + line + "\n" + body)
        assert not any("reserved character" in m or "LEAKED" in m for m in messages), (line, messages)
    tried("rendering.render_tune")
    raw_svg = "%%beginsvg\nT:<script>alert(1)</script>\n%%endsvg\n"  # T: keeps the header going to K:
    result = render_tune(head.replace("K:D", raw_svg + "K:D") + body, ["svg"], tmp_path / "svg", "tune")
    svg = re.sub(r"<!--.*?-->", "", result.files["svg"].read_text(), flags=re.DOTALL)  # abcm2ps notes titles
    assert "<script" not in svg


def test_rendering_text_with_lone_surrogates(tmp_path):
    if missing_tools(["mid"]):
        pytest.skip("needs abc2midi")
    for junk in ("\udc80", "\ud800", "\udfff"):
        tried("rendering.render_tune")
        tune = f"X:1\nT:Bad {junk} bytes\nM:4/4\nL:1/8\nK:D\nABcd{junk} efga|\n"
        result = render_tune(tune, ["abc", "mid"], tmp_path, "bad")
        assert result.files["mid"].stat().st_size > 0
        tried("quality.check_tune (abc2midi)")
        check_tune(tune)


# ---------------------------------------------------------------- the commands on bad paths


def test_commands_on_unreadable_files_and_paths_that_are_files(tmp_path, capsys, quirks_abc):
    """Each command says what is wrong in one line (exit 2), or skips the bad file and goes on."""
    folder = tmp_path / "books"
    folder.mkdir()
    shutil.copy(quirks_abc, folder / "good.abc")
    (folder / "unreadable.abc").symlink_to("/proc/self/mem")
    a_file = _write(tmp_path / "a-file", b"x")
    commands = [
        (["check", str(folder), "--quiet"], 0), (["data", "stats", str(folder)], 0),
        (["render", str(folder / "unreadable.abc")], 2), (["render", str(quirks_abc), "--out", str(a_file)], 2),
        (["check", str(quirks_abc), "--json", str(a_file / "x.json")], 2), (["plot", str(a_file)], 2),
        (["generate", "--model", str(a_file)], 2), (["generate", "--model", "/proc/self/mem"], 2),
        (["train", "--data", str(folder / "unreadable.abc"), "--out", str(tmp_path / "run")], 2),
    ]
    for argv, expected in commands:
        tried("cli (bad paths)")
        capsys.readouterr()
        assert main(argv) == expected, argv
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert not any("Traceback" in line for line in err), (argv, err)
        if expected:  # progress lines may come first; the error is one line, the last
            assert err[-1].startswith("tunesmith: ") and sum(e.startswith("tunesmith: ") for e in err) == 1, err
        else:
            assert any("unreadable.abc" in line and "cannot read file" in line for line in err) or argv[0] == "data"


# ---------------------------------------------------------------- generate --prime through the CLI


@pytest.fixture(scope="module")
def untrained_run(tmp_path_factory) -> tuple[Path, CharVocab]:
    """A tiny untrained LSTM with the corpus vocabulary: sampling needs weights, not good ones."""
    vocab = CharVocab.build(t.text for t in parse_tunebook(_book())[0])
    torch.manual_seed(0)
    network = build_model("lstm", {"vocab_size": len(vocab), "embed_dim": 8, "hidden_size": 16})
    run = tmp_path_factory.mktemp("untrained")
    save_best(run, network, describe(network, vocab))
    return run, vocab


def _generate(capsys, run: Path, *options: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["generate", "--model", str(run), "--max-chars", "120", *options])
    out, err = capsys.readouterr()
    return code, out, err


def _clear_cli_failure(code: int, err: str) -> None:
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("tunesmith: ") and len(lines[0]) < 400, err[-600:]


PRIMES = st.one_of(
    st.text(max_size=80),
    st.text(st.sampled_from(list("ABCDEFGabcdefg|:2/ \n")), max_size=200),
    st.builds(lambda body: "X:1\nT:Primed\nM:6/8\nK:D\n" + body, st.text(st.sampled_from(list("ABCabc|:2/ ")))),
)


@settings(FUZZ, max_examples=CLI_EXAMPLES)
@given(prime=PRIMES)
@example(prime="X:1\nK:D\n" + "A" * 300)
@example(prime="A" * 500)
@example(prime="é" * 100_000)
@example(prime="-o")
@example(prime="\\n\\nX:")
def test_generate_prime(untrained_run, capsys, prime):
    run, vocab = untrained_run
    tried("cli generate --prime")
    code, out, err = _generate(capsys, run, "--num", "2", f"--prime={prime}")
    if code:
        _clear_cli_failure(code, err)
        return
    given_text = prime.replace("\\n", "\n")
    if given_text.startswith("X:"):  # the CLI numbers the tune: its first line becomes X:1
        assert out.partition("\n")[2].startswith(given_text.partition("\n")[2][:100])
    else:  # the model writes the title and open header lines first; they may use up --max-chars
        assert given_text[:60] in out or " 0 cut at --max-chars" not in err


SETTINGS = st.fixed_dictionaries({
    "--temperature": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -1.0])),
    "--top-k": st.integers(-5, 200),
    "--top-p": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1.0, 1e-9])),
    "--max-chars": st.integers(-3, 300),
    "--num": st.integers(0, 5),
})


@settings(FUZZ, max_examples=CLI_EXAMPLES)
@given(SETTINGS)
@example({"--temperature": 1.0, "--top-k": 0, "--top-p": 0.0, "--max-chars": 50, "--num": 1})
@example({"--temperature": float("nan"), "--top-k": 5, "--top-p": 0.9, "--max-chars": 50, "--num": 1})
@example({"--temperature": 1.0, "--top-k": -3, "--top-p": 0.9, "--max-chars": 50, "--num": 1})
@example({"--temperature": 1.0, "--top-k": 5, "--top-p": 0.9, "--max-chars": 1, "--num": 1})
@example({"--temperature": 3.4028235677973366e38, "--top-k": 0, "--top-p": 1.0, "--max-chars": 5, "--num": 1})
def test_generate_settings(untrained_run, capsys, settings):
    run, _ = untrained_run
    tried("cli generate settings")
    options = [f"{name}={value}" for name, value in settings.items()]
    try:
        code, out, err = _generate(capsys, run, *options)
    except SystemExit as exit_:  # argparse: --num 0
        assert exit_.code == 2 and settings["--num"] < 1
        return
    if code:
        _clear_cli_failure(code, err)
    else:
        assert out.count("X:") >= settings["--num"]



# ---------------------------------------------------------------- long loops: text functions and tools


def _parsed(text: str) -> None:
    well_formed(*parse_tunebook(text, "mutant.abc"), "mutant.abc")


def _normalised(text: str) -> None:
    try:
        normalise_tune(text, "mutant.abc", 3)
    except TuneError as error:
        assert_clear(error, "mutant.abc: tune 3:")


def _checked_by_own_reader(text: str) -> None:
    report_ = check_tune(text, use_abc2midi=False)
    assert 0 <= report_.bars_correct <= report_.bars_total


def test_a_stream_of_mutants_through_parser_normaliser_reader_and_checker():
    feed_until_floors(mutant_stream(seed=21), [
        Stage("abcnotation.parse_tunebook", _parsed),
        Stage("abcnotation.normalise_tune", _normalised),
        Stage("reader.read_tune", read_tune),
        Stage("quality.check_tune (own reader)", _checked_by_own_reader),
    ])


@pytest.fixture
def tool_runs(monkeypatch) -> Counter[str]:
    """Each tool run that rendering starts (abc2midi, abcm2ps, fluidsynth), counted by the tool's name."""
    from tunesmith.render import rendering

    runs: Counter[str] = Counter()
    real_run_tool = rendering.run_tool

    def counting(argv: list[str], cwd: Path | str, timeout: float) -> tuple[int, str]:
        runs[Path(argv[0]).name] += 1
        return real_run_tool(argv, cwd, timeout)

    monkeypatch.setattr(rendering, "run_tool", counting)
    return runs


# A tool past 30 s is stopped and said (RenderError); the loop's own limit is for Tunesmith's code around it.
FUZZ_RENDER = RenderOptions(timeout_s=30)


def _rendered(formats: list[str], out: Path) -> Callable[[str], None]:
    def feed(text: str) -> None:
        try:
            result = render_tune(text, formats, out, "mutant", FUZZ_RENDER)
        except RenderError as error:  # a tune a tool cannot read, said in one line
            assert "\n" not in str(error), str(error)
            if "timed out" in str(error):
                tried("render_tune: tool timeouts (said, not a failure)")
            return
        assert all(path.parent == out and path.stem == "mutant" for path in result.files.values())

    return feed


def _checked_with_abc2midi(text: str) -> None:
    assert check_tune(text, use_abc2midi=True).abc2midi_errors is not None


def test_unique_mutants_through_abc2midi_abcm2ps_and_fluidsynth(tmp_path, tool_runs):
    """Render of mutated tunes, each text once: every format its own call, so a tune abc2midi refuses
    still reaches abcm2ps; counted are the tool runs, since a tune without K: never reaches a tool."""
    if missing_tools(["mid", "svg", "wav"]):
        pytest.skip("needs abc2midi, abcm2ps, fluidsynth and a SoundFont")
    feed_until_floors(unique(mutant_stream(seed=34)), [
        Stage("quality.check_tune (abc2midi)", _checked_with_abc2midi, timeout_s=60),
        Stage("render_tune mid: abc2midi runs", _rendered(["mid"], tmp_path / "mid"), 120,
              lambda: tool_runs["abc2midi"]),
        Stage("render_tune svg: abcm2ps runs", _rendered(["svg"], tmp_path / "svg"), 120,
              lambda: tool_runs["abcm2ps"]),
        Stage("render_tune wav: fluidsynth runs", _rendered(["wav"], tmp_path / "wav"), 300,
              lambda: tool_runs["fluidsynth"]),
    ])


# ---------------------------------------------------------------- long loops: every command's arguments

CLI_MODULES = ("arrange", "cowrite", "generate", "judge", "library", "render", "workshop")


@pytest.fixture
def validating_cli(monkeypatch) -> tuple[argparse.ArgumentParser, Counter[str]]:
    """main and its real parser, with every command replaced by one that counts and returns 0: an input
    that gets that far has passed parsing and every check of its values, and no model loads for it."""
    import tunesmith.cli as cli

    passed: Counter[str] = Counter()

    def command(args: argparse.Namespace) -> int:
        passed["every check"] += 1
        return 0

    for name in CLI_MODULES:
        module = importlib.import_module(f"tunesmith.cli.{name}")
        for attr in [a for a in dir(module) if a.startswith("cmd_")]:
            monkeypatch.setattr(module, attr, command)
    parser = cli.build_parser()  # after the swap: each subparser's func is checked(parser, command)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)  # built once, not once per input
    return parser, passed


def subcommands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> dict[str, argparse.ArgumentParser]:
    """Every command the parser takes, by its words ("library show"), with the parser of its arguments."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for word, sub in action.choices.items():
                found |= subcommands(sub, (*words, word)) or {" ".join((*words, word)): sub}
    return found


def test_the_argument_loop_covers_every_command(validating_cli):
    parser, _ = validating_cli
    assert sorted(subcommands(parser)) == sorted(CLI_COMMANDS)


def cli_values(folder: Path) -> list[str]:
    """What a user may type, or mistype, for any option: numbers at and past the limits, keys, metres,
    names, and paths to every kind of thing a path can name. No NUL: an argv cannot hold one."""
    folder.mkdir(exist_ok=True)
    book = folder / "good.abc"
    shutil.copy(Path(__file__).parent / "data" / "quirks.abc", book)
    _write(folder / "mutants.abc", "\n\n".join(mutants(20, seed=5)).encode("utf-8", "surrogatepass"))
    _write(folder / "empty.abc", b"")
    _write(folder / "binary.abc", random.Random(1).randbytes(3000))
    _write(folder / "tune.wav", b"RIFF")
    _write(folder / "a-file", b"x")
    (folder / "run").mkdir(exist_ok=True)
    if not (folder / "fifo.abc").exists():
        os.mkfifo(folder / "fifo.abc")  # a reader would block: the checks must not open it
    paths = [str(folder / name) for name in ("good.abc", "mutants.abc", "empty.abc", "binary.abc", "tune.wav",
                                             "a-file", "run", "fifo.abc", "missing.abc", "nofolder/x.abc",
                                             "a-file/x", "new-folder", "out.json")]
    paths += ["/proc/self/mem", "/dev/null", "/", ".", "..", "~", "-", "default", "oneills", "airds", "nosuch"]
    numbers = ["0", "1", "-1", "2", "3", "4", "8", "9", "16", "17", "64", "65", "100", "1000", "1001", "10000",
               "20000", "20001", "65535", "65536", "100000", "2147483647", "2147483648", "1e3", "0.5", "0.0",
               "5", "5.0", "5.5", "1e-300", "1e309", "nan", "NaN", "inf", "-inf", "0x10", "1_000", " 8 ", "\u0663",
               "+3", "-0", "10080", "10081"]
    words = ["D", "G", "Ador", "Emin", "Bb mix", "F#m", "H", "G\n", "-o", "none", "C|", "6/8", "3/0", "7", "6/",
             "reel", "slip jig", "r3el", "a" * 31, "D,G,Em", ",", "abc,mid", "abc", "mid,wav,svg,png,flac", "exe",
             "", " ", "fiddle", "whistle", "127", "128", "piano ", "Acoustic Grand Piano", "5-8", "8-5", "0-1",
             "1-64", "1-65", "a-b", "A", "B", "I", "b", "AB", "lstm", "tiny", "auto", "cpu", "cuda", "bf16", "all",
             "both", "left", "free", "127.0.0.1", "0.0.0.0", "::1", "localhost", "256.1.1.1", "\udc80abc"]
    # argv comes decoded with surrogateescape: \udc80-\udcff can be in it, a NUL or \ud800 cannot.
    return paths + numbers + words + [junk for junk in JUNK if "\x00" not in junk and "\ud800" not in junk]


Values = tuple[list[str], dict[str, list[str]]]  # anything at all, and the plausible values of each check
STRAY = ["--", "-", "-h", "--help", "--nosuch", "-x", "--no-", "-1", "--=", "extra"]


def plausible_values(folder: Path) -> dict[str, list[str]]:
    """Values each check takes, by the check's name (an action's type), so that half the values an input
    carries are good ones and its later values are checked too, not only its first. Files: cli_values."""
    return {
        "_read_tune_book": [str(folder / "good.abc"), str(folder / "mutants.abc")],
        "tune_book_or_wav": [str(folder / "good.abc"), str(folder / "tune.wav")],
        "tune_source": [str(folder / "good.abc"), "oneills", str(folder)],
        "readable_file": [str(folder / "good.abc")],
        "model_run": ["default", str(folder / "run")],
        "run_folder": [str(folder / "run")],
        "file_to_write": [str(folder / "out.json")],
        "folder_to_write": [str(folder / "new-folder"), str(folder / "run")],
        "tune_folder": [str(folder / "new-folder")],
        "read_key": ["D", "Ador", "F#m"], "_keys": ["D,G,Em"], "meter_name": ["6/8", "C|"],
        "rhythm_name": ["reel", "slip jig"], "sound": ["fiddle", "piano", "41"], "_formats": ["mid", "abc,svg"],
        "part_letter": ["B", "a"], "bar_range": ["5-8", "1-2"], "tune_count": ["2"],
        "read": ["1", "2", "3"], "int": ["1", "3"], "float": ["0.5"],  # read: whole() and real()
    }


def _spelt(rng: random.Random, option: str) -> str:
    """The option as typed: mostly right, sometimes abbreviated (argparse takes a unique prefix) or wrong."""
    roll = rng.random()
    if roll < 0.85 or len(option) < 4:
        return option
    if roll < 0.95:
        return option[: rng.randint(3, len(option))]
    cut = rng.randrange(2, len(option))
    return option[:cut] + option[cut + 1:]


def _value(rng: random.Random, action: argparse.Action, values: Values) -> str:
    anything, plausible = values
    good = list(action.choices or ()) or plausible.get(getattr(action.type, "__name__", ""), [])
    value = str(rng.choice(good)) if good and rng.random() < 0.5 else rng.choice(anything)
    if rng.random() < 0.1 and value:  # one character changed
        at = rng.randrange(len(value))
        value = value[:at] + rng.choice("0-9aZ/.,é ") + value[at + 1:]
    return value


def _how_many(rng: random.Random, action: argparse.Action) -> int:
    """Values for an action: as many as it takes, now and then one too many or too few."""
    usual = {None: 1, "?": rng.randint(0, 1), "*": rng.randint(0, 3), "+": rng.randint(1, 3), 0: 0}
    count = usual.get(action.nargs, action.nargs if isinstance(action.nargs, int) else 1)
    return max(0, count + rng.choice([-1, 1])) if rng.random() < 0.05 else count


def _option_tokens(rng: random.Random, action: argparse.Action, values: Values) -> list[str]:
    option = _spelt(rng, rng.choice(action.option_strings))
    count = _how_many(rng, action)
    if count == 1 and option.startswith("--") and rng.random() < 0.3:
        return [f"{option}={_value(rng, action, values)}"]
    return [option, *(_value(rng, action, values) for _ in range(count))]


def argv_stream(seed: int, words: str, parser: argparse.ArgumentParser, values: Values) -> Iterator[list[str]]:
    """Argument lists for one command without end: its positionals, then up to six of its options (or a
    stray word), each with values that are right, wrong, at a limit or past it."""
    rng = random.Random(seed)
    options = [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]
    positionals = [a for a in parser._actions if not a.option_strings]
    while True:
        argv = words.split()
        for action in positionals:
            argv += [_value(rng, action, values) for _ in range(_how_many(rng, action))]
        for _ in range(rng.randint(0, 6)):
            if options and rng.random() < 0.95:
                argv += _option_tokens(rng, rng.choice(options), values)
            else:
                argv.append(rng.choice(STRAY) if rng.random() < 0.5 else rng.choice(values[0]))
        yield argv


def _said_clearly(argv: list[str]) -> None:
    """main answers 0 (the swapped-in command ran: every check passed) or 2 with one line, `tunesmith: ...`;
    argparse's own refusals exit 2 (--help 0). The line may be long: it quotes what was typed, and where
    what was typed holds a line break, so does the message (counted in the report, not failed)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:
            assert exit_.code in (0, 2), exit_.code
            return
    assert code in (0, 2), code
    lines = [line for line in err.getvalue().split("\n") if line.strip()]  # what a terminal shows as lines
    assert not any("Traceback" in line for line in lines), lines
    if code == 2:
        assert lines and lines[0].startswith("tunesmith: "), lines[-5:]
        if len(lines) > 1:
            assert any("\n" in token for token in argv), lines[-5:]
            tried("cli: refusals quoting a typed line break (so more than one line)")


@pytest.mark.parametrize("command", CLI_COMMANDS)
def test_every_command_refuses_bad_arguments_in_one_line(validating_cli, tmp_path, command):
    """Arguments of every command at the parsing level: parse and every check of the values, then stop."""
    parser, passed = validating_cli
    leaf = subcommands(parser)[command]
    folder = tmp_path / "files"
    values = (cli_values(folder), plausible_values(folder))
    stream = argv_stream(CLI_COMMANDS.index(command), command, leaf, values)
    feed_until_floors(stream, [Stage(cli_entry_point(command), _said_clearly)])
    tried(f"{cli_entry_point(command)}: passed every check (not run)", sum(passed.values()))

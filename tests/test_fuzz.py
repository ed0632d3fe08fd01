"""Bad input everywhere there is input: property tests and a mutation corpus built from real tunes.

The rule for every entry point: no exception but the project's own clear ones (one line, naming the
file or tune), no hang, and every good tune in the same input still read. `make fuzz` runs the same
tests with many more examples (HYPOTHESIS_PROFILE=fuzz); `pytest -s` prints how many inputs each
entry point was given.
"""

from __future__ import annotations

import ast
import os
import random
import re
import shutil
import stat
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fuzz import CLI_EXAMPLES, FUZZ, MUTANTS, fuzz_only, report, tried
from fuzz.mutations import JUNK, encodings, good_tunes, mutants, seed_tunes
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
from tunesmith.render.rendering import RenderError, missing_tools, render_tune, render_tunebook
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


import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import pytest

from tunesmith.abc.text import (
    TuneError,
    canonical_key,
    canonical_rhythm,
    default_unit_length,
    meter_fraction,
    normalise_tune,
    parse_fields,
    parse_tunebook,
    split_tunebook,
)
from tunesmith.data.corpus import read_text


def test_split_on_x_and_blank_lines():
    book = "X:1\nK:D\nABc|\n\n\nX:2\nK:G\nGAB|\nX:3\nK:A\nABc|"
    assert split_tunebook(book) == [(1, "X:1\nK:D\nABc|"), (6, "X:2\nK:G\nGAB|"), (9, "X:3\nK:A\nABc|")]


def test_free_text_is_not_a_tune_but_a_block_with_a_key_is():
    book = "Some words about the book.\n\nT:Untitled\nK:Em\nEFG|"
    assert split_tunebook(book) == [(3, "T:Untitled\nK:Em\nEFG|")]


def test_quirks_file(quirks_abc):
    tunes, errors = parse_tunebook(read_text(quirks_abc), "quirks.abc")
    assert [t.text for t in tunes] == [
        "X:1\nT:First Tune\nR:reel\nM:C|\nL:1/8\nK:G\nGABc dBGB|cAFA GBdB:|",
        "X:1\nT:Blank after key\nM:6/8\nL:1/8\nK:Ador\nABA cBA|efe dBA:|",
        "X:1\nT:No X field\nM:2/4\nL:1/8\nK:Em\nE/F/ G/A/|B/c/ d|]",  # its L:1/16 rewritten as 1/8
    ]
    assert [t.number for t in tunes] == [1, 3, 6]
    assert [str(e) for e in errors] == [
        "quirks.abc: tune 2: no K: (key) field",
        "quirks.abc: tune 4: no music after the K: field",
        "quirks.abc: tune 5: bytes that are not UTF-8 on line 30",
    ]


def test_normalise_keeps_inline_fields_and_drops_words():
    tune = "X:9\nT:A\nC:Someone\nM:6/8\nK:D\nABc def|\nw:la la\nM:9/8\nABc def gfe|\nN:note\n"
    assert normalise_tune(tune) == "X:1\nT:A\nM:6/8\nL:1/8\nK:D\nABc def|\nM:9/8\nABc def gfe|"


def test_music_line_that_looks_like_a_field_stays():
    assert normalise_tune("X:1\nK:D\nA:|B2|\n").endswith("K:D\nA:|B2|")


@pytest.mark.parametrize("line", [" T:  G>AG gd=f | ece d2 c :|", "  Z: Contributed 2000 by Ivan", "\tw: la la"])
def test_an_indented_line_stays_music_when_normalised_twice(line):
    """Found by `make fuzz` (a mutant of O'Neill's): stripped of its indent, the line read as a field
    the second time, so a title swallowed a bar, or a dropped Z: left no music at all."""
    once = normalise_tune(f"X:1\nT:Tune\nM:6/8\nK:G\n{line}\n")
    assert normalise_tune(once) == once and once.endswith(" " + " ".join(line.split()))


def test_missing_key_raises_with_source_and_number():
    with pytest.raises(TuneError, match=r"book.abc: tune 7: no K: \(key\) field"):
        normalise_tune("X:1\nT:x\nABC", "book.abc", 7)


@pytest.mark.parametrize(
    "spec, expected",
    [("D Major", "D"), ("A Dorian", "Ador"), ("e minor", "Em"), ("Bb", "Bb"), ("F#m", "F#m"),
     ("G Mixolydian", "Gmix"), ("Dmix", "Dmix"), ("C clef=bass", "C clef=bass")],
)
def test_canonical_key(spec, expected):
    assert canonical_key(spec) == expected


def test_canonical_rhythm():
    assert [canonical_rhythm(r) for r in (" Slip Jig", "slipjig", "REEL", "double jig")] == [
        "slip jig", "slip jig", "reel", "jig"]


def test_meter_and_default_unit_length():
    assert meter_fraction("6/8") == Fraction(3, 4)
    assert meter_fraction("C|") == 1
    assert meter_fraction("2+3/8") == Fraction(5, 8)
    assert meter_fraction("none") is None
    assert [default_unit_length(m) for m in ("2/4", "3/4", "C", "none")] == ["1/16", "1/8", "1/8", "1/8"]


def test_parse_fields_first_value_wins():
    assert parse_fields("X: 3\nT:Tom\nT:Other\nK:G\nabc") == {"X": "3", "T": "Tom", "K": "G"}


def test_irish_abc_all_tunes_read(irish_abc):
    tunes, errors = parse_tunebook(read_text(irish_abc), str(irish_abc))
    assert (len(tunes), len(errors)) == (804, 0)
    # the lab's Z: ids give every tune its rhythm
    assert all("R" in t.fields for t in tunes)
    assert tunes[21].title == "Father Dollard's" and tunes[21].text.count("|") > 10


def test_oneills_quirks():
    from tunesmith.data.corpus import load_corpus

    corpus = load_corpus("oneills")
    assert len(corpus.tunes) > 1900 and not corpus.skipped
    # "X: 1781" with a space and "N::1st Setting" (a value starting with a colon) parse as fields
    ace = next(t for t in corpus.tunes if t.title.startswith("Ace and Deuce of Pipering"))
    assert ace.text.startswith("X:1\nT:Ace and Deuce of Pipering, The\nM:C|\nL:1/8\nK:G\n")


# ---------------------------------------------------------------- one notation for every book


def _music_only(text: str) -> str:
    """The tune without its title (abc2midi writes it into the MIDI file) and with rolls (~) and
    trills (T) taken out: abc2midi plays those as notes whose number depends on the unit length,
    so the same written ornament sounds different under L:1/16 and L:1/8."""
    from tunesmith.abc.text import TOKEN

    head, _, body = text.partition("\nK:")
    head = "\n".join(line for line in head.split("\n") if not line.startswith("T:"))
    key, _, rest = body.partition("\n")
    lines = ["".join(t.group() for t in TOKEN.finditer(line) if not (t.lastgroup == "deco1" and t.group() in "~T"))
             for line in rest.split("\n")]
    return head + "\nK:" + key + "\n" + "\n".join(lines)


def _midi(text: str, folder: Path) -> bytes | None:
    """abc2midi's MIDI file of one tune (None where it wrote none). One tune per run: abc2midi
    carries state from tune to tune of a long book, so the 138th tune of Ryan's sounds different."""
    folder.mkdir(parents=True)
    (folder / "tune.abc").write_text(text + "\n")
    subprocess.run(["abc2midi", "tune.abc", "-o", "tune.mid"], cwd=folder, capture_output=True,
                   stdin=subprocess.DEVNULL, check=False, timeout=30)
    return (folder / "tune.mid").read_bytes() if (folder / "tune.mid").is_file() else None


def _sounds_the_same(pair: tuple[str, str], folder: Path) -> bool:
    return _midi(_music_only(pair[0]), folder / "as-read") == _midi(_music_only(pair[1]), folder / "rewritten")


@pytest.mark.skipif(shutil.which("abc2midi") is None, reason="needs abc2midi (apt-get install abcmidi)")
@pytest.mark.parametrize("book", ["oneills", "ryans", "airds", "irish", "quirks"])
def test_canonical_notation_keeps_the_music(book, tmp_path, request):
    """Every tune of every named book sounds the same (abc2midi, byte for byte) as read and as rewritten."""
    from tunesmith.data.corpus import resolve_files

    files = {"irish": lambda: [request.getfixturevalue("irish_abc")],
             "quirks": lambda: [request.getfixturevalue("quirks_abc")]}.get(book, lambda: resolve_files(book))()
    pairs = []
    for path in files:
        for _, raw in split_tunebook(read_text(path)):
            try:
                pair = normalise_tune(raw, canonical=False), normalise_tune(raw)
            except TuneError:
                continue
            if pair[0] != pair[1]:
                pairs.append(pair)
    unquoted = [re.sub(r'"[^"\n]*"', '""', text) for _, text in pairs]  # an annotation's spaces place it
    assert all("  " not in text for text in unquoted)  # alignment spaces, in titles or music
    if not pairs:
        return  # irish.abc is written this way already
    with ThreadPoolExecutor(4) as pool:  # abc2midi takes milliseconds; the processes are the cost
        same = list(pool.map(_sounds_the_same, pairs, [tmp_path / str(i) for i in range(len(pairs))]))
    differ = [pairs[i][1].split("\n")[1] for i, ok in enumerate(same) if not ok]
    assert not differ, f"{len(differ)} of {len(pairs)} rewritten tunes sound different: {differ[:5]}"


@pytest.mark.parametrize(("line", "factor", "written"), [
    ("A  B/c [Ac]2 {g}A", 2, "A2 Bc2 [A2c2]2 {g2}A2"),
    ("  dBfd       eceg |", Fraction(1, 2), "d/B/f/d/ e/c/e/g/ |"),
    ('"Am"  A>B z/ Z2 (3abc', Fraction(1, 2), '"Am" A/>B/ z/4 Z2 (3a/b/c/'),  # Z2 counts bars, not lengths
    ("[L:1/16] AB", 1, "[L:1/16] AB"),
])
def test_canonical_body_line(line, factor, written):
    from tunesmith.abc.text import canonical_body_line

    assert canonical_body_line(line, Fraction(factor)) == written


def test_a_tune_that_changes_its_unit_keeps_its_lengths():
    text = "X:1\nM:2/4\nL:1/16\nK:D\nABcd efge|\nL:1/8\nd2 e2|"
    assert normalise_tune(text).endswith("L:1/16\nK:D\nABcd efge|\nL:1/8\nd2 e2|")

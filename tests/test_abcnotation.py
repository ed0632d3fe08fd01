from fractions import Fraction

import pytest

from tunesmith.abcnotation import (
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
from tunesmith.corpus import read_text


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
        "X:1\nT:No X field\nM:2/4\nL:1/16\nK:Em\nEF GA|Bc d2|]",
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
    from tunesmith.corpus import load_corpus

    corpus = load_corpus("oneills")
    assert len(corpus.tunes) > 1900 and not corpus.skipped
    # "X: 1781" with a space and "N::1st Setting" (a value starting with a colon) parse as fields
    ace = next(t for t in corpus.tunes if t.title.startswith("Ace and Deuce of Pipering"))
    assert ace.text.startswith("X:1\nT:Ace and Deuce of Pipering, The\nM:C|\nL:1/8\nK:G\n")

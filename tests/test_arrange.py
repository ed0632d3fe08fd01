"""A tune book transposed for an instrument or to a key, or given chords: each tune said in an N: line."""

import pytest

from tunesmith.abc.instruments import instrument
from tunesmith.abc.text import parse_fields
from tunesmith.abc.transpose import tune_pitches
from tunesmith.render import arrange
from tunesmith.render.arrange import harmonize_book, heard_notes, same_music_shifted, transpose_book

JIG = "X:1\nT:Eb Jig\nM:6/8\nL:1/8\nK:Eb\n|:EFG B2G|ABc B2G|EFG BAG|F3 E3:|\n"
REEL = "X:2\nT:Reel\nM:C|\nL:1/8\nK:G\n|:GABc dBGB|cABG FGAF|GABc dBGB|cAFA G4:|\n"
NO_KEY = "X:3\nT:Drone\nM:C|\nL:1/8\nK:none\nABcd efga|]\n"
BOOK = "\n".join([JIG, REEL, NO_KEY])


def test_for_an_instrument_every_tune_fits_or_says_why_not():
    whistle = instrument("whistle")
    done = transpose_book(BOOK, instrument=whistle)
    assert [tune.number for tune in done] == [1, 2, 3]
    jig, reel, drone = done
    assert parse_fields(jig.text)["K"] in whistle.keys and jig.shift != 0
    assert all(whistle.low <= pitch <= whistle.high for pitch in tune_pitches(jig.text))
    assert reel.shift == 0 and "kept in G for the whistle: 0 notes outside its range" in reel.note
    assert drone.text is None and not drone.ok and "cannot transpose" in drone.note
    if heard_notes(JIG) is not None:  # abc2midi is here: it hears the moved jig as the jig, shifted
        assert jig.heard_same is True


def test_to_a_key_of_the_same_mode():
    moved, = transpose_book(REEL, key="D")
    assert parse_fields(moved.text)["K"] == "D" and moved.shift in (-5, 7)
    assert moved.text.startswith("X:2\nN:transposed from G to D")
    wrong, = transpose_book(REEL, key="Em")
    assert wrong.text is None and "give a key in the same mode, e.g. E" in wrong.note
    with pytest.raises(ValueError, match="one of them"):
        transpose_book(REEL)


def test_chords_for_every_tune_with_a_key():
    jig, reel, drone = harmonize_book(BOOK)
    assert '"Eb"' in jig.text and jig.note.startswith("chords added by tunesmith: ")
    assert reel.text.count('"') >= 16 and '"G"' in reel.text
    assert drone.text is None


def test_a_book_too_long_is_refused(monkeypatch):
    monkeypatch.setattr(arrange, "MAX_TUNES", 2)
    with pytest.raises(ValueError, match="3 tunes in one book: at most 2"):
        harmonize_book(BOOK)


def test_abc2midi_tells_a_wrong_transposition():
    if heard_notes(REEL) is None:
        pytest.skip("needs abc2midi")
    notes = heard_notes(REEL)
    assert len(notes) == 2 * 29 and notes[0][1] == 67  # 29 notes, the repeat played
    up = REEL.replace("K:G", "K:A").replace("GABc dBGB", "ABcd ecAc")  # the first bar moved a tone, the rest not
    assert same_music_shifted(REEL, up, 2) is False
    assert same_music_shifted(REEL, REEL, 0) is True

"""Asking for tunes: the verdict on a tune, the request table, constrained vs free side by side."""

import pytest

from tunesmith.abc.grammar import Form
from tunesmith.abc.text import parse_fields
from tunesmith.abc.transpose import transpose_tune
from tunesmith.judge.control import (
    Request,
    compare_sampling,
    ends_on_tonic,
    estimated_key,
    format_key_table,
    key_centre,
    key_table,
    quaver_share,
    request_table,
    sounds_in_key,
    verdict,
)
from tunesmith.judge.quality import check_tune

JIG = "X:1\nT:t\nR:jig\nM:6/8\nL:1/8\nK:G\n" + "|:GAB cBA|dBG A3|GAB cBA|dBG G3:|\n" * 2


def test_verdict_of_a_tune_that_is_what_was_asked():
    flags = verdict(JIG, Request.of("jig", "G", Form(parts=2, bars_per_part=4)))
    assert flags == {"header": True, "valid": True, "metre": True, "form": True, "rhythm_like": True,
                     "in_key": True, "delivered": True}


def test_verdict_names_what_is_wrong():
    assert not verdict(JIG, Request.of("reel", "G", Form(parts=2, bars_per_part=4)))["header"]
    assert not verdict(JIG, Request.of("jig", "G", Form(parts=2, bars_per_part=8)))["form"]
    crotchets = JIG.replace("GAB cBA", "G2A B2c").replace("dBG", "d2B")
    assert quaver_share(crotchets) < quaver_share(JIG)


def test_unknown_tune_type_is_a_clear_error():
    with pytest.raises(ValueError, match="no metre known"):
        Request.of("tango", "D")


def test_request_table_and_comparison_with_a_tiny_model(tiny_model):
    request = Request.of("jig", "G", Form(parts=1, bars_per_part=2))
    table = request_table(tiny_model, [request], per_request=2, seed=1, real_tunes=[JIG])
    row = table["jig / G"]
    assert row["header"] == 1.0 and row["metre"] == 1.0 and row["form"] == 1.0  # forced and enforced
    assert row["real_tunes_of_type"] == 1 and row["real_rhythm_like"] == 1.0
    compared = compare_sampling(tiny_model, samples=3, seed=0, reference=[JIG])
    for text in compared["constrained_tunes"]:  # every bar right, unless the length cap cut the tune
        assert check_tune(text, use_abc2midi=False).metre_ok or len(text) >= 1990
    assert set(compared) >= {"free", "constrained", "held-out real", "speed_ratio"}


def test_key_table_with_a_tiny_model(tiny_model):
    in_d = transpose_tune(JIG, -5)  # K:D, and it sounds in D
    table = key_table(tiny_model, ["D major", "Bb"], per_key=3, seed=2, real_tunes=[JIG, in_d])
    assert list(table) == ["D", "Bb"]
    assert all(parse_fields(t)["K"] == "D" for t in table["D"]["tunes"])  # the key asked for is forced
    assert table["D"]["real_tunes_in_key"] == 1 and table["D"]["real_sounds_in_key"] == 1.0
    assert table["Bb"]["real_tunes_in_key"] == 0 and "real_sounds_in_key" not in table["Bb"]
    for row in table.values():
        assert 0 <= row["in_key_and_passes"] <= min(row["passes_checker"], row["sounds_in_key"])
    assert format_key_table(table).splitlines()[2].startswith("| D | 1 |")


def test_ends_on_tonic():
    assert ends_on_tonic(JIG)  # K:G, last note G
    assert not ends_on_tonic(JIG.replace("dBG G3:|", "dBG A3:|"))
    assert ends_on_tonic("X:1\nT:t\nM:2/4\nL:1/8\nK:Bb\nBc dB|F2 B2|]")
    assert not ends_on_tonic("X:1\nT:t\nM:2/4\nL:1/8\nK:Bb\nBc dB|B2 F2|]")


def test_key_centre_reads_tonic_and_major_or_minor():
    assert key_centre("F#m") == (6, "minor")
    assert key_centre("Bb") == (10, "major")
    assert key_centre("A dorian") == (9, "minor")
    assert key_centre("Dmix") == (2, "major")
    assert key_centre("none at all") is None


def test_estimated_key_hears_the_notes_not_the_header():
    assert estimated_key(JIG) == (7, "major")
    assert sounds_in_key(JIG)
    # The same notes under a wrong K: -- the estimate follows the notes, so the tune fails.
    assert not sounds_in_key(JIG.replace("K:G", "K:Em"))
    minor = "X:1\nT:t\nM:6/8\nL:1/8\nK:Am\n|:ABc e2d|cBA E3|ABc ede|cBA A3:|\n"
    assert estimated_key(minor) == (9, "minor")


@pytest.mark.parametrize("semitones", [1, 3, -2, 6])
def test_estimated_key_moves_with_transposition(semitones):
    moved = transpose_tune(JIG, semitones)
    assert estimated_key(moved) == ((7 + semitones) % 12, "major")
    assert sounds_in_key(moved)  # transpose_tune rewrote K: to the new key

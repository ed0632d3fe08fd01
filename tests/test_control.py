"""Asking for tunes: the verdict on a tune, the request table, constrained vs free side by side."""

import pytest

from tunesmith.constraints import Form
from tunesmith.control import Request, compare_sampling, ends_on_tonic, quaver_share, request_table, verdict
from tunesmith.quality import check_tune

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


def test_ends_on_tonic():
    assert ends_on_tonic(JIG)  # K:G, last note G
    assert not ends_on_tonic(JIG.replace("dBG G3:|", "dBG A3:|"))
    assert ends_on_tonic("X:1\nT:t\nM:2/4\nL:1/8\nK:Bb\nBc dB|F2 B2|]")
    assert not ends_on_tonic("X:1\nT:t\nM:2/4\nL:1/8\nK:Bb\nBc dB|B2 F2|]")

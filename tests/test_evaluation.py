import math
import re
import struct

import pytest

from tunesmith.judge.evaluation import DEGREES, evaluate_model, heldout_texts, report_figures, write_report
from tunesmith.learn.scoring import bits_per_char


def test_bits_per_char_of_a_uniform_model_is_log2_vocab(tiny_model):
    import torch

    class Uniform(torch.nn.Module):
        def forward(self, idx, state=None):
            return torch.zeros(*idx.shape, len(tiny_model.vocab)), state

    assert bits_per_char(Uniform(), tiny_model.vocab, ["X:1\nK:D\nABc|", "X:1\nK:G\nG"]) == pytest.approx(
        math.log2(len(tiny_model.vocab)))


def test_unseen_characters_cost_bits_instead_of_vanishing(tiny_model):
    plain = bits_per_char(tiny_model.network, tiny_model.vocab, ["X:1\nK:D\nABcd|"])
    odd = bits_per_char(tiny_model.network, tiny_model.vocab, ["X:1\nK:D\nAB€d|"])
    assert odd > plain


def test_heldout_is_the_runs_own_split(tiny_model, oneills_split):
    train, heldout, own = heldout_texts(tiny_model)
    assert own and len(heldout) == len(oneills_split.valid) + len(oneills_split.test)
    assert not set(train) & set(heldout)
    _, other, own = heldout_texts(tiny_model, "airds")
    assert not own and len(other) > 1000


def test_evaluate_generated_beside_reference(tiny_model, tiny_run, tmp_path):
    pytest.importorskip("tunesmith.judge.quality")
    result = evaluate_model(tiny_model, samples=6, seed=1)
    assert result["heldout_bpc"] < math.log2(len(tiny_model.vocab))
    for side in ("generated", "reference"):
        assert result[side]["tunes"] == 6
        assert 0 <= result[side]["metre_ok"] <= 1
    assert result["reference"]["has_x_m_k"] >= result["generated"]["has_x_m_k"] - 1
    report = write_report(result, tmp_path, lambda columns: "table", tiny_run)
    assert "Held-out bits per character" in report.read_text() and "(loss.png)" in report.read_text()
    assert (tmp_path / "degrees.png").stat().st_size > 1000 and not (tmp_path / "bars_correct.png").exists()


# A reel in D, and the same reel a fourth up in G: the same scale degrees, other pitch classes.
REEL_D = """X:1
T:Test Reel
R:reel
M:4/4
L:1/8
K:D
|:DFAF dAFA|B2AF EFGA|DFAF dAFA|BAGE FDD2:|
|:dfaf gfed|B2AF EFGA|dfaf gfed|BAGE FDD2:|
"""
REEL_G = REEL_D.replace("K:D", "K:G").replace(
    "|:DFAF dAFA|B2AF EFGA|DFAF dAFA|BAGE FDD2:|", "|:GBdB gdBd|e2dB ABcd|GBdB gdBd|edcA BGG2:|").replace(
    "|:dfaf gfed|B2AF EFGA|dfaf gfed|BAGE FDD2:|", "|:gbd'b c'bag|e2dB ABcd|gbd'b c'bag|edcA BGG2:|")


def _fake_result(generated: list[str], real: list[str]) -> dict:
    """A result as evaluate_model returns it, made without a model; one tune copies nothing (None)."""
    copied = {"bars_per_section": (8, 8), "longest_copy": 5, "nearest_tune": 17}
    fresh = {"bars_per_section": (8, 8, 4), "longest_copy": None, "nearest_tune": None}
    return {"heldout_tunes": 812, "own_split": True, "constrained": True, "form": "auto", "heldout_bpc": 1.2345,
            "unknown_characters": 0, "generated": {"tunes": len(generated)}, "reference": {"tunes": len(real)},
            "realism": {"overlap": {"degree": 0.93, "interval": 0.88, "length": None},
                        "means": {"repeats_exact": {"generated": 0.25, "real": 0.4},
                                  "range": {"generated": 14.5, "real": None}},
                        "c2st": {"tunes": {"generated": len(generated), "real": len(real)},
                                 "logistic_regression": 0.61, "gradient_boosting": 0.74,
                                 "gives_away": [{"feature": "degree_3", "generated": 0.1, "real": 0.02},
                                                {"feature": "interval_14", "generated": 0.2, "real": 0.3},
                                                {"feature": "length_2", "generated": 0.7, "real": 0.6}]}},
            "timings_s": {"score": 0.1},
            "tunes": generated, "reports": [copied if i % 2 else fresh for i in range(len(generated))],
            "reference_tunes": real, "reference_reports": [copied] * len(real)}


def _png_width(path) -> int:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is no PNG"
    return struct.unpack(">I", data[16:20])[0]  # IHDR: width, then height


def test_every_plot_is_titled_and_labelled_on_both_axes():
    figures = report_figures(_fake_result([REEL_D] * 3, [REEL_G] * 2))
    assert {"degrees.png", "intervals.png", "note_lengths.png", "part_lengths.png", "pitch_ranges.png"} <= set(figures)
    assert "bars_correct.png" not in figures  # one bar at 100%: the rate is in the table
    for name, fig in figures.items():
        ax = fig.axes[0]
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), name
        assert fig.get_size_inches()[0] * fig.dpi >= 800, name
    assert "overlap" in figures["intervals.png"].axes[0].get_title()
    assert "fiddle" in figures["pitch_ranges.png"].axes[0].get_title()
    assert [t.get_text() for t in figures["degrees.png"].axes[0].get_xticklabels()] == list(DEGREES)


def test_degrees_are_relative_to_each_tunes_tonic():
    degrees = report_figures(_fake_result([REEL_D], [REEL_G]))["degrees.png"].axes[0]
    generated, real = ([bar.get_height() for bar in bars] for bars in degrees.containers)
    assert generated == pytest.approx(real)  # as pitch classes (D vs G) they would differ
    assert "overlap 100%" in degrees.get_title()
    assert generated[DEGREES.index("1")] >= 0.15 and generated[DEGREES.index("b2")] == 0


def test_the_instrument_the_result_names_sets_the_range():
    result = _fake_result([REEL_D], [REEL_G]) | {"instrument": "whistle"}
    assert "whistle" in report_figures(result)["pitch_ranges.png"].axes[0].get_title()


def test_report_reads_as_prose_and_tables_not_python(tmp_path):
    report = write_report(_fake_result([REEL_D] * 3, [REEL_G] * 2), tmp_path, lambda columns: "rates")
    text = report.read_text()
    images = re.findall(r"!\[([^\]]+)\]\(([^)]+)\)", text)
    assert {"degrees.png", "intervals.png", "note_lengths.png", "part_lengths.png", "pitch_ranges.png"} <= {
        name for _, name in images}
    for title, name in images:
        assert title and _png_width(tmp_path / name) >= 800, name
    assert "None" not in text and "{" not in text and "}" not in text
    assert not re.search(r"\(\d+, \d+", text)  # no tuple of section lengths
    assert "1.234" in text and "812" in text
    assert "| gradient-boosted trees: accuracy telling generated from real | 74% |" in text
    assert "50%" in text and "—" in text  # what a coin toss scores; a missing overlap
    assert "notes on degree b3" in text and "notes and rests a quaver long" in text
    assert "5 bars in a row shared with training tune 17" in text

import math

import pytest

from tunesmith.judge.evaluation import evaluate_model, heldout_texts, write_report
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
    assert "Held-out bits per character" in report.read_text() and "![loss.png](loss.png)" in report.read_text()
    assert (tmp_path / "bars_correct.png").stat().st_size > 1000

import re

import pytest
import torch

from tunesmith.models import build_model, count_parameters


def test_mit_model_has_the_labs_shape_and_size():
    model = build_model("lstm", {"vocab_size": 83, "embed_dim": 256, "hidden_size": 1024})
    # Embedding 83x256 + LSTM 4*1024*(256+1024) weights + 2*4*1024 biases + Linear 1024*83+83
    assert count_parameters(model) == 83 * 256 + 4 * 1024 * 1280 + 8 * 1024 + 1024 * 83 + 83 == 5_357_395
    logits, (h, c) = model(torch.zeros(8, 100, dtype=torch.long))
    assert logits.shape == (8, 100, 83)
    assert h.shape == c.shape == (1, 8, 1024)


def test_carrying_state_equals_one_long_pass():
    torch.manual_seed(0)
    model = build_model("lstm", {"vocab_size": 11, "embed_dim": 8, "hidden_size": 16, "num_layers": 2}).eval()
    idx = torch.randint(0, 11, (3, 12))
    whole, _ = model(idx)
    first, state = model(idx[:, :5])
    second, _ = model(idx[:, 5:], state)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-5)


def test_select_state_keeps_rows():
    model = build_model("lstm", {"vocab_size": 5, "embed_dim": 4, "hidden_size": 6}).eval()
    _, state = model(torch.randint(0, 5, (4, 3)))
    kept = model.select_state(state, torch.tensor([2, 0]))
    assert torch.equal(kept[0][:, 0], state[0][:, 2]) and kept[1].shape == (1, 2, 6)


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown model kind 'mamba'"):
        build_model("mamba", {"vocab_size": 5})


@pytest.mark.parametrize(("kind", "config", "said"), [
    ("transformer", {"vocab_size": 40, "num_heads": 0}, "num_heads must be a whole number from 1 to 64 (got 0)"),
    ("transformer", {"vocab_size": 40, "embed_dim": 30, "num_heads": 4}, "embed_dim 30 does not divide into 4 heads"),
    ("lstm", {"vocab_size": 40, "num_layers": 10**8}, "num_layers must be a whole number from 1 to 64"),
    ("rnn", {"vocab_size": 40, "hidden_size": -3}, "hidden_size must be a whole number"),
    ("gru", {"vocab_size": 40, "dropout": 1.5}, "dropout must be at least 0 and below 1"),
    ("lstm", {"vocab_size": 40, "layers": 2}, "unknown layers"),
    ("lstm", {}, "vocab_size"),
    ("lstm", {"vocab_size": "40"}, "vocab_size must be a whole number"),
])
def test_a_config_that_is_not_one_is_refused_before_anything_is_built(kind, config, said):
    with pytest.raises(ValueError, match=re.escape(said)):
        build_model(kind, config)

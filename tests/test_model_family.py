"""Every model kind behind the one interface: forward(idx, state) -> (logits, state) and select_state."""

import json
from dataclasses import asdict

import pytest
import torch
import torch.nn.functional as F

from tunesmith.data.vocab import CharVocab
from tunesmith.models import MODEL_KINDS, build_model, count_parameters, model_kind
from tunesmith.sample.sampling import SamplingSettings, sample_tunes
from tunesmith.store.checkpoint import TrainedModel, describe, load_model, save_best

VOCAB = 11
TINY = {
    "lstm": {"embed_dim": 8, "hidden_size": 16, "num_layers": 2},
    "gru": {"embed_dim": 8, "hidden_size": 16, "num_layers": 2},
    "rnn": {"embed_dim": 8, "hidden_size": 16, "num_layers": 2},
    "transformer": {"embed_dim": 16, "num_layers": 2, "num_heads": 2, "context_length": 32},
}
KINDS = pytest.mark.parametrize("kind", sorted(TINY))


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from two threads, and on a busy 2-core machine the second one
    spins waiting for a core: the same test took 0.4 s on one thread and 50 s on two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(kind: str, vocab_size: int = VOCAB, seed: int = 0, **overrides) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(kind, {"vocab_size": vocab_size, **TINY[kind], **overrides}).eval()


def test_every_registered_kind_is_tested():
    assert set(MODEL_KINDS) == set(TINY)


@KINDS
def test_logits_for_every_position(kind):
    model = tiny(kind)
    logits, state = model(torch.randint(0, VOCAB, (2, 7)))
    assert logits.shape == (2, 7, VOCAB)
    assert state is not None and model_kind(model) == kind


@KINDS
def test_carrying_state_in_chunks_equals_one_long_pass(kind):
    model = tiny(kind)
    idx = torch.randint(0, VOCAB, (3, 12))
    whole, _ = model(idx)
    pieces, state = [], None
    for chunk in idx.split([5, 1, 1, 5], dim=1):
        logits, state = model(chunk, state)
        pieces.append(logits)
    torch.testing.assert_close(torch.cat(pieces, dim=1), whole, atol=1e-5, rtol=0)


@KINDS
def test_select_state_keeps_the_named_rows(kind):
    model = tiny(kind)
    idx = torch.randint(0, VOCAB, (4, 6))
    _, state = model(idx[:, :5])
    rows = torch.tensor([2, 0])
    expected, _ = model(idx[:, 5:], state)
    kept, _ = model(idx[rows, 5:], model.select_state(state, rows))
    torch.testing.assert_close(kept, expected[rows], atol=1e-5, rtol=0)


@KINDS
def test_config_survives_json_and_rebuilds_the_same_model(kind):
    model = tiny(kind)
    config = json.loads(json.dumps(asdict(model.config)))
    assert next(iter(config)) == "vocab_size"
    rebuilt = build_model(kind, config).eval()
    rebuilt.load_state_dict(model.state_dict())
    idx = torch.randint(0, VOCAB, (2, 9))
    assert torch.equal(rebuilt(idx)[0], model(idx)[0])
    assert count_parameters(rebuilt) == count_parameters(model)


@KINDS
def test_checkpoint_round_trip(kind, tmp_path):
    vocab = CharVocab.build(["X:1\nK:D\nABc|"])
    model = tiny(kind, vocab_size=len(vocab))
    save_best(tmp_path, model, describe(model, vocab))  # safetensors refuses tensors shared under two names
    loaded = load_model(tmp_path)
    idx = torch.tensor([vocab.encode_tune("X:1\nK:D\n")])
    assert torch.equal(loaded.network(idx)[0], model(idx)[0])


@KINDS
def test_a_few_steps_learn_a_repeated_pattern(kind):
    model = tiny(kind).train()
    stream = torch.tensor([1, 2, 3, 1, 2, 4] * 6)
    x, y = stream[:-1].repeat(4, 1), stream[1:].repeat(4, 1)  # (4, 35)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        logits, _ = model(x)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@KINDS
def test_batched_sampling_drops_finished_tunes(kind):
    vocab = CharVocab.build(["X:1\nK:D\nABc|def|\n"])
    # context 16 < max_chars, so the transformer also goes past its context while sampling
    overrides = {"context_length": 16} if kind == "transformer" else {}
    model = TrainedModel(tiny(kind, vocab_size=len(vocab), **overrides), vocab, {})
    settings = SamplingSettings(max_chars=40)
    samples = sample_tunes(model, 5, settings=settings, seed=3)
    assert len(samples) == 5 and all(len(s.text) <= 40 for s in samples)
    assert samples == sample_tunes(model, 5, settings=settings, seed=3)


# -- transformer only ------------------------------------------------------------


def test_transformer_ties_output_head_to_token_embedding():
    model = tiny("transformer")
    assert model.head_weight is model.embed.weight
    assert not any(name.startswith("head") for name in model.state_dict())
    # A token that never appears in the input still gets a gradient: only the output head can give it one.
    idx = torch.tensor([[1, 2, 3]])
    logits, _ = model(idx)
    logits[..., 7].sum().backward()
    assert model.embed.weight.grad[7].abs().sum() > 0


def test_transformer_is_causal():
    model = tiny("transformer")
    idx = torch.randint(0, VOCAB, (2, 10))
    changed = idx.clone()
    changed[:, 6] = (idx[:, 6] + 1) % VOCAB
    before, after = model(idx)[0], model(changed)[0]
    assert torch.equal(before[:, :6], after[:, :6])
    assert not torch.allclose(before[:, 6:], after[:, 6:])


def test_transformer_past_its_context_rereads_the_last_half_window():
    model = tiny("transformer", context_length=8)
    idx = torch.randint(0, VOCAB, (2, 20))
    whole, state = model(idx)  # longer than the context: no error
    assert whole.shape == (2, 20, VOCAB) and state.length <= 8
    # Full after 8 characters: keep the last 4 at positions 0..3, so characters 8..11 see 4..their own.
    fresh, _ = model(idx[:, 4:12])
    torch.testing.assert_close(whole[:, 8:12], fresh[:, 4:8], atol=1e-5, rtol=0)
    # One character at a time takes the same path.
    steps, state = [], None
    for t in range(20):
        logits, state = model(idx[:, t : t + 1], state)
        steps.append(logits)
    torch.testing.assert_close(torch.cat(steps, dim=1), whole, atol=1e-5, rtol=0)


def test_transformer_rejects_heads_that_do_not_divide_the_width():
    with pytest.raises(ValueError, match="does not divide"):
        build_model("transformer", {"vocab_size": 5, "embed_dim": 10, "num_heads": 4})

import pytest
import torch

from tunesmith.data.vocab import CharVocab
from tunesmith.models import build_model
from tunesmith.store.checkpoint import describe, load_model, optimizer_tensors, restore_optimizer, save_best


def test_round_trip_rebuilds_from_the_directory_alone(tmp_path):
    vocab = CharVocab.build(["X:1\nK:D\nABc|"])
    torch.manual_seed(1)
    net = build_model("lstm", {"vocab_size": len(vocab), "embed_dim": 8, "hidden_size": 16}).eval()
    save_best(tmp_path, net, describe(net, vocab, seed=7))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_model(tmp_path)
    idx = torch.tensor([vocab.encode_tune("X:1\nK:D\n")])
    assert torch.equal(loaded.network(idx)[0], net(idx)[0])
    assert loaded.vocab.tokens == vocab.tokens and loaded.meta["seed"] == 7


def test_optimizer_state_round_trip():
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(net.parameters(), lr=0.1)
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    tensors, settings = optimizer_tensors(opt)
    fresh = torch.optim.AdamW(net.parameters(), lr=0.5)
    restore_optimizer(fresh, tensors, settings)
    assert torch.equal(fresh.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert fresh.param_groups[0]["lr"] == 0.1


def test_missing_and_foreign_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model.safetensors here"):
        load_model(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="not a Tunesmith checkpoint"):
        load_model(tmp_path)

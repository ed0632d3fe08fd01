"""--device and --precision: resolving devices, autocast, and training that follows the network's device."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from tunesmith.learn.device import DeviceError, autocast, resolve_device, to_device


def test_auto_picks_what_is_there():
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_says_so():
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_unknown_device_and_precision_are_refused():
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    with pytest.raises(DeviceError, match="unknown precision 'fp8'"):
        autocast(torch.device("cpu"), "fp8")


def test_cpu_is_float32_unless_bf16_is_asked_for():
    cpu = torch.device("cpu")
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    for precision in ("auto", "fp32"):
        with autocast(cpu, precision):
            assert (a @ b).dtype == torch.float32
    with autocast(cpu, "bf16"):
        assert (a @ b).dtype == torch.bfloat16


def test_batches_stay_put_on_the_cpu():
    x = torch.arange(6)
    assert to_device((x,), torch.device("cpu"))[0] is x


def cpu_trains_lstm_in_bf16() -> bool:
    """Whether this CPU runs an LSTM forward in bf16 (oneDNN needs AVX512-BF16 for it)."""
    lstm = torch.nn.LSTM(4, 4)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.zeros(2, 1, 4))
    except RuntimeError:
        return False
    return True


def test_bf16_training_keeps_float32_weights_and_learns(tmp_path, oneills_split):
    from tunesmith.learn.training import PRESETS, Trainer, TrainingError

    tiny = PRESETS["tiny"]
    preset = replace(tiny, train=replace(tiny.train, precision="bf16", max_steps=30, eval_interval=30))
    if not cpu_trains_lstm_in_bf16():
        with pytest.raises(TrainingError, match="--precision bf16: this CPU cannot train the model in it"):
            Trainer(tmp_path / "bf16", oneills_split, preset, log=lambda _: None, device="cpu")
        return  # said before any step, in one line (this CPU has no bf16 LSTM kernel)
    trainer = Trainer(tmp_path / "bf16", oneills_split, preset, log=lambda _: None, device="cpu")
    first = trainer.train_step()
    for _ in range(28):
        last = trainer.train_step()
    assert all(p.dtype == torch.float32 for p in trainer.network.parameters())
    assert last < first - 0.5


def test_unknown_precision_stops_training_before_it_starts(tmp_path, oneills_split):
    from tunesmith.learn.training import PRESETS, Trainer, TrainingError

    tiny = PRESETS["tiny"]
    with pytest.raises(TrainingError, match="unknown precision"):
        Trainer(tmp_path / "x", oneills_split, replace(tiny, train=replace(tiny.train, precision="half")),
                log=lambda _: None, device="cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cli_train_on_a_missing_gpu_is_one_line(tmp_path, capsys):
    from tunesmith.cli import main

    code = main(["train", "--data", "oneills", "--out", str(tmp_path / "r"), "--preset", "tiny", "--device", "cuda"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no CUDA GPU" in err[0]


def test_bits_per_char_follows_the_network():
    from tunesmith.data.vocab import CharVocab
    from tunesmith.learn.scoring import bits_per_char
    from tunesmith.models import build_model

    vocab = CharVocab.build(["ABC"])
    network = build_model("lstm", {"vocab_size": len(vocab), "embed_dim": 4, "hidden_size": 8}).to("cpu")
    assert bits_per_char(network, vocab, ["ABCA"]) > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_writes_checkpoints_that_load_on_the_cpu(tmp_path, oneills_split):
    from tunesmith.learn.scoring import bits_per_char
    from tunesmith.learn.training import PRESETS, Trainer
    from tunesmith.store.checkpoint import load_model

    tiny = PRESETS["tiny"]
    preset = replace(tiny, train=replace(tiny.train, max_steps=20, eval_interval=10))
    trainer = Trainer(tmp_path / "gpu", oneills_split, preset, log=lambda _: None, device="cuda")
    assert next(trainer.network.parameters()).is_cuda
    trainer.run(show_progress=False)
    model = load_model(tmp_path / "gpu")  # on the CPU
    texts = [t.text for t in oneills_split.valid[:20]]
    on_cpu = bits_per_char(model.network, model.vocab, texts)
    on_gpu = bits_per_char(model.network.to("cuda"), model.vocab, texts)
    assert on_gpu == pytest.approx(on_cpu, rel=1e-3)

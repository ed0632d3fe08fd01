"""A training run killed with SIGKILL leaves a loadable checkpoint and resumes to the same weights."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from tunesmith.checkpoint import LAST_FILE, load_model, read_checkpoint

STEPS = 300


def _train(run_dir, *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "tunesmith", "train", "--data", "airds", "--out", str(run_dir),
            "--preset", "tiny", "--steps", str(STEPS), "--quiet", *extra]
    # One thread each: two torch processes on two cores must not spin against each other.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def _finish(process: subprocess.Popen) -> None:
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()


def _model_tensors(path) -> dict[str, torch.Tensor]:
    tensors, _ = read_checkpoint(path)
    return {k: v for k, v in tensors.items() if k.startswith("model.")}


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """The same run, never interrupted."""
    run_dir = tmp_path_factory.mktemp("straight")
    _finish(_train(run_dir))
    return run_dir


@pytest.mark.parametrize("delay", [0.0, 0.37])
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, delay, straight_run):
    killed = _train(tmp_path / "killed")
    last = tmp_path / "killed" / LAST_FILE
    deadline = time.monotonic() + 120
    while not last.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    if killed.poll() is not None:
        pytest.skip("the run finished before it could be killed")
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    # Whatever moment the kill hit, both checkpoints load.
    _, meta = read_checkpoint(last)
    assert 0 < meta["state"]["step"] < STEPS
    load_model(tmp_path / "killed")

    _finish(_train(tmp_path / "killed", "--resume"))
    resumed, straight = _model_tensors(last), _model_tensors(straight_run / LAST_FILE)
    assert read_checkpoint(last)[1]["state"]["step"] == STEPS
    for name, tensor in straight.items():
        assert torch.equal(tensor, resumed[name]), name

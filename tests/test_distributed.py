"""Training in two CPU processes (gloo): identical weights on every rank, a falling loss, exact resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from tunesmith.learn import distributed

WORKER = Path(__file__).parent / "ddp_worker.py"
TIMEOUT = 300


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # One thread per process: two processes on two cores, as torchrun itself would set.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *args]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def ranks(out: Path) -> list[dict]:
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]


def train_worker(tmp_path: Path, name: str, steps: int, resume: bool = False) -> list[dict]:
    out = tmp_path / f"{name}-{steps}"
    out.mkdir()
    run_dir = tmp_path / name
    torchrun(str(WORKER), str(run_dir), str(out), str(steps), *(["--resume"] if resume else []), cwd=tmp_path)
    return ranks(out)


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_two_ranks_stay_identical_and_learn(tmp_path):
    rank0, rank1 = train_worker(tmp_path, "run", 40)
    assert (rank0["world_size"], rank1["world_size"]) == (2, 2)
    assert rank0["digest"] == rank1["digest"], "the ranks' weights drifted apart"
    assert rank0["final"]["ranks_in_sync"] and rank1["final"]["ranks_in_sync"]
    assert rank0["batch_seed"] != rank1["batch_seed"], "both ranks drew the same windows"
    records = metrics(tmp_path / "run")
    train_bpc = [r["train_bpc"] for r in records]
    print("train bpc by 10 steps:", train_bpc, "valid bpc:", [r["valid_bpc"] for r in records])
    assert [r["step"] for r in records] == [10, 20, 30, 40]
    assert train_bpc[-1] < train_bpc[0] - 1.0
    assert records[-1]["valid_bpc"] < records[0]["valid_bpc"]
    # Only rank 0 wrote: one metrics line per evaluation, not two.
    assert "rank" not in rank0["final"] and rank1["final"]["rank"] == 1


@pytest.mark.slow
def test_resume_with_two_ranks_ends_where_an_unbroken_run_ends(tmp_path):
    unbroken = train_worker(tmp_path, "unbroken", 40)
    train_worker(tmp_path, "broken", 20)
    resumed = train_worker(tmp_path, "broken", 40, resume=True)
    assert resumed[0]["digest"] == resumed[1]["digest"]
    assert resumed[0]["digest"] == unbroken[0]["digest"], "resume did not restore every rank's batches"
    first, second = (load_file(tmp_path / name / "last.safetensors") for name in ("unbroken", "broken"))
    assert set(first) == set(second) and {"rng.batches", "rng.rank1.batches"} <= set(first)


@pytest.mark.slow
def test_cli_nproc_starts_the_ranks_itself(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "tunesmith.cli", "train", "--data", "oneills", "--out", str(tmp_path / "run"),
               "--preset", "tiny", "--steps", "10", "--nproc", "2", "--device", "cpu", "--quiet"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    finals = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(finals) == 1 and finals[0]["ranks_in_sync"] is True  # rank 0 alone reports
    assert (tmp_path / "run" / "model.safetensors").is_file()


def test_one_process_is_rank_zero_of_one():
    import torch

    ranks = distributed.setup(torch.device("cpu"))
    assert (ranks.rank, ranks.world_size, ranks.enabled, ranks.is_main) == (0, 1, False, True)
    assert ranks.average([1.0, 2.0]) == [1.0, 2.0]
    assert distributed.launched_by_torchrun() is ("WORLD_SIZE" in os.environ and os.environ["WORLD_SIZE"] != "1")

"""Training faults: SIGKILL at random moments and in the middle of checkpoint writes, an output folder
that cannot be written, a loss or weights that turn NaN.

The killed runs are `tunesmith train` in a subprocess (tests/fuzz/train_child.py: the real command
line, a preset of seconds, pauses at chosen moments of a checkpoint write). After every kill the run
directory loads; every resume starts at the step of last.safetensors; and since the CPU path is
deterministic, the final weights equal those of a run never interrupted.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fuzz import report, tried
from fuzz.train_child import PRESET, STEPS
from fuzz_report import KILLS_ENTRY_POINT, floor
from tunesmith.cli import main
from tunesmith.data.corpus import load_corpus, split_by_tune
from tunesmith.learn.training import Preset, Trainer, TrainingError
from tunesmith.store.checkpoint import BEST_FILE, LAST_FILE, CheckpointError, load_model, read_checkpoint

CHILD = Path(__file__).parent / "fuzz" / "train_child.py"


@pytest.fixture(scope="module", autouse=True)
def _print_counts():
    yield
    print("\n" + report())


def _start(run_dir: Path, *extra: str) -> subprocess.Popen:
    # One thread: two torch processes on two cores must not spin against each other (and the
    # weights compare bit for bit). Unbuffered, so a killed run's last log lines are still read.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    resume = ["--resume"] if (run_dir / LAST_FILE).exists() else []
    return subprocess.Popen([sys.executable, str(CHILD), str(run_dir), *resume, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()[-3000:]
    return out.decode()


def _kill(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGKILL)
    out, _ = process.communicate(timeout=60)
    tried("training: SIGKILL")
    return out.decode()


def _saved_step(run_dir: Path) -> int | None:
    last = run_dir / LAST_FILE
    return read_checkpoint(last)[1]["state"]["step"] if last.exists() else None


def _check_directory(run_dir: Path) -> None:
    """Whatever moment the kill hit, what is in the run directory loads."""
    if (run_dir / BEST_FILE).exists():
        load_model(run_dir)
    step = _saved_step(run_dir)
    assert step is None or (step > 0 and step % PRESET.train.eval_interval == 0)


def _check_resumed_from(out: str, run_dir: Path, step: int | None) -> None:
    """A run started over a checkpoint says it resumed at that checkpoint's step."""
    if step is not None:
        assert f"resuming {run_dir} at step {step}\n" in out, out[-2000:]
        tried("training: resumed runs")


def _model_tensors(path: Path) -> dict[str, torch.Tensor]:
    tensors, _ = read_checkpoint(path)
    return {k.removeprefix("model."): v for k, v in tensors.items() if not k.startswith(("optim.", "rng."))}


def _assert_same_weights(run_dir: Path, straight: Path, steps: int = STEPS) -> None:
    assert _saved_step(run_dir) == steps
    for name in (LAST_FILE, BEST_FILE):
        resumed, reference = _model_tensors(run_dir / name), _model_tensors(straight / name)
        assert resumed.keys() == reference.keys()
        for key, tensor in reference.items():
            assert torch.equal(tensor, resumed[key]), f"{name}: {key}"
    tried("training: final weights equal to an uninterrupted run")


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    """The same run, never interrupted."""
    run_dir = tmp_path_factory.mktemp("straight") / "run"
    _finish(_start(run_dir))
    return run_dir


def test_kills_in_the_middle_of_checkpoint_writes(tmp_path, straight):
    """A kill at a random moment, then one in each part of a checkpoint write; every resume goes on."""
    run_dir = tmp_path / "run"
    marker = Path(f"{run_dir}.paused")
    # 1. At a random moment after the first checkpoint (seeded, so a failure repeats).
    process = _start(run_dir)
    deadline = time.monotonic() + 120
    while not (run_dir / LAST_FILE).exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(random.Random(8).uniform(0, 0.5))
    if process.poll() is None:
        _kill(process)
    _check_directory(run_dir)
    # 2. Then while writing: last.safetensors half written, config.json not yet written after a new
    # model.safetensors, last.safetensors written in full but not moved into place, model half written.
    pauses = ["mid-write:last:1", "before-write:config:1", "before-replace:last:2", "mid-write:model:1"]
    for pause in pauses:
        step = _saved_step(run_dir)
        process = _start(run_dir, "--pause", pause)
        while not marker.exists():
            if process.poll() is not None:
                raise AssertionError(f"{pause}: the run ended before it paused: {process.stderr.read().decode()}")
            time.sleep(0.02)
        out = _kill(process)
        marker.unlink()
        _check_resumed_from(out, run_dir, step)
        _check_directory(run_dir)
        if pause == "before-write:config:1":
            # A run killed while appending to metrics.jsonl leaves half a line.
            with open(run_dir / "metrics.jsonl", "a") as handle:
                handle.write('{"step": 3, "train_')
    assert list(run_dir.glob("*.tmp")), "the kills mid-write should have left a .tmp behind"
    step = _saved_step(run_dir)
    _check_resumed_from(_finish(_start(run_dir)), run_dir, step)
    _assert_same_weights(run_dir, straight)
    for line in (run_dir / "metrics.jsonl").read_text().splitlines()[-3:]:
        json.loads(line)


KILLS = floor(KILLS_ENTRY_POINT)  # 20 under `make fuzz`, 1 in `make test`
# Steps of the random-kill run: about 3.75 s of training (on 2 cores) for every kill and once more, so that
# a kill can land well inside training and the run still lasts until the last kill (about 80 s for 20).
LONG = 150 * (KILLS + 1)


@pytest.fixture(scope="module")
def straight_long(tmp_path_factory) -> tuple[Path, float]:
    """The run never interrupted, and how long it took (start-up included)."""
    run_dir = tmp_path_factory.mktemp("straight-long") / "run"
    started = time.monotonic()
    _finish(_start(run_dir, "--steps", str(LONG)))
    return run_dir, time.monotonic() - started


def _start_up_seconds(finished: Path, folder: Path) -> float:
    """How long a run takes with nothing left to train: a copy of the finished run, resumed."""
    copy = folder / "finished"
    shutil.copytree(finished, copy)
    started = time.monotonic()
    _finish(_start(copy, "--steps", str(LONG)))
    return time.monotonic() - started


def _kill_moment(rng: random.Random, start_up: float, steps_per_second: float, steps_left: int,
                 kills_left: int) -> float:
    """Seconds after a start to kill it: anywhere from imports to training, but never later than start-up
    plus the training time left shared among the kills still to come and the run that finishes."""
    share = steps_left / steps_per_second / (kills_left + 1)
    return rng.uniform(0.2, start_up + share)


@pytest.mark.slow
def test_kills_at_random_moments(tmp_path, straight_long):
    """KILLS SIGKILLs at random moments (some before the first checkpoint, some during one), each followed
    by a check of the run directory and, once the run had got going, of where the next start resumed; then
    a run that finishes, with weights bit for bit those of the run never interrupted."""
    straight, straight_seconds = straight_long
    rng = random.Random(int(os.environ.get("TUNESMITH_FAULT_SEED", "0")))
    start_up = _start_up_seconds(straight, tmp_path)
    steps_per_second = LONG / max(straight_seconds - start_up, 1.0)
    run_dir = tmp_path / "run"
    kills, resumed_kills = 0, 0
    while kills < KILLS:
        step = _saved_step(run_dir)
        process = _start(run_dir, "--steps", str(LONG))
        moment = _kill_moment(rng, start_up, steps_per_second, LONG - (step or 0), KILLS - kills)
        try:
            process.wait(timeout=moment)
        except subprocess.TimeoutExpired:
            out = _kill(process)
            if " parameters, " in out:  # it got as far as building the model (or resuming it)
                _check_resumed_from(out, run_dir, step)
                resumed_kills += step is not None
            kills += 1
            _check_directory(run_dir)
            continue
        _, err = process.communicate()
        raise AssertionError(f"the run finished after {kills} of {KILLS} kills (exit {process.returncode}): "
                             f"{err.decode()[-2000:]}")
    step = _saved_step(run_dir)
    _check_resumed_from(_finish(_start(run_dir, "--steps", str(LONG))), run_dir, step)
    print(f"\nrandom kills: {kills} SIGKILLs ({resumed_kills} after resuming from a checkpoint), then a run "
          f"finished; start-up {start_up:.1f} s, {steps_per_second:.0f} steps/s")
    assert kills == KILLS
    _assert_same_weights(run_dir, straight, LONG)


# ---------------------------------------------------------------- output folders that cannot be written


def _train_cli(out: Path, capsys, *extra: str) -> tuple[int, str, float]:
    capsys.readouterr()
    started = time.monotonic()
    code = main(["train", "--data", "airds", "--out", str(out), "--preset", "tiny", "--steps", "5", "--quiet", *extra])
    return code, capsys.readouterr().err.strip(), time.monotonic() - started


def _assert_refused_before_training(code: int, err: str, out: Path, *phrases: str) -> None:
    assert code == 2 and err.count("\n") == 0 and err.startswith("tunesmith: "), err
    for phrase in phrases:
        assert phrase in err, err
    assert not (out / "metrics.jsonl").exists()  # not one evaluation: no training happened


def test_an_output_folder_inside_a_file(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "run"
    code, err, _ = _train_cli(out, capsys)
    _assert_refused_before_training(code, err, out, str(out), "cannot write checkpoints here")


def test_a_read_only_output_folder(tmp_path, capsys):
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o500)
    else:  # root writes through chmod; a read-only file system refuses everyone
        folder = _mount(tmp_path / "read-only", "ro,size=64k")
    try:
        out = folder / "run"
        code, err, _ = _train_cli(out, capsys)
        _assert_refused_before_training(code, err, out, "cannot write checkpoints here")
    finally:
        _unmount(folder)


def _mount(folder: Path, options: str) -> Path:
    """A small tmpfs at folder; skips the test where mounting is not allowed."""
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")
    return folder


def _unmount(folder: Path) -> None:
    if os.path.ismount(folder):
        subprocess.run(["umount", str(folder)], capture_output=True, timeout=30)


def test_a_file_size_limit_stops_the_run_before_training(tmp_path):
    """A limit that lets no file past 512 bytes (as a full disk would): one line, no step trained."""
    script = ("import resource, signal, sys\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))\n"
              "from tunesmith.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-c", script, "train", "--data", "airds", "--out", str(out),
                           "--preset", "tiny", "--steps", "5", "--quiet"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = [line for line in done.stderr.splitlines() if not line.startswith("skipping ")]
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert "cannot write checkpoints here (File too large)" in lines[0]
    assert "parameters" not in done.stdout  # refused before the model was even built


def test_a_disk_too_small_for_the_checkpoints_stops_the_run_before_training(tmp_path, capsys):
    disk = _mount(tmp_path / "small-disk", "size=64k")  # a real full disk: ENOSPC
    try:
        out = disk / "run"
        code, err, _ = _train_cli(out, capsys)
        _assert_refused_before_training(code, err, out, str(out), "free")
    finally:
        _unmount(disk)


# ---------------------------------------------------------------- NaN and infinity


@pytest.fixture(scope="module")
def airds_split():
    return split_by_tune(load_corpus("airds").tunes, valid=0.02, test=0.0, seed=0)


def _trainer(run_dir: Path, split, eval_interval: int = 5) -> Trainer:
    from dataclasses import replace

    preset = Preset("nan", PRESET.model, replace(PRESET.train, max_steps=30, eval_interval=eval_interval))
    return Trainer(run_dir, split, preset, {"data": ["airds"]}, log=lambda _: None)


def _poison(trainer: Trainer, at_step: int, how: str) -> None:
    """Make step `at_step` go wrong: its loss NaN, or (loss still finite) the weights after its update."""
    real_step = trainer.train_step

    def step() -> float:
        if how == "loss" and trainer.state.step + 1 == at_step:
            with torch.no_grad():
                trainer.network.embed.weight.fill_(float("nan"))
        loss = real_step()
        if how == "weights" and trainer.state.step + 1 == at_step:
            with torch.no_grad():
                trainer.network.head.weight.fill_(float("inf"))
        return loss

    trainer.train_step = step


@pytest.mark.parametrize(("how", "at_step"), [("loss", 13), ("weights", 10)])
def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, airds_split, how, at_step):
    """A NaN loss at step 13, or weights turned infinite by the update of step 10 (a checkpoint step)."""
    run_dir = tmp_path / "run"
    trainer = _trainer(run_dir, airds_split)
    _poison(trainer, at_step, how)
    with pytest.raises(TrainingError) as caught:
        trainer.run(show_progress=False)
    message = str(caught.value)
    tried("training: NaN/inf injected")
    assert "\n" not in message and str(run_dir) in message and "last good checkpoint" in message
    good_step = (at_step - 1) // 5 * 5
    assert f"step {at_step}" in message
    assert _saved_step(run_dir) == good_step
    for name in (LAST_FILE, BEST_FILE):
        assert all(torch.isfinite(t).all() for t in _model_tensors(run_dir / name).values()), name
    load_model(run_dir)
    # The run goes on from there when asked (here with the poison gone).
    resumed = Trainer(run_dir, airds_split, Preset("nan", PRESET.model, trainer.config), {"data": ["airds"]},
                      resume=True, log=lambda _: None)
    assert resumed.state.step == good_step


def test_a_disk_that_fills_during_training(tmp_path, airds_split, monkeypatch):
    """The first checkpoint fits, the second does not: one line, the first kept, no .tmp left behind."""
    from safetensors import SafetensorError

    from tunesmith.store import checkpoint

    real_save_file, calls = checkpoint.save_file, []

    def full_disk(tensors, filename, metadata=None):
        calls.append(filename)
        if len(calls) > 2:  # model and last of step 5 fit
            Path(filename).write_bytes(b"half a checkpoint")
            raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
        real_save_file(tensors, filename, metadata)

    monkeypatch.setattr(checkpoint, "save_file", full_disk)
    run_dir = tmp_path / "run"
    with pytest.raises(CheckpointError) as caught:
        _trainer(run_dir, airds_split).run(show_progress=False)
    tried("training: write failures injected")
    message = str(caught.value)
    assert "\n" not in message and "No space left on device" in message and "the previous one is kept" in message
    assert _saved_step(run_dir) == 5 and not list(run_dir.glob("*.tmp"))
    load_model(run_dir)

"""Training: a loop that checkpoints, evaluates and resumes, and train(), its Python entry point.

The presets, TrainConfig and RunState are in config.py, the schedule and the other pieces a run is
made from in recipe.py, metrics.jsonl and loss.png in metrics.py; they are importable from here too.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from tunesmith.data.batching import concatenate, random_windows
from tunesmith.data.corpus import Split, data_fingerprint
from tunesmith.data.forms import form_table
from tunesmith.data.infill import FIM_ORDERS, training_documents
from tunesmith.learn import distributed
from tunesmith.learn.config import DEFAULT_PRESET, PRESETS, Preset, RunState, TrainConfig, TrainingError
from tunesmith.learn.device import (
    PRECISIONS,
    DeviceError,
    autocast,
    check_precision,
    describe_device,
    resolve_device,
    to_device,
)
from tunesmith.learn.diagnostics import gradient_norms, gradient_reach
from tunesmith.learn.metrics import plot_losses, read_metrics
from tunesmith.learn.recipe import build_vocab, chars_per_token, decay_groups, get_lr, training_texts
from tunesmith.learn.scoring import bits_per_char
from tunesmith.models import build_model, count_parameters
from tunesmith.store.checkpoint import (
    LAST_FILE,
    check_free_space,
    describe,
    git_commit,
    read_checkpoint,
    restore_optimizer,
    save_best,
    save_last,
)

__all__ = [  # the names callers import from here, those now in config, recipe and metrics included
    "DEFAULT_PRESET", "PRESETS", "Preset", "RunState", "TrainConfig", "Trainer", "TrainingError", "bits_per_char",
    "build_vocab", "chars_per_token", "decay_groups", "get_lr", "plot_losses", "read_metrics", "train",
    "training_texts",
]


class Trainer:
    """One training run in one directory. `run()` trains; call again with resume=True to go on."""

    def __init__(
        self,
        run_dir: Path,
        split: Split,
        preset: Preset,
        data_description: dict | None = None,
        resume: bool = False,
        log: Callable[[str], None] = print,
        device: str | torch.device = "auto",
    ):
        self.run_dir, self.split, self.log = Path(run_dir), split, log
        self.device = resolve_device(device)
        self.ranks = distributed.setup(self.device)  # one rank of one, unless started by torchrun
        if not self.ranks.is_main:
            self.log = _quiet
        self.train_texts = [t.text for t in split.train]
        self.valid_texts = [t.text for t in split.valid]
        if not self.train_texts or not self.valid_texts:
            raise TrainingError("need at least one training and one validation tune")
        self.state = RunState()
        self.kind, self.config = preset.kind, preset.train
        self.commit = git_commit()
        self.data_description = {**(data_description or {}), "split": split.sizes(),
                                 "fingerprint": data_fingerprint(self.train_texts)}
        self._forms: dict | None = None  # what generate(form="auto") draws from: see forms()
        self._prepare_run_dir(resume)
        torch.manual_seed(self.config.seed)  # the same initial weights on every rank
        stream_texts = training_texts(self.train_texts, self.config.transpose, self.log)
        self.vocab = build_vocab(self.config.tokenizer, stream_texts)
        if not 0 <= self.config.fim_rate <= 1:
            raise TrainingError(f"fim_rate must be from 0 to 1, not {self.config.fim_rate}")
        if self.config.fim_order not in FIM_ORDERS:
            raise TrainingError(f"fim_order must be one of {', '.join(FIM_ORDERS)}, not {self.config.fim_order!r}")
        if self.config.fim_rate > 0:  # only these runs get the sentinels: a plain run's vocabulary is as before
            self.vocab = self.vocab.with_sentinels()
        self.network = build_model(self.kind, {"vocab_size": len(self.vocab), **preset.model}).to(self.device)
        self.optimizer = torch.optim.AdamW(
            decay_groups(self.network, self.config.weight_decay), lr=self.config.learning_rate
        )
        check_free_space(self.run_dir, self.network)
        # Each rank draws its own windows and dropout masks; rank 0 alone draws what one process would.
        self.batch_rng = torch.Generator().manual_seed(self.config.seed + self.ranks.rank)
        if self.ranks.enabled:
            torch.manual_seed(self.config.seed + self.ranks.rank)
        self.grad_norms: dict[str, float] = {}
        if resume:
            try:
                self._resume()
            except TrainingError:
                raise
            except (KeyError, TypeError, ValueError, RuntimeError) as error:  # a last.safetensors edited by hand
                lines = [line.strip() for line in str(error).splitlines() if line.strip()]
                reason = f"no {error} in it" if isinstance(error, KeyError) else " ".join(lines[:2])[:300]
                raise TrainingError(f"{self.run_dir / LAST_FILE}: cannot resume from it ({reason})") from None
        # Built after _resume, from the run's own seed: the tunes rearranged for infilling are the same again.
        self.stream = concatenate(training_documents(self.vocab, stream_texts, self.config.fim_rate, self.config.seed,
                                                     self.config.fim_order))
        self.chars_per_token = self._chars_per_token()  # chars/s and train bpc count characters
        if not (self.config.max_steps or self.config.max_minutes):
            raise TrainingError("give a number of steps or minutes to train for")
        if self.config.precision not in PRECISIONS:
            raise TrainingError(f"unknown precision {self.config.precision!r}; choose from {', '.join(PRECISIONS)}")
        try:
            check_precision(self.network, self.device, self.config.precision)
        except DeviceError as error:
            raise TrainingError(str(error)) from None
        # The model forward and backward go through; DDP averages the gradients across ranks.
        self.model = distributed.wrap(self.network, self.ranks, self.device)
        if self.ranks.enabled:
            self.log(f"{self.ranks.world_size} processes, {describe_device(self.device)} each")

    def _chars_per_token(self) -> float:
        """Characters per token of the stream, the sentinels left out: chars_per_token would count
        "<suf>" as five characters, and they stand for none."""
        text = self.stream >= self.vocab.num_markers
        structure = (self.stream == self.vocab.bos) | (self.stream == self.vocab.eos)
        return chars_per_token(self.vocab, self.stream[text | structure])

    def _prepare_run_dir(self, resume: bool) -> None:
        last = self.run_dir / LAST_FILE
        if resume and not last.exists():
            raise TrainingError(f"{self.run_dir}: nothing to resume (no {LAST_FILE})")
        if not resume and last.exists():
            raise TrainingError(f"{self.run_dir}: a run is already here; pass --resume or another --out")
        if not self.ranks.is_main:
            return  # only rank 0 writes
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            probe = self.run_dir / ".write-test"
            probe.write_bytes(b"x" * 1024)
            probe.unlink()
        except OSError as error:
            raise TrainingError(f"{self.run_dir}: cannot write checkpoints here ({error.strerror})") from None

    def _resume(self) -> None:
        tensors, meta = read_checkpoint(self.run_dir / LAST_FILE)
        if meta["data"]["fingerprint"] != self.data_description["fingerprint"]:
            raise TrainingError(f"{self.run_dir}: --resume with different training data than the run used")
        saved = TrainConfig(**meta["train_config"])
        asked = (self.config.tokenizer, self.config.transpose, self.config.fim_rate, self.config.fim_order)
        if (saved.tokenizer, saved.transpose, saved.fim_rate, saved.fim_order) != asked:
            raise TrainingError(f"{self.run_dir}: the run used --tokenizer {saved.tokenizer} --transpose "
                                f"{saved.transpose} --fim-rate {saved.fim_rate} --fim-order {saved.fim_order}; "
                                "resume with the same")
        # The run's own settings win, except how long to go on for (and when to stop early).
        self.config = replace(saved, max_steps=self.config.max_steps, max_minutes=self.config.max_minutes,
                              patience=self.config.patience)
        self.network.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        restore_optimizer(self.optimizer, tensors, meta["optimizer"])
        self._restore_rng(tensors, meta["state"]["step"])
        self.state = RunState(**meta["state"])
        self.state.finished = False
        self._forms = meta.get("forms")
        self.log(f"resuming {self.run_dir} at step {self.state.step}")

    def _restore_rng(self, tensors: dict[str, torch.Tensor], step: int) -> None:
        """This rank's RNG states from the checkpoint. A rank it has none for (a run resumed on
        more processes than it was saved from) starts afresh from the seed, its rank and the step."""
        prefix = f"rng.rank{self.ranks.rank}." if self.ranks.rank else "rng."
        if prefix + "batches" not in tensors:
            fresh = self.config.seed + 1_000_003 * self.ranks.rank + step
            self.batch_rng.manual_seed(fresh)
            torch.manual_seed(fresh)
            return
        self.batch_rng.set_state(tensors[prefix + "batches"])
        torch.set_rng_state(tensors[prefix + "torch"])
        if self.device.type == "cuda" and prefix + "cuda" in tensors:
            torch.cuda.set_rng_state(tensors[prefix + "cuda"], self.device)

    # -- the loop -----------------------------------------------------------------

    def progress(self) -> float:
        fractions = [0.0]
        if self.config.max_steps:
            fractions.append(self.state.step / self.config.max_steps)
        if self.config.max_minutes:
            fractions.append(self.state.train_seconds / (60 * self.config.max_minutes))
        return max(fractions)

    def out_of_patience(self) -> bool:
        patience = self.config.patience
        if patience and self.state.evals_since_best >= patience:
            self.log(f"stopping early: no better validation bpc in {patience} evaluations")
            return True
        return False

    def train_step(self) -> float:
        """One optimiser step on one batch of random windows; returns the loss in nats."""
        lr = get_lr(self.state.step, self.progress(), self.config)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x, y = random_windows(self.stream, self.config.batch_size, self.config.seq_length, self.batch_rng)
        x, y = to_device((x, y), self.device)
        with autocast(self.device, self.config.precision):  # bf16 on CUDA, float32 on the CPU unless asked
            logits, _ = self.model(x)  # (B, T, vocab)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.diagnostics:  # every step, so the evaluation, whenever it falls, sees the latest
            self.grad_norms = gradient_norms(self.network)
        if self.config.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.network.parameters(), self.config.grad_clip)
        self.optimizer.step()
        return loss.item()

    def run(self, show_progress: bool = True) -> dict:
        """Train until max_steps or max_minutes; returns the final metrics."""
        self.network.train()
        bar = self._progress_bar(show_progress and self.ranks.is_main)
        window_losses: list[float] = []
        while self.progress() < 1.0 and not self.out_of_patience():
            started = time.perf_counter()
            loss = self.train_step()
            elapsed = time.perf_counter() - started
            # Ranks must agree when to evaluate and stop, so they share one clock (and log the mean loss).
            elapsed, loss = self.ranks.average([elapsed, loss])
            if not math.isfinite(loss):
                raise TrainingError(
                    f"loss became {loss} at step {self.state.step + 1}; "
                    f"the last good checkpoint is kept in {self.run_dir}"
                )
            self.state.step += 1
            self.state.train_seconds += elapsed
            # Every rank trains on its own batch: a step sees world_size batches.
            self.state.chars_seen += round(self.config.batch_size * self.config.seq_length * self.chars_per_token
                                           * self.ranks.world_size)
            window_losses.append(loss)
            self._advance_bar(bar, loss)
            if self.state.step % self.config.eval_interval == 0 or self.progress() >= 1.0:
                self.evaluate_and_save(sum(window_losses) / len(window_losses) / math.log(2) / self.chars_per_token)
                window_losses = []
        if bar is not None:
            bar.close()
        return self.finish()

    def _progress_bar(self, show: bool):
        if not show:
            return None
        from tqdm import tqdm

        if self.config.max_minutes:
            return tqdm(total=round(60 * self.config.max_minutes), initial=int(self.state.train_seconds),
                        bar_format="{l_bar}{bar}| {n}/{total} s of training [{elapsed}{postfix}]")
        return tqdm(total=self.config.max_steps, unit="step", initial=self.state.step)

    def _advance_bar(self, bar, loss: float) -> None:
        if bar is None:
            return
        done = int(self.state.train_seconds) if self.config.max_minutes else self.state.step
        bar.update(done - bar.n)
        rate = self.state.chars_seen / max(self.state.train_seconds, 1e-9)
        bar.set_postfix(loss=f"{loss:.3f}", bpc=f"{loss / math.log(2):.2f}", chars_s=f"{rate:,.0f}", refresh=False)

    # -- evaluation and checkpoints --------------------------------------------------

    def forms(self) -> dict:
        """The training tunes' form table (tunesmith.data.forms), made at the first checkpoint, kept on resume."""
        if self._forms is None:
            self._forms = form_table(self.train_texts)
        return self._forms

    def meta(self, **extra: object) -> dict:
        return describe(
            self.network, self.vocab,
            parameters=count_parameters(self.network),
            seed=self.config.seed,
            git_commit=self.commit,
            train_config=asdict(self.config),
            data=self.data_description,
            forms=self.forms(),
            state=asdict(self.state),
            **extra,
        )

    def evaluate_and_save(self, train_bpc: float) -> dict:
        """Rank 0 scores the validation tunes and writes checkpoints; the other ranks wait for it."""
        if not all(torch.isfinite(p).all() for p in self.network.parameters()):
            # The loss of this step was finite, its update was not: never overwrite a good checkpoint.
            raise TrainingError(f"the weights became NaN or infinite at step {self.state.step}; "
                                f"the last good checkpoint is kept in {self.run_dir}")
        rng_states = self.rng_states()  # gathered from every rank, so every rank takes part
        record = self._evaluate_and_save(train_bpc, rng_states) if self.ranks.is_main else {}
        # Early stopping must stop every rank at once: rank 0's verdict goes to all.
        best, since = self.ranks.broadcast([self.state.best_valid_bpc, self.state.evals_since_best])
        self.state.best_valid_bpc, self.state.evals_since_best = best, int(since)
        return record

    def _evaluate_and_save(self, train_bpc: float, rng_states: dict[str, torch.Tensor]) -> dict:
        valid_bpc = bits_per_char(self.network, self.vocab, self.valid_texts)
        self.network.train()
        record = {
            "step": self.state.step,
            "train_seconds": round(self.state.train_seconds, 2),
            "chars_seen": self.state.chars_seen,
            "chars_per_second": round(self.state.chars_seen / max(self.state.train_seconds, 1e-9), 1),
            "lr": self.optimizer.param_groups[0]["lr"],
            "train_bpc": round(train_bpc, 4),
            "valid_bpc": round(valid_bpc, 4),
        }
        if self.config.diagnostics:
            record["grad_reach"] = gradient_reach(self.network, self.probe_windows)
            record["grad_norms"] = self.grad_norms
        with open(self.run_dir / "metrics.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")
        if valid_bpc < self.state.best_valid_bpc:
            self.state.best_valid_bpc, self.state.evals_since_best = valid_bpc, 0
            save_best(self.run_dir, self.network, self.meta(metrics=record))
        else:
            self.state.evals_since_best += 1
        save_last(self.run_dir, self.network, self.optimizer, rng_states, self.meta(metrics=record))
        plot_losses(self.run_dir)
        return record

    def rng_states(self) -> dict[str, torch.Tensor]:
        """Where the batch sampler and dropout are, so --resume draws what an unbroken run would.

        With several ranks, every rank's states (rank r's as 'rank{r}.NAME'): call it on all ranks.
        """
        states = {"batches": self.batch_rng.get_state(), "torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            states["cuda"] = torch.cuda.get_rng_state(self.device)
        return self.ranks.gather_states(states)

    @functools.cached_property
    def probe_windows(self) -> torch.Tensor:
        """The same 8 validation windows at every evaluation, so gradient curves compare."""
        stream = concatenate([self.vocab.encode_tune(t, strict=False) for t in self.valid_texts])
        windows = random_windows(stream, 8, min(100, len(stream) - 2), torch.Generator().manual_seed(0))[0]
        return windows.to(self.device)

    def finish(self) -> dict:
        """Score the best checkpoint once on the test tunes and mark the run finished."""
        self.state.finished = True
        rng_states = self.rng_states()
        in_sync = self.ranks.in_sync(self.network)
        final = self._finish(rng_states) if self.ranks.is_main else {"rank": self.ranks.rank, "step": self.state.step}
        if self.ranks.enabled:
            final["ranks_in_sync"] = in_sync  # DDP's promise, checked: every rank ends with the same weights
        self.ranks.barrier()
        return final

    def _finish(self, rng_states: dict[str, torch.Tensor]) -> dict:
        from tunesmith.store.checkpoint import load_model

        best = load_model(self.run_dir)
        best.network.to(self.device)
        final = {
            "step": self.state.step,
            "train_seconds": round(self.state.train_seconds, 1),
            "best_valid_bpc": round(self.state.best_valid_bpc, 4),
            "chars_per_second": round(self.state.chars_seen / max(self.state.train_seconds, 1e-9), 1),
        }
        if self.split.test:
            final["test_bpc"] = round(bits_per_char(best.network, best.vocab, [t.text for t in self.split.test]), 4)
        sample = self.train_texts[: max(len(self.valid_texts), 1)]
        final["train_tunes_bpc"] = round(bits_per_char(best.network, best.vocab, sample), 4)
        save_best(self.run_dir, best.network, {**best.meta, "state": asdict(self.state), "final": final})
        save_last(self.run_dir, self.network, self.optimizer, rng_states, self.meta(final=final))
        return final


def _saved_train_config(run_dir: Path) -> dict:
    """The train_config of the run to resume ({} when there is none: Trainer then says so)."""
    try:
        return read_checkpoint(run_dir / LAST_FILE)[1].get("train_config", {})
    except (FileNotFoundError, ValueError):
        return {}


def train(
    data: list[str] | str,
    run_dir: str | Path,
    preset: str = DEFAULT_PRESET,
    *,
    steps: int | None = None,
    minutes: float | None = None,
    seed: int = 0,
    split_seed: int = 0,
    resume: bool = False,
    diagnostics: bool = False,
    tokenizer: str | None = None,
    transpose: str | None = None,
    fim_rate: float | None = None,
    fim_order: str | None = None,
    patience: int | None = None,
    show_progress: bool = True,
    log: Callable[[str], None] = print,
    device: str = "auto",
    precision: str | None = None,
) -> dict:
    """Train a preset on DATA into run_dir; the Python twin of `tunesmith train`.

    The split by tune uses split_seed (not seed), so runs with different seeds are
    scored on the same held-out tunes. device: auto (cuda, else mps, else cpu), cpu, cuda, mps;
    precision: auto (bf16 on CUDA), fp32 or bf16 (see tunesmith.learn.device; a resumed run keeps its own).
    Started by torchrun, each process trains one rank (see tunesmith.learn.distributed).
    tokenizer "char" or "abc" and transpose "none" or "all" default to the resumed run's, else to
    the preset's (`small` transposes; the others do not). fim_rate, the share of training tunes rearranged
    to teach filling in the middle (tunesmith.data.infill), likewise (0 in every preset), and fim_order, how
    those documents are laid out ("psm" or "spm"). patience: evaluations
    without a better validation bpc before stopping early (default the preset's; 0 never).
    Example: train("oneills", "runs/small", minutes=10)
    """
    if not distributed.is_rank_zero():
        log = _quiet
    if preset not in PRESETS:
        raise TrainingError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    chosen = PRESETS[preset]
    saved = _saved_train_config(Path(run_dir)) if resume else {}
    config = replace(chosen.train, seed=seed, diagnostics=diagnostics,
                     tokenizer=tokenizer or saved.get("tokenizer", chosen.train.tokenizer),
                     transpose=transpose or saved.get("transpose", chosen.train.transpose),
                     fim_rate=fim_rate if fim_rate is not None else saved.get("fim_rate", chosen.train.fim_rate),
                     fim_order=fim_order or saved.get("fim_order", chosen.train.fim_order))
    if steps is not None or minutes is not None:
        config = replace(config, max_steps=steps, max_minutes=minutes)
    if patience is not None:  # 0: train to the end whatever validation says (a run resumed past its stop)
        config = replace(config, patience=patience or None)
    elif saved:
        config = replace(config, patience=saved.get("patience", config.patience))
    if precision is not None:
        config = replace(config, precision=precision)
    split, description = _load_split(data, split_seed, preset, log)
    trainer = Trainer(Path(run_dir), split, replace(chosen, train=config), description, resume, log, device)
    log(
        f"{preset}: {count_parameters(trainer.network):,} parameters, vocabulary {len(trainer.vocab)}, "
        f"tunes train/valid/test {split.sizes()['train']}/{split.sizes()['valid']}/{split.sizes()['test']}, "
        f"on {describe_device(trainer.device)}"
    )
    final = trainer.run(show_progress)  # a rank that fails exits at once; torchrun then stops the others
    trainer.model = trainer.network  # DDP's reducer goes before the process group it talks to
    distributed.shutdown()
    return final


def _quiet(_: str) -> None:
    """The log of ranks other than 0: one voice is enough."""


def _load_split(data: list[str] | str, split_seed: int, preset: str,
                log: Callable[[str], None]) -> tuple[Split, dict]:
    """DATA read (its skipped tunes logged, the first ten by name) and split by tune, with the
    description of it the run keeps in its checkpoints."""
    from tunesmith.data.corpus import load_corpus, split_by_tune

    corpus = load_corpus(data)
    for error in corpus.skipped[:10]:
        log(f"skipping {error}")
    if len(corpus.skipped) > 10:
        log(f"... {len(corpus.skipped) - 10} more tunes skipped")
    split = split_by_tune(corpus.tunes, seed=split_seed)
    description = {
        "data": [data] if isinstance(data, str) else list(data),
        "files": len(corpus.sources),
        "tunes": len(corpus.tunes),
        "skipped": len(corpus.skipped),
        "split_seed": split_seed,
        "preset": preset,
    }
    return split, description

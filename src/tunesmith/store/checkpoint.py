"""Run directories: checkpoints that rebuild their model from the directory alone, without pickle.

    RUN_DIR/
      model.safetensors   best weights by validation bpc; its metadata holds the whole config
      config.json         the same config, readable: model kind + config, vocabulary, data,
                          training settings, metrics, seed, git commit
      last.safetensors    the latest step for --resume: weights, optimiser state, RNG states
      metrics.jsonl       one JSON line per evaluation
      loss.png            training and validation curves

Each checkpoint is a single file replaced atomically (write to a temporary name, fsync,
os.replace), so a run killed mid-write always leaves the previous checkpoint loadable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from tunesmith.data.vocab import CharVocab, vocab_from_dict
from tunesmith.models import build_model, model_config, model_kind

BEST_FILE, LAST_FILE, CONFIG_FILE = "model.safetensors", "last.safetensors", "config.json"
FORMAT_VERSION = 1
# The pretrained model that ships inside the package (see MODEL.md): load_model("default").
DEFAULT_MODEL = "default"
SHIPPED_MODEL = Path(__file__).parents[1] / "pretrained" / "default.safetensors"


@dataclass
class TrainedModel:
    """A network with the vocabulary it was trained on and everything known about it."""

    network: nn.Module
    vocab: CharVocab  # or an ABCTokenVocab: the same interface
    meta: dict


def git_commit() -> str | None:
    """The commit of the Tunesmith checkout this runs from, if it is one (else None)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def describe(network: nn.Module, vocab: CharVocab, **extra: object) -> dict:
    """The metadata written with every checkpoint."""
    return {
        "format": FORMAT_VERSION,
        "model_kind": model_kind(network),
        "model_config": model_config(network),
        "vocab": vocab.to_dict(),
        **extra,
    }


class CheckpointError(ValueError):
    """A checkpoint that cannot be written (a full disk), in one line naming the file."""


def _atomic_save(tensors: dict[str, torch.Tensor], meta: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        # CPU copies: a checkpoint written on a GPU loads anywhere.
        cpu = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        save_file(cpu, str(tmp), {"tunesmith": json.dumps(meta)})
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
    except (OSError, SafetensorError) as error:
        _give_up(tmp, path, error)
    tmp.replace(path)


def _atomic_write_text(text: str, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text)
    except OSError as error:
        _give_up(tmp, path, error)
    tmp.replace(path)


def _give_up(tmp: Path, path: Path, error: Exception) -> None:
    tmp.unlink(missing_ok=True)  # a half-written .tmp only takes space on a disk that may be full
    reason = getattr(error, "strerror", None) or str(error).split("\n")[0]
    raise CheckpointError(f"{path}: cannot write it ({reason}); the previous one is kept") from None


def check_free_space(run_dir: Path, network: nn.Module) -> None:
    """Refuse to start a run whose checkpoints cannot fit: better now than after an hour of training.

    The peak is the weights (model.safetensors), then weights and two AdamW moments
    (last.safetensors) with a .tmp copy of that beside it while it is replaced: 7 copies.
    """
    weights = sum(t.numel() * t.element_size() for t in network.state_dict().values())
    needed = 7 * weights + 2**18  # 256 KB: metrics, the plot, config.json
    needed -= sum((run_dir / name).stat().st_size for name in (BEST_FILE, LAST_FILE) if (run_dir / name).exists())
    folder = next(p for p in (run_dir, *run_dir.parents) if p.exists())  # ranks above 0 never create it
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise CheckpointError(f"{run_dir}: {free / 2**20:.1f} MB free, its checkpoints need about "
                              f"{needed / 2**20:.1f} MB")


def save_best(run_dir: Path, network: nn.Module, meta: dict) -> None:
    """model.safetensors + config.json: what load_model needs."""
    _atomic_save(dict(network.state_dict()), meta, run_dir / BEST_FILE)
    _atomic_write_text(json.dumps(meta, indent=2) + "\n", run_dir / CONFIG_FILE)


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Flatten an optimiser state dict into named tensors plus JSON-able settings."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for param_id, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{param_id}.{name}"] = value
            else:
                scalars[f"{param_id}.{name}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict, settings: dict) -> None:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, param_id, name = key.split(".", 2)
            state.setdefault(int(param_id), {})[name] = value
    for key, value in settings["scalars"].items():
        param_id, name = key.split(".", 1)
        state.setdefault(int(param_id), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": settings["param_groups"]})


def save_last(
    run_dir: Path,
    network: nn.Module,
    optimizer: torch.optim.Optimizer,
    rng_states: dict[str, torch.Tensor],
    meta: dict,
) -> None:
    """Everything --resume needs, in one file replaced atomically."""
    optim, settings = optimizer_tensors(optimizer)
    tensors = {f"model.{k}": v for k, v in network.state_dict().items()}
    tensors |= optim | {f"rng.{k}": v for k, v in rng_states.items()}
    _atomic_save(tensors, {**meta, "optimizer": settings}, run_dir / LAST_FILE)


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and metadata of one checkpoint file, with a one-line error if it is not one."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {})["tunesmith"])
            if not isinstance(meta, dict):
                raise ValueError("its metadata is not a JSON object")
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open is not a dict)
    except FileNotFoundError:
        raise
    except (KeyError, ValueError, OSError, RuntimeError, SafetensorError) as error:
        raise ValueError(f"{path}: not a Tunesmith checkpoint ({error})") from None
    return tensors, meta


def export_model(model: TrainedModel, path: Path, half: bool = False) -> Path:
    """The model alone as one .safetensors file (no optimiser or RNG state), float16 with half.

    This is how the shipped model is written; load_model reads it back in float32.
    """
    tensors = {f"model.{k}": (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
               for k, v in model.network.state_dict().items()}
    meta = {k: v for k, v in model.meta.items() if k != "optimizer"} | {"exported_half": half}
    _atomic_save(tensors, meta, Path(path))
    return Path(path)


def model_path(path: str | os.PathLike) -> Path:
    """Where a model named so lives: "default" is the shipped file, unless ./default is a run of your own."""
    return SHIPPED_MODEL if str(path) == DEFAULT_MODEL and not Path(path).exists() else Path(path)


def load_model(path: str | os.PathLike = DEFAULT_MODEL) -> TrainedModel:
    """Rebuild a trained model from a run directory (or a .safetensors file) alone; "default" is
    the model shipped in the package (unless ./default is a run of your own).

    Example: model = load_model("runs/small"); tunesmith.generate(model, num=4)
    """
    path = model_path(path)
    file = path / BEST_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"{path}: no {BEST_FILE} here; train one with `tunesmith train`")
    tensors, meta = read_checkpoint(file)
    try:
        network, vocab = _rebuild(meta, tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:  # a file edited by hand, or by someone else
        reason = f"no {error} in its metadata" if isinstance(error, KeyError) else str(error).split("\n")[0]
        raise ValueError(f"{file}: not a usable Tunesmith checkpoint ({reason})") from None
    return TrainedModel(network, vocab, meta)


def _rebuild(meta: dict, tensors: dict[str, torch.Tensor]) -> tuple[nn.Module, object]:
    """The network and vocabulary a checkpoint describes, once its parts are known to fit together."""
    vocab = vocab_from_dict(meta["vocab"])
    # Shapes from a model on the meta device: a config asking for terabytes allocates nothing.
    with torch.device("meta"):
        expected = build_model(meta["model_kind"], meta["model_config"]).state_dict()
    weights = {k.removeprefix("model."): v for k, v in tensors.items() if not k.startswith(("optim.", "rng."))}
    for name in sorted(expected.keys() ^ weights.keys()):
        raise ValueError(f"{'no tensor' if name in expected else 'unexpected tensor'} {name!r}")
    for name, tensor in weights.items():
        if tensor.shape != expected[name].shape:
            raise ValueError(f"tensor {name!r} has shape {list(tensor.shape)}, its config says "
                             f"{list(expected[name].shape)}")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(f"tensor {name!r} holds NaN or infinity")
    if meta["model_config"]["vocab_size"] != len(vocab):
        raise ValueError(f"the vocabulary has {len(vocab)} symbols, the model "
                         f"{meta['model_config']['vocab_size']}")
    network = build_model(meta["model_kind"], meta["model_config"])
    network.load_state_dict(weights)
    return network.eval(), vocab

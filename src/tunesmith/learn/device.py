"""Where tensors live: `--device auto|cpu|cuda|mps`, and the precision each device trains in.

    resolve_device("auto")  ->  cuda if a CUDA GPU is usable, else mps (Apple), else cpu

Nothing else in Tunesmith names a device: models, batches and evaluation follow the
device of the network's parameters, and checkpoints are always written from CPU tensors.
"""

from __future__ import annotations

import contextlib
import os

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
# auto: bf16 autocast on CUDA, float32 elsewhere. bf16: on the CPU too, where the CPU has bf16
# instructions (AVX512-BF16, AMX): 1.6x the default preset's steps on a Zen 4 core, but slower
# for the lab's batch-8 model (benchmarks/README.md). fp32: float32 everywhere.
PRECISIONS = ("auto", "fp32", "bf16")


class DeviceError(ValueError):
    """A device was asked for that this machine does not have."""


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def resolve_device(name: str | torch.device = "auto", local_rank: int | None = None) -> torch.device:
    """A concrete torch.device for a --device value; one process per GPU takes GPU local_rank.

    Example: resolve_device("cuda", local_rank=1) -> device("cuda:1")
    """
    name = str(name)
    kind = name.split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise DeviceError(f"unknown device {name!r}; choose from {', '.join(DEVICE_CHOICES)}")
    if kind == "auto":
        kind = "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("--device cuda: no CUDA GPU is usable here (torch "
                              f"{torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA)")
        if ":" in name:
            return torch.device(name)
        rank = local_rank if local_rank is not None else int(os.environ.get("LOCAL_RANK", 0))
        return torch.device("cuda", rank % torch.cuda.device_count())
    if kind == "mps" and not _mps_available():
        raise DeviceError("--device mps: Apple's Metal backend is not available here")
    return torch.device(kind)


def autocast(device: torch.device, precision: str = "auto") -> contextlib.AbstractContextManager:
    """bf16 mixed precision on CUDA (no loss scaling needed, unlike fp16); float32 elsewhere,
    unless precision is "bf16". Weights, gradients and optimiser state stay float32 either way.

    The CPU default stays float32 so that CPU runs match the lab's numbers and each other exactly.
    """
    mixed = _mixed_dtype(device, precision)
    return torch.autocast(device.type, dtype=mixed) if mixed is not None else contextlib.nullcontext()


def _mixed_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """The dtype autocast computes in on this device for this precision; None: float32, no autocast."""
    if precision not in PRECISIONS:
        raise DeviceError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return None
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if device.type == "cpu" and precision == "bf16":
        return torch.bfloat16
    return None


def check_precision(network: torch.nn.Module, device: torch.device, precision: str) -> None:
    """Raise DeviceError when the network cannot run forward and backward in this precision here.

    Not every CPU has bf16 kernels for every layer: oneDNN's bf16 LSTM needs AVX512-BF16, and
    without it fails deep inside the first step. One step on two tokens says so before training,
    on a fork of the random streams, so that dropout in it leaves the run's draws as they were.
    """
    if _mixed_dtype(device, precision) is None:
        return  # float32: every layer has its kernels
    probe = torch.zeros((1, 2), dtype=torch.long, device=device)
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), autocast(device, precision):
            logits, _ = network(probe)
            logits.float().sum().backward()
    except RuntimeError as error:
        reason = str(error).splitlines()[0].split(". ")[0][:160]  # its first sentence
        raise DeviceError(f"--precision {precision}: this {device.type.upper()} cannot train the model in it "
                          f"({reason}); use --precision fp32") from None
    finally:
        network.zero_grad(set_to_none=True)


def to_device(batch: tuple[torch.Tensor, ...], device: torch.device) -> tuple[torch.Tensor, ...]:
    """Move CPU tensors to the device; through pinned memory and without waiting, for a GPU."""
    if device.type == "cpu":
        return batch
    if device.type == "cuda":
        return tuple(t.pin_memory().to(device, non_blocking=True) for t in batch)
    return tuple(t.to(device) for t in batch)


def describe_device(device: torch.device) -> str:
    """One line for logs: which device, and what it is."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)

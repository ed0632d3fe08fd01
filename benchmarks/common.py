"""What the benchmarks share: the machine's description, timing, the matmul peak and FLOP counts."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch


def report(figures: dict, json_path: str | None) -> None:
    print(json.dumps(figures, indent=2))
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        with open(json_path, "w") as handle:
            json.dump(figures, handle, indent=2)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: torch.device) -> dict:
    """Everything a reader needs to compare these figures with their own."""
    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "mkldnn": torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
        "python": platform.python_version(),
        "device": str(device),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB.

    On Linux from /proc (VmHWM): getrusage's ru_maxrss would also count the parent's memory,
    which a forked child carries until it execs.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (2**20 if platform.system() == "Darwin" else 2**10), 1)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(fn: Callable[[], object], calls: int, device: torch.device, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    sync(device)
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    sync(device)
    return (time.perf_counter() - started) / calls


def interleaved_rates(steps: dict[str, Callable[[], object]], units: dict[str, float], calls: int, rounds: int,
                      device: torch.device, warmup: int = 2) -> dict[str, list[float]]:
    """Units per second of each contestant, measured in turns (A B C A B C ...) so that a
    change in clock speed or in the machine's load falls on all of them alike."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    rates: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            rates[name].append(units[name] / seconds_per_call(step, calls, device, warmup=0))
    return rates


def paired_ratio(ours: list[float], reference: list[float]) -> float:
    """The median over rounds of ours / reference, each pair measured back to back."""
    return statistics.median(a / b for a, b in zip(ours, reference))


# -- FLOPs -------------------------------------------------------------------------------


def lstm_forward_flops_per_char(vocab_size: int, embed_dim: int, hidden_size: int, num_layers: int = 1) -> float:
    """Forward FLOPs per character of Embedding -> LSTM -> Linear (a multiply-add is 2 FLOPs).

        embedding:    0                        a row look-up, no arithmetic
        LSTM layer l: 2 * 4H * (in_l + H)      input and recurrent matmuls of the four gates
                                               (in_0 = E, in_l = H above the first layer)
        projection:   2 * H * V
    Biases and the gates' elementwise work (about 10 H) are left out: under 0.2 % here.
    """
    lstm = sum(2 * 4 * hidden_size * ((embed_dim if layer == 0 else hidden_size) + hidden_size)
               for layer in range(num_layers))
    return float(lstm + 2 * hidden_size * vocab_size)


def train_flops_per_char(forward: float) -> float:
    """Training = forward + backward, and backward costs two forwards (the gradient with respect
    to each layer's input, and with respect to its weights): 3 x forward."""
    return 3.0 * forward


def matmul_gflops(m: int, k: int, n: int, device: torch.device, seconds: float = 0.5,
                  dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of (m x k) @ (k x n), repeated for about `seconds`."""
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)
    once = seconds_per_call(lambda: a @ b, 1, device, warmup=2)
    calls = max(2, int(seconds / max(once, 1e-6)))
    return 2 * m * k * n / seconds_per_call(lambda: a @ b, calls, device, warmup=0) / 1e9


def lstm_layer_gflops(batch: int, seq: int, embed: int, hidden: int, device: torch.device,
                      calls: int = 3) -> dict[str, float]:
    """GFLOP/s of torch's own LSTM layer (oneDNN on CPU, cuDNN on CUDA), forward alone and
    forward + backward, counted as above: where a training step spends nearly all its time."""
    lstm = torch.nn.LSTM(embed, hidden, batch_first=True).to(device)
    x = torch.randn(batch, seq, embed, device=device, requires_grad=True)
    forward = 2 * 4 * hidden * (embed + hidden) * batch * seq

    def train() -> None:
        out, _ = lstm(x)
        out.sum().backward()

    with torch.no_grad():
        fwd = seconds_per_call(lambda: lstm(x), calls, device)
    both = seconds_per_call(train, calls, device)
    return {"forward": forward / fwd / 1e9, "forward_backward": 3 * forward / both / 1e9}

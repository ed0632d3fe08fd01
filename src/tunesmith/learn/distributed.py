"""Training in several processes (and machines) with DistributedDataParallel.

Each process (rank) holds a whole copy of the model, draws its own random windows and
averages its gradients with the others after every backward pass, so all copies stay
identical. Rank 0 alone evaluates and writes checkpoints, metrics and logs.

    tunesmith train --nproc 2 --data oneills --out runs/ddp             # one machine
    torchrun --nproc-per-node 2 -m tunesmith.cli train --data oneills --out runs/ddp

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; without them
everything here is a no-op and training runs in one process. Collectives carry plain
tensors only (no pickled objects): gloo on CPU, NCCL on CUDA GPUs.
"""

from __future__ import annotations

import gc
import hashlib
import os
import sys
from dataclasses import dataclass, field
from datetime import timedelta

import torch
import torch.distributed as dist

# Rank 0 may evaluate and score a large held-out set while the others wait for it.
WAIT_FOR_RANK_ZERO = timedelta(minutes=60)


@dataclass
class Ranks:
    """This process's place among the training processes (rank 0 of 1 when alone)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    # Where the tensors of collectives live: the rank's GPU for NCCL, the CPU for gloo.
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def average(self, values: list[float]) -> list[float]:
        """The mean of each value over all ranks (the same numbers on every rank)."""
        if not self.enabled:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return (tensor / self.world_size).tolist()

    def broadcast(self, values: list[float]) -> list[float]:
        """Rank 0's values on every rank; the other ranks wait here for rank 0."""
        if not self.enabled:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.broadcast(tensor, src=0)
        return tensor.tolist()

    def gather_states(self, states: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Every rank's RNG states, for rank 0's checkpoint: rank 0's under their own names
        (as a one-process run saves them), rank r's as 'rank{r}.NAME'."""
        if not self.enabled:
            return states
        gathered = dict(states)
        for name, state in states.items():
            local = state.to(self.device)
            parts = [torch.empty_like(local) for _ in range(self.world_size)]
            dist.all_gather(parts, local)
            gathered |= {f"rank{r}.{name}": part.cpu() for r, part in enumerate(parts) if r}
        return gathered

    def in_sync(self, network: torch.nn.Module) -> bool:
        """True when every rank holds bit-identical parameters (a hash compared across ranks)."""
        digest = parameter_digest(network)
        if not self.enabled:
            return True
        mine = torch.tensor([int(digest[:15], 16)], dtype=torch.int64, device=self.device)
        lowest, highest = mine.clone(), mine.clone()
        dist.all_reduce(lowest, op=dist.ReduceOp.MIN)
        dist.all_reduce(highest, op=dist.ReduceOp.MAX)
        return bool(lowest == highest)


def parameter_digest(network: torch.nn.Module) -> str:
    """sha256 of every parameter's bytes, in order: equal digests mean equal weights."""
    digest = hashlib.sha256()
    for name, param in network.state_dict().items():
        digest.update(name.encode())
        digest.update(param.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: torch.device) -> Ranks:
    """Join the process group torchrun described in the environment (once per process)."""
    if not launched_by_torchrun():
        return Ranks(device=device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend, timeout=WAIT_FOR_RANK_ZERO)
    comm_device = device if dist.get_backend() == "nccl" else torch.device("cpu")
    return Ranks(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)), comm_device)


def shutdown() -> None:
    """Leave the process group, after every rank got here (a rank gone early breaks the others' exit)."""
    if dist.is_available() and dist.is_initialized():
        gc.collect()  # a DDP wrapper no longer referenced, but still in a cycle, lets go of the group first
        dist.barrier()
        dist.destroy_process_group()


def wrap(network: torch.nn.Module, ranks: Ranks, device: torch.device) -> torch.nn.Module:
    """The network DDP-wrapped when there are several ranks (gradients averaged in backward)."""
    if not ranks.enabled:
        return network
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(network, device_ids=[device.index] if device.type == "cuda" else None)


def launch(nproc: int, argv: list[str]) -> int:
    """Run `tunesmith <argv>` in nproc processes on this machine, as torchrun would.

    For several machines call torchrun directly (see the README: --nnodes, --rdzv-endpoint).
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    args = get_args_parser().parse_args(["--standalone", f"--nproc-per-node={nproc}", "--module", "tunesmith.cli"])
    # Set, not parsed: torchrun's parser would take our --nproc for an abbreviation of its own.
    args.training_script_args = argv
    try:
        run(args)
    except ChildFailedError as error:
        rank, failure = error.get_first_failure()
        print(f"tunesmith: training process {rank} failed (exit code {failure.exitcode})", file=sys.stderr)
        return 1
    return 0


def is_rank_zero() -> bool:
    """True in a one-process run, and in rank 0 of a torchrun job (before the group is joined too)."""
    return int(os.environ.get("RANK", "0")) == 0

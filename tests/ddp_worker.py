"""One rank of the multi-process training tests, started by torchrun (not collected by pytest).

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/ddp_worker.py RUN_DIR OUT_DIR STEPS [--resume]

Trains the tiny preset on O'Neill's with a constant learning rate (so a run cut in two and
resumed must end exactly where an unbroken run ends), then writes OUT_DIR/rank{r}.json: the
digest of this rank's weights, its batch seed, and what Trainer.run returned.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from tunesmith.data.corpus import load_corpus, split_by_tune
from tunesmith.learn import distributed
from tunesmith.learn.training import PRESETS, Trainer


def main(run_dir: str, out_dir: str, steps: int, resume: bool) -> None:
    tiny = PRESETS["tiny"]
    config = replace(tiny.train, max_steps=steps, eval_interval=10, schedule="constant", warmup_steps=0)
    split = split_by_tune(load_corpus("oneills").tunes)
    trainer = Trainer(Path(run_dir), split, replace(tiny, train=config), {"data": ["oneills"]},
                      resume=resume, log=lambda _: None, device="cpu")
    final = trainer.run(show_progress=False)
    record = {
        "rank": trainer.ranks.rank,
        "world_size": trainer.ranks.world_size,
        "digest": distributed.parameter_digest(trainer.network),
        "batch_seed": trainer.batch_rng.initial_seed(),
        "final": final,
    }
    Path(out_dir, f"rank{trainer.ranks.rank}.json").write_text(json.dumps(record))
    trainer.model = trainer.network  # let go of DDP before the process group, as train() does
    distributed.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), "--resume" in sys.argv[4:])

"""Shared fixtures: the lab's data when ../shared has it, and one tiny model trained once."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SHARED_IRISH = Path(__file__).resolve().parents[2] / "shared" / "data" / "irish.abc"


@pytest.fixture(scope="session")
def quirks_abc() -> Path:
    return DATA / "quirks.abc"


@pytest.fixture(scope="session")
def irish_abc() -> Path:
    """The lab's irish.abc (804 tunes; its regex splitter says 817); skip without it."""
    if not SHARED_IRISH.is_file():
        pytest.skip("../shared/data/irish.abc is not here")
    return SHARED_IRISH


@pytest.fixture(scope="session")
def oneills_split():
    from tunesmith.data.corpus import load_corpus, split_by_tune

    return split_by_tune(load_corpus("oneills").tunes, seed=0)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, oneills_split) -> Path:
    """A tiny LSTM trained for a few hundred steps on O'Neill's (seconds on a CPU)."""
    from tunesmith.learn.training import PRESETS, Trainer

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    Trainer(run_dir, oneills_split, PRESETS["tiny"], {"data": ["oneills"]}, log=lambda _: None).run(False)
    return run_dir


@pytest.fixture(scope="session")
def tiny_model(tiny_run):
    from tunesmith.store.checkpoint import load_model

    return load_model(tiny_run)

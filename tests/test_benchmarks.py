"""The benchmark harness runs end to end in quick mode and writes every figure (no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (json_path,) = out.glob("*-quick.json")
    (md_path,) = out.glob("*-quick.md")
    return json.loads(json_path.read_text()), md_path.read_text()


@pytest.mark.slow
def test_quick_run_writes_every_section(quick_results):
    figures, _ = quick_results
    assert figures["quick"] is True
    assert {"cpu", "cores", "torch", "threads", "load_average_1min"} <= set(figures["machine"])
    assert figures["matmul"]["peak_gflops"] > 0
    rows = figures["training"]["rows"]
    assert {"lab reference", "mit", "small"} <= set(rows)
    for row in rows.values():
        assert {"chars_per_s", "ratio_to_reference", "achieved_gflops", "share_of_peak"} <= set(row)
        assert row["chars_per_s"] > 0 and row["share_of_peak"] > 0
    # mit and the lab are one model: the same FLOPs per character.
    assert rows["mit"]["train_flops_per_char"] == rows["lab reference"]["train_flops_per_char"]
    sampling = figures["sampling"]
    assert sampling["batched"]["tunes"] == 64 and sampling["batched"]["chars"] > 0
    assert sampling["lab_loop"]["chars_per_s"] > 0 and sampling["ratio_chars_per_s"] > 0
    assert {"seconds_to_first_tune", "tunes_per_s"} <= set(sampling["batched"])
    for kind in ("train-mit", "sample-batched"):
        memory = figures["memory"][kind]
        assert memory["peak_rss_mb"] >= memory["rss_after_imports_and_data_mb"] > 0
    assert "quality" not in figures  # --quality-minutes defaults to 0: skipped


@pytest.mark.slow
def test_quick_table_puts_ratios_first_and_says_quick(quick_results):
    _, table = quick_results
    assert "QUICK" in table and "torch" in table and "threads" in table
    header = next(line for line in table.splitlines() if line.startswith("| measure"))
    assert "ratio" in header
    assert "training chars/s, `mit`" in table and "sampling chars/s" in table and "peak RSS" in table


def test_flops_formula_counts_the_lab_model():
    from benchmarks.common import lstm_forward_flops_per_char, train_flops_per_char

    # 2 * 4H(E+H) + 2HV for E=256, H=1024, V=83 (the lab's vocabulary)
    forward = lstm_forward_flops_per_char(83, 256, 1024)
    assert forward == 2 * 4 * 1024 * (256 + 1024) + 2 * 1024 * 83
    assert train_flops_per_char(forward) == 3 * forward
    assert lstm_forward_flops_per_char(83, 64, 512, num_layers=2) == (
        2 * 4 * 512 * (64 + 512) + 2 * 4 * 512 * (512 + 512) + 2 * 512 * 83)


def test_lab_model_takes_tunesmith_weights():
    import torch
    from benchmarks.lab import LabModel, Scored, copy_weights

    from tunesmith.models import build_model

    torch.manual_seed(0)
    ours = build_model("lstm", {"vocab_size": 20, "embed_dim": 8, "hidden_size": 16})
    theirs = copy_weights(ours, LabModel(20, 8, 16))
    x = torch.randint(0, 20, (2, 7))
    ours_logits, _ = ours(x)
    theirs_logits, _ = Scored(theirs)(x)
    assert torch.equal(ours_logits, theirs_logits)


def test_load_figures_give_p50_p95_p99_and_max():
    from benchmarks.bench_serve import latency

    seconds = [i / 1000 for i in range(1, 1001)]  # 1 ms .. 1000 ms
    assert latency(seconds) == {"count": 1000, "p50_ms": 501.0, "p95_ms": 951.0, "p99_ms": 991.0, "max_ms": 1000.0}
    assert latency([]) == {"count": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}


def test_variations_are_put_to_the_classifier_against_each_real_set(oneills_split):
    from benchmarks.cowrite import MIN_C2ST_TUNES, _told_apart

    texts = [tune.text for tune in oneills_split.train[:80]]
    found = _told_apart(texts[:40], {"the tunes varied": texts[:40], "other real tunes": texts[40:80],
                                     "too few": texts[40:40 + MIN_C2ST_TUNES - 1]}, seed=0)
    assert set(found) == {"classifier accuracy against the tunes varied",
                          "classifier accuracy against other real tunes"}
    same = found["classifier accuracy against the tunes varied"]
    assert same["tunes"] == {"generated": 40, "real": 40}
    assert same["gradient_boosting"] <= 0.6  # the same tunes on both sides: nothing to tell them apart by
    assert 0 <= found["classifier accuracy against other real tunes"]["gradient_boosting"] <= 1

"""Held-out scoring: bits per character of whole tunes, each from a fresh state."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from tunesmith.learn.scoring import bits_per_char
from tunesmith.store.checkpoint import TrainedModel


def heldout_texts(model: TrainedModel, data: Sequence[str] | str | None = None) -> tuple[list[str], list[str], bool]:
    """(training tunes of the model, tunes to score, whether they are the model's own held-out split).

    With no data, or the data the model was trained on, the held-out tunes are the
    validation and test tunes of the same split. Any other data set is wholly held out.
    """
    from tunesmith.data.corpus import data_fingerprint, load_corpus, split_by_tune

    info = model.meta.get("data", {})
    own = split_by_tune(load_corpus(info["data"]).tunes, seed=info.get("split_seed", 0))
    train = [t.text for t in own.train]
    if data is None or list([data] if isinstance(data, str) else data) == list(info["data"]):
        if data_fingerprint(train) != info.get("fingerprint"):
            raise ValueError("the model's training data has changed since it was trained; pass --data")
        return train, [t.text for t in own.valid + own.test], True
    return train, [t.text for t in load_corpus(data).tunes], False


def rates(reports: list, samples: list | None = None) -> dict:
    """The shares `quality.summarise` gives, plus X/M/K present and (for samples) ended at </s>."""
    from tunesmith.judge.quality import summarise

    shares = summarise(reports)
    shares["has_x_m_k"] = sum(not r.missing_fields for r in reports) / max(len(reports), 1)
    if any(r.abc2midi_errors is not None for r in reports):  # not where abc2midi is not installed
        shares["abc2midi_clean"] = sum(r.abc2midi_errors == 0 for r in reports) / max(len(reports), 1)
    if samples is not None:
        shares["ended_at_end_marker"] = sum(s.finished for s in samples) / max(len(samples), 1)
    return shares


def evaluate_model(
    model: TrainedModel,
    data: Sequence[str] | str | None = None,
    samples: int = 200,
    temperature: float = 1.0,
    seed: int = 0,
    constrain: bool = True,
    form: str = "auto",
) -> dict:
    """Held-out bits per character, and the tune checks on generated vs held-out real tunes.

    Every rate of the generated tunes stands beside the same rate of real held-out tunes,
    and novelty is measured against the model's own training tunes. constrain=False checks
    what the model writes on its own (the figure to compare models by); True, what a user gets
    (with form "auto", as generate gives it; "free" for no form).
    """
    from tunesmith.judge.quality import NoveltyIndex, check_tune
    from tunesmith.sample.sampling import SamplingSettings, sample_tunes

    timings: dict[str, float] = {}
    started = time.perf_counter()
    train, heldout, own_split = heldout_texts(model, data)
    result: dict = {"heldout_tunes": len(heldout), "own_split": own_split, "constrained": constrain,
                    "form": form if constrain else "free"}
    result["heldout_bpc"] = round(bits_per_char(model.network, model.vocab, heldout), 4)
    result["unknown_characters"] = sum(ch not in model.vocab.index for t in heldout for ch in t)
    timings["score"] = time.perf_counter() - started
    started = time.perf_counter()
    generated = sample_tunes(model, samples, settings=SamplingSettings(temperature=temperature, constrain=constrain),
                             seed=seed, form=form if constrain else None)
    timings["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    index = NoveltyIndex(train)
    timings["index"] = time.perf_counter() - started
    started = time.perf_counter()
    generated_reports = [check_tune(s.text, index=index) for s in generated]
    timings["check_generated"] = time.perf_counter() - started
    reference_reports = [check_tune(text, index=index) for text in heldout[:samples]]
    result["generated"] = rates(generated_reports, generated)
    result["reference"] = rates(reference_reports)
    if importlib.util.find_spec("sklearn") is not None:  # the `eval` extra
        from tunesmith.judge.realism import realism_report

        started = time.perf_counter()
        result["realism"] = realism_report([s.text for s in generated], heldout[:samples], seed)
        timings["realism"] = time.perf_counter() - started
    result["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    result["tunes"] = [s.text for s in generated]
    result["reports"] = [asdict(r) for r in generated_reports]
    result["reference_reports"] = [asdict(r) for r in reference_reports]
    result["reference_tunes"] = heldout[:samples]
    return result


def _histograms(result: dict, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = {"generated": result["reports"], "held-out real": result["reference_reports"]}
    views = {
        "bars_correct.png": ("share of bars of the right length",
                             lambda r: r["bars_correct"] / max(r["bars_total"], 1)),
        "pitch_range.png": ("pitch range (semitones)", lambda r: r["pitch_range"]),
        "section_length.png": ("bars per section", None),
    }
    names = []
    for name, (label, value) in views.items():
        fig, ax = plt.subplots(figsize=(5, 3.2))
        for title, reports in sets.items():
            values = ([n for r in reports for n in r["bars_per_section"]] if value is None
                      else [value(r) for r in reports])
            ax.hist(values, bins=20, alpha=0.6, label=title, density=True)
        ax.set_xlabel(label)
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / name, dpi=90)
        plt.close(fig)
        names.append(name)
    return names + _distributions(result, folder, plt)


def _distributions(result: dict, folder: Path, plt) -> list[str]:
    """Pitch-class and note-length shares of generated vs held-out real tunes."""
    from collections import Counter

    from tunesmith.abc.reader import read_tune

    texts = {"generated": result["tunes"], "held-out real": result.get("reference_tunes", [])}
    counts = {}
    for title, tunes in texts.items():
        elements = [e for text in tunes for bar in read_tune(text).bars for e in bar.elements if e.pitch is not None]
        counts[title] = (Counter(e.pitch % 12 for e in elements), Counter(e.duration for e in elements))
    names = []
    for name, which, label in (("pitch_classes.png", 0, "pitch class (0 = C)"),
                               ("note_lengths.png", 1, "note length (whole notes)")):
        keys = sorted({k for pair in counts.values() for k in pair[which]})[:16]
        fig, ax = plt.subplots(figsize=(6, 3.2))
        width = 0.4
        for offset, (title, pair) in enumerate(counts.items()):
            total = sum(pair[which].values()) or 1
            xs = [i + offset * width for i in range(len(keys))]
            ax.bar(xs, [pair[which][k] / total for k in keys], width, label=title)
        ax.set_xticks([i + width / 2 for i in range(len(keys))], [str(k) for k in keys], fontsize=7)
        ax.set_xlabel(label)
        ax.set_ylabel("share of notes")
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / name, dpi=90)
        plt.close(fig)
        names.append(name)
    return names


def write_report(result: dict, folder: Path, table: Callable[[dict], str], run_dir: Path | None = None) -> Path:
    """report.md with the rate table, held-out bpc, plots and the most copied tunes.

    With run_dir, the run's training curve (train and validation bpc by step) comes too.
    """
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    plots = _histograms(result, folder)
    if run_dir is not None and (run_dir / "loss.png").is_file():
        shutil.copyfile(run_dir / "loss.png", folder / "loss.png")
        plots.insert(0, "loss.png")
    copied = sorted(zip(result["reports"], result["tunes"]), key=lambda pair: -(pair[0]["longest_copy"] or 0))
    where = "the run's own held-out split" if result["own_split"] else "data not used in training"
    lines = [
        "# Tunesmith evaluation",
        "",
        f"Held-out bits per character: **{result['heldout_bpc']:.3f}** on {result['heldout_tunes']} tunes "
        f"({where}).",
        "",
        "```",
        table({"generated": result["generated"], "held-out real": result["reference"]}),
        "```",
        "",
        *[f"![{name}]({name})" for name in plots],
        "",
        "## Most copied generated tunes",
        "",
    ]
    for report, text in copied[:3]:
        lines += [f"{report['longest_copy']} bars shared with training tune {report['nearest_tune']}:",
                  "", "```abc", text, "```", ""]
    path = folder / "report.md"
    path.write_text("\n".join(lines))
    return path

"""Held-out scoring (bits per character of whole tunes, each from a fresh state) and the report a person reads."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from tunesmith.learn.scoring import bits_per_char
from tunesmith.store.checkpoint import TrainedModel

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from tunesmith.abc.instruments import Instrument


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
    candidates: int = 1,
) -> dict:
    """Held-out bits per character, and the tune checks on generated vs held-out real tunes.

    Every rate of the generated tunes stands beside the same rate of real held-out tunes,
    and novelty is measured against the model's own training tunes. constrain=False checks
    what the model writes on its own (the figure to compare models by); True, what a user gets
    (with form "auto", as generate gives it; "free" for no form). candidates > 1 keeps each tune
    as the best of that many by the critic (tunesmith.judge.critic), as generate --candidates does.
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
    index = NoveltyIndex(train)
    timings["index"] = time.perf_counter() - started
    started = time.perf_counter()
    settings = SamplingSettings(temperature=temperature, constrain=constrain)
    if candidates > 1:
        from tunesmith.judge.critic import best_of

        generated = [s for s, _ in best_of(model, samples, candidates, index, settings=settings, seed=seed,
                                           form=form if constrain else None)]
    else:
        generated = sample_tunes(model, samples, settings=settings, seed=seed, form=form if constrain else None)
    result["candidates"] = candidates
    timings["generate"] = time.perf_counter() - started
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


# -- the report a person reads ------------------------------------------------------

FIGSIZE, DPI = (8, 4.5), 110  # 880 x 495 px: readable on a page without zooming
SIDES = ("generated", "held-out real")
DEGREES = ("1", "b2", "2", "b3", "3", "4", "#4", "5", "b6", "6", "b7", "7")  # semitones above the tonic
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# British names of realism.LENGTHS, in whole notes (1/8 is a quaver); the last bin is everything else.
LENGTH_NAMES = ("semiquaver", "triplet quaver", "quaver", "dotted quaver", "crotchet", "dotted crotchet",
                "minim", "dotted minim", "semibreve", "other")
LONGEST_PART = 24  # parts longer than this many bars share one last bin


def _texts(result: dict) -> dict[str, list[str]]:
    """The tunes of each side; an older result may lack the held-out ones."""
    return {"generated": result["tunes"], "held-out real": result.get("reference_tunes", [])}


def _new_figure(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Axes]:
    """A figure sized for reading, titled and labelled on both axes (no pyplot: no global state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    ax = fig.subplots()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    return fig, ax


def _side_by_side(ax: Axes, labels: Sequence[str], shares: dict[str, list[float]], rotation: int = 0) -> None:
    """Paired bars, one pair per label: generated on the left, held-out real on the right."""
    width = 0.8 / max(len(shares), 1)
    for offset, (side, values) in enumerate(shares.items()):
        ax.bar([i + offset * width for i in range(len(labels))], values, width, label=side)
    ax.set_xticks([i + width * (len(shares) - 1) / 2 for i in range(len(labels))], labels, rotation=rotation,
                  ha="right" if rotation else "center")  # a slanted label ends under its bars
    ax.legend()


def _overlap_words(overlap: float | None) -> str:
    return "" if overlap is None else f" (overlap {overlap:.0%})"


def _music_figures(result: dict) -> dict[str, Figure]:
    """Scale degrees, intervals and note lengths of both sides, read by realism.features (one ABC reader)."""
    from tunesmith.judge.realism import INTERVALS, features, overlaps, pooled

    rows = {side: [features(t) for t in texts] for side, texts in _texts(result).items() if texts}
    overlap = overlaps(rows["generated"], rows["held-out real"]) if len(rows) == 2 else {}
    interval_labels = [str(i) for i in INTERVALS]  # plain numbers: 25 of them must fit side by side
    views = {
        "degrees.png": ("degree", "Scale degrees, relative to each tune's tonic",
                        "scale degree (1 = the tonic of K:, b3 = minor third, 5 = fifth)", "share of notes",
                        DEGREES, 0),
        "intervals.png": ("interval", "Melodic intervals, each note to the next",
                          "interval (semitones; below 0 = down; ±12 takes in leaps over an octave)",
                          "share of intervals",
                          interval_labels, 0),
        "note_lengths.png": ("length", "Note and rest lengths", "length (1/8 of a whole note = quaver)",
                             "share of notes and rests", LENGTH_NAMES, 30),
    }
    figures = {}
    for name, (histogram, title, xlabel, ylabel, labels, rotation) in views.items():
        fig, ax = _new_figure(title + _overlap_words(overlap.get(histogram)), xlabel, ylabel)
        _side_by_side(ax, labels, {side: pooled(side_rows, histogram) for side, side_rows in rows.items()}, rotation)
        fig.tight_layout()
        figures[name] = fig
    return figures


def _part_figure(result: dict) -> Figure:
    """Bars per part (section between repeats or double bars): 8 for most reels and jigs."""
    from collections import Counter

    sets = {"generated": result["reports"], "held-out real": result.get("reference_reports", [])}
    counts = {side: Counter(min(n, LONGEST_PART + 1) for r in reports for n in r["bars_per_section"])
              for side, reports in sets.items() if reports}
    lengths = list(range(1, LONGEST_PART + 2))
    labels = [str(n) if n <= LONGEST_PART else f">{LONGEST_PART}" for n in lengths]
    fig, ax = _new_figure("Part lengths in bars (most reels and jigs: 8)", "bars in a part", "share of parts")
    _side_by_side(ax, labels, {side: [c[n] / max(sum(c.values()), 1) for n in lengths] for side, c in counts.items()})
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig


def _player(result: dict) -> Instrument:
    """The instrument the result names, else the fiddle (the instrument most of the tune books were for)."""
    from tunesmith.abc.instruments import instrument

    try:
        return instrument(result.get("instrument") or "fiddle")
    except ValueError:
        return instrument("fiddle")


def _pitch_name(pitch: int) -> str:
    """Example: 60 -> "C4" (middle C, ABC's C), 55 -> "G3" (the fiddle's open G)."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def _range_figure(result: dict) -> Figure:
    """How many tunes reach each note, against an instrument's range: the edges are lowest and highest notes."""
    from tunesmith.abc.reader import read_tune

    inst = _player(result)
    spans = {side: [(min(p), max(p)) for p in (read_tune(t).pitches for t in texts) if p]
             for side, texts in _texts(result).items()}
    spans = {side: s for side, s in spans.items() if s}
    ends = [pitch for s in spans.values() for span in s for pitch in span] + [inst.low, inst.high]
    pitches = range(min(ends) - 2, max(ends) + 3)
    fig, ax = _new_figure(f"Pitch ranges against the {inst.name}'s ({_pitch_name(inst.low)} to "
                          f"{_pitch_name(inst.high)})", "pitch (as written; C4 = middle C)",
                          "share of tunes whose range takes in the note")
    ax.axvspan(inst.low, inst.high, color="0.9", label=f"{inst.name} range")
    for side, s in spans.items():
        beyond = sum(low < inst.low or high > inst.high for low, high in s) / len(s)
        ax.plot(pitches, [sum(low <= p <= high for low, high in s) / len(s) for p in pitches],
                label=f"{side}: {beyond:.0%} of tunes go beyond")
    ticks = [p for p in pitches if p % 12 in (0, 7)]  # every C and G
    ax.set_xticks(ticks, [_pitch_name(p) for p in ticks])
    ax.set_ylim(0, 1.4)  # headroom above 100% of tunes, so the legend covers no line
    ax.set_yticks([i / 5 for i in range(6)], [f"{i / 5:.0%}" for i in range(6)])
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def report_figures(result: dict) -> dict[str, Figure]:
    """Every plot of the report by file name, as matplotlib figures (each titled, both axes labelled)."""
    return {**_music_figures(result), "part_lengths.png": _part_figure(result),
            "pitch_ranges.png": _range_figure(result)}


def _save_figures(result: dict, folder: Path) -> dict[str, str]:
    """Write the figures as PNGs; file name -> title, for the captions."""
    titles = {}
    for name, fig in report_figures(result).items():
        fig.savefig(folder / name)  # at the figure's own dpi: FIGSIZE x DPI pixels
        titles[name] = fig.axes[0].get_title()
    return titles


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _feature_words(name: str) -> str:
    """A realism feature in words. Example: "degree_3" -> "notes on degree b3"."""
    from tunesmith.judge.realism import INTERVALS

    words = {"range": "pitch range (semitones)", "bars": "bars in the tune", "notes_per_bar": "notes per bar",
             "ends_on_tonic": "ends on the tonic", "repeats_exact": "bars heard before in the tune",
             "repeats_transposed": "bars heard before, up to transposition"}
    histogram, _, index = name.rpartition("_")
    if histogram == "degree":
        return f"notes on degree {DEGREES[int(index)]}"
    if histogram == "interval":
        return f"intervals of {INTERVALS[int(index)]:+d} semitones"
    if histogram == "length":
        length = LENGTH_NAMES[int(index)]
        return "notes and rests of other lengths" if length == "other" else f"notes and rests a {length} long"
    return words.get(name, name.replace("_", " "))


def _feature_value(name: str, value: float | None) -> str:
    """Shares as percentages, counts as plain numbers."""
    if value is None:
        return "—"
    return f"{value:.1f}" if name in ("range", "bars", "notes_per_bar") else _percent(value)


def _realism_lines(realism: dict) -> list[str]:
    """The realism judge as markdown tables: overlaps, the classifier's accuracy, what gives tunes away."""
    c2st, overlap = realism.get("c2st", {}), realism.get("overlap", {})
    tunes = c2st.get("tunes", {})
    lines = ["## How real the generated tunes sound", "",
             "| measure | value |", "|---|---|",
             *[f"| overlap of {words} with real tunes (100% = the same) | {_percent(overlap.get(key))} |"
               for key, words in (("degree", "scale degrees"), ("interval", "intervals"),
                                  ("length", "note lengths"))],
             *[f"| {words}: accuracy telling generated from real | {_percent(c2st.get(key))} |"
               for key, words in (("gradient_boosting", "gradient-boosted trees"),
                                  ("logistic_regression", "logistic regression"))],
             "",
             "A classifier at 50% cannot tell the generated tunes from real ones (a coin toss does as well); "
             f"at 100% it always can (5-fold cross-validated on {tunes.get('generated', '—')} generated and "
             f"{tunes.get('real', '—')} real tunes).", ""]
    rows = [(item["feature"], item.get("generated"), item.get("real")) for item in c2st.get("gives_away", [])]
    rows += [(name, pair.get("generated"), pair.get("real")) for name, pair in realism.get("means", {}).items()]
    if rows:
        lines += ["| what tells them apart, and the tunes on average | generated | held-out real |",
                  "|---|---|---|",
                  *[f"| {_feature_words(n)} | {_feature_value(n, g)} | {_feature_value(n, r)} |" for n, g, r in rows],
                  ""]
    return lines


def _copied_lines(result: dict) -> list[str]:
    """The three generated tunes that share the longest run of bars with a training tune."""
    pairs = [(r, t) for r, t in zip(result["reports"], result["tunes"]) if r.get("longest_copy")]
    lines = ["## Most copied generated tunes", ""]
    if not pairs:
        return lines + ["No generated tune shares a run of bars with a training tune.", ""]
    for report, text in sorted(pairs, key=lambda pair: -pair[0]["longest_copy"])[:3]:
        nearest = report.get("nearest_tune")
        source = "a training tune" if nearest is None else f"training tune {nearest}"
        lines += [f"{report['longest_copy']} bars in a row shared with {source}:", "", "```abc", text, "```", ""]
    return lines


def _summary(result: dict) -> str:
    where = "the run's own held-out split" if result.get("own_split") else "data not used in training"
    how = (f"with Tunesmith's constraints (form {result.get('form', 'auto')})" if result.get("constrained", True)
           else "as the model writes them, without constraints")
    return (f"Held-out bits per character: **{result['heldout_bpc']:.3f}** on {result['heldout_tunes']:,} tunes "
            f"({where}). {len(result['tunes']):,} tunes generated {how}.")


def write_report(result: dict, folder: Path, table: Callable[[dict], str], run_dir: Path | None = None) -> Path:
    """report.md with the rate table, held-out bpc, realism figures, plots and the most copied tunes.

    With run_dir, the run's training curve (train and validation bpc by step) comes too.
    """
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    plots = _save_figures(result, folder)
    if run_dir is not None and (run_dir / "loss.png").is_file():
        shutil.copyfile(run_dir / "loss.png", folder / "loss.png")
        plots = {"loss.png": "Training curve: bits per character by step"} | plots
    lines = ["# Tunesmith evaluation", "", _summary(result), "",
             "```", table({"generated": result["generated"], "held-out real": result["reference"]}), "```", ""]
    if "realism" in result:
        lines += _realism_lines(result["realism"])
    lines += ["## Generated beside held-out real tunes", ""]
    lines += [line for name, title in plots.items() for line in (f"![{title}]({name})", "")]
    lines += _copied_lines(result)
    path = folder / "report.md"
    path.write_text("\n".join(lines))
    return path

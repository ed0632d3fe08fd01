"""The demo: one tune of each common type from a model, checked, rendered, and shown on one page.

    tunesmith demo            ->  out/demo/reel.abc, reel.mid, reel.wav, reel.svg, reel.png, ...
                                  out/demo/index.html (score, player, ABC and checks of each tune)

Without the Debian tools only the .abc files and the page are written, and the page (like the
command) names the packages to install.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from pathlib import Path

from tunesmith.abc.text import with_notes
from tunesmith.judge.quality import check_tune
from tunesmith.render.rendering import FORMATS, PACKAGES, RenderError, missing_tools, render_tune
from tunesmith.sample.sampling import Sample, sample_tunes
from tunesmith.store.checkpoint import TrainedModel

# (label, rhythm written in R:, metre when the model's book has no tunes of that rhythm)
DEMO_TYPES = (
    ("reel", "reel", "C|"),
    ("jig", "jig", "6/8"),
    ("hornpipe", "hornpipe", "C"),
    ("slip jig", "slip jig", "9/8"),
    ("polka", "polka", "2/4"),
    ("strathspey", "strathspey", "C"),
    ("waltz", "waltz", "3/4"),
    ("march", "march", "6/8"),
)
RENDERED = ("mid", "wav", "svg", "png")


@dataclass
class DemoTune:
    label: str
    sample: Sample
    checks: dict[str, bool]
    files: dict[str, Path] = field(default_factory=dict)


def known_rhythms(model: TrainedModel) -> dict[str, str]:
    """The rhythms the model's tune books name, each with its commonest metre (from the run's form table)."""
    best: dict[str, tuple[int, str]] = {}
    for row in model.meta.get("forms", {}).get("types", []):
        if row["rhythm"] and row["tunes"] > best.get(row["rhythm"], (0, ""))[0]:
            best[row["rhythm"]] = (row["tunes"], row["meter"])
    return {rhythm: meter for rhythm, (_, meter) in best.items()}


def demo_tunes(model: TrainedModel, seed: int) -> list[DemoTune]:
    """One tune per DEMO_TYPES entry. A rhythm the model never saw is asked for by its metre only
    (a polka from a model of O'Neill's is a tune in 2/4), so no R: line is forced on it."""
    known = known_rhythms(model)
    tunes = []
    for offset, (label, rhythm, meter) in enumerate(DEMO_TYPES):
        ask = {"rhythm": rhythm, "meter": known[rhythm]} if rhythm in known else {"meter": meter}
        sample = sample_tunes(model, 1, seed=seed + offset, form="auto", **ask)[0]
        report = check_tune(sample.text)
        checks = {"every bar the right length": report.metre_ok, "ends on its tonic": report.ends_on_tonic,
                  "written to the end (not cut)": sample.finished and not sample.dead_end}
        if report.abc2midi_errors is not None:
            checks["abc2midi reads it without an error"] = report.abc2midi_errors == 0
        tunes.append(DemoTune(label if rhythm in known else f"{label} ({meter} time)", sample, checks))
    return tunes


def write_demo(model: TrainedModel, out: Path, seed: int = 0, log=print) -> tuple[list[DemoTune], Path]:
    """Write the demo tunes, their renderings (where the tools are) and index.html into out."""
    started = time.perf_counter()
    tunes = demo_tunes(model, seed)
    log(f"wrote {len(tunes)} tunes in {time.perf_counter() - started:.1f}s")
    out.mkdir(parents=True, exist_ok=True)
    missing = missing_tools(RENDERED)
    formats = [f for f in RENDERED if not missing_tools([f])]
    for tune in tunes:
        stem = tune.label.split(" (")[0].replace(" ", "-")
        path = out / f"{stem}.abc"
        path.write_text(with_notes(tune.sample.text, [f"tunesmith demo --seed {seed}; {tune.label}; "
                                                      f"form {tune.sample.form}"]) + "\n")
        tune.files["abc"] = path
        try:
            tune.files |= render_tune(tune.sample.text, formats, out, stem).files if formats else {}
        except RenderError as error:
            log(f"skipping the rendering of {stem}: {error}")
    if missing:
        log(f"not rendered: {', '.join(f for f in RENDERED if f not in formats)} "
            f"(install: sudo apt-get install {' '.join(sorted({PACKAGES.get(t, t) for t in missing}))})")
    page = write_gallery(tunes, out, missing)
    return tunes, page


def write_gallery(tunes: list[DemoTune], out: Path, missing: list[str]) -> Path:
    """index.html: each tune's score, audio player, checks and ABC, with links relative to out."""
    cards = "\n".join(_card(tune, out) for tune in tunes)
    note = "" if not missing else (
        f'<p class="note">Scores and audio need {html.escape(", ".join(sorted(set(missing))))}: '
        f"sudo apt-get install {html.escape(' '.join(sorted({PACKAGES.get(t, t) for t in missing})))}</p>")
    page = out / "index.html"
    page.write_text(PAGE.format(cards=cards, note=note))
    return page


def _card(tune: DemoTune, out: Path) -> str:
    files = {kind: path.relative_to(out).as_posix() for kind, path in tune.files.items() if kind in FORMATS}
    title = next((line[2:] for line in tune.sample.text.split("\n") if line.startswith("T:")), "untitled")
    score = ""
    if "svg" in files or "png" in files:
        image = files.get("svg", files.get("png"))
        score = f'<img class="score" src="{image}" alt="{html.escape(tune.sample.text)}">'
    audio = f'<audio controls src="{files["wav"]}" aria-label="play {html.escape(title)}"></audio>' \
        if "wav" in files else ""
    checks = "".join(f'<li class="{"ok" if ok else "no"}">{"✓" if ok else "✗"} {html.escape(name)}</li>'
                     for name, ok in tune.checks.items())
    links = " · ".join(f'<a href="{path}" download>{kind.upper()}</a>' for kind, path in files.items())
    return CARD.format(label=html.escape(tune.label), title=html.escape(title), score=score, audio=audio,
                       checks=checks, form=html.escape(tune.sample.form), links=links,
                       abc=html.escape(tune.sample.text))


CARD = """<section class="tune">
<h2>{title} <small>{label}</small></h2>
{score}
{audio}
<ul class="checks">{checks}<li>form {form}</li></ul>
<p class="files">{links}</p>
<details><summary>ABC</summary><pre>{abc}</pre></details>
</section>"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tunesmith: eight new tunes</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
.tune {{ border-top: 1px solid #ccc; padding: 1rem 0; }}
.score {{ width: 100%; background: #fff; }}
.checks {{ list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0 1.5rem; }}
.ok {{ color: #176317; }} .no {{ color: #a31515; }} .note {{ background: #fff4d6; padding: .5rem; }}
small {{ color: #666; font-weight: normal; }} pre {{ background: #f6f6f6; padding: .5rem; overflow-x: auto; }}
</style></head>
<body>
<h1>Eight new tunes from Tunesmith</h1>
<p>Written by the model that ships with Tunesmith, one of each common type. Play them, read them,
take the ABC. Run <code>tunesmith demo --seed N</code> for others.</p>
{note}
{cards}
</body></html>
"""

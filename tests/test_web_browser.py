"""The workshop page in a real browser: Playwright driving Debian's chromium, headless.

Set TUNESMITH_SCREENSHOT=/path/page.png to keep a screenshot of the page after generating.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
playwright = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")

from tunesmith.render.rendering import missing_tools  # noqa: E402
from tunesmith.web import create_app  # noqa: E402

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and Path(p).is_file()), None)
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium executable (Debian: apt-get install chromium)"),
    pytest.mark.skipif(bool(missing_tools(["mid", "svg"])), reason="abc2midi or abcm2ps missing"),
]
EDITED_TITLE = "Edited In The Browser"
EDITED = f"X:1\nT:{EDITED_TITLE}\nM:6/8\nL:1/8\nK:G\n|:GAB cBA|BAG E3|GAB cde|dBG G3:|\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(app, novelty: bool):
    """The app on a free port, uvicorn in a background thread; its URL."""
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start"
    while novelty and time.monotonic() < deadline + 60:  # the copied-bars index, so the page shows it
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health") as answer:
            if json.load(answer)["novelty"] != "building":
                break
        time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(10)


@pytest.fixture(params=[False], ids=["plain"])
def server(request, tiny_run, tmp_path):
    """(URL, kept.abc) of a workshop; indirect parametrisation with True indexes the training tunes."""
    novelty = request.param
    app = create_app(tiny_run, tmp_path / "store", data_dir=tmp_path / "data", novelty=novelty)
    with running(app, novelty) as url:
        yield url, tmp_path / "data" / "kept.abc"


@pytest.fixture
def page():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(viewport={"width": 1100, "height": 1400})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # A 4xx answer is logged as "Failed to load resource"; the page shows those itself.
        page.on("console", lambda m: errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        yield page
        browser.close()
    assert not errors, f"the page reported errors: {errors}"


def generate_on_the_page(page, url: str, seed: int, num: int, **choices: str) -> None:
    """Open the workshop, choose (select id -> value), generate `num` short tunes, wait for their scores."""
    page.goto(url)
    playwright.expect(page.locator("#model-status")).to_contain_text("Model tiny")
    for select, value in choices.items():
        page.select_option(f"#{select.replace('_', '-')}", value)
    page.fill("#seed", str(seed))
    page.fill("#num", str(num))
    page.fill("#max-chars", "500")
    page.click("#generate")
    playwright.expect(page.locator(".tune .score svg")).to_have_count(num, timeout=30_000)


@pytest.mark.parametrize("server", [True], ids=["indexed"], indirect=True)
def test_generate_edit_and_keep_in_the_browser(server, page):
    url, _ = server
    generate_on_the_page(page, url, 7, 2, key_root="G", meter="6/8")
    playwright.expect(page.locator(".tune .quality")).to_have_count(2)
    playwright.expect(page.locator("#progress-text")).to_contain_text("2 tunes in")
    playwright.expect(page.locator(".tune .quality").first).to_contain_text(re.compile(r"copied bars\s*\d+"))
    if os.environ.get("TUNESMITH_SCREENSHOT"):
        page.wait_for_timeout(300)  # let the layout settle
        page.screenshot(path=os.environ["TUNESMITH_SCREENSHOT"], full_page=True)

    first = page.locator(".tune").first
    audio_src = first.locator("audio").get_attribute("src")
    assert audio_src.endswith(".wav") and first.locator(".downloads a").count() == 4
    before = first.locator(".score").inner_html()
    first.locator("textarea.abc").fill(EDITED)
    playwright.expect(first.locator(".score svg")).to_contain_text(EDITED_TITLE, timeout=20_000)
    assert first.locator(".score").inner_html() != before
    assert first.locator("audio").get_attribute("src") != audio_src  # the audio follows the edit
    second_score = page.locator(".tune").nth(1).locator(".score svg")
    assert EDITED_TITLE not in second_score.inner_html()  # only the edited tune changed

    first.locator("button.keep").click()
    playwright.expect(first.locator(".keep-status")).to_contain_text("kept as tune 1", timeout=10_000)
    playwright.expect(page.locator("#kept-list li")).to_contain_text([f"1. {EDITED_TITLE}"])
    book = urllib.request.urlopen(f"{url}/api/kept.abc", timeout=10).read().decode()
    assert f"T:{EDITED_TITLE}" in book and "seed=7" in book and "N:edited in the workshop" in book


def test_bad_settings_show_the_servers_error_on_the_page(server, page):
    url, _ = server
    page.goto(url)
    playwright.expect(page.locator("#model-status")).to_contain_text("Model tiny")
    page.evaluate("document.querySelector('#settings').noValidate = true")  # past the browser's own check
    page.fill("#seed", "-1")
    page.click("#generate")
    playwright.expect(page.locator("#error")).to_contain_text("seed: Input should be greater than or equal to 0")
    assert page.locator(".tune").count() == 0


def test_api_docs_render_offline(server, page):
    url, _ = server
    page.goto(f"{url}/docs")
    playwright.expect(page.locator("body")).to_contain_text("/api/generate", timeout=20_000)


def test_write_for_an_instrument_then_transpose_and_add_chords(server, page):
    url, _ = server
    page.goto(url)
    playwright.expect(page.locator("#instrument option")).to_have_count(10)  # "any" and the nine instruments
    page.select_option("#instrument", "whistle")
    assert "the whistle's: D, G, Em" in page.get_attribute("#keys", "placeholder")
    page.fill("#keys", "G, Em")
    page.check("#chords")
    page.fill("#seed", "3")
    page.fill("#num", "1")
    page.fill("#max-chars", "500")
    page.click("#generate")
    card = page.locator(".tune").first
    playwright.expect(card.locator(".score svg")).to_have_count(1, timeout=30_000)
    text = card.locator("textarea.abc").input_value()
    assert re.search(r"^K:(G|Em)$", text, re.M) and '"' in text.split("\nK:", 1)[1]  # in a session key, chorded

    low = "X:1\nT:Low Tune\nM:C|\nL:1/8\nK:D\nD,E,F,A, D,F,A,D|E,F,G,A, B,A,G,F,|D,E,F,A, D,F,A,D|E,G,F,E, D,4|]\n"
    card.locator("textarea.abc").fill(low)
    playwright.expect(card.locator(".score svg")).to_contain_text("Low Tune", timeout=20_000)
    button = card.locator("button.for-instrument")
    playwright.expect(button).to_have_text("Transpose for whistle")
    button.click()
    playwright.expect(card.locator(".edit-status")).to_have_text("moved +12 semitones for the whistle", timeout=20_000)
    assert "D,E,F" not in card.locator("textarea.abc").input_value()
    card.locator("button.add-chords").click()
    playwright.expect(card.locator(".edit-status")).to_have_text("chords added", timeout=20_000)
    assert '"D"' in card.locator("textarea.abc").input_value()
    if os.environ.get("TUNESMITH_SCREENSHOT_INSTRUMENT"):
        page.screenshot(path=os.environ["TUNESMITH_SCREENSHOT_INSTRUMENT"], full_page=True)


def test_write_bars_again_and_vary_in_the_browser(server, page):
    url, _ = server
    generate_on_the_page(page, url, 5, 1)
    card = page.locator(".tune").first
    reel = ("X:1\nT:Browser Reel\nM:C|\nL:1/8\nK:D\n"
            "|:A|dfaf gfed|cABc dAFA|GBdB AFDF|EFGE D3:|\n|:g|fdad fdad|gebe gebe|fdad fgaf|gefe d3:|\n")
    card.locator("textarea.abc").fill(reel)
    playwright.expect(card.locator(".score svg")).to_contain_text("Browser Reel", timeout=20_000)
    card.locator(".bar-first").fill("2")
    card.locator(".bar-last").fill("3")
    card.locator("button.fill").click()
    playwright.expect(card.locator(".cowrite-status")).to_contain_text("written in", timeout=30_000)
    filled = page.locator(".tune").nth(1)
    playwright.expect(filled.locator(".score svg")).to_have_count(1, timeout=20_000)
    text = filled.locator("textarea.abc").input_value()
    assert "N:full bars 2-3 written again" in text and text.rstrip().endswith("gefe d3:|")  # the B part kept

    page.locator(".tune").first.locator("button.vary").click()
    playwright.expect(page.locator(".tune")).to_have_count(3, timeout=30_000)
    assert "N:a variation: bars" in page.locator(".tune").nth(1).locator("textarea.abc").input_value()

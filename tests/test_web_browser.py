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
    assert audio_src.endswith(".wav")
    links = first.locator(".downloads a")
    assert [links.nth(i).get_attribute("download").rsplit(".", 1)[1] for i in range(links.count())] == [
        "abc", "mid", "wav", "svg", "png", "pdf"]
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


# ---------------------------------------------------------------- a workshop a musician keeps open (#21)

PHONE = {"width": 390, "height": 844}
# Every control and what names it for a screen reader: a label, aria-label(ledby), a title or its text.
UNNAMED_CONTROLS = """() => [...document.querySelectorAll("input, select, textarea, button, audio")]
  .filter(el => !(el.getAttribute("aria-label") || "").trim() && !el.getAttribute("aria-labelledby")
    && !(el.labels && [...el.labels].some(l => l.textContent.trim())) && !(el.title || "").trim()
    && !(el.localName === "button" && el.textContent.trim()))
  .map(el => el.outerHTML.slice(0, 80))"""
STAFF_HEIGHTS = """() => [...document.querySelectorAll(".score svg path")]
  .filter(p => (p.getAttribute("d") || "").split("h").length - 1 === 5)
  .map(p => p.getBoundingClientRect().height)"""


@contextmanager
def phone_page():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
        yield page
        browser.close()


def test_on_a_phone_generate_is_on_the_first_screen_and_staves_are_readable(server):
    url, _ = server
    with phone_page() as page:
        page.goto(url)
        playwright.expect(page.locator("#model-status")).to_contain_text("Model tiny")
        playwright.expect(page.locator("#meter option").nth(1)).to_be_attached()  # the menus have come
        box = page.locator("#generate").bounding_box()
        assert box["y"] + box["height"] <= PHONE["height"], f"Generate is below the first screen: {box}"
        assert not page.locator("#more-settings").evaluate("d => d.open")  # folded away on a phone
        page.locator("#more-settings summary").click()
        page.fill("#seed", "4")
        page.fill("#num", "1")
        page.fill("#max-chars", "400")
        page.click("#generate")
        playwright.expect(page.locator(".tune .score svg")).to_have_count(1, timeout=30_000)
        heights = page.evaluate(STAFF_HEIGHTS)
        assert heights and min(heights) >= 40, f"staves {heights} px high"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide on a 390 px phone"


def test_every_control_has_a_name_and_the_score_its_abc(server, page):
    url, _ = server
    generate_on_the_page(page, url, 2, 1)
    page.locator(".tune button.keep").click()
    playwright.expect(page.locator("#kept-list li")).to_have_count(1, timeout=10_000)
    assert page.evaluate(UNNAMED_CONTROLS) == []
    svg = page.locator(".tune .score svg").first
    abc = page.locator(".tune textarea.abc").first.input_value()
    assert svg.get_attribute("role") == "img" and svg.locator("desc").text_content() == abc
    assert page.locator(".tune audio").first.get_attribute("aria-label").endswith("played")


def test_menus_come_from_the_model_and_errors_stop_the_clock(server, page):
    url, _ = server
    page.goto(url)
    playwright.expect(page.locator("#meter option").nth(1)).to_be_attached()
    offered = json.load(urllib.request.urlopen(f"{url}/api/options", timeout=10))
    meters = page.locator("#meter option").evaluate_all("os => os.map(o => o.value)")
    assert meters == ["", *(m["value"] for m in offered["meters"])]
    assert page.locator("#meter-note").text_content() == "; ".join(offered["notes"]["meter"])
    page.evaluate("document.querySelector('#settings').noValidate = true")
    page.fill("#seed", "-1")
    page.click("#generate")
    playwright.expect(page.locator("#error")).to_contain_text("seed:")
    said = page.locator("#progress-text").text_content()
    assert said.startswith("not written after")
    page.wait_for_timeout(300)
    assert page.locator("#progress-text").text_content() == said  # stopped, not still counting


def test_practice_controls_ask_for_the_tempo_part_and_count_in(server, page):
    url, _ = server
    generate_on_the_page(page, url, 5, 1)
    card = page.locator(".tune").first
    reel = ("X:1\nT:Practice In The Browser\nM:C|\nL:1/8\nK:D\n"
            "|:dfaf gfed|cABc dAFA|GBdB AFDF|EFGE D4:|\n|:fdad fdad|gebe gebe|fdad fgaf|gefe d4:|\n")
    card.locator("textarea.abc").fill(reel)
    playwright.expect(card.locator(".score svg")).to_contain_text("Practice In The Browser", timeout=20_000)
    playwright.expect(card.locator(".edit-status")).to_have_text("score updated; every check passes")
    card.locator(".tempo").evaluate("r => { r.value = 75; r.dispatchEvent(new Event('input')); "
                                    "r.dispatchEvent(new Event('change')); }")
    playwright.expect(card.locator(".tempo-value")).to_have_text("75 %")
    card.locator(".play-what").select_option("B")
    card.locator(".count-in").check()
    card.locator(".loop").check()
    audio = card.locator("audio")
    src = audio.get_attribute("src")
    assert "tempo=75" in src and "part=B" in src and "count_in=true" in src
    assert audio.evaluate("a => a.loop")
    if not missing_tools(["wav"]):
        answer = urllib.request.urlopen(f"{url}{src}", timeout=30)
        assert answer.status == 200 and answer.read(4) == b"RIFF"
    card.locator(".play-what").select_option("bars")
    playwright.expect(card.locator(".play-bars")).to_be_visible()
    assert "first=1" in audio.get_attribute("src") and "last=4" in audio.get_attribute("src")


def test_an_edit_with_a_wrong_bar_says_so_and_marks_it(server, page):
    url, _ = server
    generate_on_the_page(page, url, 6, 1)
    card = page.locator(".tune").first
    card.locator("textarea.abc").fill("X:1\nT:Short Bar\nM:C|\nL:1/8\nK:D\ndfaf gfed|cABc dA|GBdB AFDF|EFGE D4|\n")
    playwright.expect(card.locator(".score svg")).to_contain_text("Short Bar", timeout=20_000)
    status = card.locator(".edit-status")
    playwright.expect(status).to_contain_text("problem")
    assert "line 6, bar 2" in status.text_content()
    playwright.expect(card.locator(".quality")).to_contain_text("no: ")
    assert "valid ABC" not in card.locator(".quality").text_content()
    playwright.expect(card.locator(".problems li").first).to_contain_text("line 6, bar 2:")
    assert "#cc0000" in card.locator(".score").inner_html()

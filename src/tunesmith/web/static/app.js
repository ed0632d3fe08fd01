// The workshop page: settings -> /api/generate, each tune drawn from /api/tunes/{id}.svg,
// edits re-rendered through /api/render, kept tunes through /api/keep and the library's /api/kept;
// a tune's bars written again, its B part or a variation through /api/fill, /api/continue and /api/vary,
// and a set of tunes through /api/set. The menus come from /api/options (only what the model can write);
// the practice player asks /api/tunes/{id}.wav for a tempo, a count-in and a part or bars, and loops it.
// No libraries and no inline code: the server's Content-Security-Policy allows only this file.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const EDIT_DELAY_MS = 600; // wait for a pause in typing before re-rendering
const NARROW = window.matchMedia("(max-width: 640px)"); // a phone: scores drawn with bigger staves
const layout = () => (NARROW.matches ? "phone" : "page");

async function api(path, body, method = "POST") {
  const options = body === undefined ? (method === "POST" ? {} : {method}) : {
    method, headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

// ---------------------------------------------------------------- model status

async function showHealth() {
  try {
    const health = await api("/api/health");
    const model = health.model;
    if (model) {
      // A musician reads what the model learnt from and how good its tunes are; the figures a
      // model-maker reads (bits per character) wait under "model".
      $("#model-status").textContent = `Model ${model.name}: ${model.trained_on}.`;
      $("#model-quality").textContent = model.quality;
      $("#model-quality").hidden = false;
      showModelFacts(model, health.novelty);
      $("#rhythm-label").hidden = !model.rhythm;
      $("#set-controls").hidden = !model.rhythm; // a set is one tune type: the model must know R: lines
    } else {
      $("#model-status").textContent = "No model.";
      $("#model-missing").textContent = health.message;
      $("#model-missing").hidden = false;
      $("#generate").disabled = true;
      $("#make-set").disabled = true;
    }
    if (health.tools_missing.length) {
      showError(`Missing tools: ${health.tools_missing.join(", ")} (scores or audio will fail)`);
    }
    $("#kept-path").textContent = health.kept;
    $("#kept-pdf").hidden = Boolean(health.library && health.library.pdf_tools_missing.length);
    showInstruments(health.instruments || {});
  } catch (error) {
    $("#model-status").textContent = `The server did not answer: ${error.message}`;
  }
}

function showModelFacts(model, novelty) {
  const facts = [["run", model.run], ["kind", model.kind], ["parameters", model.parameters?.toLocaleString()],
    ["bits per character, held out", model.best_valid_bpc?.toFixed(3)],
    ["bits per character, test tunes", model.test_bpc?.toFixed(3)], ["copied-bars index", novelty]];
  $("#model-facts").replaceChildren(...facts.filter(([, value]) => value).flatMap(([term, value]) => [
    Object.assign(document.createElement("dt"), {textContent: term}),
    Object.assign(document.createElement("dd"), {textContent: value}),
  ]));
  $("#model-details").hidden = false;
}

// ---------------------------------------------------------------- menus from the model

async function showMenus() {
  let menus;
  try {
    menus = await api("/api/options");
  } catch (error) {
    return; // no model: the banner says so, and Generate is off
  }
  fillSelect($("#key-root"), menus.key_roots.map(root => ({value: root, label: root})), "model's choice");
  fillSelect($("#key-mode"), menus.key_modes);
  fillSelect($("#meter"), menus.meters, "model's choice");
  fillSelect($("#rhythm"), menus.rhythms, "model's choice");
  fillSelect($("#set-rhythm"), menus.rhythms);
  for (const name of ["key", "meter", "rhythm"]) {
    $(`#${name}-note`).textContent = menus.notes[name].join("; ");
  }
  if (!menus.rhythms.length) $("#set-controls").hidden = true;
}

function fillSelect(select, options, blank) {
  const items = options.map(({value, label}) => new Option(label, value));
  select.replaceChildren(...(blank === undefined ? [] : [new Option(blank, "")]), ...items);
}

function showInstruments(instruments) {
  const select = $("#instrument");
  if (select.options.length > 1) return;
  for (const [name, info] of Object.entries(instruments)) {
    const option = new Option(name, name);
    option.title = info.keys.length ? `keys ${info.keys.join(", ")}` : "any key";
    select.append(option);
  }
}

function instrumentChanged() {
  const chosen = $("#instrument").value;
  const option = $("#instrument").selectedOptions[0];
  $("#keys").placeholder = chosen ? `the ${chosen}'s: ${option.title.replace(/^keys /, "")}` :
    "model's choice, e.g. D, G, Em, Ador";
  document.querySelectorAll(".for-instrument").forEach(showInstrumentButton);
}

function showInstrumentButton(button) {
  const chosen = $("#instrument").value;
  button.disabled = !chosen;
  button.textContent = chosen ? `Transpose for ${chosen}` : "Transpose for my instrument";
  button.title = chosen ? `the best key and octave for the ${chosen}` : "choose an instrument above first";
}

// ---------------------------------------------------------------- generate

function settings() {
  const number = id => $(id).value === "" ? null : Number($(id).value);
  const root = $("#key-root").value;
  return {
    num: number("#num"),
    temperature: number("#temperature"),
    top_p: number("#top-p"),
    seed: number("#seed"),
    max_chars: number("#max-chars"),
    key: root ? root + $("#key-mode").value : null,
    meter: $("#meter").value || null,
    rhythm: $("#rhythm-label").hidden ? null : ($("#rhythm").value || null),
    prime: $("#prime").value,
    constrain: $("#constrain").checked,
    instrument: $("#constrain").checked ? ($("#instrument").value || null) : null,
    keys: $("#keys").value.split(/[ ,]+/).filter(Boolean).slice(0, 16),
    chords: $("#chords").checked,
    // A form needs the constraint; without it the parts are the model's choice.
    parts: $("#constrain").checked ? number("#parts") : null,
    bars_per_part: $("#constrain").checked && $("#parts").value ? number("#bars-per-part") : null,
  };
}

async function generate(event) {
  event.preventDefault();
  showError("");
  const request = settings();
  const started = performance.now();
  const tick = () => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    $("#progress-text").textContent = `writing ${request.num} tune${request.num > 1 ? "s" : ""}… ${seconds} s`;
  };
  tick();
  const timer = setInterval(tick, 100);
  $("#progress").hidden = false;
  $("progress", $("#progress")).hidden = false;
  $("#generate").disabled = true;
  try {
    const result = await api("/api/generate", request);
    clearInterval(timer);
    const list = $("#tunes");
    list.replaceChildren();
    result.tunes.forEach((tune, i) => list.append(
      tuneCard(tune, `tune ${i + 1} of ${result.tunes.length}, seed ${result.seed}`)));
    $("#progress-text").textContent = `${result.tunes.length} tunes in ${result.seconds.toFixed(1)} s (seed ${result.seed})`;
    if (NARROW.matches) list.scrollIntoView({block: "start"}); // on a phone the form stays above, out of the way
    await Promise.all([...list.querySelectorAll(".tune")].map(card => drawScore(card)));
    showHealth(); // the copied-bars index may have become ready meanwhile
  } catch (error) {
    clearInterval(timer); // the clock stops with the error: no "writing… 0.3 s" left standing
    $("#progress-text").textContent = `not written after ${((performance.now() - started) / 1000).toFixed(1)} s`
      + " (the reason is below)";
    showError(error.message);
  } finally {
    clearInterval(timer);
    $("#generate").disabled = false;
    $("progress", $("#progress")).hidden = true;
  }
}

function showError(message) {
  $("#error").textContent = message;
  $("#error").hidden = !message;
}

// ---------------------------------------------------------------- one tune

function tuneCard(tune, origin) {
  const card = $("#tune-template").content.firstElementChild.cloneNode(true);
  $(".origin", card).textContent = origin;
  $(".abc", card).value = tune.abc;
  showTune(card, tune);
  $(".abc", card).addEventListener("input", () => scheduleRender(card));
  $(".keep", card).addEventListener("click", () => keep(card));
  $(".for-instrument", card).addEventListener("click", () => arrange(card, {instrument: $("#instrument").value}));
  $(".add-chords", card).addEventListener("click", () => arrange(card, {chords: true}));
  $(".fill", card).addEventListener("click", () => {
    const first = Number($(".bar-first", card).value), last = Number($(".bar-last", card).value);
    cowrite(card, "/api/fill", {bars: [first, last]}, from => `bars ${first}-${last} of ${from} written again`);
  });
  $(".continue", card).addEventListener("click", () =>
    cowrite(card, "/api/continue", {part: "B"}, from => `${from} with a B part written after it`));
  $(".vary", card).addEventListener("click", () => cowrite(card, "/api/vary", {}, from => `a variation of ${from}`));
  for (const control of card.querySelectorAll(".practice input, .practice select")) {
    control.addEventListener("change", () => practiceChanged(card));
  }
  $(".tempo", card).addEventListener("input", () => {
    $(".tempo-value", card).textContent = `${$(".tempo", card).value} %`;
  });
  showInstrumentButton($(".for-instrument", card));
  return card;
}

// ---------------------------------------------------------------- practice

// The recording the practice settings ask for: the server renders the MIDI again at the tempo (and
// the bars chosen), with a bar of clicks first; looping is the player's own.
function practiceUrl(card) {
  const query = new URLSearchParams();
  const tempo = $(".tempo", card).value;
  if (tempo !== "100") query.set("tempo", tempo);
  if ($(".count-in", card).checked) query.set("count_in", "true");
  const what = $(".play-what", card).value;
  if (what === "bars") {
    query.set("first", $(".play-first", card).value);
    query.set("last", $(".play-last", card).value);
  } else if (what) {
    query.set("part", what);
  }
  const base = `/api/tunes/${card.dataset.id}.wav`;
  return query.toString() ? `${base}?${query}` : base;
}

function practiceChanged(card) {
  $(".play-bars", card).hidden = $(".play-what", card).value !== "bars";
  const audio = $("audio", card);
  audio.loop = $(".loop", card).checked;
  const url = practiceUrl(card);
  if (audio.getAttribute("src") === url) return;
  const playing = !audio.paused;
  audio.src = url;
  audio.addEventListener("error", () => showPracticeError(card, url), {once: true});
  if (playing) audio.play().catch(() => {});
}

// An <audio> element says only that it failed: ask the server once more for its reason, in words.
async function showPracticeError(card, url) {
  try {
    await api(url, undefined, "GET");
  } catch (error) {
    $(".edit-status", card).textContent = `not played: ${error.message}`;
  }
}

function showPartChoices(card, quality) {
  const select = $(".play-what", card);
  const chosen = select.value;
  const parts = (quality.bars_per_section || []).map((bars, i) => {
    const letter = String.fromCharCode(65 + i);
    return {value: letter, label: `part ${letter} (${bars} bars)`};
  });
  fillSelect(select, [...(parts.length > 1 ? parts : []), {value: "bars", label: "bars…"}], "the whole tune");
  select.value = [...select.options].some(option => option.value === chosen) ? chosen : "";
}

function showTune(card, tune) {
  card.dataset.id = tune.id;
  $(".title", card).textContent = tune.title || "(untitled)";
  const stem = slug(tune.title) || tune.id.slice(0, 8);
  for (const link of card.querySelectorAll(".downloads a")) {
    link.href = tune.urls[link.dataset.format];
    link.download = `${stem}.${link.dataset.format}`;
  }
  showPartChoices(card, tune.quality);
  const audio = $("audio", card);
  audio.src = practiceUrl(card);
  audio.setAttribute("aria-label", `${tune.title || "the tune"}, played`);
  showQuality(card, tune.quality);
}

// "valid" means valid by every check shown: it reads, every bar adds up, nothing else is wrong.
function showQuality(card, quality) {
  const list = $(".quality", card);
  const problems = quality.problems || [];
  const count = problems.length || (quality.valid ? 0 : 1);
  const rows = [["valid", quality.valid ? "yes: every check passes" :
    `no: ${count} problem${count === 1 ? "" : "s"}${problems.length ? " (below; wrong bars red in the score)" : ""}`]];
  if (quality.bars_total !== undefined) {
    rows.push(["bars correct", `${quality.bars_correct} of ${quality.bars_total}`]);
    rows.push(["form", quality.bars_per_section.join(" + ") + " bars" + (quality.aabb ? " (AABB)" : "")]);
  }
  const copied = quality.copied_bars;
  rows.push(["copied bars", copied === null || copied === undefined ? "not measured" :
    `${copied}${quality.copied ? " (copied)" : ""}`]);
  if (quality.error) rows.push(["checker", quality.error]);
  list.replaceChildren(...rows.flatMap(([term, value]) => {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = term;
    dd.textContent = value;
    if (term === "valid") dd.className = quality.valid ? "good" : "bad";
    return [dt, dd];
  }));
  const item = said => Object.assign(document.createElement("li"), {textContent: said.text});
  $(".problems", card).replaceChildren(...problems.map(item));
  const remarks = quality.remarks || [];
  $(".remarks ul", card).replaceChildren(...remarks.map(item));
  $(".remarks", card).hidden = !remarks.length;
}

// What an edit's status says: drawn, and whether every check passes, never "score updated" alone.
function editStatus(quality) {
  const problems = quality.problems || [];
  if (quality.valid) return "score updated; every check passes";
  const first = problems.length ? `: ${problems[0].text}` : "";
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more, below)` : "";
  return `score updated, with ${problems.length || "a"} problem${problems.length > 1 ? "s" : ""}${first}${more}`;
}

async function drawScore(card, svgText) {
  const score = $(".score", card);
  try {
    const text = svgText ?? await api(`/api/tunes/${card.dataset.id}.svg?layout=${layout()}`, undefined, "GET");
    score.replaceChildren(safeSvg(text, $(".title", card).textContent, $(".abc", card).value));
  } catch (error) {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = `No score: ${error.message}`;
    score.replaceChildren(p);
  }
}

// abcm2ps writes the title into an XML comment, so a crafted title could close it: keep
// only drawing elements and internal references, whatever the text says.
// The score's text alternative is its ABC, which a screen reader can read note by note.
function safeSvg(text, title = "", abc = "") {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.localName !== "svg" || doc.querySelector("parsererror")) throw new Error("the server sent no SVG");
  svg.querySelectorAll("script, foreignObject, iframe, a").forEach(node => node.remove());
  for (const element of [svg, ...svg.querySelectorAll("*")]) {
    for (const attribute of [...element.attributes]) {
      const name = attribute.name.toLowerCase();
      const link = name === "href" || name.endsWith(":href");
      if (name.startsWith("on") || (link && !attribute.value.startsWith("#"))) element.removeAttribute(attribute.name);
    }
  }
  const width = parseFloat(svg.getAttribute("width")), height = parseFloat(svg.getAttribute("height"));
  if (!svg.getAttribute("viewBox") && width && height) svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", "100%");
  svg.removeAttribute("height");
  svg.querySelectorAll("title, desc").forEach(node => node.remove());
  const label = doc.createElementNS("http://www.w3.org/2000/svg", "title");
  label.textContent = `Score of ${title || "the tune"}`;
  const desc = doc.createElementNS("http://www.w3.org/2000/svg", "desc");
  desc.textContent = abc;
  svg.prepend(label, desc);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Score of ${title || "the tune"}; in ABC: ${abc}`);
  return document.importNode(svg, true);
}

function slug(title) {
  return (title || "").toLowerCase().match(/[a-z0-9]+/g)?.join("-").slice(0, 40) || "";
}

// ---------------------------------------------------------------- writing with a musician

function sampling() {
  const {seed, temperature, top_p} = settings();
  return {seed, temperature, top_p};
}

// The tune as the musician has it in the editor, written on by the server: the result is a new card
// below it, so the two can be heard side by side.
async function cowrite(card, path, body, origin) {
  const status = $(".cowrite-status", card);
  const buttons = [...card.querySelectorAll(".cowrite button")];
  const from = $(".title", card).textContent;
  status.textContent = "writing…";
  buttons.forEach(button => { button.disabled = true; });
  try {
    const tune = await api(path, {tune: $(".abc", card).value, ...sampling(), ...body});
    const made = tuneCard(tune, `${origin(from)}, seed ${tune.seed}`);
    card.after(made);
    status.textContent = `written in ${tune.seconds.toFixed(1)} s (below)`;
    made.scrollIntoView({block: "start"});
    await drawScore(made);
  } catch (error) {
    status.textContent = `not written: ${error.message}`;
  } finally {
    buttons.forEach(button => { button.disabled = false; });
  }
}

async function makeSet() {
  showError("");
  const {key} = settings();
  const request = {rhythm: $("#set-rhythm").value, num: Number($("#set-num").value), key, ...sampling()};
  $("#progress-text").textContent = `writing a set of ${request.num} ${request.rhythm}s…`;
  $("#progress").hidden = false;
  $("progress", $("#progress")).hidden = false;
  $("#make-set").disabled = true;
  try {
    const result = await api("/api/set", request);
    const cards = result.tunes.map((tune, i) => tuneCard(tune,
      `tune ${i + 1} of a set of ${result.tunes.length} ${result.rhythm}s (${result.keys.join(" → ")}), seed ${result.seed}`));
    $("#tunes").prepend(...cards);
    $("#progress-text").textContent = `a set of ${cards.length} ${result.rhythm}s, ${result.keys.join(" → ")}, `
      + `in ${result.seconds.toFixed(1)} s (seed ${result.seed})`;
    await Promise.all(cards.map(card => drawScore(card)));
  } catch (error) {
    $("#progress-text").textContent = "no set written (the reason is below)";
    showError(error.message);
  } finally {
    $("#make-set").disabled = false;
    $("progress", $("#progress")).hidden = true;
  }
}

// ---------------------------------------------------------------- edit and keep

function scheduleRender(card) {
  clearTimeout(card.renderTimer);
  $(".edit-status", card).textContent = "editing…";
  card.renderTimer = setTimeout(() => renderEdit(card), EDIT_DELAY_MS);
}

async function renderEdit(card) {
  const version = (card.version = (card.version || 0) + 1);
  const parent = card.dataset.parent || card.dataset.id;
  card.dataset.parent = parent; // every revision carries the generated tune's settings
  $(".edit-status", card).textContent = "drawing…";
  try {
    const tune = await api("/api/render", {abc: $(".abc", card).value, parent, layout: layout()});
    if (version !== card.version) return; // a later edit is on its way
    showTune(card, tune);
    await drawScore(card, tune.svg);
    $(".edit-status", card).textContent = editStatus(tune.quality);
  } catch (error) {
    if (version === card.version) $(".edit-status", card).textContent = `not drawn: ${error.message}`;
  }
}

async function arrange(card, how) {
  const status = $(".edit-status", card);
  status.textContent = "arranging…";
  const parent = card.dataset.parent || card.dataset.id;
  card.dataset.parent = parent;
  try {
    const tune = await api("/api/arrange", {abc: $(".abc", card).value, parent, layout: layout(), ...how});
    $(".abc", card).value = tune.abc;
    showTune(card, tune);
    await drawScore(card, tune.svg);
    status.textContent = tune.arranged;
  } catch (error) {
    status.textContent = `not arranged: ${error.message}`;
  }
}

async function keep(card) {
  const status = $(".keep-status", card);
  status.textContent = "keeping…";
  try {
    const result = await api("/api/keep", {id: card.dataset.id, abc: $(".abc", card).value});
    status.textContent = result.kept.already ? result.kept.message :
      `kept as tune ${result.kept.number}; ${result.count} in the library`;
    await showKept();
  } catch (error) {
    status.textContent = `not kept: ${error.message}`;
  }
}

// The list shows each tune's own number (it stays the same when others are deleted), so the
// list itself is unnumbered: no "1. ▶ 1." twice over.
async function showKept() {
  try {
    const book = await api("/api/kept?limit=200");
    $("#kept-path").textContent = book.path;
    $("#kept-count").textContent = book.count > book.tunes.length ?
      `the newest ${book.tunes.length} of ${book.count} tunes` : `${book.count} tune${book.count === 1 ? "" : "s"}`;
    $("#kept-list").replaceChildren(...book.tunes.map(keptItem));
  } catch (error) {
    $("#kept-list").replaceChildren(Object.assign(document.createElement("li"), {textContent: error.message}));
  }
}

function keptItem(tune) {
  const item = document.createElement("li");
  const name = `${tune.number}. ${tune.title || "(untitled)"}`;
  const title = Object.assign(document.createElement("span"), {className: "kept-title", textContent: name});
  const when = Object.assign(document.createElement("span"), {className: "status",
    textContent: ` kept ${tune.created.slice(0, 10)}${tune.rating ? `, ${"★".repeat(tune.rating)}` : ""}`});
  const status = Object.assign(document.createElement("span"), {className: "status"});
  const button = (label, action) => {
    const b = Object.assign(document.createElement("button"), {type: "button", textContent: label});
    b.setAttribute("aria-label", `${label} ${name}`);
    b.addEventListener("click", () => action(tune, status));
    return b;
  };
  const actions = Object.assign(document.createElement("span"), {className: "kept-actions"});
  actions.append(button("Open", openKept), button("Rename", renameKept), button("Delete", deleteKept), status);
  item.append(title, when, actions);
  return item;
}

async function openKept(tune, status) {
  status.textContent = "opening…";
  try {
    const opened = await api(`/api/kept/${tune.id}/open`, {});
    const card = tuneCard(opened, `kept tune ${tune.number}, reopened: edit it, then keep it again`);
    $("#tunes").prepend(card);
    status.textContent = "";
    card.scrollIntoView({block: "start"});
    await drawScore(card);
  } catch (error) {
    status.textContent = `not opened: ${error.message}`;
  }
}

async function renameKept(tune, status) {
  const title = window.prompt(`New title for tune ${tune.number}`, tune.title);
  if (title === null || !title.trim() || title === tune.title) return;
  try {
    await api(`/api/kept/${tune.id}`, {title: title.trim()}, "PATCH");
    await showKept();
  } catch (error) {
    status.textContent = `not renamed: ${error.message}`;
  }
}

async function deleteKept(tune, status) {
  if (!window.confirm(`Delete tune ${tune.number}, ${tune.title || "(untitled)"}, from the library?`)) return;
  try {
    await api(`/api/kept/${tune.id}`, undefined, "DELETE");
    await showKept();
  } catch (error) {
    status.textContent = `not deleted: ${error.message}`;
  }
}

// ---------------------------------------------------------------- start

document.addEventListener("DOMContentLoaded", () => {
  $("#settings").addEventListener("submit", generate);
  $("#temperature").addEventListener("input", () => {
    $("#temperature-value").textContent = Number($("#temperature").value).toFixed(2);
  });
  $("#new-seed").addEventListener("click", () => { $("#seed").value = ""; });
  $("#make-set").addEventListener("click", makeSet);
  $("#instrument").addEventListener("change", instrumentChanged);
  $("#more-settings").open = !NARROW.matches; // a wide screen has room for every setting at once
  showHealth();
  showMenus();
  showKept();
});

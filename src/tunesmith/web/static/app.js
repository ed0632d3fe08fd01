// The workshop page: settings -> /api/generate, each tune drawn from /api/tunes/{id}.svg,
// edits re-rendered through /api/render, kept tunes through /api/keep and the library's /api/kept;
// a tune's bars written again, its B part or a variation through /api/fill, /api/continue and /api/vary,
// and a set of tunes through /api/set.
// No libraries and no inline code: the server's Content-Security-Policy allows only this file.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const EDIT_DELAY_MS = 600; // wait for a pause in typing before re-rendering

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
      const bpc = model.best_valid_bpc ? `, ${model.best_valid_bpc.toFixed(3)} bits/char held out` : "";
      $("#model-status").textContent = `Model ${model.name} (${model.kind}, ${model.parameters.toLocaleString()} `
        + `parameters${bpc}) · copied bars: ${health.novelty}`;
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
    rhythm: $("#rhythm-label").hidden ? null : ($("#rhythm").value.trim() || null),
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
    await Promise.all([...list.querySelectorAll(".tune")].map(card => drawScore(card)));
    showHealth(); // the copied-bars index may have become ready meanwhile
  } catch (error) {
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
  showInstrumentButton($(".for-instrument", card));
  return card;
}

function showTune(card, tune) {
  card.dataset.id = tune.id;
  $(".title", card).textContent = tune.title || "(untitled)";
  const stem = slug(tune.title) || tune.id.slice(0, 8);
  for (const link of card.querySelectorAll(".downloads a")) {
    link.href = tune.urls[link.dataset.format];
    link.download = `${stem}.${link.dataset.format}`;
  }
  $("audio", card).src = tune.urls.wav;
  showQuality($(".quality", card), tune.quality);
}

function showQuality(list, quality) {
  const rows = [["valid ABC", quality.valid ? "yes" : "no"]];
  if (quality.bars_total !== undefined) {
    rows.push(["bars correct", `${quality.bars_correct} of ${quality.bars_total}`]);
    rows.push(["form", quality.bars_per_section.join(" + ") + " bars" + (quality.aabb ? " (AABB)" : "")]);
  }
  const copied = quality.copied_bars;
  rows.push(["copied bars", copied === null || copied === undefined ? "not measured" :
    `${copied}${quality.copied ? " (copied)" : ""}`]);
  if (quality.notes && quality.notes.length) rows.push(["notes", quality.notes.join("; ")]);
  if (quality.error) rows.push(["checker", quality.error]);
  list.replaceChildren(...rows.flatMap(([term, value]) => {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = term;
    dd.textContent = value;
    if (term === "valid ABC") dd.className = quality.valid ? "good" : "bad";
    return [dt, dd];
  }));
}

async function drawScore(card, svgText) {
  const score = $(".score", card);
  try {
    const text = svgText ?? await api(`/api/tunes/${card.dataset.id}.svg`);
    score.replaceChildren(safeSvg(text));
  } catch (error) {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = `No score: ${error.message}`;
    score.replaceChildren(p);
  }
}

// abcm2ps writes the title into an XML comment, so a crafted title could close it: keep
// only drawing elements and internal references, whatever the text says.
function safeSvg(text) {
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
    const tune = await api("/api/render", {abc: $(".abc", card).value, parent});
    if (version !== card.version) return; // a later edit is on its way
    showTune(card, tune);
    await drawScore(card, tune.svg);
    const warnings = tune.warnings.length ? ` (${tune.warnings.length} warnings: ${tune.warnings[0]})` : "";
    $(".edit-status", card).textContent = `score updated${warnings}`;
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
    const tune = await api("/api/arrange", {abc: $(".abc", card).value, parent, ...how});
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
  showHealth();
  showKept();
});

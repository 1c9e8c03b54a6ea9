// Cadenza's student page: upload → poll scoring → radar + weak spots → streamed cited feedback → chat.
import { ApiError, Client, getKey, setKey } from "./js/api.js";
import { renderCitedText, safeHref } from "./js/citations.js";
import { errorCounts, markCurrentBar, renderCurve, renderHeatMap, renderNoteErrors } from "./js/bars.js";
import { findReport, normaliseEvent } from "./js/events.js";
import { GROUP_COLOURS, describe, prettyName, radialValue, renderRadar } from "./js/radar.js";
import { formatTime, renderTimeline } from "./js/timeline.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 800;

const state = { table: [], performanceId: null, sessionId: null, report: null, audioUrl: null, busy: false };

// --- API key --------------------------------------------------------------------------------
function askKey(message) {
  const dialog = $("key-dialog");
  const input = $("key-input");
  input.value = "";
  dialog.querySelector("p").textContent = message || "This server asks for an API key. It is kept only for this browser tab.";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok" && input.value.trim() ? input.value.trim() : null), { once: true });
    dialog.showModal();
    input.focus();
  });
}
const api = new Client({ askKey, onAuthRequired: () => { $("key-button").hidden = false; } });

// --- status and errors ----------------------------------------------------------------------
function showError(err) {
  const box = $("error");
  const msg = err instanceof ApiError ? err.message : err && err.message ? err.message : String(err);
  box.textContent = msg;
  box.hidden = false;
}
function clearError() { $("error").hidden = true; $("error").textContent = ""; }
function setStatus(text) { $("status").textContent = text; }
function setProgress(label, value) {
  $("progress").hidden = label === null;
  if (label === null) return;
  $("progress-label").textContent = label;
  const bar = $("progress-bar");
  if (typeof value === "number") { bar.max = 1; bar.value = value; } else bar.removeAttribute("value");
}
function setBusy(busy) {
  state.busy = busy;
  $("upload-button").disabled = busy;
  $("example-button").disabled = busy || !$("example-button").dataset.url;
}

// --- upload and scoring ---------------------------------------------------------------------
async function submitRecording(file) {
  clearError();
  setBusy(true);
  try {
    resetResults();
    const isMidi = /\.midi?$/i.test(file.name) || /midi/.test(file.type);
    if (state.audioUrl) URL.revokeObjectURL(state.audioUrl);
    state.audioUrl = isMidi ? null : URL.createObjectURL(file);
    $("player").hidden = isMidi;
    $("midi-note").hidden = !isMidi;
    $("render-note").hidden = true;
    if (state.audioUrl) $("player").src = state.audioUrl;
    else $("player").removeAttribute("src");

    const form = new FormData();
    form.append("file", file, file.name);
    const score = $("score-input").files[0];
    if (score) form.append("score", score, score.name);
    for (const field of ["piece", "composer", "level"]) {
      const v = $("upload-form").elements[field].value.trim();
      if (v) form.append(field, v);
    }
    if (!form.has("title")) form.append("title", file.name);
    setProgress("Uploading…");
    setStatus(`Uploading ${file.name}…`);
    const created = await api.json("/v1/performances", { method: "POST", body: form, headers: { Accept: "application/json" } });
    state.performanceId = created.id;
    const perf = await pollPerformance(created.id);
    const report = findReport(perf);
    if (!report) throw new Error("The server finished scoring but sent no scores.");
    state.report = report;
    if (isMidi) await loadRenderedAudio(created.id);
    showScores(report);
    setProgress(null);
    const following = report.score_following;
    const scoreNote = following && !following.followed
      ? ` The score you sent matches only ${Math.round(following.matched_share * 100)}% of the notes, so it was not used.`
      : "";
    setStatus(`Scored ${formatTime(report.duration_s)} of music.${scoreNote} Writing feedback…`);
    try {
      await streamFeedback();
    } catch (err) {
      // The scores stand on their own; say what failed and still offer the tutor.
      $("feedback").textContent = "";
      $("feedback-meta").textContent = `No feedback this time: ${err.message}`;
      setStatus("Scores ready; the feedback could not be written.");
      showError(err);
    }
    $("chat-card").hidden = false;
  } catch (err) {
    setProgress(null);
    setStatus("");
    showError(err);
  } finally {
    setBusy(false);
  }
}

async function pollPerformance(id) {
  const started = Date.now();
  for (;;) {
    const perf = await api.json(`/v1/performances/${encodeURIComponent(id)}`);
    const status = perf.status;
    if (status === "done") return perf;
    if (status === "failed") throw new Error(perf.error || "Scoring failed.");
    const secs = Math.round((Date.now() - started) / 1000);
    const label = status === "queued" ? "Waiting for a scorer…" : "Scoring your recording…";
    setProgress(label, typeof perf.progress === "number" ? perf.progress : undefined);
    setStatus(`${label} (${secs} s)`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** A MIDI upload cannot play in the browser: play the server's render of it (what the scorer heard). */
async function loadRenderedAudio(id) {
  try {
    const response = await api.fetch(`/v1/performances/${encodeURIComponent(id)}/audio`);
    const blob = await response.blob();
    if (state.audioUrl) URL.revokeObjectURL(state.audioUrl);
    state.audioUrl = URL.createObjectURL(blob);
    $("player").src = state.audioUrl;
    $("player").hidden = false;
    $("midi-note").hidden = true;
    $("render-note").hidden = false;
  } catch {
    // No render (no fluidsynth on the server): the times still refer to the file, as before.
  }
}

function resetResults() {
  for (const id of ["scores-card", "feedback-card", "chat-card", "bars-section", "tempo-section", "notes-section"]) $(id).hidden = true;
  for (const id of ["heatmap", "tempo-curve", "loudness-curve", "note-errors"]) $(id).replaceChildren();
  $("feedback").replaceChildren();
  $("feedback-meta").textContent = "";
  $("chat-log").replaceChildren();
  state.sessionId = null;
  state.report = null;
}

// --- scores ---------------------------------------------------------------------------------
function showScores(report) {
  $("scores-card").hidden = false;
  const info = Object.fromEntries(state.table.map((t) => [t.name, t]));
  const weak = new Set((report.weak_spots || []).map((spot) => spot.dimension));
  const geo = renderRadar($("radar"), report.dimensions, state.table, { weak });
  const legend = $("group-legend");
  legend.replaceChildren();
  for (const group of geo.groups) {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = GROUP_COLOURS[group.name] || "#333";
    li.append(swatch, document.createTextNode(group.name));
    legend.append(li);
  }

  const tbody = $("score-table").querySelector("tbody");
  tbody.replaceChildren();
  let group = null;
  const ordered = state.table.length
    ? state.table.map((t) => report.dimensions.find((d) => d.name === t.name)).filter(Boolean)
    : report.dimensions;
  for (const dim of ordered) {
    if (dim.group !== group) {
      group = dim.group;
      const tr = document.createElement("tr");
      tr.className = "group-row";
      const th = document.createElement("th");
      th.colSpan = 3;
      th.scope = "colgroup";
      th.textContent = group;
      th.style.borderLeftColor = GROUP_COLOURS[group] || "#333";
      tr.append(th);
      tbody.append(tr);
    }
    const tr = document.createElement("tr");
    tr.dataset.dimension = dim.name;
    tr.dataset.kind = dim.kind;
    const d = info[dim.name];
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = prettyName(dim.name);
    const kind = document.createElement("td");
    kind.className = `kind kind-${dim.kind}`;
    kind.textContent = dim.kind;
    kind.title = dim.kind === "quality"
      ? `Quality scale: ${d ? (d.desirable === "low" ? d.low_pole : d.high_pole) : "one pole"} is desirable`
      : "Character scale: neither pole is wrong";
    const val = document.createElement("td");
    val.append(scaleBar(dim, d));
    tr.append(name, kind, val);
    tbody.append(tr);
  }

  const spots = report.weak_spots || [];
  $("scores-summary").textContent = spots.length
    ? `${spots.length} weak spot${spots.length > 1 ? "s" : ""} found over ${formatTime(report.duration_s)} (${report.backend} scorer).`
    : `No weak spots found over ${formatTime(report.duration_s)} (${report.backend} scorer).`;
  const tl = renderTimeline($("timeline"), spots, report.duration_s, state.table, seek);
  state.playhead = tl.playhead;
  state.duration = tl.duration;

  const list = $("spot-list");
  list.replaceChildren();
  for (const spot of spots) {
    const li = document.createElement("li");
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "link-button";
    btn.textContent = `${formatTime(spot.start_s)}–${formatTime(spot.end_s)}`;
    btn.setAttribute("aria-label", `Play ${prettyName(spot.dimension)} from ${formatTime(spot.start_s)}`);
    btn.addEventListener("click", () => seek(spot.start_s));
    const bars = spot.bars && spot.bars.length ? ` (bars ${spot.bars[0]}–${spot.bars[spot.bars.length - 1]})` : "";
    li.append(btn, document.createTextNode(` ${prettyName(spot.dimension)}${bars}: ${spot.reason || ""}`));
    list.append(li);
  }
  showBars(report, tl.duration);
}

/** With a score: the heat map (one cell per bar and pass) and the note errors; with or without: the tempo. */
function showBars(report, duration) {
  const bars = Array.isArray(report.bars) ? report.bars : null;
  $("bars-section").hidden = !bars || !bars.length;
  if (bars && bars.length) {
    const layout = renderHeatMap($("heatmap"), bars, seek);
    const following = report.score_following || {};
    const flagged = layout.cells.filter((c) => c.level > 0).length;
    const restarts = following.restarts ? `, ${following.restarts} restart${following.restarts > 1 ? "s" : ""}` : "";
    const covered = following.bars_covered ? `bars ${following.bars_covered[0]}–${following.bars_covered[1]} played` : `${layout.columns.length} bars played`;
    // audio: say which transcriber heard the notes (the accurate one misses fewer errors)
    const heardBy = { transkun: " Notes heard by transkun (accurate mode).", "basic-pitch": " Notes heard by basic-pitch (fast mode)." }[following.notes_from] || "";
    $("bars-summary").textContent = `${covered}${layout.manyPasses ? ` in ${layout.rows.length} passes` : ""}${restarts}; ${flagged} of ${layout.cells.length} with a problem.${heardBy}`;
  }
  const errors = Array.isArray(report.note_errors) ? report.note_errors : null;
  $("notes-section").hidden = errors === null;
  if (errors !== null) {
    const n = renderNoteErrors($("note-errors"), errors, seek);
    const c = errorCounts(errors);
    $("notes-summary").textContent = n
      ? `Against the score: ${c.wrong} wrong, ${c.missed} missed, ${c.extra} extra. Select a time to hear it.`
      : "Every note of the score that you played was right.";
  }
  const curves = report.curves || {};
  const tempo = renderCurve($("tempo-curve"), "tempo", curves.tempo, duration, bars, seek);
  const loudness = renderCurve($("loudness-curve"), "loudness", curves.loudness, duration, bars, seek);
  $("tempo-figure").hidden = !tempo;
  $("loudness-figure").hidden = !loudness;
  $("tempo-section").hidden = !tempo && !loudness;
  $("tempo-hint").textContent = (bars
    ? "Tempo in beats per minute along the score's beats; grey lines are bar starts."
    : "Tempo in beats per minute from your note onsets.")
    + " Dashed lines are your medians. Select a point to hear it.";
}

/** A small bar per row: goodness for quality scales, a marker between the poles for character scales. */
function scaleBar(dim, d) {
  const wrap = document.createElement("div");
  wrap.className = `scale scale-${dim.kind}`;
  const text = describe(dim, d);
  const track = document.createElement("div");
  track.className = "scale-track";
  track.setAttribute("role", "img");
  track.setAttribute("aria-label", text);
  track.title = text;
  const value = radialValue(dim, d);
  const u = Math.max(0, dim.uncertainty || 0);
  const band = document.createElement("span");
  band.className = "scale-band";
  band.style.left = `${Math.max(0, value - u) * 100}%`;
  band.style.width = `${(Math.min(1, value + u) - Math.max(0, value - u)) * 100}%`;
  const mark = document.createElement("span");
  mark.className = dim.kind === "quality" ? "scale-fill" : "scale-mark";
  if (dim.kind === "quality") mark.style.width = `${value * 100}%`;
  else mark.style.left = `${value * 100}%`;
  track.append(mark, band);
  const caption = document.createElement("div");
  caption.className = "scale-caption";
  caption.setAttribute("aria-hidden", "true");
  if (dim.kind === "quality") {
    caption.textContent = `${Math.round(value * 100)}/100 ± ${Math.round(u * 100)}`;
  } else {
    const lo = document.createElement("span");
    lo.textContent = d ? d.low_pole : "low";
    const hi = document.createElement("span");
    hi.textContent = d ? d.high_pole : "high";
    caption.append(lo, hi);
  }
  wrap.append(track, caption);
  return wrap;
}

function seek(seconds) {
  const player = $("player");
  if (player.hidden || !player.src) return;
  player.currentTime = seconds;
  player.play().catch(() => { /* autoplay may be refused; the position is still set */ });
}

// --- feedback -------------------------------------------------------------------------------
async function openPassage(c, sentence) {
  const dialog = $("passage-dialog");
  $("passage-title").textContent = `[${c.n}] ${c.title}`;
  $("passage-byline").textContent = [c.author, c.year].filter(Boolean).join(", ");
  $("passage-section").textContent = c.section ? `Section: ${c.section}` : "";
  $("passage-support").textContent = c.supported === false
    ? "The grounding check found this passage only weakly supports the sentence citing it." : "";
  const link = $("passage-link");
  const href = safeHref(c.url);
  link.hidden = !href;
  if (href) link.href = href;
  else link.removeAttribute("href");
  const quote = $("passage-text");
  quote.textContent = c.text || c.quote || "Loading the passage…";
  dialog.showModal();
  $("passage-close").focus();
  if (c.text || c.quote) return;
  try {
    c.text = await passageText(c, sentence);
    quote.textContent = c.text || "The passage text is not available here; open the source instead.";
  } catch (err) {
    quote.textContent = `The passage text could not be loaded (${err.message}).`;
  }
}

/** The cited chunk's text when the citation does not carry it: search for the sentence that cites it
 * (the grounding check matched the two), then for the section, and keep the hit with the same chunk id. */
async function passageText(c, sentence) {
  const queries = [sentence, [c.section, c.title].filter(Boolean).join(" ")].filter((q) => q && q.trim());
  for (const q of queries) {
    const params = new URLSearchParams({ q: q.slice(0, 500), mode: "hybrid", k: "20" });
    const hits = await api.json(`/v1/search?${params}`);
    const hit = (Array.isArray(hits) ? hits : hits.items || hits.hits || []).find((h) => h.chunk_id === c.chunk_id);
    if (hit) return hit.text;
  }
  return null;
}

/** Consume a feedback/chat stream into `target`: draft deltas, then the checked text replaces them. */
async function consumeStream(events, target, meta) {
  let draft = "";
  let result = null;
  target.setAttribute("aria-busy", "true");
  target.classList.add("draft");
  try {
    for await (const raw of events) {
      const ev = normaliseEvent(raw);
      if (ev.type === "delta" && ev.text) {
        draft += ev.text;
        target.textContent = draft;
      } else if (ev.type === "error") {
        if (meta) meta.textContent = `The model's answer was abandoned (${ev.message}); using the fallback.`;
        draft = "";
        target.textContent = "";
      } else if (ev.type === "done") {
        result = ev.result;
      }
    }
  } finally {
    target.setAttribute("aria-busy", "false");
    target.classList.remove("draft");
  }
  if (!result) throw new Error("The answer stream ended without a final answer.");
  renderCitedText(target, result.text, result.citations, openPassage, state.audioUrl ? seek : null);
  return result;
}

function describeResult(result) {
  const parts = [result.generator === "llm" ? `Written by ${result.model || "the language model"}` : "Composed from your weak spots and the sources (fallback)"];
  if (typeof result.grounding_rate === "number") parts.push(`${Math.round(result.grounding_rate * 100)}% of cited sentences supported by their source`);
  if (result.citations && result.citations.length) parts.push(`${result.citations.length} source${result.citations.length > 1 ? "s" : ""}`);
  return parts.join(" · ");
}

async function streamFeedback() {
  $("feedback-card").hidden = false;
  const target = $("feedback");
  const body = { performance_id: state.performanceId };
  const result = await consumeStream(api.stream("/v1/feedback", body), target, $("feedback-meta"));
  $("feedback-meta").textContent = describeResult(result);
  setStatus("Feedback ready.");
}

// --- chat -----------------------------------------------------------------------------------
function chatBubble(role, text) {
  const div = document.createElement("div");
  div.className = `bubble bubble-${role}`;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = role === "user" ? "You" : "Tutor";
  const body = document.createElement("div");
  body.className = "bubble-text";
  body.textContent = text;
  div.append(who, body);
  $("chat-log").append(div);
  return body;
}

async function sendChat(event) {
  event.preventDefault();
  const input = $("chat-input");
  const content = input.value.trim();
  if (!content || !state.performanceId) return;
  clearError();
  $("chat-send").disabled = true;
  try {
    if (!state.sessionId) {
      const session = await api.post("/v1/sessions", { performance_id: state.performanceId });
      state.sessionId = session.id;
    }
    chatBubble("user", content);
    input.value = "";
    const target = chatBubble("assistant", "…");
    const bubble = target.closest(".bubble");
    bubble.setAttribute("aria-busy", "true");
    try {
      await consumeStream(
        api.stream(`/v1/sessions/${encodeURIComponent(state.sessionId)}/messages`, { content }), target, null);
      bubble.dataset.done = "true";
    } catch (err) {
      target.textContent = "No answer this time.";
      bubble.classList.add("bubble-failed");
      throw err;
    } finally {
      bubble.setAttribute("aria-busy", "false");
    }
  } catch (err) {
    showError(err);
  } finally {
    $("chat-send").disabled = false;
    input.focus();
  }
}

// --- start ----------------------------------------------------------------------------------
async function init() {
  $("upload-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const file = $("file-input").files[0];
    if (!file) { showError(new Error("Choose a recording or MIDI file first, or use the example.")); $("file-input").focus(); return; }
    submitRecording(file);
  });
  $("example-button").addEventListener("click", async () => {
    clearError();
    try {
      const url = $("example-button").dataset.url;
      const response = await fetch(url);
      if (!response.ok) throw new Error(`The example recording could not be loaded (${response.status}).`);
      const blob = await response.blob();
      const name = $("example-button").dataset.name;
      submitRecording(new File([blob], name, { type: blob.type || "audio/wav" }));
    } catch (err) { showError(err); }
  });
  $("chat-form").addEventListener("submit", sendChat);
  $("chat-input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("chat-form").requestSubmit(); }
  });
  $("key-button").addEventListener("click", async () => {
    const key = await askKey("Enter the API key to use for this tab.");
    if (key) setKey(key);
  });
  if (getKey()) $("key-button").hidden = false;
  $("player").addEventListener("timeupdate", () => {
    if (!state.playhead || !state.duration) return;
    state.playhead.style.left = `${(100 * $("player").currentTime) / state.duration}%`;
    if (!$("bars-section").hidden) markCurrentBar($("heatmap"), $("player").currentTime);
  });

  try {
    const [table, examples] = await Promise.all([
      fetch("/dimensions").then((r) => (r.ok ? r.json() : [])),
      fetch("/examples").then((r) => (r.ok ? r.json() : [])),
    ]);
    state.table = table;
    if (examples.length) {
      const btn = $("example-button");
      btn.dataset.url = examples[0].url;
      btn.dataset.name = examples[0].name;
      btn.textContent = `Use the example recording (${examples[0].name.replace(/\.[^.]+$/, "").replace(/_/g, " ")})`;
      btn.disabled = false;
    }
  } catch (err) {
    showError(err);
  }
}

init();

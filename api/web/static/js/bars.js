// Note-level results against the score: a per-bar heat map (one cell per bar and pass), the tempo and loudness
// curves (also without a score), and
// the wrong / missed / extra notes in words ("bar 5, beat 2: F4 instead of F#4"). Pure functions first
// (unit-tested under node), then the DOM renderers the page calls.
import { formatTime } from "./timeline.js";

const NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
// Flags about timing and dynamics (the note flags are counted from the numbers themselves).
const TIMING_FLAGS = ["rushed", "dragged", "uneven", "dynamics"];
export const LEVEL_WORDS = ["clean", "a little off", "several problems", "many problems"];
export const MAX_LISTED_ERRORS = 60;

/** MIDI pitch -> name with octave, sharps (60 -> "C4", 66 -> "F#4"). */
export function pitchName(pitch) {
  if (!Number.isInteger(pitch)) return "?";
  return `${NAMES[((pitch % 12) + 12) % 12]}${Math.floor(pitch / 12) - 1}`;
}

/** A beat for reading: 2 -> "2", 2.5 -> "2.5", 2.3333 -> "2.33". */
export function formatBeat(beat) {
  return String(Math.round(beat * 100) / 100);
}

function passesOf(items) {
  return new Set((items || []).map((x) => x.pass ?? 1)).size;
}

/** One note error in words; `manyPasses` names the pass ("bar 5 (pass 2), beat 2: …"). */
export function describeNoteError(e, manyPasses = false) {
  let where;
  if (e.bar === null || e.bar === undefined) where = `at ${formatTime(e.time_s)}`;
  else {
    where = `bar ${e.bar}${manyPasses ? ` (pass ${e.pass ?? 1})` : ""}`;
    if (e.beat !== null && e.beat !== undefined) where += `, beat ${formatBeat(e.beat)}`;
  }
  // the scorer spells the names for the bar's key ("Bb4" in B-flat major); older reports carry pitches only
  const expected = e.expected_name || pitchName(e.expected_pitch);
  const played = e.played_name || pitchName(e.played_pitch);
  if (e.type === "wrong") return `${where}: ${played} instead of ${expected}`;
  if (e.type === "missed") return `${where}: missed ${expected}`;
  return `${where}: extra ${played}`;
}

/** How bad a bar is: note errors as a share of its notes, plus timing/dynamics flags; level 0 (clean) … 3. */
export function barSeverity(bar) {
  const errors = (bar.wrong || 0) + (bar.missed || 0) + (bar.extra || 0);
  const flags = (bar.flags || []).filter((f) => TIMING_FLAGS.includes(f));
  const share = errors / Math.max(1, bar.expected || 0);
  const severity = Math.min(1, 2 * share + 0.2 * flags.length);
  const level = errors === 0 && flags.length === 0 ? 0 : severity < 0.25 ? 1 : severity < 0.6 ? 2 : 3;
  return { errors, flags, severity, level };
}

/** The tooltip (and accessible name) of one bar cell. */
export function barTooltip(bar, manyPasses = false) {
  const { level } = barSeverity(bar);
  const parts = [`Bar ${bar.bar}${manyPasses ? `, pass ${bar.pass ?? 1}` : ""} (${formatTime(bar.start_s)}): ${LEVEL_WORDS[level]}`];
  parts.push(`${bar.matched} of ${bar.expected} notes right; ${bar.wrong} wrong, ${bar.missed} missed, ${bar.extra} extra`);
  const timing = [];
  if (typeof bar.tempo_bpm === "number") timing.push(`${Math.round(bar.tempo_bpm)} bpm`);
  if (typeof bar.tempo_ratio === "number") timing.push(`${Math.round(bar.tempo_ratio * 100)}% of your tempo`);
  if (typeof bar.onset_dev_ms === "number") timing.push(`onsets ±${Math.round(bar.onset_dev_ms)} ms`);
  if (timing.length) parts.push(timing.join(", "));
  if (bar.flags && bar.flags.length) parts.push(`flags: ${bar.flags.map((f) => f.replace(/_/g, " ")).join(", ")}`);
  return parts.join(". ");
}

/** Grid of the heat map: columns are the score's bars in order (numbered as printed), rows the passes. */
export function heatLayout(bars) {
  const list = bars || [];
  const columns = [...new Set(list.map((b) => b.bar))].sort((a, b) => a - b);
  const rows = [...new Set(list.map((b) => b.pass ?? 1))].sort((a, b) => a - b);
  const manyPasses = rows.length > 1;
  const cells = list.map((b) => ({
    bar: b.bar,
    pass: b.pass ?? 1,
    row: rows.indexOf(b.pass ?? 1),
    column: columns.indexOf(b.bar),
    start_s: b.start_s,
    end_s: b.end_s,
    ...barSeverity(b),
    tooltip: barTooltip(b, manyPasses),
  }));
  return { columns, rows, cells, manyPasses };
}

/** Counts for the summary line. */
export function errorCounts(noteErrors) {
  const counts = { wrong: 0, missed: 0, extra: 0 };
  for (const e of noteErrors || []) counts[e.type] = (counts[e.type] || 0) + 1;
  return counts;
}

/** A curve as an SVG path in a width x height box: x is time over `duration`, y is `key` (bpm, db) between a
 * floor and a ceiling. `robust` (tempo): bounded around the median, so outliers are clipped instead of
 * flattening the curve, and never below 0; else (loudness) from the peak down at most 50 units. */
export function curveGeometry(points, duration, { key = "bpm", robust = true, width = 1000, height = 140, pad = 10 } = {}) {
  const pts = (points || []).filter((p) => Number.isFinite(p.time_s) && Number.isFinite(p[key]) && (!robust || p[key] > 0));
  if (!pts.length) return null;
  const sorted = pts.map((p) => p[key]).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const hi = robust ? Math.min(sorted[sorted.length - 1], median * 2.5) : sorted[sorted.length - 1];
  // loudness: 50 dB below the peak is enough (silence before and after the music would flatten the rest)
  const lo = robust ? Math.max(sorted[0], median / 2.5) : Math.max(sorted[0], hi - 50);
  const span = Math.max(hi - lo, robust ? median * 0.1 : 1);
  const centre = (lo + hi) / 2;
  const min = robust ? Math.max(0, centre - (span / 2) * 1.15) : centre - (span / 2) * 1.15;
  const max = centre + (span / 2) * 1.15;
  const d = duration > 0 ? duration : Math.max(...pts.map((p) => p.time_s), 1);
  const x = (t) => (Math.max(0, Math.min(d, t)) / d) * width;
  const y = (v) => pad + (1 - (Math.max(min, Math.min(max, v)) - min) / (max - min)) * (height - 2 * pad);
  const path = pts.map((p, i) => `${i ? "L" : "M"}${x(p.time_s).toFixed(1)} ${y(p[key]).toFixed(1)}`).join(" ");
  return { path, min, max, median, x, y, width, height, duration: d, count: pts.length };
}

/** The tempo curve's geometry (beats per minute, robust bounds). */
export function tempoGeometry(points, duration, width = 1000, height = 140, pad = 10) {
  return curveGeometry(points, duration, { key: "bpm", robust: true, width, height, pad });
}

// --- DOM -------------------------------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** One button per (bar, pass); clicking one calls onSeek(start_s). Returns the layout. */
export function renderHeatMap(container, bars, onSeek) {
  const layout = heatLayout(bars);
  container.replaceChildren();
  container.style.setProperty("--bar-columns", String(Math.max(1, layout.columns.length)));
  const corner = document.createElement("span");
  corner.className = "heat-corner";
  corner.textContent = "bar";
  container.append(corner);
  for (const [i, bar] of layout.columns.entries()) {
    const head = document.createElement("span");
    head.className = "heat-head";
    head.style.gridColumn = String(i + 2);
    head.style.gridRow = "1";
    head.textContent = String(bar);
    container.append(head);
  }
  for (const [i, pass] of layout.rows.entries()) {
    const label = document.createElement("span");
    label.className = "heat-row-label";
    label.style.gridRow = String(i + 2);
    label.textContent = layout.manyPasses ? `pass ${pass}` : "played";
    container.append(label);
  }
  for (const cell of layout.cells) {
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = `heat-cell heat-level-${cell.level}`;
    btn.style.gridColumn = String(cell.column + 2);
    btn.style.gridRow = String(cell.row + 2);
    btn.dataset.bar = String(cell.bar);
    btn.dataset.pass = String(cell.pass);
    btn.dataset.start = String(cell.start_s);
    btn.dataset.end = String(cell.end_s);
    btn.dataset.level = String(cell.level);
    btn.title = cell.tooltip;
    btn.setAttribute("aria-label", `${cell.tooltip}. Play from here.`);
    btn.textContent = cell.errors ? String(cell.errors) : cell.flags.length ? "•" : "";
    btn.addEventListener("click", () => onSeek(cell.start_s));
    container.append(btn);
  }
  return layout;
}

/** Mark the cells of the bar the player is in (one per pass that covers the time). */
export function markCurrentBar(container, seconds) {
  for (const cell of container.querySelectorAll(".heat-cell")) {
    cell.classList.toggle("heat-current", seconds >= Number(cell.dataset.start) && seconds < Number(cell.dataset.end));
  }
}

const CURVES = {
  tempo: { key: "bpm", robust: true, unit: "bpm", what: "Tempo", words: "beats per minute" },
  loudness: { key: "db", robust: false, unit: "dB", what: "Loudness", words: "dB" },
};

/** A curve (`kind` tempo or loudness) over the recording's duration, bar starts as grey lines, the median
 * dashed; clicking it seeks to that time. */
export function renderCurve(container, kind, points, duration, bars, onSeek) {
  const spec = CURVES[kind];
  container.replaceChildren();
  const geo = curveGeometry(points, duration, spec);
  if (!geo) return null;
  const box = svg("svg", {
    viewBox: `0 0 ${geo.width} ${geo.height}`, preserveAspectRatio: "none", class: "curve-svg", role: "img",
    "aria-label": `${spec.what} over time: median ${Math.round(geo.median)} ${spec.words}, from ${Math.round(geo.min)} to ${Math.round(geo.max)} on the scale.`,
  });
  const seen = new Set();
  for (const bar of bars || []) { // bar lines (with a score): where each bar starts
    const x = geo.x(bar.start_s).toFixed(1);
    if (seen.has(x)) continue;
    seen.add(x);
    box.append(svg("line", { x1: x, x2: x, y1: 0, y2: geo.height, class: "curve-barline" }));
  }
  const mid = geo.y(geo.median).toFixed(1);
  box.append(svg("line", { x1: 0, x2: geo.width, y1: mid, y2: mid, class: "curve-median" }));
  box.append(svg("path", { d: geo.path, class: `curve-line curve-${kind}` }));
  box.addEventListener("click", (event) => {
    const rect = box.getBoundingClientRect();
    if (rect.width > 0) onSeek(((event.clientX - rect.left) / rect.width) * geo.duration);
  });
  const labels = document.createElement("div");
  labels.className = "curve-labels";
  labels.setAttribute("aria-hidden", "true");
  for (const [value, cls] of [[geo.max, "top"], [geo.median, "mid"], [geo.min, "bottom"]]) {
    const apart = Math.min(Math.abs(geo.y(value) - geo.y(geo.max)), Math.abs(geo.y(value) - geo.y(geo.min)));
    if (cls === "mid" && apart < 0.2 * geo.height) continue; // would overlap the top or bottom label
    const span = document.createElement("span");
    span.className = `curve-label curve-label-${cls}`;
    span.style.top = `${(geo.y(value) / geo.height) * 100}%`;
    span.textContent = `${Math.round(value)} ${spec.unit}`;
    labels.append(span);
  }
  container.append(labels, box);
  return geo;
}

/** The note errors as a list in time order (at most MAX_LISTED_ERRORS), each seeking to its time. */
export function renderNoteErrors(list, noteErrors, onSeek) {
  list.replaceChildren();
  const errors = [...(noteErrors || [])].sort((a, b) => a.time_s - b.time_s);
  const manyPasses = passesOf(errors) > 1;
  for (const e of errors.slice(0, MAX_LISTED_ERRORS)) {
    const li = document.createElement("li");
    li.className = `note-error note-${e.type}`;
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "link-button";
    btn.textContent = formatTime(e.time_s);
    btn.dataset.time = String(e.time_s);
    btn.setAttribute("aria-label", `Play from ${formatTime(e.time_s)}`);
    btn.addEventListener("click", () => onSeek(Math.max(0, e.time_s - 0.5)));
    li.append(btn, document.createTextNode(` ${describeNoteError(e, manyPasses)}`));
    list.append(li);
  }
  if (errors.length > MAX_LISTED_ERRORS) {
    const li = document.createElement("li");
    li.className = "note-more";
    li.textContent = `… and ${errors.length - MAX_LISTED_ERRORS} more`;
    list.append(li);
  }
  return errors.length;
}

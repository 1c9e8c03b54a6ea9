// Weak spots as coloured ranges on a time axis: one lane per dimension, each range a real <button>.
import { GROUP_COLOURS, prettyName } from "./radar.js";

export const formatTime = (s) => {
  const m = Math.floor(s / 60);
  const sec = s - m * 60;
  return `${m}:${sec.toFixed(1).padStart(4, "0")}`;
};

/** Pure layout: percentages of the duration, one lane per dimension in order of first (most severe) use. */
export function spotLayout(spots, duration) {
  const d = duration > 0 ? duration : Math.max(1, ...spots.map((s) => s.end_s));
  const lanes = [];
  const laneOf = (dim) => {
    let i = lanes.indexOf(dim);
    if (i === -1) { lanes.push(dim); i = lanes.length - 1; }
    return i;
  };
  const items = spots.map((spot, rank) => {
    const start = Math.max(0, Math.min(d, spot.start_s));
    const end = Math.max(start, Math.min(d, spot.end_s));
    return {
      spot, rank, lane: laneOf(spot.dimension),
      leftPct: (100 * start) / d, widthPct: Math.max(0.8, (100 * (end - start)) / d),
    };
  });
  return { items, lanes, duration: d };
}

function tickStep(duration) {
  for (const step of [1, 2, 5, 10, 15, 30, 60, 120, 300]) if (duration / step <= 8) return step;
  return 600;
}

/** Render spots into `container`; `onSeek(seconds)` is called when a range is chosen. */
export function renderTimeline(container, spots, duration, table, onSeek) {
  const groupOf = Object.fromEntries((table || []).map((t) => [t.name, t.group]));
  const { items, lanes, duration: d } = spotLayout(spots, duration);
  container.replaceChildren();
  container.style.setProperty("--lanes", String(Math.max(1, lanes.length)));
  lanes.forEach((dim, i) => {
    const label = document.createElement("span");
    label.className = "lane-label";
    label.style.top = `calc(${i} * var(--lane-h))`;
    label.textContent = prettyName(dim);
    container.append(label);
  });
  const track = document.createElement("div");
  track.className = "track";
  container.append(track);
  for (const item of items) {
    const { spot } = item;
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "spot";
    btn.dataset.dimension = spot.dimension;
    btn.dataset.start = String(spot.start_s);
    btn.style.left = `${item.leftPct}%`;
    btn.style.width = `${item.widthPct}%`;
    btn.style.top = `calc(${item.lane} * var(--lane-h) + 3px)`;
    btn.style.background = GROUP_COLOURS[groupOf[spot.dimension]] || "#b0306a";
    btn.style.opacity = String(0.55 + 0.45 * Math.min(1, spot.severity || 0));
    const where = `${formatTime(spot.start_s)}–${formatTime(spot.end_s)}`;
    btn.setAttribute("aria-label", `${prettyName(spot.dimension)}, ${where}, severity ${Math.round((spot.severity || 0) * 100)}%. Play from here.`);
    btn.title = `${prettyName(spot.dimension)} ${where}: ${spot.reason || ""}`;
    btn.addEventListener("click", () => onSeek(spot.start_s));
    track.append(btn);
  }
  const axis = document.createElement("div");
  axis.className = "time-axis";
  axis.setAttribute("aria-hidden", "true");
  const step = tickStep(d);
  for (let t = 0; t <= d + 1e-6; t += step) {
    const tick = document.createElement("span");
    tick.className = "tick";
    tick.style.left = `${(100 * t) / d}%`;
    tick.textContent = formatTime(t).replace(/\.0$/, "");
    axis.append(tick);
  }
  container.append(axis);
  const head = document.createElement("div");
  head.className = "playhead";
  head.setAttribute("aria-hidden", "true");
  track.append(head);
  return { playhead: head, duration: d };
}

// The 19 dimensions as a hand-written SVG radar, grouped by category.
// Quality scales: radius = goodness (further out is better), joined into a filled polygon.
// Character scales: radius = position from the low pole (centre) to the high pole (rim), drawn as
// diamonds on dashed axes and never joined: neither pole is better. Uncertainty: a band along each axis.

const SVG_NS = "http://www.w3.org/2000/svg";
export const GROUP_COLOURS = {
  timing: "#1f5fa8", articulation: "#7a3e9d", pedal: "#0f7b6c", timbre: "#a0522d",
  dynamics: "#b0306a", "music making": "#3d6b1f", mood: "#8a5a00", interpretation: "#4a4a4a",
};

const clamp01 = (x) => Math.min(1, Math.max(0, x));

/** Radius value (0..1) of one dimension: goodness for quality scales, raw score for character scales. */
export function radialValue(dim, info) {
  if (dim.kind === "quality") {
    if (typeof dim.goodness === "number") return clamp01(dim.goodness);
    const desirable = info && info.desirable;
    return clamp01(desirable === "low" ? 1 - dim.score : dim.score);
  }
  return clamp01(dim.score);
}

/** Pure geometry: one axis per dimension in table order, groups kept contiguous. */
export function radarGeometry(dimensions, table = [], { cx = 320, cy = 300, radius = 190 } = {}) {
  const info = Object.fromEntries(table.map((t) => [t.name, t]));
  const order = table.length ? table.map((t) => t.name) : dimensions.map((d) => d.name);
  const byName = Object.fromEntries(dimensions.map((d) => [d.name, d]));
  const dims = order.filter((n) => byName[n]).map((n) => byName[n]);
  const n = dims.length;
  const axes = dims.map((dim, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / n; // first axis points up, clockwise
    const value = radialValue(dim, info[dim.name]);
    const u = Math.max(0, dim.uncertainty || 0);
    const at = (r) => [cx + Math.cos(angle) * r * radius, cy + Math.sin(angle) * r * radius];
    return {
      dim, info: info[dim.name] || null, angle, value,
      lo: clamp01(value - u), hi: clamp01(value + u),
      point: at(value), loPoint: at(clamp01(value - u)), hiPoint: at(clamp01(value + u)),
      rim: at(1), labelPoint: at(1.09),
    };
  });
  const groups = [];
  for (const axis of axes) {
    const g = axis.dim.group;
    if (!groups.length || groups[groups.length - 1].name !== g) groups.push({ name: g, axes: [] });
    groups[groups.length - 1].axes.push(axis);
  }
  return { cx, cy, radius, axes, groups, n };
}

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export const prettyName = (name) => name.replace(/_/g, " ");

/** Words for one dimension's result, used in point titles and in the table. */
export function describe(dim, info) {
  const pct = (x) => `${Math.round(x * 100)}`;
  if (dim.kind === "quality") {
    const good = radialValue(dim, info);
    return `quality ${pct(good)}/100 (± ${pct(dim.uncertainty || 0)})`;
  }
  const lo = info ? info.low_pole : "low", hi = info ? info.high_pole : "high";
  return `${pct(dim.score)}% of the way from ${lo} to ${hi} (± ${pct(dim.uncertainty || 0)})`;
}

/** Render the radar into `container` (replacing its content). */
export function renderRadar(container, dimensions, table, { weak = new Set() } = {}) {
  const geo = radarGeometry(dimensions, table);
  const { cx, cy, radius, axes } = geo;
  const svg = el("svg", { viewBox: "0 0 640 600", role: "img", "aria-labelledby": "radar-title radar-desc", class: "radar" });
  svg.append(el("title", { id: "radar-title" }, "Radar chart of the 19 dimensions"));
  svg.append(el("desc", { id: "radar-desc" },
    "Quality scales are joined by a filled shape, further out is better; character scales are diamonds on dashed axes. The table beside it lists every value."));

  // Group sectors: alternating background wedges with the group name outside the rim.
  const step = (2 * Math.PI) / geo.n;
  geo.groups.forEach((group, gi) => {
    const a0 = group.axes[0].angle - step / 2, a1 = group.axes[group.axes.length - 1].angle + step / 2;
    const r = radius * 1.0;
    const p = (a, rr) => `${cx + Math.cos(a) * rr},${cy + Math.sin(a) * rr}`;
    const large = a1 - a0 > Math.PI ? 1 : 0;
    svg.append(el("path", {
      d: `M${cx},${cy} L${p(a0, r)} A${r},${r} 0 ${large} 1 ${p(a1, r)} Z`,
      class: gi % 2 ? "sector sector-odd" : "sector", "data-group": group.name,
    }));
    const colour = GROUP_COLOURS[group.name] || "#333";
    const arcR = radius * 1.02;
    svg.append(el("path", { d: `M${p(a0 + 0.02, arcR)} A${arcR},${arcR} 0 ${large} 1 ${p(a1 - 0.02, arcR)}`, class: "group-arc", stroke: colour }));
  });

  for (const ring of [0.25, 0.5, 0.75, 1]) {
    svg.append(el("circle", { cx, cy, r: ring * radius, class: ring === 1 ? "ring ring-outer" : "ring" }));
  }

  // Axes.
  for (const axis of axes) {
    svg.append(el("line", { x1: cx, y1: cy, x2: axis.rim[0], y2: axis.rim[1], class: `axis axis-${axis.dim.kind}` }));
  }
  // Uncertainty bands.
  for (const axis of axes) {
    svg.append(el("line", {
      x1: axis.loPoint[0], y1: axis.loPoint[1], x2: axis.hiPoint[0], y2: axis.hiPoint[1],
      class: "uncertainty", "data-dimension": axis.dim.name,
    }));
  }
  // Quality polygon.
  const quality = axes.filter((a) => a.dim.kind === "quality");
  if (quality.length >= 3) {
    svg.append(el("polygon", { points: quality.map((a) => a.point.join(",")).join(" "), class: "quality-shape" }));
  }
  // Points (a ring marks the dimensions that have weak spots).
  for (const axis of axes) {
    const [x, y] = axis.point;
    if (weak.has(axis.dim.name)) {
      svg.append(el("circle", { cx: x, cy: y, r: 11, class: "weak-ring", "data-dimension": axis.dim.name }));
    }
    const title = `${prettyName(axis.dim.name)}: ${describe(axis.dim, axis.info)}`;
    let mark;
    if (axis.dim.kind === "quality") {
      mark = el("circle", { cx: x, cy: y, r: 5.5, class: "point point-quality" });
    } else {
      const s = 6.5;
      mark = el("polygon", { points: `${x},${y - s} ${x + s},${y} ${x},${y + s} ${x - s},${y}`, class: "point point-character" });
    }
    mark.setAttribute("data-dimension", axis.dim.name);
    mark.setAttribute("data-kind", axis.dim.kind);
    mark.append(el("title", {}, title));
    svg.append(mark);
  }
  // Axis labels.
  for (const axis of axes) {
    const [x, y] = axis.labelPoint;
    const c = Math.cos(axis.angle);
    const anchor = Math.abs(c) < 0.05 ? "middle" : c > 0 ? "start" : "end";
    const label = el("text", {
      x, y: y + (Math.sin(axis.angle) > 0.5 ? 10 : Math.sin(axis.angle) < -0.5 ? -4 : 4),
      "text-anchor": anchor, class: `axis-label label-${axis.dim.kind}`, fill: GROUP_COLOURS[axis.dim.group] || "#222",
    }, prettyName(axis.dim.name));
    svg.append(label);
  }
  container.replaceChildren(svg);
  return geo;
}

// Unit tests of the page's pure modules (run by tests/test_web_page.py with node's test runner).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { citingSentence, markerNumbers, safeHref, splitTimes, tokenize } from "../../../api/web/static/js/citations.js";
import { findReport, findResult, normaliseEvent } from "../../../api/web/static/js/events.js";
import { radarGeometry, radialValue } from "../../../api/web/static/js/radar.js";
import { parseEventBlock, readEvents, splitBlocks } from "../../../api/web/static/js/sse.js";
import { formatTime, spotLayout } from "../../../api/web/static/js/timeline.js";

// The real dimension table and a report built from it, written by the pytest wrapper.
const fixture = JSON.parse(readFileSync(process.env.CADENZA_WEB_FIXTURE, "utf8"));
const { table, report } = fixture;

test("SSE blocks: event names, multi-line data, comments, CRLF", () => {
  assert.deepEqual(parseEventBlock('event: delta\ndata: {"text": "Hi"}'), { event: "delta", data: { text: "Hi" } });
  assert.deepEqual(parseEventBlock("data: line one\ndata: line two"), { event: "message", data: "line one\nline two" });
  assert.equal(parseEventBlock(": keep-alive"), null);
  assert.deepEqual(parseEventBlock("event: done\r\ndata:{}"), { event: "done", data: {} });
  const [blocks, rest] = splitBlocks("event: a\ndata: 1\n\nevent: b\r\ndata: 2\r\n\r\nevent: c\ndata: 3");
  assert.deepEqual(blocks, ["event: a\ndata: 1", "event: b\r\ndata: 2"]);
  assert.equal(rest, "event: c\ndata: 3");
});

test("SSE over a byte stream split mid-event and mid-character", async () => {
  const text = 'event: delta\ndata: {"text": "Ped\u00e1l"}\n\nevent: done\ndata: {"type": "done"}\n\n';
  const bytes = new TextEncoder().encode(text);
  const cut = [5, 31, 33, bytes.length]; // 33 splits the two bytes of "á"
  const body = new ReadableStream({
    start(controller) {
      let prev = 0;
      for (const c of cut) { controller.enqueue(bytes.slice(prev, c)); prev = c; }
      controller.close();
    },
  });
  const events = [];
  for await (const ev of readEvents(body)) events.push(ev);
  assert.deepEqual(events, [{ event: "delta", data: { text: "Ped\u00e1l" } }, { event: "done", data: { type: "done" } }]);
});

test("citation markers: single, lists, ranges, non-markers", () => {
  assert.deepEqual(markerNumbers("1, 3"), [1, 3]);
  assert.deepEqual(markerNumbers("2-4"), [2, 3, 4]);
  assert.deepEqual(markerNumbers("2\u20133"), [2, 3]);
  const segs = tokenize("Lift the pedal [1]. Listen [2, 3]; see [a] and [4-5].");
  assert.deepEqual(segs.filter((s) => s.type === "cite").map((s) => s.numbers), [[1], [2, 3], [4, 5]]);
  assert.equal(segs.map((s) => (s.type === "text" ? s.text : s.raw)).join(""), "Lift the pedal [1]. Listen [2, 3]; see [a] and [4-5].");
});

test("the sentence a marker closes", () => {
  assert.equal(citingSentence("Good tone. Change the pedal with each harmony "), "Change the pedal with each harmony");
  assert.equal(citingSentence("Intro here. Lift the pedal as the chord sounds. "), "Lift the pedal as the chord sounds.");
  assert.equal(citingSentence("Practise slowly, then add it back. See "), "Practise slowly, then add it back. See");
  assert.equal(citingSentence(""), "");
});

test("times in the feedback text become seek targets", () => {
  const parts = splitTimes("The pedal blurs from 0:02 to 1:07.5, not at 12:60 or 3:5.");
  assert.deepEqual(parts.filter((p) => p.type === "time").map((p) => p.seconds), [2, 67.5]);
  assert.equal(parts.map((p) => (p.type === "text" ? p.text : p.raw)).join(""), "The pedal blurs from 0:02 to 1:07.5, not at 12:60 or 3:5.");
});

test("stream events normalise to delta / error / done with the checked result", () => {
  const result = { text: "Use less pedal [1].", generator: "llm", citations: [{ n: 1, chunk_id: "c", title: "T" }] };
  assert.deepEqual(normaliseEvent({ event: "delta", data: { type: "delta", text: "Use" } }), { type: "delta", text: "Use" });
  assert.deepEqual(normaliseEvent({ event: "message", data: "raw" }), { type: "delta", text: "raw" });
  assert.equal(normaliseEvent({ event: "error", data: { type: "error", message: "timeout" } }).message, "timeout");
  assert.equal(normaliseEvent({ event: "done", data: { type: "done", result } }).result, result);
  assert.equal(findResult({ message: { role: "assistant", result } }), result);
  assert.equal(findResult({ feedback: result, performance: {} }), result);
  assert.equal(findResult({ nothing: 1 }), null);
  assert.equal(findReport({ id: "x", status: "done", report }), report);
  assert.equal(findReport({ id: "x", status: "queued" }), null);
});

test("radar: every dimension on its own axis, quality as goodness, character as position", () => {
  const geo = radarGeometry(report.dimensions, table);
  assert.equal(geo.axes.length, table.length);
  assert.deepEqual(geo.axes.map((a) => a.dim.name), table.map((t) => t.name));
  // Groups stay contiguous, so each group is one sector of the chart.
  const groups = geo.groups.map((g) => g.name);
  assert.equal(new Set(groups).size, groups.length);
  for (const axis of geo.axes) {
    const info = table.find((t) => t.name === axis.dim.name);
    const expected = info.kind === "character" ? axis.dim.score
      : info.desirable === "low" ? 1 - axis.dim.score : axis.dim.score;
    assert.ok(Math.abs(axis.value - expected) < 1e-9, axis.dim.name);
    assert.ok(axis.lo <= axis.value && axis.value <= axis.hi);
    const r = Math.hypot(axis.point[0] - geo.cx, axis.point[1] - geo.cy) / geo.radius;
    assert.ok(Math.abs(r - axis.value) < 1e-9);
  }
  // goodness from the scorer wins over the table's direction.
  assert.equal(radialValue({ kind: "quality", score: 0.2, goodness: 0.8 }, { desirable: "low" }), 0.8);
});

test("timeline: spots placed as shares of the duration, one lane per dimension", () => {
  const spots = [
    { dimension: "pedal_clarity", start_s: 2, end_s: 7, severity: 0.8 },
    { dimension: "timing_stability", start_s: 6, end_s: 12, severity: 0.5 },
    { dimension: "pedal_clarity", start_s: 10, end_s: 30, severity: 0.4 },
  ];
  const { items, lanes } = spotLayout(spots, 20);
  assert.deepEqual(lanes, ["pedal_clarity", "timing_stability"]);
  assert.equal(items[0].leftPct, 10);
  assert.equal(items[0].widthPct, 25);
  assert.equal(items[2].lane, 0);
  assert.equal(items[2].leftPct + items[2].widthPct, 100); // clipped to the recording
  assert.equal(formatTime(75.25), "1:15.3");
});

test("only http(s) source URLs become links (issue 21)", () => {
  assert.equal(safeHref("https://www.gutenberg.org/ebooks/4939"), "https://www.gutenberg.org/ebooks/4939");
  assert.equal(safeHref("http://example.org/a?b=1"), "http://example.org/a?b=1");
  for (const bad of ["javascript:alert(document.domain)", " JavaScript:alert(1)", "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "//evil.example/x", "/static/x",
    "https:\\\\evil.example", "scan source not recorded", "", null, undefined, 42]) {
    assert.equal(safeHref(bad), null, String(bad));
  }
});

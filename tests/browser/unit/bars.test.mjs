// Unit tests of the page's note-level module (api/web/static/js/bars.js), run by tests/api/test_web_bars.py
// with node's test runner. The report comes from the Python schema (scorer/schema.py), dumped as the REST
// API sends it, so a renamed JSON key ("pass", "expected_pitch" …) fails here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  MAX_LISTED_ERRORS, barSeverity, barTooltip, curveGeometry, describeNoteError, errorCounts, formatBeat, heatLayout,
  pitchName, tempoGeometry,
} from "../../../api/web/static/js/bars.js";

const { report } = JSON.parse(readFileSync(process.env.CADENZA_WEB_FIXTURE, "utf8"));

test("pitch names with octaves, sharps", () => {
  assert.equal(pitchName(60), "C4");
  assert.equal(pitchName(66), "F#4");
  assert.equal(pitchName(65), "F4");
  assert.equal(pitchName(21), "A0");
  assert.equal(pitchName(108), "C8");
  assert.equal(pitchName(null), "?");
  assert.equal(formatBeat(2), "2");
  assert.equal(formatBeat(2.5), "2.5");
  assert.equal(formatBeat(2 + 1 / 3), "2.33");
});

test("note errors in words, as the issue words them", () => {
  const [wrong, missed, extra, nowhere] = report.note_errors;
  assert.equal(describeNoteError(wrong), "bar 5, beat 2: F4 instead of F#4");
  assert.equal(describeNoteError(missed), "bar 5, beat 3.5: missed A4");
  assert.equal(describeNoteError(extra, true), "bar 2 (pass 2), beat 1: extra C5");
  assert.equal(describeNoteError(nowhere), "at 0:12.3: extra D4");
  assert.deepEqual(errorCounts(report.note_errors), { wrong: 1, missed: 1, extra: 2 });
  // the scorer's names, spelled for the key, win over the page's sharps
  const spelled = { ...wrong, played_pitch: 70, expected_pitch: 71, played_name: "Bb4", expected_name: "B4" };
  assert.equal(describeNoteError(spelled), "bar 5, beat 2: Bb4 instead of B4");
});

test("bar severity: note errors as a share of the bar, timing flags add", () => {
  const [clean, rushed, bad] = report.bars;
  assert.deepEqual(barSeverity(clean), { errors: 0, flags: [], severity: 0, level: 0 });
  assert.equal(barSeverity(rushed).level, 1); // one timing flag, no wrong note
  assert.equal(barSeverity(bad).level, 3); // 4 errors in 8 notes
  assert.ok(barSeverity(bad).severity <= 1);
  const tip = barTooltip(rushed, true);
  assert.match(tip, /^Bar 2, pass 1 \(0:02\.0\): a little off/);
  assert.match(tip, /118% of your tempo/);
  assert.match(tip, /flags: rushed/);
  assert.match(barTooltip(bad), /4 of 8 notes right; 2 wrong, 1 missed, 1 extra/);
});

test("heat map: one cell per bar and pass, columns in score order, rows per pass", () => {
  const layout = heatLayout(report.bars);
  assert.deepEqual(layout.columns, [1, 2, 5]);
  assert.deepEqual(layout.rows, [1, 2]);
  assert.equal(layout.cells.length, report.bars.length);
  assert.ok(layout.manyPasses);
  const second = layout.cells.find((c) => c.pass === 2);
  assert.equal(second.row, 1);
  assert.equal(second.column, 1);
  assert.equal(second.start_s, 9.5);
  assert.equal(second.end_s, 11);
  assert.deepEqual(heatLayout(null), { columns: [], rows: [], cells: [], manyPasses: false });
});

test("tempo curve: time across, bpm up, outliers clipped", () => {
  const geo = tempoGeometry(report.curves.tempo, report.duration_s);
  assert.equal(geo.count, report.curves.tempo.length);
  assert.ok(geo.path.startsWith("M0.0 "));
  assert.equal(geo.x(report.duration_s), 1000);
  assert.ok(geo.y(130) < geo.y(100)); // faster is higher
  assert.ok(geo.max < 1000); // the 2000-bpm glitch does not flatten the rest
  assert.equal(tempoGeometry([], 10), null);
  // loudness in dB (negative): plain bounds, louder is higher
  const loud = curveGeometry(report.curves.loudness, report.duration_s, { key: "db", robust: false });
  assert.equal(loud.count, report.curves.loudness.length);
  assert.ok(loud.min < -40 && loud.max > -10);
  const silence = curveGeometry([{ time_s: 0, db: -120 }, { time_s: 1, db: -10 }], 2, { key: "db", robust: false });
  assert.ok(silence.min > -70); // the silent start does not flatten the music
  assert.ok(loud.y(-10) < loud.y(-30));
  assert.ok(MAX_LISTED_ERRORS >= 20);
});

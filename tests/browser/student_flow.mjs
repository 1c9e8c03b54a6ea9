// Drives Debian's chromium through the student flow against a running Cadenza server.
// Usage: node student_flow.mjs --url http://127.0.0.1:PORT --screenshot results/web.png [--timeout-s 600]
// Prints one JSON line with what it checked; exits 1 with a message on the first failed check.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" },
    screenshot: { type: "string", default: "results/web-page.png" },
    "timeout-s": { type: "string", default: "600" },
    executable: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
    question: { type: "string", default: "How should I practise the pedalling in this passage?" },
    upload: { type: "string" },  // a recording to send through the upload form instead of the example
    score: { type: "string" },  // its score MIDI, sent beside it (weak spots then name bars)
  },
});
if (!opts.url) { console.error("--url is required"); process.exit(2); }
const timeout = Number(opts["timeout-s"]) * 1000;

// The flags CI needs for Debian's chromium in a container (no sandbox, no GPU, no network side-traffic).
const ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-quic", "--autoplay-policy=no-user-gesture-required"];

function check(cond, message) { if (!cond) throw new Error(`check failed: ${message}`); }

const userDataDir = mkdtempSync(join(tmpdir(), "cadenza-chromium-"));
const report = { url: opts.url };
const pageErrors = [];
let context;
let page;
try {
  // A persistent context is how playwright takes a --user-data-dir: a fresh one per run.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: opts.executable, headless: true, args: ARGS, viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(timeout);
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  page.on("console", (msg) => { if (msg.type() === "error") pageErrors.push(`console: ${msg.text()}`); });

  await page.goto(opts.url, { waitUntil: "load" });
  check((await page.title()).includes("Cadenza"), "page title names Cadenza");

  // 1. A recording through the upload form (--upload), else the example, started from the keyboard.
  if (opts.upload) {
    await page.locator("#file-input").setInputFiles(opts.upload);
    if (opts.score) await page.locator("#score-input").setInputFiles(opts.score);
    await page.locator("#upload-form button[type=submit]").first().focus();
    await page.keyboard.press("Enter");
  } else {
    const example = page.locator("#example-button");
    await example.waitFor({ state: "visible" });
    await page.waitForFunction(() => !document.getElementById("example-button").disabled, null, { timeout: 30000 });
    await example.focus();
    await page.keyboard.press("Enter");
  }
  await page.locator("#progress").waitFor({ state: "visible", timeout: 30000 }).catch(() => {});

  // 2. Scores: the radar with all 19 dimensions, both kinds of scale, uncertainty bands.
  await page.waitForFunction(() => {
    const err = document.getElementById("error");
    if (!err.hidden) throw new Error(`page error: ${err.textContent}`);
    return !document.getElementById("scores-card").hidden;
  }, null, { timeout, polling: 500 });
  const radar = await page.evaluate(() => ({
    points: document.querySelectorAll("#radar .point").length,
    quality: document.querySelectorAll("#radar .point-quality").length,
    character: document.querySelectorAll("#radar .point-character").length,
    bands: document.querySelectorAll("#radar .uncertainty").length,
    shape: !!document.querySelector("#radar .quality-shape"),
    rows: document.querySelectorAll("#score-table tbody tr[data-dimension]").length,
  }));
  report.radar = radar;
  check(radar.points === 19, `radar has 19 points (got ${radar.points})`);
  check(radar.quality > 0 && radar.character > 0, "radar shows quality and character scales apart");
  check(radar.bands === 19 && radar.shape, "radar shows uncertainty bands and the quality shape");
  check(radar.rows === 19, "the score table lists 19 dimensions");

  // 3. Weak spots on the timeline; choosing one seeks the player.
  const spots = page.locator("#timeline .spot");
  report.weak_spots = await spots.count();
  check(report.weak_spots >= 1, "at least one weak spot on the timeline");
  report.spot_list = await page.evaluate(() => [...document.querySelectorAll("#spot-list li")].map((li) => li.textContent));
  if (opts.score) check(report.spot_list.some((t) => /\(bars \d+/.test(t)), "with a score, weak spots name bars");
  await page.waitForFunction(() => document.getElementById("player").readyState >= 1, null, { timeout: 30000 });
  const target = spots.last();
  const start = Number(await target.getAttribute("data-start"));
  await target.click();
  await page.waitForFunction((s) => Math.abs(document.getElementById("player").currentTime - s) < 0.75, start, { timeout: 10000 });
  report.seek = { spot_start_s: start, player_s: await page.evaluate(() => document.getElementById("player").currentTime) };
  await page.evaluate(() => document.getElementById("player").pause());

  // 4. Cited feedback: a marker button opens its passage (title, quoted text), from the keyboard.
  await page.waitForFunction(() => {
    const err = document.getElementById("error");
    if (!err.hidden) throw new Error(`page error: ${err.textContent}`);
    return document.querySelector("#feedback button.cite") && document.getElementById("feedback").getAttribute("aria-busy") === "false";
  }, null, { timeout, polling: 500 });
  report.feedback_meta = await page.locator("#feedback-meta").textContent();
  report.citation_buttons = await page.locator("#feedback button.cite").count();
  const cite = page.locator("#feedback button.cite").first();
  await cite.focus();
  await page.keyboard.press("Enter");
  const dialog = page.locator("#passage-dialog");
  await dialog.waitFor({ state: "visible", timeout: 10000 });
  await page.waitForFunction(() => {
    const t = document.getElementById("passage-text").textContent;
    return t && !t.startsWith("Loading");
  }, null, { timeout: 30000 });
  const passage = await page.evaluate(() => ({
    title: document.getElementById("passage-title").textContent,
    byline: document.getElementById("passage-byline").textContent,
    section: document.getElementById("passage-section").textContent,
    text: document.getElementById("passage-text").textContent,
  }));
  report.passage = { ...passage, text: passage.text.slice(0, 160) };
  check(passage.title.length > 4, "the passage dialog shows a title");
  check(passage.text.length > 20 && !passage.text.startsWith("The passage text could not"), `the passage dialog quotes the passage (got: ${passage.text.slice(0, 120)})`);
  await page.screenshot({ path: opts.screenshot.replace(/\.png$/, "-passage.png") });
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden", timeout: 5000 });

  // 5. Chat on the same performance: the streamed answer ends as checked text.
  await page.locator("#chat-input").fill(opts.question);
  await page.locator("#chat-send").click();
  await page.waitForFunction(() => {
    const err = document.getElementById("error");
    if (!err.hidden) throw new Error(`page error: ${err.textContent}`);
    return document.querySelector("#chat-log .bubble-assistant[data-done='true']");
  }, null, { timeout, polling: 500 });
  const answer = await page.locator("#chat-log .bubble-assistant .bubble-text").last().textContent();
  report.chat_answer = answer.slice(0, 200);
  check(answer.trim().length > 10, "the tutor answered");

  mkdirSync(dirname(opts.screenshot), { recursive: true });
  await page.screenshot({ path: opts.screenshot, fullPage: true });
  report.screenshot = opts.screenshot;
  check(pageErrors.length === 0, `no script errors in the page (${pageErrors.join(" | ")})`);
  console.log(JSON.stringify(report));
} catch (err) {
  if (page) {
    mkdirSync(dirname(opts.screenshot), { recursive: true });
    await page.screenshot({ path: opts.screenshot.replace(/\.png$/, "-failed.png"), fullPage: true }).catch(() => {});
  }
  report.page_errors = pageErrors;
  console.log(JSON.stringify(report));
  console.error(err && err.message ? err.message : String(err));
  process.exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

// With auth on, the page asks once for an API key, keeps it in sessionStorage and retries the request.
// Usage: node auth_flow.mjs --url URL --key KEY [--screenshot results/web-auth.png]
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" }, key: { type: "string" },
    screenshot: { type: "string", default: "results/web-auth.png" },
    executable: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
  },
});
if (!opts.url || !opts.key) { console.error("--url and --key are required"); process.exit(2); }
const ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-quic"];
const userDataDir = mkdtempSync(join(tmpdir(), "cadenza-chromium-"));
const report = { prompted: 0 };
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: opts.executable, headless: true, args: ARGS });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(60000);
  const uploads = [];
  page.on("response", (r) => { if (r.url().endsWith("/v1/performances") && r.request().method() === "POST") uploads.push(r.status()); });
  await page.goto(opts.url);
  await page.waitForFunction(() => !document.getElementById("example-button").disabled);

  // A wrong key first: the page says so and asks again.
  await page.click("#example-button");
  await page.locator("#key-dialog").waitFor({ state: "visible" });
  report.prompted += 1;
  await page.fill("#key-input", "not-a-key");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => !document.getElementById("error").hidden);
  report.wrong_key_error = await page.locator("#error").textContent();
  if (!/key|auth/i.test(report.wrong_key_error)) throw new Error(`unexpected error for a wrong key: ${report.wrong_key_error}`);

  // Then a good key, through the "Change API key" button, which the 401 revealed.
  await page.click("#key-button");
  await page.locator("#key-dialog").waitFor({ state: "visible" });
  await page.fill("#key-input", opts.key);
  await page.keyboard.press("Enter");
  await page.locator("#key-dialog").waitFor({ state: "hidden" });
  await page.click("#example-button");
  await page.waitForFunction(() => /Waiting|Scoring|Scored|Feedback/.test(document.getElementById("status").textContent));
  if (await page.locator("#key-dialog").isVisible()) throw new Error("asked for the key again");
  report.upload_status = uploads[uploads.length - 1];
  report.stored_key = (await page.evaluate(() => sessionStorage.getItem("cadenza.apiKey"))) === opts.key;
  mkdirSync(dirname(opts.screenshot), { recursive: true });
  await page.screenshot({ path: opts.screenshot });
  console.log(JSON.stringify(report));
} catch (err) {
  console.log(JSON.stringify(report));
  console.error(err && err.message ? err.message : String(err));
  process.exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

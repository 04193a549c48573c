// The replayer's dashboard (/_mastotape/) in a real browser, against a virtual-clock replay with
// one scripted client: its buttons move the clock and the client as /_mastotape/status says.
// Environment: MASTOTAPE (the binary), MASTOTAPE_FIXTURES (fixtures/).
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { launchChromium, watchPage } from "./chromium.mjs";

const mastotape = process.env.MASTOTAPE;
const fixture = join(process.env.MASTOTAPE_FIXTURES, "user-gaps.jsonl");
const token = "dashboard-test-token-5f2b9c71d0a4e8";
const dir = mkdtempSync(join(tmpdir(), "mastotape-dashboard-"));

let replay;
let base;
let chromium;
let recorded;  // the fixture's connections, from `export`

async function waitFor(what, check, ms = 10000) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error("timed out waiting for " + what);
    await sleep(50);
  }
}

const status = async () => (await fetch(base + "/_mastotape/status")).json();

before(async () => {
  const portFile = join(dir, "port");
  replay = spawn(mastotape, ["replay", fixture, "--virtual-clock", "--listen", "127.0.0.1:0",
                             "--port-file", portFile, "--report", join(dir, "report.json")],
                 { stdio: ["ignore", "ignore", "inherit"] });
  await waitFor("the replayer's port", () => existsSync(portFile) && readFileSync(portFile, "utf8").trim());
  base = "http://127.0.0.1:" + readFileSync(portFile, "utf8").trim();
  execFileSync(mastotape, ["import", fixture, "--db", join(dir, "t.db")]);
  recorded = execFileSync(mastotape, ["export", "--db", join(dir, "t.db")], { encoding: "utf8" })
    .split("\n").filter((l) => l).map((l) => JSON.parse(l)).filter((r) => r.type === "connection");
  chromium = await launchChromium();
});
after(async () => {
  await chromium?.close();
  if (replay && replay.exitCode === null) {
    const exited = new Promise((resolve) => replay.once("exit", resolve));
    replay.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

test("the dashboard runs the clock to the next gap and shows the client moved", async () => {
  // The client under test: a WebSocket in a page of its own, counting what it is sent.
  const client = await chromium.browser.newPage();
  await client.evaluate((url) => {
    window.received = 0;
    window.ws = new WebSocket(url);
    window.ws.onmessage = () => { window.received++; };
  }, base.replace("http", "ws") + "/api/v1/streaming?stream=user&access_token=" + token);

  const page = await chromium.browser.newPage();
  const problems = watchPage(page, base);
  await page.goto(base + "/_mastotape/", { waitUntil: "load" });
  await page.waitForSelector('#client-rows tr[data-client="client 1"]', { timeout: 10000 });
  assert.equal(await page.$eval("#clock-mode", (e) => e.textContent), "virtual");
  const s0 = await status();
  assert.deepEqual(s0.clients.map((c) => c.name), ["client 1"]);
  assert.ok(s0.tape_offset_ns < recorded[0].ended_offset_ns);

  await page.click("#next-gap");
  const gapAt = recorded[0].ended_offset_ns;
  const s1 = await waitFor("the clock at the first gap", async () => {
    const s = await status();
    return s.tape_offset_ns === gapAt && s.clients[0].position_ns > 0 ? s : null;
  });
  // What the page shows is what /status says.
  await page.waitForFunction((ns) => document.getElementById("clock-position").dataset.ns === String(ns),
                             { timeout: 5000 }, s1.tape_offset_ns);
  const shown = await waitFor("the client's row", async () => {
    const s = await status();
    const cell = await page.$eval('tr[data-client="client 1"] .frames-sent', (td) => td.textContent);
    return cell === String(s.clients[0].frames_sent) ? s : null;
  });
  assert.ok(shown.clients[0].frames_sent > s0.clients[0].frames_sent, "the client was sent frames");
  assert.ok(shown.clients[0].position_ns <= gapAt && shown.clients[0].position_ns > 0);
  assert.ok(await client.evaluate(() => window.received) > 0, "the scripted client got them");

  // Pause and resume, a fault added: each as /status then says.
  await page.click("#pause");
  await waitFor("the replayer paused", async () => (await status()).paused === true);
  await page.waitForFunction(() => document.getElementById("clock-state").textContent === "paused");
  await page.click("#resume");
  await waitFor("the replayer running", async () => (await status()).paused === false);
  await page.waitForFunction(() => document.getElementById("clock-state").textContent === "running");
  await page.type("#fault-spec", "drop-after=1000");
  await page.click("#add-fault");
  await page.waitForFunction(() => document.getElementById("fault-list").textContent.includes("1000"));
  assert.equal((await status()).faults.faults.length, 1);

  // The verdict column fills from /_mastotape/report (the replayer was given --report).
  await page.waitForFunction(
    () => !["…", ""].includes(document.querySelector('tr[data-client="client 1"] .verdict').textContent),
    { timeout: 10000 });

  const text = await page.evaluate(() => document.documentElement.outerHTML);
  assert.ok(!text.includes(token), "the page never shows the token");
  assert.deepEqual(problems, []);
  await page.close();
  await client.close();
});

test("another web page cannot drive the replayer, however it asks", async () => {
  // Before: a GET, an OPTIONS or a no-cors POST from any page added faults, and every answer said
  // Access-Control-Allow-Origin: *. The other page here is another origin of the same machine
  // (localhost rather than 127.0.0.1), as a page of any site would be.
  const before = (await status()).faults;
  const page = await chromium.browser.newPage();
  await page.goto(base.replace("127.0.0.1", "localhost") + "/_mastotape/", { waitUntil: "load" });
  const attempts = await page.evaluate(async (target) => {
    const out = [];
    for (const init of [{ mode: "no-cors" }, { method: "POST", mode: "no-cors" },
                        { method: "POST" }, { method: "OPTIONS" }]) {
      try {
        const res = await fetch(target + "/_mastotape/faults?add=refuse%3D3", init);
        out.push(res.type === "opaque" ? "opaque" : String(res.status));
      } catch (e) {
        out.push("blocked");  // CORS: the answer is not this page's to read
      }
    }
    try {
      await (await fetch(target + "/_mastotape/status")).json();
      out.push("read the status");
    } catch (e) {
      out.push("could not read");
    }
    return out;
  }, base);
  assert.equal(attempts.at(-1), "could not read", `attempts: ${attempts}`);
  const after = (await status()).faults;
  assert.equal(after.refuse_remaining, before.refuse_remaining, `attempts: ${attempts}`);
  assert.deepEqual(after.faults, before.faults);
  await page.close();
});

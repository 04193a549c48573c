// `mastotape plot` in a real browser: the SVG and the HTML page of a fixture with gaps.
// Environment: MASTOTAPE (the binary), MASTOTAPE_FIXTURES (fixtures/).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { clickMiddle, inkedShare, launchChromium, watchPage } from "./chromium.mjs";

const mastotape = process.env.MASTOTAPE;
const fixtures = process.env.MASTOTAPE_FIXTURES;
const dir = mkdtempSync(join(tmpdir(), "mastotape-plot-"));
const db = join(dir, "t.db");
const run = (...args) => execFileSync(mastotape, [...args, "--db", db], { encoding: "utf8" });

let chromium;
let tape;  // the session's records, from `export`
before(async () => {
  run("import", join(fixtures, "user-gaps.jsonl"));
  run("plot", "-o", join(dir, "gaps.svg"));
  run("plot", "-o", join(dir, "gaps.html"));
  run("plot", "-o", join(dir, "binned.html", ), "--max-frames", "10", "--bins", "20");
  const records = run("export").split("\n").filter((l) => l).map((l) => JSON.parse(l));
  tape = {
    gaps: records.filter((r) => r.type === "gap"),
    connections: records.filter((r) => r.type === "connection"),
    backfill: records.filter((r) => r.type === "backfill"),
    frames: records.filter((r) => r.type === "frame"),
  };
  assert.ok(tape.gaps.length >= 2 && tape.backfill.length > 0, "the fixture has gaps and backfill");
  chromium = await launchChromium();
});
after(async () => {
  await chromium?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(file) {
  const page = await chromium.browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  const problems = watchPage(page);
  await page.goto(pathToFileURL(join(dir, file)).href, { waitUntil: "load" });
  return { page, problems };
}

const failedAttempts = () => tape.connections.filter((c) => c.handshake_offset_ns === null);

test("the SVG draws one band per gap, one bar or mark per connection, and is not blank", async () => {
  const text = readFileSync(join(dir, "gaps.svg"), "utf8");
  assert.doesNotMatch(text, /<script|href=|url\((?!#)/, "no scripts and no external assets");
  assert.match(text, /viewBox="0 0 1200 \d+"/);
  const { page, problems } = await open("gaps.svg");
  const shot = await page.screenshot();
  assert.ok(await inkedShare(chromium.browser, shot) > 0.03, "the screenshot has a picture");

  const gaps = await page.$$eval("g.gap", (gs) => gs.map((g) => g.querySelector("text").textContent));
  assert.equal(gaps.length, tape.gaps.length);
  tape.gaps.forEach((g, i) => {
    assert.ok(gaps[i].startsWith(g.cause + " · "), gaps[i]);
    const items = tape.backfill.filter((b) => b.gap === g.idx).length;
    assert.ok(gaps[i].includes(items + " backfilled"), gaps[i]);
  });
  const bars = await page.$$eval("g.conn .end-label", (ls) => ls.map((l) => l.textContent));
  const marks = await page.$$eval("rect.attempt", (rs) => rs.length);
  assert.equal(bars.length + marks, tape.connections.length);
  assert.equal(marks, failedAttempts().length);
  const ended = tape.connections.filter((c) => c.handshake_offset_ns !== null);
  ended.forEach((c, i) => assert.ok(bars[i].startsWith(c.end_cause), bars[i] + " / " + c.end_cause));
  const frames = await page.$$eval("line.frame", (ls) => ls.length);
  assert.equal(frames, tape.frames.length, "a short session shows single frames");
  assert.deepEqual(problems, []);
  await page.close();
});

test("the HTML page answers a click on a gap with its backfilled ids, and zooms", async () => {
  const { page, problems } = await open("gaps.html");
  assert.ok(await inkedShare(chromium.browser, await page.screenshot()) > 0.03);
  assert.equal(await page.$$eval("#plot g.gap", (gs) => gs.length), tape.gaps.length);

  for (const g of tape.gaps) {
    await clickMiddle(page, `g.gap[data-gap="${g.idx}"] text`);
    const listed = await page.$$eval("#panel .backfill-list tr td:nth-child(2)",
                                     (tds) => tds.map((td) => td.textContent));
    const expected = tape.backfill.filter((b) => b.gap === g.idx).map((b) => b.id);
    assert.deepEqual(listed, expected, "gap " + g.idx);
  }

  // A frame: its bytes, pretty-printed.
  const f = tape.frames.find((fr) => fr.kind === "event");
  const index = tape.frames.indexOf(f);
  await clickMiddle(page, `line.frame[data-frame="${index}"]`);
  const shown = await page.$eval("#panel pre.frame-json", (p) => p.textContent);
  assert.deepEqual(JSON.parse(shown), JSON.parse(f.text));

  // A connection: its handshake.
  await clickMiddle(page, 'g.conn[data-conn="0"] rect');
  const rows = await page.$$eval("#panel table.handshake tr", (trs) => trs.map((tr) => tr.textContent));
  assert.ok(rows.some((r) => r.startsWith("URL" + tape.connections[0].url)), rows.join("|"));

  // Zoom in with the button and the wheel; the first gap's band moves and widens.
  const before = await page.$eval('g.gap[data-gap="0"] rect', (r) => [+r.getAttribute("x"), +r.getAttribute("width")]);
  await page.click("#zoom-in");
  const { view, length } = await page.evaluate(() => ({ view: { ...window.mastotapePlot.view },
                                                        length: window.mastotapePlot.data.length_ns }));
  assert.equal(view.t1 - view.t0, length / 2, JSON.stringify(view));
  await page.mouse.move(700, 400);
  await page.mouse.wheel({ deltaY: -300 });
  // The wheel's handler runs on the page's time: wait for its layout.
  await page.waitForFunction((w) => +document.querySelector('g.gap[data-gap="0"] rect').getAttribute("width") > w * 2.1,
                             { timeout: 5000 }, before[1]);
  const zoomed = await page.$eval('g.gap[data-gap="0"] rect', (r) => [+r.getAttribute("x"), +r.getAttribute("width")]);
  assert.notDeepEqual(zoomed, before);
  assert.ok(zoomed[1] > before[1] * 2, `${zoomed} vs ${before}`);
  const ticks = await page.$$eval("#time-axis text", (ts) => ts.map((t) => t.textContent));
  assert.ok(ticks.length >= 2, ticks.join(" "));
  await page.click("#zoom-reset");
  const reset = await page.$eval('g.gap[data-gap="0"] rect', (r) => [+r.getAttribute("x"), +r.getAttribute("width")]);
  assert.deepEqual(reset.map(Math.round), before.map(Math.round));
  assert.deepEqual(problems, []);
  await page.close();
});

test("a binned page shows a bin's counts and its first event when clicked", async () => {
  const { page, problems } = await open("binned.html");
  assert.equal(await page.$$eval("line.frame", (ls) => ls.length), 0, "binned: no single frames");
  const bins = await page.evaluate(() => window.mastotapePlot.data.bins);
  const busiest = bins.reduce((a, b, i) => (b.total > bins[a].total ? i : a), 0);
  await clickMiddle(page, `g.bin[data-bin="${busiest}"] rect`);
  const counts = await page.$$eval("#panel table.bin-counts tr td:nth-child(2)",
                                   (tds) => tds.map((td) => Number(td.textContent)));
  assert.equal(counts.reduce((a, b) => a + b, 0), bins[busiest].total);
  const sample = await page.$eval("#panel pre.frame-json", (p) => p.textContent);
  assert.ok(JSON.parse(sample).event, "the bin's first event");
  assert.deepEqual(problems, []);
  await page.close();
});

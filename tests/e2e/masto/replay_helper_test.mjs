// The Node helper (tools/integrations/node, installed here with npm from the repository) under
// node:test, with masto.js: the clock, the control API, the final report, and a crash that fails
// the test with the replayer's output.
// Usage: node --test replay_helper_test.mjs (MASTOTAPE and MASTOTAPE_FIXTURES in the environment)
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createRestAPIClient, createStreamingAPIClient } from "masto";
import { ReplayError, startReplay, withReplay } from "mastotape-replay";

const fixtures = process.env.MASTOTAPE_FIXTURES;
const frames = (name) =>
  readFileSync(`${fixtures}/${name}`, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l))
    .filter((r) => r.type === "frame");

async function eventually(done, ms = 20000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

test("masto.js gets the first event when the virtual clock reaches it", async (t) => {
  const [first] = frames("direct.jsonl").filter((f) => f.kind === "event");
  const replay = await startReplay(`${fixtures}/direct.jsonl`);
  t.after(() => replay.stop());
  assert.equal(replay.url, `ws://127.0.0.1:${replay.port}`);
  const masto = createStreamingAPIClient({ streamingApiUrl: replay.url, accessToken: "helper-token" });
  const events = masto.direct.subscribe()[Symbol.asyncIterator]();
  const next = events.next();
  let arrived = false;
  next.then(() => (arrived = true));
  assert.ok(await eventually(async () => (await replay.status()).live_connections === 1));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(arrived, false, "nothing before the clock moves");
  assert.equal(await replay.runTo({ seq: first.seq }), first.offset_ns);
  const { value } = await next;
  assert.equal(value.event, "conversation");
  assert.equal(value.payload.id, first.id);
  masto.close();
  const report = await replay.stop();
  assert.equal(report.clients.length, 1);
  assert.ok(report.clients[0].items.available >= 1);
  await assert.rejects(replay.status(), /stopped/);
});

test("the control client refuses with the API's reason", async () => {
  await withReplay(`${fixtures}/direct.jsonl`, { faults: ["drop-after=2"] }, async (replay) => {
    assert.equal((await replay.control("faults")).faults.length, 1);
    await replay.addFault("slow=1000");
    assert.equal((await replay.control("faults")).faults.length, 2);
    assert.deepEqual((await replay.clearFaults()).faults, []);
    await assert.rejects(replay.addFault("no-such-fault"), (e) => e instanceof ReplayError && /400/.test(e.message));
    await assert.rejects(replay.runTo({}), TypeError);
    assert.equal((await replay.pause()).paused, true);
    assert.equal((await replay.resume()).paused, false);
  });
  await withReplay(`${fixtures}/direct.jsonl`, { clock: "realtime" }, async (replay) => {
    await assert.rejects(replay.advance(10), /the clock is not virtual/);
  });
});

test("a tape it cannot play fails at start with the replayer's own words", async () => {
  const dir = mkdtempSync(join(tmpdir(), "helper-test-"));
  try {
    const broken = join(dir, "broken.jsonl");
    writeFileSync(broken, '{"mastotape":"tape","version":1}\nnot json\n');
    await assert.rejects(startReplay(broken), (e) =>
      e instanceof ReplayError && e.message.includes("did not start") && e.message.includes(broken));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a replayer that crashed fails stop() with its exit and its output", async () => {
  const replay = await startReplay(`${fixtures}/direct.jsonl`, { clock: "max-speed" });
  process.kill(replay.pid, "SIGKILL");
  await assert.rejects(replay.stop(), (e) =>
    e instanceof ReplayError && /killed by SIGKILL/.test(e.message) && /listening ws:\/\/127\.0\.0\.1:/.test(e.message));
});

test("a bot's requests are journaled, judged and stubbed", async () => {
  await withReplay(`${fixtures}/direct.jsonl`, {}, async (replay) => {
    await replay.setStubs([{ name: "lists", request: { method: "GET", path: "/api/v1/lists" },
      response: { json: [{ id: "7", title: "friends" }] } }]);
    await replay.expect({ name: "reads its lists", request: { path: "/api/v1/lists" }, at_least: 1 },
      { never: { method: "DELETE" } });
    const rest = createRestAPIClient({ url: replay.httpUrl, accessToken: "helper-bot-token" });
    assert.equal((await rest.v1.accounts.verifyCredentials()).acct, "mastotape_bot");
    assert.deepEqual(await rest.v1.lists.list(), [{ id: "7", title: "friends" }]);
    const journal = await replay.requests();
    assert.deepEqual(journal.map((r) => [r.path, r.stub]),
      [["/api/v1/accounts/verify_credentials", null], ["/api/v1/lists", "lists"]]);
    assert.ok(journal.every((r) => !(r.query + r.body).includes("helper-bot-token")));
    assert.deepEqual((await replay.expectations()).map((x) => x.met), [true, true]);
    await assert.rejects(replay.expect({ nevr: {} }), (e) => e instanceof ReplayError && /unknown key/.test(e.message));
    await replay.expect({ name: "no lists at all", request: { path: "/api/v1/lists" }, at_most: 0 });
    const report = await replay.stop();
    assert.deepEqual(report.expectations.map((x) => [x.name, x.met]),
      [["reads its lists", true], ["never DELETE", true], ["no lists at all", false]]);
    assert.equal(report.requests.length, 2);
  });
});

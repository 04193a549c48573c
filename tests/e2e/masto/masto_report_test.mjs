// What masto.js 7.12.0 does after a drop, as `replay --report` tells it: the user-gaps fixture
// with an extra drop after the 5th event. masto.js reconnects by itself, each time, 1 s later (20 s
// of tape at --speed 20: later than the recording did, so it loses what the stream carried
// meanwhile, as from a real server), but never asks REST for what it missed, so the report names
// every item of the gaps as missed and why.
// Usage: node masto_report_test.mjs MASTOTAPE_BINARY FIXTURES_DIR
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createStreamingAPIClient } from "masto";

const [binary, fixtures] = process.argv.slice(2);
// The items only the recording's backfill has: published while its connection was down.
const records = readFileSync(`${fixtures}/user-gaps.jsonl`, "utf8")
  .split("\n")
  .filter((l) => l.length > 0)
  .map((l) => JSON.parse(l));
const backfilledOnly = records
  .filter((r) => r.type === "backfill" && !r.already_streamed)
  .map((r) => `${r.endpoint === "/api/v1/notifications" ? "notification" : "update"} ${r.id}`);
// The report is read live from /_mastotape/report; its file goes to a scratch folder.
const scratch = mkdtempSync(join(tmpdir(), "mastotape-masto-report-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
const replay = spawn(binary, ["replay", `${fixtures}/user-gaps.jsonl`, "--speed", "20",
  "--fault", "drop-after=5", "--report", join(scratch, "report.json")], { stdio: ["ignore", "pipe", "inherit"] });
const url = await new Promise((resolve, reject) => {
  const lines = createInterface({ input: replay.stdout });
  lines.on("line", (line) => line.startsWith("listening ") && resolve(line.slice(10)));
  replay.on("exit", () => reject(new Error("the replayer exited")));
});
const http = url.replace("ws://", "http://");
const get = async (path) => (await fetch(http + path)).json();

const masto = createStreamingAPIClient({ streamingApiUrl: url, accessToken: "masto-token" });
const subscription = masto.user.subscribe();
(async () => {
  for await (const _ of subscription);
})();

// Until the client has played the tape to its end (60 s at most).
const deadline = Date.now() + 60000;
let finished = false;
while (!finished && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 200));
  finished = (await get("/_mastotape/status")).clients.some((c) => c.finished);
}
const report = await get("/_mastotape/report");
masto.close();
replay.kill("SIGTERM");

let passed = 0;
let failed = 0;
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  ok ? passed++ : failed++;
};
const client = report.clients[0];
console.log(client.verdict);
for (const f of client.findings) console.log(`  ${f.reason}: ${f.advice}`);
check(finished, "masto.js played the tape to its end");
const ends = client.connections.map((c) => c.ended_by);
check(JSON.stringify(ends) === JSON.stringify(["fault", "tape", "tape"]),
  `it reconnected after the fault's drop and after the recorded silence (${JSON.stringify(ends)})`);
check(client.connections.slice(1).every((c) => c.reconnect_delay_s >= 0.9),
  "each time after the 1 s its backoff starts with");
check(client.rest_requests.length === 0, "it asked REST for nothing");
const missed = new Set(client.missed.map((m) => `${m.event} ${m.id}`));
check(backfilledOnly.length === 6 && backfilledOnly.every((item) => missed.has(item)),
  `it missed every item published while the recording was away (${backfilledOnly.length})`);
const reasons = [...new Set(client.findings.map((f) => f.reason))].sort();
check(JSON.stringify(reasons) === JSON.stringify(["a delete comes only on the stream", "never asked over REST"]),
  `each missed item: never asked over REST, or a delete only the stream had (${reasons})`);
const firstReconnect = Math.min(...records
  .filter((r) => r.type === "connection" && r.http_status === 101 && r.idx > 0)
  .map((r) => r.handshake_offset_ns));
const late = client.missed.filter((m) => !backfilledOnly.includes(`${m.event} ${m.id}`));
check(late.every((m) => m.where.includes("while away")) && late.some((m) => m.offset_ns > firstReconnect),
  `and what the stream carried while it was away, after the drop and after the recorded reconnects (${late.length})`);
check(client.connections[1].silence_noticed_after_s === null,
  "it never noticed the recorded silence: no watchdog of its own");
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

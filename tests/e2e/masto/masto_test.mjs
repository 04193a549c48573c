// masto.js 7.12.0 against the replayer: multiplexed `subscribe`, the token as the WebSocket
// subprotocol, and the client's own reconnect through the tape's disconnects, at --max-speed
// (client-paced: a gap lasts until it reconnects, so it loses nothing of the stream).
// Usage: node masto_test.mjs MASTOTAPE_BINARY FIXTURES_DIR
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { createStreamingAPIClient } from "masto";

const [binary, fixtures] = process.argv.slice(2);
const fixture = `${fixtures}/user-gaps.jsonl`;
const expected = readFileSync(fixture, "utf8")
  .split("\n")
  .filter((l) => l.length > 0)
  .map((l) => JSON.parse(l))
  .filter((r) => r.type === "frame" && r.kind === "event")
  .map((r) => ({ event: r.event, id: r.id }));

const replay = spawn(binary, ["replay", fixture, "--max-speed"], { stdio: ["ignore", "pipe", "inherit"] });
const url = await new Promise((resolve, reject) => {
  const lines = createInterface({ input: replay.stdout });
  lines.on("line", (line) => line.startsWith("listening ") && resolve(line.slice(10)));
  replay.on("exit", () => reject(new Error("the replayer exited")));
});

const masto = createStreamingAPIClient({ streamingApiUrl: url, accessToken: "masto-token" });
const subscription = masto.user.subscribe();
const got = [];
// A client that stops receiving must fail the test, not hang it.
const deadline = setTimeout(() => {
  console.log(`FAIL timed out after 60 s with ${got.length} of ${expected.length} events`);
  const missing = expected.filter((e) => !got.some((g) => g.event === e.event && g.id === e.id));
  console.log(`missing: ${JSON.stringify(missing)}`);
  console.log("0 passed, 1 failed");
  replay.kill("SIGKILL");
  process.exit(1);
}, 60000);
for await (const e of subscription) {
  // delete and announcement.delete carry a bare id; masto.js parses "1" payloads into numbers.
  const id = typeof e.payload === "object" && e.payload !== null
    ? (e.event === "announcement.reaction" ? e.payload.announcementId : e.payload.id)
    : (e.event === "notifications_merged" ? undefined : String(e.payload));
  got.push({ event: e.event, id });
  if (got.length === expected.length) break;
}
clearTimeout(deadline);
masto.close();
replay.kill("SIGTERM");

let passed = 0;
let failed = 0;
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  ok ? passed++ : failed++;
};
check(got.length === expected.length, `every event arrives through two disconnects (${got.length} of ${expected.length})`);
check(JSON.stringify(got.map((g) => g.event)) === JSON.stringify(expected.map((e) => e.event)), "event names in order");
check(JSON.stringify(got.map((g) => g.id)) === JSON.stringify(expected.map((e) => e.id)), "object ids in order");
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

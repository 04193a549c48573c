// Questions across many tapes with DuckDB (tools/integrations/duckdb/questions.mjs), checked
// against `mastotape stats`: three synthesized tapes of a few hours each (other seeds, other
// mixes, gaps), exported to JSONL as the README says, asked how many events of each type came
// each hour, the longest gaps, and the statuses by language; the answers must add up to what
// stats counts on each tape. Run twice: the same answers.
// Usage: node duckdb_test.mjs MASTOTAPE_BINARY
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ask } from "../../tools/integrations/duckdb/questions.mjs";

const [binary] = process.argv.slice(2);
const scratch = mkdtempSync(join(tmpdir(), "mastotape-duckdb-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
let failed = 0;
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failed++;
};
const run = (...args) => execFileSync(binary, args, { encoding: "utf8", maxBuffer: 1 << 28 });

const tapes = [
  ["1", "0.2", "update,delete,notification", "reset"],
  ["2", "0.1", "update,status.update", "reset,heartbeat-timeout"],
  ["3", "0.3", "update,notification", "reset"],
];
const files = [];
const stats = [];
for (const [seed, rate, mix, ends] of tapes) {
  const db = join(scratch, `tape-${seed}.db`);
  run("synth", "--db", db, "--seed", seed, "--rate", rate, "--duration", "10800", "--mix", mix,
    "--connection-ends", ends, "-q");
  const jsonl = join(scratch, `tape-${seed}.jsonl`);
  writeFileSync(jsonl, run("export", "--db", db));
  files.push(jsonl);
  stats.push(JSON.parse(run("stats", "--db", db, "--json")));
}

const answers = await ask(files);
const sum = (rows, key) => rows.reduce((n, r) => n + r[key], 0);

// Events per hour and type add up to each type's count over the tapes.
const byType = {};
for (const s of stats) {
  for (const [event, n] of Object.entries(s.events_by_type)) byType[event] = (byType[event] ?? 0) + n;
}
const asked = {};
for (const r of answers.eventsPerHour) asked[r.event] = (asked[r.event] ?? 0) + r.events;
check(JSON.stringify(Object.entries(asked).sort()) === JSON.stringify(Object.entries(byType).sort()),
  `events per hour add up to stats' events by type (${JSON.stringify(byType)})`);
const hours = new Set(answers.eventsPerHour.map((r) => r.hour));
check(hours.size >= 3, `three hours of tape are three or more hours (${[...hours].join(", ")})`);

// The longest gap is stats' longest; each tape's gaps are there (up to ten).
const longest = Math.max(...stats.map((s) => s.gaps.longest_ns)) / 1e9;
check(answers.longestGaps.length > 0 && Math.abs(answers.longestGaps[0].seconds - longest) < 1e-9,
  `the longest gap is stats' longest (${longest} s)`);
const gaps = stats.reduce((n, s) => n + s.gaps.count, 0);
check(answers.longestGaps.length === Math.min(10, gaps), `${Math.min(10, gaps)} gaps listed of ${gaps}`);
check(answers.longestGaps.every((g, i) => i === 0 || g.seconds <= answers.longestGaps[i - 1].seconds),
  "longest first");

// Every status is counted once, under its language.
check(sum(answers.statusesByLanguage, "statuses") === byType.update,
  `statuses by language add up to the updates (${byType.update})`);
check(answers.statusesByLanguage.every((r) => /^[a-z]{2}$/.test(r.language)),
  `each under its ISO 639-1 code (${answers.statusesByLanguage.map((r) => r.language).join(", ")})`);

check(JSON.stringify(await ask(files)) === JSON.stringify(answers), "asked again: the same answers");
console.log(failed ? `FAILED: ${failed}` : "passed");
process.exit(failed ? 1 : 0);

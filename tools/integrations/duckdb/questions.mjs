// Questions across many tapes, asked with DuckDB of their JSONL exports, one file per tape
// (`mastotape export --db TAPE.db > TAPE.jsonl`): how many events of each type came each hour,
// the longest gaps, and how many statuses in each language. An engine made for this, not a
// home-made one: the same SQL runs over one file, a month of rotated tapes, or a bucket of them.
//
// Usage: node questions.mjs [--json] EXPORT.jsonl...
//   prints the three answers as tables (--json: one JSON document).
// From a program: import { ask } from "./questions.mjs"; await ask(files).
import { DuckDBInstance } from "@duckdb/node-api";
import { pathToFileURL } from "node:url";

// The records of every file: a header line (the session) and records with a `type`.
const records = (files) =>
  `read_json([${files.map((f) => `'${f.replaceAll("'", "''")}'`).join(", ")}],
     format = 'newline_delimited', union_by_name = true, filename = true,
     maximum_object_size = 268435456)`;

// An event's payload: inside a WebSocket frame's JSON, or after an SSE block's `data: `.
const payload = `CASE WHEN starts_with(text, '{') THEN json_extract_string(text, '$.payload')
                      ELSE regexp_extract(text, 'data: ([^\\n]*)', 1) END`;

export const questions = {
  eventsPerHour: (from) => `
    SELECT strftime(date_trunc('hour', to_timestamp(wall_ns / 1e9)), '%Y-%m-%dT%H:00Z') AS hour,
           event, count(*) AS events
    FROM ${from} WHERE type = 'frame' AND kind = 'event'
    GROUP BY ALL ORDER BY hour, event`,
  longestGaps: (from) => `
    SELECT filename AS file, idx AS gap, cause,
           (end_offset_ns - start_offset_ns) / 1e9 AS seconds
    FROM ${from} WHERE type = 'gap' AND end_offset_ns IS NOT NULL
    ORDER BY seconds DESC, file, gap LIMIT 10`,
  statusesByLanguage: (from) => `
    SELECT coalesce(json_extract_string(${payload}, '$.language'), '(none)') AS language,
           count(*) AS statuses
    FROM ${from} WHERE type = 'frame' AND kind = 'event' AND event = 'update'
    GROUP BY ALL ORDER BY statuses DESC, language`,
};

// The answers for `files`: { eventsPerHour: [{hour, event, events}], longestGaps: [...],
// statusesByLanguage: [...] }, counts as numbers.
export async function ask(files) {
  if (files.length === 0) throw new Error("no files to ask: give JSONL exports of tapes");
  const db = await DuckDBInstance.create(":memory:");
  const connection = await db.connect();
  try {
    await connection.run(`CREATE VIEW records AS SELECT * FROM ${records(files)}`);
    const answers = {};
    for (const [name, sql] of Object.entries(questions)) {
      const reader = await connection.runAndReadAll(sql("records"));
      answers[name] = reader.getRowObjectsJson().map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) =>
          [k, typeof v === "string" && /^\d+(\.\d+)?$/.test(v) && k !== "hour" ? Number(v) : v])));
    }
    return answers;
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const json = args[0] === "--json";
  const files = json ? args.slice(1) : args;
  try {
    const answers = await ask(files);
    if (json) {
      console.log(JSON.stringify(answers, null, 2));
    } else {
      for (const [name, rows] of Object.entries(answers)) {
        console.log(`\n${name}`);
        console.table(rows);
      }
    }
  } catch (e) {
    console.error(`questions.mjs: ${e.message.split("\n")[0]}`);
    process.exit(1);
  }
}

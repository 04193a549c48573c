// What a user would write instead of mastotape: the `ws` client and better-sqlite3.
//
// Usage: node recorder.mjs URL DB COUNT each|batched
//
// Reads COUNT messages from URL (token in the query) and stores each with its receive time:
// `each` runs one INSERT per message (autocommit), `batched` 1,000 rows a transaction. Same
// pragmas as the Python one (WAL, synchronous=NORMAL). Prints
// {"what":"node_recorder","mode":M,"messages":N,"seconds":S,"per_s":R}.
import Database from 'better-sqlite3';
import WebSocket from 'ws';

const [url, path, countArg, mode] = process.argv.slice(2);
const count = Number(countArg);
if (!url || !path || !(count > 0) || !['each', 'batched'].includes(mode)) {
  console.error('usage: node recorder.mjs URL DB COUNT each|batched');
  process.exit(2);
}

const db = new Database(path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE IF NOT EXISTS frames (seq INTEGER PRIMARY KEY, t REAL, bytes TEXT)');
const insert = db.prepare('INSERT INTO frames VALUES (?, ?, ?)');
const insertMany = db.transaction((rows) => {
  for (const r of rows) insert.run(r);
});

let got = 0;
let rows = [];
const t0 = performance.now();
const ws = new WebSocket(url, { maxPayload: 0 });

function finish() {
  if (rows.length > 0) insertMany(rows);
  db.close();
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ what: 'node_recorder', mode, messages: got,
    seconds: Math.round(seconds * 1e4) / 1e4, per_s: Math.round(got / seconds) }));
  process.exit(got > 0 ? 0 : 1);
}

ws.on('message', (data) => {
  got += 1;
  const row = [got, performance.now(), data.toString()];
  if (mode === 'each') {
    insert.run(row);
  } else {
    rows.push(row);
    if (rows.length === 1000) {
      insertMany(rows);
      rows = [];
    }
  }
  if (got >= count) {
    ws.terminate();
    finish();
  }
});
ws.on('close', finish);
ws.on('error', (e) => {
  console.error(`node recorder: ${e.message}`);
  process.exit(1);
});

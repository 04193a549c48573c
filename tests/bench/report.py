#!/usr/bin/python3
"""Turns tests/bench/run.sh's results (JSON lines) into tests/bench/RESULTS.md: the machine, the method, and
every figure as min / median / max over the runs, with the ratios against the raw limits measured
in the same run."""
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone

rows = [json.loads(line) for line in open(sys.argv[1])]
runs = sorted({r["run"] for r in rows if r["run"] > 0})
tape = next(r for r in rows if r["what"] == "tape")
mean = tape["mean_event_bytes"]
stored = tape.get("mean_stored_bytes")  # results from before compact tapes have none


def pick(what, run, **match):
    for r in rows:
        if r["what"] == what and r["run"] == run and all(r.get(k) == v for k, v in match.items()):
            return r
    raise KeyError(f"{what} {match} in run {run}")


def spread(values, fmt="{:,.0f}"):
    values = sorted(values)
    return " / ".join(fmt.format(v) for v in (values[0], statistics.median(values), values[-1]))


def per_run(f):
    return [f(run) for run in runs]


def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


out = []
w = out.append
w("# Benchmark results")
w("")
w(f"Written by `tests/bench/run.sh` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; do not edit by hand.")
w("")
w("## Machine")
w("")
w(f"* CPU: {cpu()}, {os.cpu_count()} cores; kernel {platform.release()}")
mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "?")
w(f"* Memory: {int(mem) // 1024:,} MiB; Debian {open('/etc/debian_version').read().strip()}")
gxx = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
w(f"* Compiler: {gxx}, Release (-O3)")
w("")
w("## Method")
w("")
w(f"One run of `tests/bench/run.sh {tape['events']}` measures everything {len(runs)} times on the same "
  "machine; each figure is min / median / max over the runs, and each ratio is computed within "
  "a run against the raw limits measured in that run, because the machine is shared and "
  "absolute rates drift.")
w("")
w(f"* The tape: `mastotape synth --events {tape['events']:,} --rate 1000 --stream public --mix "
  f"update`: statuses double-encoded as on the wire, mean event frame {mean:,} bytes; tape file "
  f"{tape['tape_bytes'] / tape['events']:,.0f} bytes per event (frames, columns and indexes).")
if stored:
    w(f"  Stored zstd-compressed (the default; the session's own dictionary, trained on its first "
      f"2,000 frames): {stored:,} bytes per event frame on average. The same tape written with "
      f"`--compress none` (what every raw limit sends and inserts): "
      f"{tape['plain_tape_bytes'] / tape['events']:,.0f} bytes per event.")
w("* Raw limits (`tests/bench/raw_limits.cpp`, nothing of mastotape): a bare Beast WebSocket server "
  "writing as fast as it can to a bare Beast client on loopback (padded envelopes of 200 B, 1 KB "
  "and the tape's mean size, and the tape's own first 1,000 event frames over and over: the "
  "ratios use these, since the client's UTF-8 check costs more on real statuses than on padding; "
  "the client reads with blocking calls, the same client that drains the replayer below); bare SQLite inserts of the same "
  "frames into a table with the tape's columns, indexes, page size (16 KB), WAL and "
  "synchronous=NORMAL, 1,000 rows a transaction (and the same into the table alone, without "
  "the indexes); a periodic Asio steady_timer's lateness.")
w("* Recording: `mastotape replay TAPE --max-speed` served to `mastotape record --max-events N "
  "--no-backfill`, wall time from start to exit (connect, every frame classified and stored "
  "with its columns and indexes, final commit); over ws:// and over wss:// (`replay --tls-cert` "
  "with a throwaway CA, `record --cacert`). The replayer and the recorder share the two cores.")
w("* What a user would write instead, against the same replayer: `tests/bench/py_recorder.py` (Debian's "
  "python3-websockets 10.4 and sqlite3, 1,000 rows a transaction) and `tests/bench/node/recorder.mjs` "
  "(Node.js 20, `ws` 8 and better-sqlite3 12 from `tests/bench/node/package-lock.json`; one INSERT per "
  "message, and 1,000 rows a transaction). Each stores the message and its receive time: no "
  "columns, no indexes, no heartbeats, connections or gaps.")
w("* Replay: `raw_limits drain` clients (bare Beast) reading from `mastotape replay --max-speed` "
  f"until it closes: one client on the big tape, 100 clients at once on a tape of "
  f"{tape['events'] // 100:,} events each; each without `--report` and with it (the report's "
  f"bookkeeping on every frame sent, and the report made from the tape at exit, which the peak "
  f"RSS includes).")
w("* Replay timing: `mastotape replay --speed 1` of a 10 s tape of 100 events/s, to 1, 100 and "
  "1,000 clients at once (`raw_limits drain --lean`: one thread that upgrades each connection by "
  "hand and reads them all with epoll, walking the WebSocket frame headers to count messages and "
  "answering pings and the close, without Beast's per-message work, which on two cores took 1.2 "
  "cores for 1,000 clients and starved the replayer); the replayer measures how late each frame was "
  "handed to the socket against its time on the tape and reports p50/p99/max in "
  "`/_mastotape/status`. Its raw limit (`raw_limits fanout`): the bare kernel doing the sends "
  "alone, without mastotape, Asio or WebSocket code: one thread (the replayer has one event loop; "
  "for 1,000 clients also two) sends a frame of the same tape to each of as many loopback TCP "
  "connections every 10 ms, their due times evenly spread, sleeping until the next is due, while "
  "one more thread drains them all with epoll; lateness is each send's start against its due "
  "time, as in the replayer, and the sending threads' CPU time per send is the kernel's cost of "
  "one loopback send.")
w("")
w("## Figures")
w("")
w("| figure | min / median / max |")
w("|---|---|")
if stored:
    w(f"| tape file bytes per event: compressed / plain | "
      f"{tape['tape_bytes'] / tape['events']:,.0f} / {tape['plain_tape_bytes'] / tape['events']:,.0f}"
      f" = {tape['tape_bytes'] / tape['plain_tape_bytes']:.1%} |")
    w(f"| event frame bytes: raw / stored | {mean:,} / {stored:,} = {mean / stored:.1f}x |")
    for fx in (r for r in rows if r["what"] == "fixture"):
        rich = (f"; its {fx['rich_events']} non-ASCII frames of 1,500 B and more: "
                f"{fx['rich_raw'] / fx['rich_stored']:.1f}x" if fx["rich_events"] else "")
        w(f"| fixture {fx['name']}: event frame bytes raw / stored (built-in dictionary) | "
          f"{fx['raw'] / fx['stored']:.1f}x over {fx['events']} events{rich} |")
for size in (200, 1024, mean):
    w(f"| raw: bare Beast WebSocket, {size:,} B messages/s | "
      f"{spread(per_run(lambda r: pick('ws', r, size=size, from_tape=False)['per_s']))} |")
bare_ws = lambda r: pick("ws", r, from_tape=True)["per_s"]
w(f"| raw: bare Beast WebSocket, the tape's event frames, messages/s | {spread(per_run(bare_ws))} |")
w(f"| raw: bare batched SQLite inserts, {mean:,} B rows/s | "
  f"{spread(per_run(lambda r: pick('sqlite', r, indexes=True, size=mean)['per_s']))} |")
if stored:
    w(f"| raw: the same inserts of {stored:,} B rows (the compressed frames' size), rows/s | "
      f"{spread(per_run(lambda r: pick('sqlite', r, indexes=True, size=stored)['per_s']))} |")
w(f"| raw: the same inserts into the table without its indexes, rows/s | "
  f"{spread(per_run(lambda r: pick('sqlite', r, indexes=False)['per_s']))} |")
for period in (1, 10):
    for q in ("p50_us", "p99_us", "max_us"):
        w(f"| raw: Asio timer lateness at {period} ms, {q[:-3]} (µs) | "
          f"{spread(per_run(lambda r: pick('timer', r, period_ms=period)[q]), '{:,.1f}')} |")
w(f"| **record** over ws://: events/s | "
  f"{spread(per_run(lambda r: pick('record', r, scheme='ws')['per_s']))} |")
have_plain_record = any(r["what"] == "record" and r.get("compress") == "none" for r in rows)
if have_plain_record:
    w(f"| record over ws:// with `--compress none`: events/s | "
      f"{spread(per_run(lambda r: pick('record', r, scheme='ws', compress='none')['per_s']))} |")
    w(f"| record compressed / record plain | "
      f"{spread(per_run(lambda r: pick('record', r, scheme='ws')['per_s'] / pick('record', r, scheme='ws', compress='none')['per_s']), '{:.2f}x')} |")
w(f"| **record** over wss:// (TLS): events/s | "
  f"{spread(per_run(lambda r: pick('record', r, scheme='wss')['per_s']))} |")


def record_ratio(r, scheme="ws"):
    limit = min(bare_ws(r), pick("sqlite", r, indexes=True, size=stored or mean)["per_s"])
    return pick("record", r, scheme=scheme)["per_s"] / limit


w(f"| record ws:// / min(bare WebSocket, bare SQLite of rows its size) | {spread(per_run(record_ratio), '{:.2f}x')} |")
w(f"| record wss:// / min(bare WebSocket, bare SQLite of rows its size) | "
  f"{spread(per_run(lambda r: record_ratio(r, 'wss')), '{:.2f}x')} |")
w(f"| python3-websockets + sqlite3 recorder: messages/s | "
  f"{spread(per_run(lambda r: pick('py_recorder', r)['per_s']))} |")
for mode, label in (("each", "one INSERT a message"), ("batched", "1,000 rows a transaction")):
    w(f"| Node.js ws + better-sqlite3 recorder, {label}: messages/s | "
      f"{spread(per_run(lambda r: pick('node_recorder', r, mode=mode)['per_s']))} |")


def best_plain(r):
    return max(pick("py_recorder", r)["per_s"], pick("node_recorder", r, mode="each")["per_s"],
               pick("node_recorder", r, mode="batched")["per_s"])


w(f"| record / Node.js batched recorder | "
  f"{spread(per_run(lambda r: pick('record', r, scheme='ws')['per_s'] / pick('node_recorder', r, mode='batched')['per_s']), '{:.2f}x')} |")
w(f"| record / best plain recorder | "
  f"{spread(per_run(lambda r: pick('record', r, scheme='ws')['per_s'] / best_plain(r)), '{:.1f}x')} |")
w(f"| bare SQLite inserts without indexes / best plain recorder | "
  f"{spread(per_run(lambda r: pick('sqlite', r, indexes=False)['per_s'] / best_plain(r)), '{:.1f}x')} |")
def drain(r, n, report=0, plain=0):
    for row in rows:
        if (row["what"] == "drain" and row["run"] == r and row.get("clients") == n
                and row.get("report", 0) == report and row.get("plain", 0) == plain):
            return row
    raise KeyError(f"drain clients={n} report={report} in run {r}")


have_report = any(row["what"] == "drain" and row.get("report") == 1 for row in rows)
w(f"| **replay** --max-speed to one client: messages/s | "
  f"{spread(per_run(lambda r: drain(r, 1)['per_s']))} |")
w(f"| replay one client / bare Beast server (the tape's frames) | "
  f"{spread(per_run(lambda r: drain(r, 1)['per_s'] / bare_ws(r)), '{:.2f}x')} |")
if any(row["what"] == "drain" and row.get("plain") == 1 for row in rows):
    w(f"| replay --max-speed to one client from the plain tape: messages/s | "
      f"{spread(per_run(lambda r: drain(r, 1, plain=1)['per_s']))} |")
    w(f"| replay one client, compressed tape / plain tape | "
      f"{spread(per_run(lambda r: drain(r, 1)['per_s'] / drain(r, 1, plain=1)['per_s']), '{:.2f}x')} |")
w(f"| replay --max-speed to 100 clients: messages/s, all clients together | "
  f"{spread(per_run(lambda r: drain(r, 100)['per_s']))} |")
for n in ((1, 100) if have_report else ()):
    who = "one client" if n == 1 else "100 clients"
    w(f"| replay --report to {who}: messages/s with / without | "
      f"{spread(per_run(lambda r: drain(r, n, 1)['per_s'] / drain(r, n)['per_s']), '{:.3f}x')} |")
    w(f"| replay --report to {who}: peak RSS with / without (report made at exit included) | "
      f"{spread(per_run(lambda r: drain(r, n, 1)['replay_rss_kib'] / drain(r, n)['replay_rss_kib']), '{:.3f}x')} |")
for n in (1, 100, 1000):
    for q in ("p50_us", "p99_us", "max_us"):
        w(f"| replay --speed 1, {n:,} client{'s' if n > 1 else ''}: send lateness {q[:-3]} (µs) | "
          f"{spread(per_run(lambda r: pick('lateness', r, clients=n)[q]), '{:,.0f}')} |")
fanout = lambda r, n, senders=1: pick("fanout", r, clients=n, senders=senders)
for n in (1, 100, 1000):
    for senders in ((1, 2) if n == 1000 else (1,)):
        threads = "one thread" if senders == 1 else "two threads"
        for q in ("p50_us", "p99_us", "max_us"):
            w(f"| raw: bare fan-out to {n:,} socket{'s' if n > 1 else ''} from {threads}, every "
              f"10 ms: send lateness {q[:-3]} (µs) | "
              f"{spread(per_run(lambda r: fanout(r, n, senders)[q]), '{:,.0f}')} |")
w(f"| raw: bare fan-out to 1,000 sockets, one thread: CPU per send (µs) | "
  f"{spread(per_run(lambda r: fanout(r, 1000)['cpu_us_per_send']), '{:,.1f}')} |")
for n in (1, 100, 1000):
    w(f"| replay --speed 1, {n:,} client{'s' if n > 1 else ''}: p99 lateness / bare fan-out's "
      f"from one thread | "
      f"{spread(per_run(lambda r: pick('lateness', r, clients=n)['p99_us'] / fanout(r, n)['p99_us']), '{:.2f}x')} |")
w(f"| peak RSS of record (MiB) | "
  f"{spread(per_run(lambda r: pick('record', r, scheme='ws')['record_rss_kib'] / 1024), '{:,.1f}')} |")
w(f"| peak RSS of replay (MiB) | "
  f"{spread(per_run(lambda r: pick('record', r, scheme='ws')['replay_rss_kib'] / 1024), '{:,.1f}')} |")
for cmd in ("cut", "redact"):
    t = next((r for r in rows if r["what"] == "transform" and r["command"] == cmd), None)
    if t:
        w(f"| {cmd} of the whole {t['events']:,}-event tape into another tape: seconds, "
          f"events/s, peak RSS (MiB) | {t['seconds']:,.1f} s, {t['events'] / t['seconds']:,.0f}/s, "
          f"{t['rss_kib'] / 1024:,.1f} |")
c = next((r for r in rows if r["what"] == "compact"), None)
if c:
    w(f"| compact of the plain {c['events']:,}-event tape: seconds, events/s, peak RSS (MiB), "
      f"size before -> after | {c['seconds']:,.1f} s, {c['events'] / c['seconds']:,.0f}/s, "
      f"{c['rss_kib'] / 1024:,.1f}, {c['before_bytes'] / 1e6:,.0f} MB -> "
      f"{c['after_bytes'] / 1e6:,.0f} MB ({c['before_bytes'] / c['after_bytes']:.1f}x) |")
w("")
scale_synth = sorted((r for r in rows if r["what"] == "scale_synth"), key=lambda r: r["events"])
if scale_synth:
    def one(what, n):
        return next(r for r in rows if r["what"] == what and r["events"] == n)
    w("## Scale")
    w("")
    w("Measured once, after the runs above: a tape of each size made with `synth` (as above), "
      "recorded over ws:// from `replay --max-speed` (`record --max-events N`), and replayed at "
      "--max-speed to one bare client. Rates should not depend on the tape's size.")
    w("")
    w("| events | synth s | tape bytes/event | record events/s | record peak RSS MiB | "
      "replay messages/s | replay peak RSS MiB |")
    w("|---|---|---|---|---|---|---|")
    for s_ in scale_synth:
        n = s_["events"]
        rec, rep_ = one("scale_record", n), one("scale_replay", n)
        w(f"| {n:,} | {s_['seconds']:,.1f} | {s_['tape_bytes'] / n:,.0f} | {rec['per_s']:,.0f} | "
          f"{rec['record_rss_kib'] / 1024:,.1f} | {rep_['per_s']:,.0f} | "
          f"{rep_['replay_rss_kib'] / 1024:,.1f} |")
    biggest = scale_synth[-1]["events"]
    w("")
    first = next((r for r in rows if r["what"] == "first_frame"), None)
    if first:
        w(f"* Time to first frame on the {biggest:,}-event tape (a new client, TCP connect to its "
          f"first message, {first['count']} clients one after the other): median "
          f"{first['p50_ms']:.2f} ms, max {first['max_ms']:.2f} ms.")
    idle = next((r for r in rows if r["what"] == "idle_clients"), None)
    if idle:
        per = (idle["rss_after_kib"] - idle["rss_before_kib"]) / idle["clients"]
        w(f"* Memory per idle client: {idle['clients']:,} clients connected to a `--virtual-clock` "
          f"replay of that tape (nothing plays): RSS {idle['rss_before_kib'] / 1024:,.1f} MiB "
          f"before, {idle['rss_after_kib'] / 1024:,.1f} MiB with them, {per:,.1f} KiB each.")
    for r in rows:
        if r["what"] == "inspect":
            w(f"* `mastotape {r['command']}` on that tape: {r['seconds']:,.2f} s.")
    w("")
# The hand-written part: the targets, the profiles and what changed (tests/bench/profile.md).
profile = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profile.md")
if os.path.exists(profile):
    w(open(profile).read().rstrip())
    w("")
print("\n".join(out))

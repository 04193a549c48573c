#!/usr/bin/env bash
# Measures mastotape against this machine's raw limits, in one run, and writes tests/bench/RESULTS.md.
# Usage: tests/bench/run.sh [EVENTS]        (default 1,000,000; RUNS=3 repeats each figure)
# Not part of the test suite. Needs the build dependencies, python3-websockets, and Node.js with
# npm (the Node.js recorder's packages come from tests/bench/node/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
events=${1:-1000000}
runs=${RUNS:-3}
clients=100
ulimit -n 8192  # 1,000 clients at once, and the replayer's side of each

echo "== building (Release, with the benchmarks)"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DMASTOTAPE_BENCH=ON \
    -DMASTOTAPE_TESTS=OFF > /dev/null
cmake --build build-release -j "$(nproc)" --target mastotape raw_limits > /dev/null
bin=$PWD/build-release/mastotape
raw=$PWD/build-release/raw_limits
if [[ ! -e tests/bench/node/node_modules/better-sqlite3/build/Release/better_sqlite3.node ]]; then
    echo "== installing the Node.js recorder's packages (npm ci, builds better-sqlite3)"
    (cd tests/bench/node && npm ci --no-audit --no-fund > /dev/null)
fi

work=$(mktemp -d "${BENCH_TMP:-/tmp}/mastotape-bench.XXXXXX")
replay_pid=
cleanup() {
    if [[ -n $replay_pid ]]; then
        pkill -TERM -P "$replay_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
results=$work/results.jsonl
: > "$results"

# Seconds from $1 to $2 (date +%s.%N), for JSON.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# Appends a JSON object (from stdin) with the run number and any KEY=VALUE given (numbers stay
# numbers).
note() {
    /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
r["run"] = int(sys.argv[1])
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    r[k] = int(v) if v.isdigit() else v
print(json.dumps(r))' "$@" >> "$results"
}

# A throwaway CA and a certificate for 127.0.0.1 it signed, for the wss:// figures.
( cd "$work" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
      -out ca.pem -days 2 -subj '/CN=mastotape bench CA' &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key \
      -out server.csr -subj '/CN=127.0.0.1' &&
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > ext.cnf &&
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
      -days 2 -extfile ext.cnf ) > /dev/null 2>&1

# Starts `mastotape replay TAPE --max-speed --exit-when-done [EXTRA...]`, peak RSS to $1; sets
# $port. EXTRA `--speed X`: that clock instead, and it stays up (to be asked for its status);
# EXTRA `--no-exit`: --max-speed, and it stays up.
start_replay() {
    local rss_file=$1 tape=$2
    shift 2
    local clock=(--max-speed --exit-when-done) extra=()
    for a in "$@"; do
        case $a in
            --no-exit) clock=(--max-speed) ;;
            --speed) clock=() && extra+=("$a") ;;
            *) extra+=("$a") ;;
        esac
    done
    rm -f "$work/port"
    /usr/bin/time -f '%M' -o "$rss_file" "$bin" replay "$tape" "${clock[@]}" \
        --idle-timeout 60 --port-file "$work/port" "${extra[@]}" > /dev/null 2>&1 &
    replay_pid=$!
    while [[ ! -s $work/port ]]; do sleep 0.05; done
    port=$(cat "$work/port")
}
# Waits for the replayer to exit by itself (it does once every client has played the whole tape),
# and stops it after 2 s otherwise (a recorder that stopped at its event count before the tape's
# last heartbeat). $replay_pid is /usr/bin/time; the replayer is its child.
finish_replay() {
    for _ in $(seq 40); do
        kill -0 "$replay_pid" 2>/dev/null || break
        sleep 0.05
    done
    pkill -TERM -P "$replay_pid" 2>/dev/null || true
    wait "$replay_pid" || true
    replay_pid=
}

# Records TAPE's EVENTS events from `mastotape replay TAPE --max-speed` over SCHEME (ws or wss)
# into $work/rec.db, stored as COMPRESS (default zstd); prints the figures as JSON.
record_from() {
    local tape=$1 count=$2 scheme=$3 compress=${4:-zstd}
    local trust=()
    if [[ $scheme == wss ]]; then
        start_replay "$work/replay.rss" "$tape" --tls-cert "$work/server.pem" \
            --tls-key "$work/server.key"
        trust=(--cacert "$work/ca.pem")
    else
        start_replay "$work/replay.rss" "$tape"
    fi
    rm -f "$work"/rec.db*
    local t0 t1
    t0=$(date +%s.%N)
    ACCESS_TOKEN=bench /usr/bin/time -f '%M' -o "$work/record.rss" "$bin" record \
        "$scheme://127.0.0.1:$port" --db "$work/rec.db" --stream public \
        --max-events "$count" --no-backfill --no-discovery --compress "$compress" -q \
        "${trust[@]}"
    t1=$(date +%s.%N)
    finish_replay
    "$bin" sessions --db "$work/rec.db" --json | /usr/bin/python3 -c '
import json, sys
events = json.load(sys.stdin)[0]["events"]
t0, t1, rec, rep = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(json.dumps({"what": "record", "scheme": sys.argv[5], "compress": sys.argv[6],
                  "events": events, "seconds": t1 - t0, "per_s": events / (t1 - t0),
                  "record_rss_kib": rec, "replay_rss_kib": rep}))' \
        "$t0" "$t1" "$(cat "$work/record.rss")" "$(cat "$work/replay.rss")" "$scheme" "$compress"
}

echo "== synthesizing the tapes: $events events, and $((events / clients)) for $clients clients"
"$bin" synth --db "$work/tape.db" --events "$events" --rate 1000 --stream public \
    --mix update -q
"$bin" synth --db "$work/small.db" --events "$((events / clients))" --rate 1000 --stream public \
    --mix update -q
# The same tape stored plain (--compress none): the size compression is measured against, and
# the frames the raw limits send and insert as they are.
"$bin" synth --db "$work/plain.db" --events "$events" --rate 1000 --stream public \
    --mix update --compress none -q
# A firehose of 100 events/s for 10 s, played in real time for the send-lateness figures (and
# plain, for the bare fan-out's frames).
"$bin" synth --db "$work/firehose.db" --events 1000 --rate 100 --stream public --mix update -q
"$bin" synth --db "$work/firehose-plain.db" --events 1000 --rate 100 --stream public \
    --mix update --compress none -q
read -r mean stored < <(/usr/bin/python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(*(int(v) for v in db.execute("SELECT avg(length), avg(length(bytes)) FROM frames WHERE kind = ?",
                                   ("event",)).fetchone()))' "$work/tape.db")
tape_bytes=$(stat -c %s "$work/tape.db")
plain_bytes=$(stat -c %s "$work/plain.db")
echo "{\"what\":\"tape\",\"events\":$events,\"mean_event_bytes\":$mean,\"mean_stored_bytes\":$stored,\"tape_bytes\":$tape_bytes,\"plain_tape_bytes\":$plain_bytes}" | note 0
# The fixtures (small sessions: the built-in dictionary only): stored / raw bytes of their event
# frames, and of the most realistic of them (non-ASCII text, 1,500 bytes and more).
for f in fixtures/*.jsonl; do
    name=$(basename "$f" .jsonl)
    rm -f "$work/fixture.db"*
    "$bin" import "$f" --db "$work/fixture.db" > /dev/null
    /usr/bin/python3 - "$f" "$work/fixture.db" "$name" <<'PY' | note 0
import json, sqlite3, sys
texts = {}
for line in open(sys.argv[1], encoding="utf-8").read().split("\n"):
    if line:
        r = json.loads(line)
        if r.get("type") == "frame" and "text" in r:
            texts[r["seq"]] = r["text"]
db = sqlite3.connect(sys.argv[2])
rows = db.execute("SELECT seq, length, length(bytes) FROM frames WHERE kind = 'event'").fetchall()
rich = [r for r in rows if any(ord(c) > 127 for c in texts.get(r[0], "")) and r[1] >= 1500]
print(json.dumps({"what": "fixture", "name": sys.argv[3], "events": len(rows),
                  "raw": sum(r[1] for r in rows), "stored": sum(r[2] for r in rows),
                  "rich_events": len(rich), "rich_raw": sum(r[1] for r in rich),
                  "rich_stored": sum(r[2] for r in rich)}))
PY
done

for run in $(seq "$runs"); do
    echo "== run $run of $runs"
    for size in 200 1024 "$mean"; do
        "$raw" ws "$events" "$size" | note "$run"
    done
    # The tape's own event frames (the client's UTF-8 check costs what it costs on the tape).
    "$raw" ws "$events" "$mean" "$work/plain.db" | note "$run"
    "$raw" sqlite "$events" "$mean" "$work/bare.db" | note "$run"
    rm -f "$work"/bare.db*
    "$raw" sqlite "$events" "$mean" "$work/bare.db" --table-only | note "$run"
    rm -f "$work"/bare.db*
    # The same inserts of rows the size the tape's compressed frames are.
    "$raw" sqlite "$events" "$stored" "$work/bare.db" | note "$run" stored=1
    rm -f "$work"/bare.db*
    "$raw" timer 1 2000 | note "$run"
    "$raw" timer 10 300 | note "$run"

    # Recording: mastotape record against the replayer at full speed, complete tape; over ws://
    # and over wss:// (the replayer's certificate trusted with --cacert).
    for scheme in ws wss; do
        record_from "$work/tape.db" "$events" "$scheme" | note "$run"
    done
    record_from "$work/tape.db" "$events" ws none | note "$run"

    # What a user would write instead: python3-websockets + sqlite3.
    start_replay "$work/replay.rss" "$work/tape.db"
    rm -f "$work"/py.db*
    /usr/bin/python3 tests/bench/py_recorder.py \
        "ws://127.0.0.1:$port/api/v1/streaming?stream=public&access_token=bench" \
        "$work/py.db" "$events" | note "$run"
    finish_replay
    # ... and Node.js: ws + better-sqlite3@12, one INSERT per message, then batched.
    for mode in each batched; do
        start_replay "$work/replay.rss" "$work/tape.db"
        rm -f "$work"/node.db*
        node tests/bench/node/recorder.mjs \
            "ws://127.0.0.1:$port/api/v1/streaming?stream=public&access_token=bench" \
            "$work/node.db" "$events" "$mode" | note "$run"
        finish_replay
    done

    # Replay throughput: one bare client, then $clients at once; each without --report and with
    # it (the report's bookkeeping on every frame, and the report made at exit).
    for report in 0 1; do
        flags=()
        ((report)) && flags=(--report "$work/report.json")
        for n in 1 "$clients"; do
            tape=$work/tape.db
            ((n > 1)) && tape=$work/small.db
            start_replay "$work/replay.rss" "$tape" "${flags[@]}"
            "$raw" drain "ws://127.0.0.1:$port" "$n" > "$work/drain.json"
            finish_replay
            note "$run" report="$report" replay_rss_kib="$(cat "$work/replay.rss")" \
                < "$work/drain.json"
        done
    done
    # The plain tape to one client: what decompressing each frame costs the replayer.
    start_replay "$work/replay.rss" "$work/plain.db"
    "$raw" drain "ws://127.0.0.1:$port" 1 > "$work/drain.json"
    finish_replay
    note "$run" plain=1 replay_rss_kib="$(cat "$work/replay.rss")" < "$work/drain.json"

    # Send lateness at --speed 1: 1, 100 and 1,000 clients play the firehose tape at once; the
    # replayer's /_mastotape/status has how late each frame went out against its tape time. The
    # clients are raw_limits' lean ones (one epoll thread): 1,000 Beast clients took 1.2 of the
    # two cores and starved the replayer they were measuring.
    for n in 1 100 1000; do
        start_replay "$work/replay.rss" "$work/firehose.db" --speed 1
        "$raw" drain "ws://127.0.0.1:$port" "$n" --lean > /dev/null
        /usr/bin/python3 -c '
import json, sys, urllib.request
url = "http://127.0.0.1:%s/_mastotape/status" % sys.argv[1]
print(json.dumps(json.load(urllib.request.urlopen(url))["lateness"]))' "$port" |
            note "$run" what=lateness clients="$n"
        finish_replay
        # The raw limit beside it: the bare kernel sending the same frames to as many loopback
        # sockets on the same schedule, from one thread like the replayer's event loop (and for
        # 1,000, from two).
        "$raw" fanout "$n" 10 5 1 "$work/firehose-plain.db" | note "$run"
        if (( n == 1000 )); then
            "$raw" fanout "$n" 10 5 2 "$work/firehose-plain.db" | note "$run"
        fi
    done
done

# cut and redact, once, of the whole big tape into another tape: they stream through it, so
# their peak RSS must not grow with it.
for cmd in cut redact; do
    rm -f "$work/$cmd.db"*
    flags=()
    [[ $cmd == cut ]] && flags=(--from 0)
    t0=$(date +%s.%N)
    /usr/bin/time -f '%M' -o "$work/$cmd.rss" "$bin" "$cmd" --db "$work/tape.db" "${flags[@]}" \
        --out "$work/$cmd.db" -q > /dev/null 2>&1
    t1=$(date +%s.%N)
    echo "{\"what\":\"transform\",\"command\":\"$cmd\",\"events\":$events,\"seconds\":$(elapsed "$t0" "$t1"),\"rss_kib\":$(cat "$work/$cmd.rss")}" | note 0
    rm -f "$work/$cmd.db"*
done

# compact, once: the plain tape rewritten compressed (streamed: its peak RSS must stay flat).
rm -f "$work"/compact.db*
t0=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$work/compact.rss" "$bin" compact --db "$work/plain.db" \
    "$work/compact.db" -q
t1=$(date +%s.%N)
echo "{\"what\":\"compact\",\"events\":$events,\"seconds\":$(elapsed "$t0" "$t1"),\"rss_kib\":$(cat "$work/compact.rss"),\"before_bytes\":$(stat -c %s "$work/plain.db"),\"after_bytes\":$(stat -c %s "$work/compact.db")}" | note 0
rm -f "$work"/compact.db* "$work"/plain.db*

# Scale, once: the cost curve from 10^4 events up to SCALE_MAX (default 10^7), and on the
# biggest tape memory, time to first frame, memory per idle client and the inspection commands.
# A 10^7-event tape is ~22 GB, and synth writes it as one transaction (a WAL as big again).
rm -f "$work"/tape.db* "$work"/small.db* "$work"/rec.db* "$work"/py.db* "$work"/node.db*
scale_max=${SCALE_MAX:-10000000}
n=10000
while (( n <= scale_max )); do
    echo "== scale: $n events"
    rm -f "$work"/scale.db*
    t0=$(date +%s.%N)
    "$bin" synth --db "$work/scale.db" --events "$n" --rate 1000 --stream public --mix update -q
    t1=$(date +%s.%N)
    echo "{\"what\":\"scale_synth\",\"events\":$n,\"seconds\":$(elapsed "$t0" "$t1"),\"tape_bytes\":$(stat -c %s "$work/scale.db")}" | note 0
    record_from "$work/scale.db" "$n" ws | note 0 what=scale_record
    rm -f "$work"/rec.db*
    start_replay "$work/replay.rss" "$work/scale.db"
    "$raw" drain "ws://127.0.0.1:$port" 1 > "$work/scale_replay.json"
    finish_replay
    note 0 what=scale_replay events="$n" replay_rss_kib="$(cat "$work/replay.rss")" \
        < "$work/scale_replay.json"
    if (( n * 10 > scale_max )); then
        # New clients, one by one, each to its first frame (--max-speed: no wait on the tape).
        start_replay "$work/replay.rss" "$work/scale.db" --no-exit
        "$raw" first "ws://127.0.0.1:$port" 20 | note 0
        finish_replay
        # Memory per idle client: 1,000 clients connected to a paused (virtual) clock.
        rm -f "$work/port"
        "$bin" replay "$work/scale.db" --virtual-clock --port-file "$work/port" > /dev/null 2>&1 &
        vpid=$!
        while [[ ! -s $work/port ]]; do sleep 0.05; done
        port=$(cat "$work/port")
        rss0=$(awk '/VmRSS/ {print $2}' "/proc/$vpid/status")
        "$raw" hold "ws://127.0.0.1:$port" 1000 4 > /dev/null &
        hold_pid=$!
        sleep 3
        rss1=$(awk '/VmRSS/ {print $2}' "/proc/$vpid/status")
        wait "$hold_pid"
        kill -TERM "$vpid"
        wait "$vpid" || true
        echo "{\"what\":\"idle_clients\",\"clients\":1000,\"rss_before_kib\":$rss0,\"rss_after_kib\":$rss1}" | note 0
        for cmd in sessions "stats 1"; do
            read -ra words <<< "$cmd"
            t0=$(date +%s.%N)
            "$bin" "${words[@]}" --db "$work/scale.db" > /dev/null
            t1=$(date +%s.%N)
            echo "{\"what\":\"inspect\",\"command\":\"$cmd\",\"events\":$n,\"seconds\":$(elapsed "$t0" "$t1")}" | note 0
        done
    fi
    n=$((n * 10))
done
rm -f "$work"/scale.db*

cp "$results" tests/bench/results.jsonl
/usr/bin/python3 tests/bench/report.py tests/bench/results.jsonl > tests/bench/RESULTS.md
echo "== wrote tests/bench/RESULTS.md"

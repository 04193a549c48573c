#!/usr/bin/env bash
# Compares two builds of mastotape on one tape, alternating, so that the shared machine's drift
# falls on both alike: each version's replayer at --max-speed feeding the same version's recorder
# (events/s), then each replayer at --max-speed to one bare client (messages/s).
# Usage: tests/bench/ab.sh OLD_MASTOTAPE NEW_MASTOTAPE RAW_LIMITS [EVENTS]   (RUNS=3 pairs of each)
# Builds nothing: point it at two Release builds (e.g. git worktree + cmake -DMASTOTAPE_BENCH=ON).
set -euo pipefail
if (($# < 3)); then
    sed -n '2,6p' "$0" >&2
    exit 2
fi
old=$1 new=$2 raw=$3 events=${4:-300000} runs=${RUNS:-3}
work=$(mktemp -d "${BENCH_TMP:-/tmp}/mastotape-ab.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$new" synth --db "$work/tape.db" --events "$events" --rate 1000 --stream public --mix update -q

# Starts BIN's replayer on the tape (it exits once its one client has had everything); sets $port.
start_replay() {
    rm -f "$work/port"
    "$1" replay "$work/tape.db" --max-speed --exit-when-done --idle-timeout 60 \
        --port-file "$work/port" > /dev/null 2>&1 &
    while [[ ! -s $work/port ]]; do sleep 0.05; done
    port=$(cat "$work/port")
}

record_rate() {
    start_replay "$1"
    rm -f "$work"/rec.db*
    local t0 t1
    t0=$(date +%s.%N)
    ACCESS_TOKEN=bench "$1" record "ws://127.0.0.1:$port" --db "$work/rec.db" --stream public \
        --max-events "$events" --no-backfill --no-discovery -q
    t1=$(date +%s.%N)
    wait
    awk -v a="$t0" -v b="$t1" -v n="$events" 'BEGIN { printf "%.0f", n / (b - a) }'
}

replay_rate() {
    start_replay "$1"
    "$raw" drain "ws://127.0.0.1:$port" 1 2> /dev/null | tail -1 |
        /usr/bin/python3 -c 'import json, sys; print(round(json.load(sys.stdin)["per_s"]))'
    wait
}

for i in $(seq "$runs"); do
    echo "record events/s, pair $i: old $(record_rate "$old") new $(record_rate "$new")"
done
for i in $(seq "$runs"); do
    echo "replay messages/s, pair $i: old $(replay_rate "$old") new $(replay_rate "$new")"
done

#!/usr/bin/env bash
# wscat 6.1.0 (npm) against the replayer, as a user would try it from a shell.
# Usage: tests/e2e/wscat_test.sh MASTOTAPE_BINARY FIXTURES_DIR WSCAT
set -euo pipefail
bin=$1
fixtures=$2
wscat=$3
tmp=$(mktemp -d)
replay_pid=
cleanup() {
    if [[ -n $replay_pid ]]; then
        kill "$replay_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "wscat_test: $*" >&2
    exit 1
}

# Starts the replayer on a fixture at 50x and sets $port.
replay() {
    "$bin" replay "$fixtures/$1" --speed 50 --port-file "$tmp/port" >/dev/null 2>&1 &
    replay_pid=$!
    for _ in $(seq 100); do
        [[ -s $tmp/port ]] && break
        sleep 0.05
    done
    port=$(cat "$tmp/port")
    rm -f "$tmp/port"
}

# The exact text of the fixture's event frames, one per line, optionally of one stream label.
events_of() {
    /usr/bin/python3 - "$fixtures/$1" "${2:-}" <<'EOF'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if r.get("type") == "frame" and r["kind"] == "event" and (not sys.argv[2] or r["stream"] == json.loads(sys.argv[2])):
        print(r["text"])
EOF
}

# 1. One stream in the query, token in the query (the seed's way): every event, byte for byte.
replay public-deletes-edits.jsonl
sleep 5 | timeout 60 "$wscat" --no-color -c \
    "ws://127.0.0.1:$port/api/v1/streaming?stream=public&access_token=tok" >"$tmp/query.out" 2>&1 ||
    fail "wscat failed: $(tail -n 3 "$tmp/query.out")"
kill "$replay_pid"
replay_pid=
grep '^{' "$tmp/query.out" >"$tmp/query.got" || true
events_of public-deletes-edits.jsonl >"$tmp/query.want"
cmp -s "$tmp/query.got" "$tmp/query.want" ||
    fail "query stream: got $(wc -l <"$tmp/query.got") events, want $(wc -l <"$tmp/query.want")"

# 2. No query, token as the subprotocol, streams chosen with subscribe frames typed on stdin:
#    only public:local events arrive, and the unknown stream gets the server's error frame.
replay multiplexed.jsonl
(
    sleep 0.5
    echo '{"type":"subscribe","stream":"public:local"}'
    echo '{"type":"subscribe","stream":"public:nope"}'
    sleep 4
) | timeout 60 "$wscat" --no-color -s tok -c "ws://127.0.0.1:$port/api/v1/streaming" \
    >"$tmp/multi.out" 2>&1 || fail "wscat failed: $(tail -n 3 "$tmp/multi.out")"
grep -q '{"error":"Unknown stream type","status":400}' "$tmp/multi.out" ||
    fail "no error frame for the unknown stream"
grep '^{"stream"' "$tmp/multi.out" >"$tmp/multi.got" || true
events_of multiplexed.jsonl '["public:local"]' >"$tmp/multi.want"
[[ -s $tmp/multi.want ]] || fail "the fixture has no public:local events"
cmp -s "$tmp/multi.got" "$tmp/multi.want" ||
    fail "subscribe: got $(wc -l <"$tmp/multi.got") public:local events, want $(wc -l <"$tmp/multi.want")"

echo "wscat: $(wc -l <"$tmp/query.got") events by query stream, $(wc -l <"$tmp/multi.got") by subscribe, byte for byte"

#!/usr/bin/env bash
# The first thing to run. Builds mastotape (Release), replays a bundled fixture (a user stream with
# a dropped connection and a heartbeat timeout, each followed by REST backfill) at ten times its
# speed, records that replay into demo.db as it would record a real instance, and shows the new
# session and the `diff` verdict against the fixture. Installs missing Debian packages when run as
# root. About 20 s after the build; leaves demo.db behind and nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=tools/packages.sh
source tools/packages.sh
install_packages build
echo "== building (Release)"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DMASTOTAPE_TESTS=OFF > /dev/null
cmake --build build-release -j "$(nproc)" --target mastotape > /dev/null
bin=build-release/mastotape
fixture=fixtures/user-gaps.jsonl
speed=10
rm -f demo.db demo.db-wal demo.db-shm

tmp=$(mktemp -d)
replay_pid=
cleanup() {
    [[ -n $replay_pid ]] && kill "$replay_pid" 2>/dev/null && wait "$replay_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "== replaying $fixture at ${speed}x (the last connection held open)"
"$bin" replay "$fixture" --speed "$speed" --hold --port-file "$tmp/port" 2> "$tmp/replay.log" &
replay_pid=$!
for _ in $(seq 100); do
    [[ -s $tmp/port ]] && break
    sleep 0.05
done
[[ -s $tmp/port ]] || { cat "$tmp/replay.log"; exit 1; }
port=$(cat "$tmp/port")

# The fixture is 145 s long, holds 40 events, and its recorder gave up on a silent connection
# after 75 s and reconnected with the default backoff (1 s first): at 10x, 14.5 s, 7.5 s and
# 0.1 s. The replayer keeps the tape's schedule: a client back later than the recorder was loses
# what the server streamed meanwhile, as from a real server. At 10x the recorded server was back
# 1.2 s (0.12 s here) before the recorded reconnect, so this recorder retries every 50 ms at most.
# The recording stops at the fixture's last event (--duration only guards against a hang): a
# fixed duration raced the reconnects' random backoff and cut the last frames off.
echo "== recording it into demo.db, as from a real server (disconnects, backfill and all)"
ACCESS_TOKEN=demo-token "$bin" record "ws://127.0.0.1:$port" --db demo.db --stream user \
    --heartbeat-timeout 7.5 --backoff-start 0.05 --backoff-cap 0.05 --max-events 40 --duration 60 \
    --label demo
echo
"$bin" sessions --db demo.db
echo
"$bin" stats --db demo.db
echo
echo "== diff against the fixture (frame times scaled by ${speed})"
"$bin" diff "$fixture" demo.db --time-scale "$speed"
echo
echo "To record a real instance: make a token with the read scope, then"
echo "  ACCESS_TOKEN=... $bin record mastodon.social --stream user   # Ctrl-C to stop"

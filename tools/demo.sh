#!/usr/bin/env bash
# The first thing to run: builds mastotape (Release), writes a realistic session into a fresh tape
# and shows it. Installs missing Debian packages when run as root. Leaves demo.db behind.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! dpkg-query -W -f='${Status}' libsqlitecpp-dev 2>/dev/null | grep -q "install ok installed"; then
    echo "== installing build dependencies"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        build-essential cmake libboost1.81-dev libssl-dev libsqlite3-dev libsqlitecpp-dev \
        nlohmann-json3-dev libsimdjson-dev libcli11-dev catch2
fi
echo "== building (Release)"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DMASTOTAPE_TESTS=OFF > /dev/null
cmake --build build-release -j "$(nproc)" --target mastotape > /dev/null
bin=build-release/mastotape
rm -f demo.db demo.db-wal demo.db-shm

echo "== a synthesized user stream with two disconnects and backfill"
"$bin" synth --db demo.db --stream user --events 2000 --rate 20 \
    --connection-ends eof,heartbeat-timeout --label demo
echo
"$bin" sessions --db demo.db
echo
"$bin" stats --db demo.db
echo
echo "== its connections and gaps"
"$bin" show --db demo.db --kind connection --kind gap
"$bin" verify --db demo.db

#!/usr/bin/env bash
# Regenerates fixtures/*.jsonl from `mastotape synth`, deterministically (fixed seeds).
# Usage: tools/make_fixtures.sh [MASTOTAPE_BINARY] [OUT_DIR]
set -euo pipefail
bin=${1:-build/mastotape}
out=${2:-fixtures}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

make_one() {
    local name=$1
    shift
    "$bin" synth --db "$tmp/$name.db" -q --label "$name" "$@"
    "$bin" export --db "$tmp/$name.db" -o "$out/$name.jsonl" 2>/dev/null
}

make_one user-gaps --seed 11 --stream user --events 40 --rate 0.5 \
    --connection-ends eof,heartbeat-timeout
make_one hashtag-sse --seed 12 --transport sse --stream hashtag=rust --events 40 --rate 0.5
make_one multiplexed --seed 13 --stream user --stream public:local --stream hashtag=rust \
    --error-frame --events 40 --rate 0.5
make_one public-deletes-edits --seed 14 --stream public --mix update,delete,status.update \
    --events 50 --rate 1
make_one direct --seed 15 --stream direct --events 15 --rate 0.2

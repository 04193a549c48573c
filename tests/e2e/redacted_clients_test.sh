#!/usr/bin/env bash
# Redacted fixtures played to real clients (issue 19): user-gaps to masto.js and hashtag-sse to
# Mastodon.py, each redacted by `mastotape redact` and exported, then run through the same
# client tests as the fixtures themselves: every event arrives, parsed, in order.
# Usage: tests/e2e/redacted_clients_test.sh MASTOTAPE_BINARY FIXTURES_DIR MASTO_DIR
set -euo pipefail
bin=$1
fixtures=$2
masto=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for name in user-gaps hashtag-sse; do
    "$bin" import "$fixtures/$name.jsonl" --db "$tmp/$name.db" > /dev/null
    "$bin" redact --db "$tmp/$name.db" --seed 3 -q 2> "$tmp/$name.redact"
    grep -q "(0 unparsable" "$tmp/$name.redact" || { cat "$tmp/$name.redact" >&2; exit 1; }
    "$bin" export 2 --db "$tmp/$name.db" -o "$tmp/$name.jsonl" 2> /dev/null
    if grep -q "example.social" "$tmp/$name.jsonl"; then
        echo "redacted_clients_test: $name still names its instance" >&2
        exit 1
    fi
done
(cd "$masto" && node masto_test.mjs "$bin" "$tmp")
/usr/bin/python3 "$here/mastodon_py_test.py" "$bin" "$tmp"

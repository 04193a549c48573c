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

for name in user-gaps hashtag-sse direct multiplexed public-deletes-edits; do
    "$bin" import "$fixtures/$name.jsonl" --db "$tmp/$name.db" > /dev/null
    "$bin" redact --db "$tmp/$name.db" --seed 3 -q 2> "$tmp/$name.redact"
    grep -q "(0 unparsable" "$tmp/$name.redact" || { cat "$tmp/$name.redact" >&2; exit 1; }
    "$bin" export 2 --db "$tmp/$name.db" -o "$tmp/$name.jsonl" 2> /dev/null
done
# No original host anywhere, no original username or acct on any account of any payload.
/usr/bin/python3 - "$fixtures" "$tmp" <<'PY'
import json, sys
fixtures, out = sys.argv[1], sys.argv[2]
names = ("user-gaps", "hashtag-sse", "direct", "multiplexed", "public-deletes-edits")

def accounts(path):
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        if r.get("type") != "frame" or r.get("kind") != "event":
            continue
        text = r.get("text", "")
        payload = json.loads(text)["payload"] if text.startswith("{") else text.split("data: ", 1)[1]
        try:
            stack = [json.loads(payload)]
        except ValueError:
            continue
        while stack:
            v = stack.pop()
            if isinstance(v, dict):
                if "username" in v and "acct" in v:
                    yield v
                stack.extend(v.values())
            elif isinstance(v, list):
                stack.extend(v)

for name in names:
    before = list(accounts(f"{fixtures}/{name}.jsonl"))
    users = {a["username"].lower() for a in before}
    hosts = {a["acct"].split("@")[1].lower() for a in before if "@" in a["acct"]} | {"example.social"}
    redacted = open(f"{out}/{name}.jsonl", encoding="utf-8").read().lower()
    leaks = [h for h in hosts if h in redacted]
    leaks += [a["acct"] for a in accounts(f"{out}/{name}.jsonl")
              if a["username"].lower() in users or a["acct"].split("@")[0].lower() in users]
    if leaks or not before:
        sys.exit(f"redacted_clients_test: {name}: left {sorted(set(leaks))}")
PY
(cd "$masto" && node masto_test.mjs "$bin" "$tmp")
/usr/bin/python3 "$here/mastodon_py_test.py" "$bin" "$tmp"

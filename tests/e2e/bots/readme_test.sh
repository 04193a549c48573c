#!/usr/bin/env bash
# The README's "Testing a bot" commands as written: in a scratch folder that has the checkout's
# tests/ and the binary under test as build-release/mastotape, the block's first half (the bot)
# must end with the replayer's exit 0, the second (the bot with its planted bug) with 1 and the
# line naming the missed mention. The block's `wait $!` is the replayer's exit code.
# Usage: readme_test.sh MASTOTAPE_BINARY SOURCE_DIR
set -euo pipefail
binary=$(realpath "$1")
source_dir=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/build-release"
ln -s "$binary" "$work/build-release/mastotape"
ln -s "$source_dir/tests" "$work/tests"

awk '
    index($0, "<!-- tested: tests/e2e/bots/readme_test.sh") { want = 1; next }
    want && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$source_dir/README.md" > "$work/block.sh"
# The halves: up to the first empty line (with the PATH line), and the rest (after it).
head -n "$(grep -n '^$' "$work/block.sh" | head -1 | cut -d: -f1)" "$work/block.sh" > "$work/first.sh"
{ head -1 "$work/block.sh"; sed -n "$(grep -n '^$' "$work/block.sh" | head -1 | cut -d: -f1),\$p" \
    "$work/block.sh"; } > "$work/second.sh"
if ! grep -q "reply_bot.py" "$work/first.sh" || ! grep -q -- "--ignore-backfill" "$work/second.sh"; then
    echo "FAILED: the README's bot block is not as this test expects:" >&2
    cat "$work/block.sh" >&2
    exit 1
fi

failures=0
cd "$work"
set +e
timeout 180 bash first.sh > first.out 2>&1
first=$?
timeout 180 bash second.sh > second.out 2>&1
second=$?
set -e
if [[ $first -ne 0 ]]; then
    echo "FAILED: the bot's replay exited $first, not 0:" >&2
    cat first.out >&2
    failures=$((failures + 1))
fi
if [[ $second -ne 1 ]] || ! grep -q "expectation unmet: replies to every mention: 1 unmet" second.out ||
    ! grep -q "only in the recorded backfill" second.out; then
    echo "FAILED: the buggy bot's replay exited $second, not 1 with its missed mention named:" >&2
    cat second.out >&2
    failures=$((failures + 1))
fi
# The README shows the line it prints: the same tape gives the same ids.
if ! grep -qF "$(grep -o 'in_reply_to_id=[0-9]*' second.out | head -1)" "$source_dir/README.md"; then
    echo "FAILED: the README's sample line is not what the replayer says:" >&2
    grep "expectation unmet" second.out >&2
    failures=$((failures + 1))
fi
[[ $failures -eq 0 ]] && echo "passed: the README's bot commands, as written"
exit "$failures"

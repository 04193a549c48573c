#!/usr/bin/env bash
# The README's CI recipe, its last step run as written in a scratch project laid out as the
# recipe's (tests/fixtures/timeline.jsonl, a package.json whose `npm test` is a masto.js bot that
# reads the events it wants, checks them and exits): the replayer must exit by itself, with the
# bot's verdict, well before the recipe's --timeout.
# Usage: ci_recipe_test.sh MASTOTAPE_BINARY SOURCE_DIR
set -euo pipefail
tests_dir=$(cd "$(dirname "$0")/.." && pwd)
binary=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The `run: |` block of the step named "Test the bot against a recorded session".
step=$(awk '
    /- name: Test the bot against a recorded session/ { found = 1; next }
    found && /run: \|/ { inside = 1; next }
    inside && /^```/ { exit }
    inside && /^      - name:/ { exit }
    inside { sub(/^          /, ""); print }' "$source_dir/README.md")
[[ -n $step ]] || { echo "FAILED: no recipe step in the README" >&2; exit 1; }

mkdir -p "$work/project/tests/fixtures"
cd "$work/project"
cp "$source_dir/fixtures/direct.jsonl" tests/fixtures/timeline.jsonl
ln -s "$source_dir/tests/e2e/masto/node_modules" node_modules
cat > package.json <<'JSON'
{ "name": "a-bot", "private": true, "type": "module", "scripts": { "test": "node bot_test.mjs" } }
JSON
cat > bot_test.mjs <<'JS'
// The bot's test: its direct messages arrive, then it leaves.
import { createStreamingAPIClient } from "masto";
const masto = createStreamingAPIClient({ streamingApiUrl: process.env.STREAMING_URL, accessToken: "ci" });
let seen = 0;
for await (const event of masto.direct.subscribe()) {
  if (event.event !== "conversation") throw new Error(`unexpected ${event.event}`);
  if (++seen === 15) break;
}
masto.close();
console.log(`the bot saw ${seen} conversations`);
process.exit(0);
JS

# The recipe's build directory, $MT, holds the binary (the job's env sets it).
MT=$(dirname "$binary")
export MT
start=$SECONDS
status=0
timeout 300 bash -e -c "$step" > recipe.log 2>&1 || status=$?
took=$((SECONDS - start))
cat recipe.log
# shellcheck source=tests/check.sh
source "$tests_dir/check.sh"
check "the recipe's step exits 0 (it exited $status)" test "$status" -eq 0
check "the step ends by itself, well inside its --timeout (it took $took s)" test "$took" -lt 120
check "the bot's test ran to its end" grep -q "the bot saw 15 conversations" recipe.log
check "the report says the bot missed nothing" grep -Eq '"missed": ?0' report.json
check "the JUnit file is written" grep -q '<testsuite name="mastotape replay"' mastotape.xml
echo "recipe finished by itself in $took s"
checks_done

#!/usr/bin/env bash
# The pytest plugin as a user gets it on Debian 12: installed by the command the READMEs give, run
# as written from the top of a checkout (a copy of tools/integrations/python in a scratch folder, since
# pip builds beside the sources), then its tests in tests/e2e/python and the READMEs' pytest
# examples, as written, against the mastotape binary given.
# Usage: pytest_plugin_test.sh MASTOTAPE_BINARY SOURCE_DIR
set -euo pipefail
binary=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The block after each README's "tested: tests/e2e/pytest_plugin_test.sh runs this KIND" marker.
blocks() { # blocks FILE KIND
    awk -v kind="$2" '
        index($0, "<!-- tested: tests/e2e/pytest_plugin_test.sh runs this " kind) { want = 1; next }
        want && /^```/ { if (inside) { want = 0; inside = 0; n++; print "\0" } else inside = 1; next }
        inside { print }' "$1"
}
commands=()
examples=0
for readme in README.md tools/integrations/python/README.md; do
    mapfile -t -d '' found < <(blocks "$source_dir/$readme" command)
    [[ ${#found[@]} -ge 1 ]] || { echo "FAILED: $readme has no tested install command" >&2; exit 1; }
    commands+=("${found[0]}")
    mapfile -t -d '' tests < <(blocks "$source_dir/$readme" test)
    [[ ${#tests[@]} -ge 1 ]] || { echo "FAILED: $readme has no tested pytest example" >&2; exit 1; }
    for t in "${tests[@]}"; do
        mkdir -p "$work/examples"
        examples=$((examples + 1))
        printf '%s' "$t" > "$work/examples/test_readme_$examples.py"
    done
done
[[ ${commands[0]} == "${commands[1]}" ]] || { echo "FAILED: the READMEs' install commands differ" >&2; exit 1; }

mkdir -p "$work/checkout/tools/integrations"
cp -r "$source_dir/tools/integrations/python" "$work/checkout/tools/integrations/python"
ln -s "$source_dir/fixtures" "$work/checkout/fixtures"
cd "$work/checkout"
echo "+ ${commands[0]}"
# Debian's python3 first, as on a Debian machine (this one may have another on its PATH).
PATH=/usr/bin:$PATH bash -euo pipefail -c "${commands[0]}" > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
export PYTHONDONTWRITEBYTECODE=1  # nothing written into the source tree
"$work/checkout/.venv/bin/python" -m pytest -q -p no:cacheprovider "$work/examples" \
    --mastotape-binary "$binary" --rootdir "$work/examples"
exec "$work/checkout/.venv/bin/python" -m pytest -q -p no:cacheprovider "$source_dir/tests/e2e/python" \
    --mastotape-binary "$binary" --rootdir "$source_dir/tests/e2e/python"

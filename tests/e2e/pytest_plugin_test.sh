#!/usr/bin/env bash
# The pytest plugin as a user gets it: installed with pip from integrations/python into a virtual
# environment (Debian's Python, with its python3-mastodon and python3-pytest), then its tests in
# tests/e2e/python run against the mastotape binary given.
# Usage: pytest_plugin_test.sh MASTOTAPE_BINARY SOURCE_DIR
set -euo pipefail
binary=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
# A copy: building writes build/ and *.egg-info beside the sources. Offline here, so the build
# uses the setuptools already installed instead of fetching one (`pip install ./integrations/python`
# does the same with a registry in reach).
cp -r "$source_dir/integrations/python" "$work/package"
"$work/venv/bin/pip" install --quiet --no-build-isolation --no-index --no-deps "$work/package" \
    > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
cd "$work"
export PYTHONDONTWRITEBYTECODE=1  # nothing written into the source tree
exec "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$source_dir/tests/e2e/python" \
    --mastotape-binary "$binary" --rootdir "$source_dir/tests/e2e/python"

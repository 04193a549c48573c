#!/usr/bin/env bash
# Writes mastotape(1) and mastotape-SUBCOMMAND(1), gzipped as Debian ships them, from the binary's
# own CLI definition (`mastotape completion man [SUB]`: synopsis, options, examples, exit status,
# files), so they cannot drift from it (the build runs this; `cmake --install` installs them).
# With COMPLETION_FILE, also writes the bash completion there (`mastotape completion bash`).
# Usage: tools/make_man_pages.sh MASTOTAPE_BINARY OUT_DIR [COMPLETION_FILE]
set -euo pipefail
bin=$1
out=$2
mkdir -p "$out"
if [[ -n ${3:-} ]]; then
    mkdir -p "$(dirname "$3")"
    "$bin" completion bash > "$3"
fi
# Into a file first, then gzip (-n: no name or time inside, so the pages are reproducible).
"$bin" completion man > "$out/mastotape.1"
gzip -9nf "$out/mastotape.1"
for sub in $("$bin" completion subcommands); do
    "$bin" completion man "$sub" > "$out/mastotape-$sub.1"
    gzip -9nf "$out/mastotape-$sub.1"
done

#!/usr/bin/env bash
# Writes mastotape(1) and mastotape-SUBCOMMAND(1) man pages from the binary's own `--help`, so
# they cannot drift from it (the build runs this; `cmake --install` installs them).
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
version=$("$bin" --version | awk 'NR == 1')

# Roff of --help text, kept as it is laid out: backslashes escaped, a leading . or ' made text.
roff_of() {
    sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

page() {
    local name=$1 title=$2 summary=$3
    shift 3
    {
        echo ".TH ${title^^} 1 \"\" \"$version\" \"User Commands\""
        echo ".SH NAME"
        echo "$name \\- $summary"
        echo ".SH SYNOPSIS"
        echo ".B ${name/-/ }"
        echo "[OPTIONS]"
        echo ".SH DESCRIPTION"
        echo ".nf"
        COLUMNS=80 "$bin" "$@" --help | roff_of
        echo ".fi"
        echo ".SH SEE ALSO"
        if [[ $name == mastotape ]]; then
            "$bin" completion subcommands | sed 's/.*/.BR mastotape-& (1),/' | sed '$ s/,$//'
        else
            echo ".BR mastotape (1)"
        fi
    } > "$out/$name.1"
}

page mastotape mastotape "record Mastodon streaming sessions into tapes and replay them"
for sub in $("$bin" completion subcommands); do
    summary=$(COLUMNS=1000 "$bin" "$sub" --help | awk 'NR == 1' | roff_of)
    page "mastotape-$sub" "mastotape-$sub" "$summary" "$sub"
done

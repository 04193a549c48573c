#!/usr/bin/env bash
# The plain build's wall time at two commits, side by side in one run on this machine: each
# commit checked out into a scratch folder, configured as tools/test.sh configures its plain
# build (tools/build_flags.sh), and built from nothing with -j$(nproc), one after the other.
# Prints each time and NEW/OLD (the README's build note quotes it).
#
#   tools/build_time.sh OLD [NEW]     NEW defaults to HEAD
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
# shellcheck source=tools/build_flags.sh
source tools/build_flags.sh
old=$(git rev-parse --short "$1")
new=$(git rev-parse --short "${2:-HEAD}")
scratch=$(mktemp -d "${TMPDIR:-/tmp}/mastotape-build-time.XXXXXX")
cleanup() {
    git worktree remove --force "$scratch/old" 2> /dev/null || true
    git worktree remove --force "$scratch/new" 2> /dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT

# Builds commit $2 in $scratch/$1 and prints its wall seconds.
build_seconds() {
    local name=$1 rev=$2
    git worktree add --detach --quiet "$scratch/$name" "$rev"
    cmake -S "$scratch/$name" -B "$scratch/$name/build" "${PLAIN_BUILD_FLAGS[@]}" > /dev/null
    local start=$SECONDS
    cmake --build "$scratch/$name/build" -j "$(nproc)" > "$scratch/$name.log" 2>&1 || {
        tail -20 "$scratch/$name.log" >&2
        echo "tools/build_time.sh: the build of $rev failed" >&2
        exit 1
    }
    echo $((SECONDS - start))
}

echo "building $old (old) and $new (new), one after the other, -j$(nproc)..." >&2
t_old=$(build_seconds old "$old")
echo "old $old: ${t_old} s" >&2
t_new=$(build_seconds new "$new")
echo "new $new: ${t_new} s" >&2
awk -v o="$t_old" -v n="$t_new" -v a="$old" -v b="$new" \
    'BEGIN { printf "plain build: %s %d s, %s %d s: new/old = %.2f\n", a, o, b, n, n / o }'

#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang, ASan and UBSan in build-fuzz/, replays
# each target's corpus (tests/corpus/TARGET/: seeds and every input that once crashed it), then
# fuzzes each for SECONDS. New inputs go to a scratch directory, not the repository. A crash
# leaves its input in build-fuzz/crashes/TARGET/ and fails the script: fix it, then add the input
# to tests/corpus/TARGET/ so the suite replays it for good. Prints a line per target: runs, wall
# seconds, result. Targets run side by side, one per core (FUZZ_JOBS to change that); FUZZ_OPT sets
# the build's optimization (default -O2; the suite's smoke builds at -O0: half the build time).
# Usage: tools/fuzz.sh [SECONDS] [TARGET...]   (default: 60 s each, every target)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
if [[ $seconds == -h || $seconds == --help ]]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
targets=("$@")
if ((${#targets[@]} == 0)); then
    for source in tests/fuzz/fuzz_*.cpp; do
        targets+=("$(basename "$source" .cpp)")
    done
fi
if ! command -v clang++ > /dev/null; then
    echo "tools/fuzz.sh: clang++ is missing (Debian: clang, libclang-rt-14-dev)" >&2
    exit 1
fi
echo "== configure and build build-fuzz (clang, libFuzzer, ASan, UBSan)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="${FUZZ_OPT:--O2} -gline-tables-only -DNDEBUG" \
    -DMASTOTAPE_FUZZ=ON -DMASTOTAPE_TESTS=OFF > /dev/null
cmake --build build-fuzz --target fuzz_targets -j "$(nproc)" > build-fuzz/build.log 2>&1 ||
    { cat build-fuzz/build.log; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Replays TARGET's corpus, then fuzzes it; its line goes to $scratch/TARGET.line, its output to
# $scratch/TARGET.log.
fuzz_one() {
    local t=$1
    local corpus=tests/corpus/$t crashes=build-fuzz/crashes/$t log=$scratch/$t.log
    local start result runs
    mkdir -p "$scratch/$t" "$crashes"
    start=$(date +%s)
    # The corpus first, once each (the regressions), then fuzzing from it.
    if "build-fuzz/$t" -runs=0 "$corpus" > "$log" 2>&1 &&
        "build-fuzz/$t" -max_total_time="$seconds" -timeout=10 \
            -rss_limit_mb=2048 -artifact_prefix="$crashes/" "$scratch/$t" "$corpus" >> "$log" 2>&1; then
        result=ok
    else
        result="CRASH (input in $crashes/)"
    fi
    runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
    printf "%-24s %10s runs %6s s wall  %s\n" "$t" "$runs" $(($(date +%s) - start)) "$result" \
        > "$scratch/$t.line"
}

parallel=${FUZZ_JOBS:-$(nproc)}
for t in "${targets[@]}"; do
    while (($(jobs -rp | wc -l) >= parallel)); do
        wait -n || true
    done
    fuzz_one "$t" &
done
wait
failed=0
for t in "${targets[@]}"; do
    cat "$scratch/$t.line" 2> /dev/null || echo "$t: no result"
    if ! grep -q ' ok$' "$scratch/$t.line" 2> /dev/null; then
        failed=1
        tail -40 "$scratch/$t.log"
    fi
done
exit $failed

#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root), builds, and runs every test twice: once in a
# plain build and once with AddressSanitizer + UndefinedBehaviorSanitizer, then a short smoke of
# each fuzz target (tools/fuzz.sh). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=tools/packages.sh
source tools/packages.sh
# shellcheck source=tools/build_flags.sh
source tools/build_flags.sh

# A step, with the time since the start (where CI's minutes go). A failure names its step.
step="start"
say() {
    step="$*"
    printf '== [%02d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$step"
}
set -E
trap 'echo "tools/test.sh: FAILED at step: $step (exit $?)" >&2' ERR

build_and_test() {
    local dir=$1
    shift
    say "configure $dir ($*)"
    cmake -S . -B "$dir" "$@" > /dev/null
    say "build $dir"
    cmake --build "$dir" -j "$(nproc)"
    say "test $dir"
    ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" --timeout 900
    echo "slowest tests in $dir (seconds):"
    # name, runs, seconds on each line; the name may have spaces. Sorted into a file, then its
    # head: no pipe whose reader leaves early (under pipefail, sort's SIGPIPE failed the run).
    awk 'NF >= 3 && $(NF) ~ /^[0-9.]+$/ { t = $(NF); $(NF) = ""; $(NF - 1) = "";
         printf "%8.1f  %s\n", t, $0 }' "$dir/Testing/Temporary/CTestCostData.txt" \
        > "$dir/slowest.txt"
    sort -rn -o "$dir/slowest.txt" "$dir/slowest.txt"
    head -8 "$dir/slowest.txt"
}

install_node_packages() {
    if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
        say "installing node and npm"
        install_packages node
    fi
    say "npm ci (masto.js, wscat and the Node helper; puppeteer-core for the page tests; DuckDB)"
    (cd tests/e2e/masto && npm ci --no-audit --no-fund --loglevel=error)
    (cd tests/e2e/browser && npm ci --no-audit --no-fund --loglevel=error)
    (cd tools/integrations/duckdb && npm ci --no-audit --no-fund --loglevel=error)
}

# What a durable commit costs on this disk: the tests' tapes are written under $TMPDIR.
fsync_latency() {
    /usr/bin/python3 - <<'PY'
import os, tempfile, time
fd, path = tempfile.mkstemp()
start = time.monotonic()
for _ in range(100):
    os.write(fd, b"x" * 4096)
    os.fsync(fd)
print(f"{(time.monotonic() - start) * 10:.2f} ms a 4 KiB write + fsync under {os.path.dirname(path)}")
os.close(fd)
os.unlink(path)
PY
}

say "packages (tools/packages.sh: build and test)"
install_packages build test
install_node_packages
say "lint (tools/lint.sh: clang-format, clang-tidy over schema/)"
bash tools/lint.sh
say "disk: $(fsync_latency)"
build_and_test build "${PLAIN_BUILD_FLAGS[@]}"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build_and_test build-asan "${ASAN_BUILD_FLAGS[@]}"
say "fuzz smoke: each target's corpus (its regressions), then 15 s of fuzzing each"
# -O0: the fuzz build takes 2:05 against 4:33 at -O2, for 2 to 6 times fewer runs in 15 s.
FUZZ_OPT=-O0 bash tools/fuzz.sh 15
say "the machine's /dev/null is still a character device"
if [[ ! -c /dev/null ]]; then
    echo "tools/test.sh: /dev/null is no longer a character device: a test replaced it" >&2
    false
fi
say "all tests passed (plain and sanitized builds, fuzz smoke)"

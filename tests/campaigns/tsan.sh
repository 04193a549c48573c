#!/usr/bin/env bash
# The ThreadSanitizer campaign (issue 20): the suite's tests that run threads against each other
# (the recorder's writer thread and its bounded queue, the background WAL checkpointer, the
# replayer's network thread beside its REST thread and a host's thread driving it in-process, the
# recorder against the replayer with backfill, kill -9 under load) built with -fsanitize=thread
# in build-tsan, each run once; any data race or lock-order problem fails the run.
# Usage: tests/campaigns/tsan.sh [CATCH_TEST_SPEC]   (default: the list below)
set -euo pipefail
cd "$(dirname "$0")/../.."

# Catch's spec: ',' is "or"; a pattern with a space in it goes in quotes.
spec=${1:-"*writer*,*checkpoint*,*replayer*,*backfill*,\"*virtual clock*\",\"*kill -9*\",\
\"*shared clock*\",*Ctrl-C*,*REST*,*exit-when-done*,*recorder*"}

cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMASTOTAPE_TSAN=ON > /dev/null
cmake --build build-tsan -j "$(nproc)" --target mastotape mastotape_tests
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4" \
    build-tsan/mastotape_tests "$spec"

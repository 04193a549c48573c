# shellcheck shell=bash
# The suite's two build configurations, for tools/test.sh and tools/build_time.sh.
#
# -g1: line tables and functions, enough for a backtrace; full debug info costs a quarter more
# compile time (websocket_outlet.cpp: 49 s against 37 s at -O2). -O1: the tests need an
# optimized build, not the release's -O2, which costs a third more (ws_connection.cpp: 78 s
# against 53 s; the whole build 7:00 alone, 9:13 at -O2 in a full run).
# MASTOTAPE_UNITY: the libraries, the tools and the tests compiled several files at a time, which
# share their headers' work (see the README's build note). MASTOTAPE_FAST_TEST_BUILD: the test
# binary's own code (Catch2's assertions, the test helpers) at -O0: its precompiled header and 9
# batches took 104 s of CPU against 149 s at -O1 (side by side, one core each); the libraries and
# the tool it tests keep -O1.
# shellcheck disable=SC2034  # used by the scripts that source this file
PLAIN_BUILD_FLAGS=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
    -DMASTOTAPE_UNITY=ON -DMASTOTAPE_FAST_TEST_BUILD=ON)
# shellcheck disable=SC2034
ASAN_BUILD_FLAGS=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g1" -DMASTOTAPE_SANITIZE=ON
    -DMASTOTAPE_UNITY=ON)

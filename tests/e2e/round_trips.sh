#!/bin/sh
# The round trips (tests/e2e/round_trip_test.cpp), in two halves side by side: each half is a
# replayer and a recorder that mostly wait on their clocks, so the two share the machine's two
# cores without making frames late, and the suite waits half as long. ctest runs this alone.
# Usage: round_trips.sh MASTOTAPE_TESTS
set -u
tests=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$tests" "[round-trip][first-half]" > "$out/first" 2>&1 &
first=$!
"$tests" "[round-trip]~[first-half]" > "$out/second" 2>&1
second=$?
wait "$first"
first=$?
echo "== first half ([round-trip][first-half]): exit $first"
cat "$out/first"
echo "== second half ([round-trip]~[first-half]): exit $second"
cat "$out/second"
[ "$first" -eq 0 ] && [ "$second" -eq 0 ]

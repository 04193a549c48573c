#!/usr/bin/env bash
# Counting checks for the suite's shell tests: `check DESCRIPTION COMMAND...` runs the command and
# counts it passed or failed (naming it on stderr); `checks_done` prints the closing
# "N passed, N failed" line and fails when one did.
# shellcheck disable=SC2034 # the counts are read by the scripts that source this file
passed=0
failed=0
check() {
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: $what" >&2
    fi
}
checks_done() {
    echo "$passed passed, $failed failed"
    ((failed == 0))
}

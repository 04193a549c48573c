#!/usr/bin/env bash
# Holds the C++ to the house style, changing nothing; any finding fails, with file and line.
#   clang-format 14 (.clang-format): every source and header.
#   clang-tidy 14 (.clang-tidy): every translation unit of schema/, or of the whole tree with
#   --all. tools/test.sh runs the former: a unit of record/ or replay/ parses all of Asio and
#   Beast, 25-30 s each on this machine, which the whole tree (about 110 units) pays ~25 minutes
#   of CPU for, against about 7 for schema/'s 45.
# To fix what clang-format finds: clang-format-14 -i FILE...
# Usage: tools/lint.sh [--all]
set -euo pipefail
cd "$(dirname "$0")/.."
scope=schema
case ${1:-} in
    -h | --help)
        sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    --all) scope="(schema|record|replay|tools)" ;;
    "") ;;
    *)
        echo "tools/lint.sh: unknown argument $1 (see --help)" >&2
        exit 2
        ;;
esac
for tool in clang-format-14 clang-tidy-14 run-clang-tidy-14; do
    if ! command -v "$tool" > /dev/null; then
        echo "tools/lint.sh: $tool is missing (Debian: clang-format, clang-tidy)" >&2
        exit 1
    fi
done

# The repository's files; outside a clone (an unpacked tarball), the same folders' files.
if git rev-parse --git-dir > /dev/null 2>&1; then
    mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' ':!:**/node_modules/**')
else
    mapfile -t sources < <(find schema record replay tools tests \( -name '*.cpp' -o -name '*.hpp' \) \
        -not -path '*/node_modules/*' | sort)
fi
clang-format-14 --dry-run -Werror "${sources[@]}"
echo "clang-format: ${#sources[@]} files as .clang-format has them"

# The compile commands of a configured (not built) tree; the tests' own units are left out.
cmake -S . -B build-lint -DMASTOTAPE_TESTS=OFF > /dev/null
# gcc's -Wno-restrict is unknown to clang.
run-clang-tidy-14 -p build-lint -j "$(nproc)" -quiet -extra-arg=-Wno-unknown-warning-option \
    "^$PWD/$scope/" > build-lint/clang-tidy.log 2>&1 || {
    sed 's/\x1b\[[0-9;]*m//g' build-lint/clang-tidy.log | grep -E "(error|warning): " | sort -u >&2
    echo "tools/lint.sh: clang-tidy found the above (whole output: build-lint/clang-tidy.log)" >&2
    exit 1
}
echo "clang-tidy: every unit of $scope/ passes .clang-tidy"

#!/usr/bin/env bash
# Holds the C++ to the house style, changing nothing; any finding fails, with file and line.
#   clang-format 14 (.clang-format): every source and header.
#   clang-tidy 14 (.clang-tidy): every unit of schema/, record/, replay/ and tools/, checked in
#   the batches the suite's unity build compiles (about 19 units instead of about 110: each parses
#   Asio and Beast once, ~4 minutes on 2 cores where one unit per file took ~25 minutes of CPU).
#   The batches #include the .cpp files, so the header filter takes .cpp files too.
# To fix what clang-format finds: clang-format-14 -i FILE...
# Usage: tools/lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
case ${1:-} in
    -h | --help)
        sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
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

# The compile commands of a configured (not built) tree, batched; the tests' own units are left
# out. gcc's -Wno-restrict is unknown to clang; a batch's #include of a .cpp is how batches work.
# build-lint stays inside the checkout: clang-tidy finds .clang-tidy above the unit it checks, and
# a batch outside would be checked with none (silently, finding nothing).
cmake -S . -B build-lint -DMASTOTAPE_TESTS=OFF -DMASTOTAPE_UNITY=ON > /dev/null
run-clang-tidy-14 -p build-lint -j "$(nproc)" -quiet -extra-arg=-Wno-unknown-warning-option \
    -checks=-bugprone-suspicious-include \
    -header-filter="^$PWD/(schema|record|replay|tools)/.*\.(hpp|cpp)$" \
    "Unity/unity_[0-9]+_cxx\.cxx$|^$PWD/tools/main\.cpp$" > build-lint/clang-tidy.log 2>&1 || {
    sed 's/\x1b\[[0-9;]*m//g' build-lint/clang-tidy.log | grep -E "(error|warning): " | sort -u >&2
    echo "tools/lint.sh: clang-tidy found the above (whole output: build-lint/clang-tidy.log)" >&2
    exit 1
}
echo "clang-tidy: every unit of schema/, record/, replay/ and tools/ passes .clang-tidy"

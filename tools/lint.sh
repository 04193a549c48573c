#!/usr/bin/env bash
# Holds the C++ to the house style: clang-format 14 (.clang-format) over every source and header,
# without changing them; any difference fails, with the file and line. Run by tools/test.sh first.
# To fix what it finds: clang-format-14 -i FILE...
# Usage: tools/lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
format=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z $format ]]; then
    echo "tools/lint.sh: clang-format is missing (Debian: clang-format)" >&2
    exit 1
fi
mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' ':!:**/node_modules/**')
"$format" --dry-run -Werror "${sources[@]}"
echo "clang-format: ${#sources[@]} files as .clang-format has them"

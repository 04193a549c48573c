#!/usr/bin/env bash
# The one package list (tools/packages.sh) against what the build finds: every find_package and
# pkg_check_modules of CMakeLists.txt and of the exported package config maps to a Debian package
# of the build list (or, inside an option's block, of the test list), the map names packages that
# really carry what CMake looks for, and the -dev package's Depends are in the build list.
# Usage: packages_test.sh SOURCE_DIR
set -euo pipefail
tests_dir=$(cd "$(dirname "$0")/.." && pwd)
cd "$1"
# shellcheck source=tools/packages.sh
source tools/packages.sh

# shellcheck source=tests/check.sh
source "$tests_dir/check.sh"
in_list() { # in_list PACKAGE LIST...
    local p=$1 q
    shift
    for q in "$@"; do
        [[ $p == "$q" ]] && return 0
    done
    return 1
}
# The names CMake looks for: "NAME top" for a top-level call, "NAME option" inside an if().
found_names() {
    awk '/^[ \t]*(find_package|pkg_check_modules)\(/ {
             line = $0
             sub(/^[ \t]*(find_package|pkg_check_modules)\(/, "", line)
             split(line, w, /[ \t)]+/)
             name = w[1]
             if ($0 ~ /pkg_check_modules/) {  # the module is the first word after the flags
                 for (i = 2; i in w; i++) {
                     if (w[i] !~ /^(REQUIRED|QUIET|IMPORTED_TARGET|GLOBAL|NO_CMAKE_PATH)$/ && w[i] != "") {
                         name = w[i]; break
                     }
                 }
             }
             print name, ($0 ~ /^[ \t]/ ? "option" : "top")
         }' CMakeLists.txt
}

mapfile -t names < <(found_names)
check "CMakeLists.txt finds something" test "${#names[@]}" -ge 8
for entry in "${names[@]}"; do
    read -r name where <<< "$entry"
    package=${cmake_package_of[$name]:-}
    check "$name (CMakeLists.txt) is mapped to a package in tools/packages.sh" test -n "$package"
    [[ -n $package ]] || continue
    if [[ $where == top ]]; then
        check "$name's package $package is in build_packages" in_list "$package" "${build_packages[@]}"
    else
        check "$name's package $package is in build_packages or test_packages" \
            in_list "$package" "${build_packages[@]}" "${test_packages[@]}"
    fi
    # The package really carries what CMake looks for (a config file, a .pc or the headers).
    # (Threads is the C library's; Debian 12's pkg-config is a transition to pkgconf.)
    if [[ $name == PkgConfig ]]; then
        check "package $package gives pkg-config" test -x /usr/bin/pkg-config
    elif [[ $name != Threads ]] && dpkg-query -W "$package" > /dev/null 2>&1; then
        files=$(dpkg -L "$package")
        check "package $package carries $name" grep -qi -- "$name" <<< "$files"
    fi
done

# The exported package config finds the same names, so the -dev package depends on their packages.
depends=$(sed -n '/CPACK_DEBIAN_DEV_PACKAGE_DEPENDS/,/")/p' tools/cmake/packaging.cmake |
    grep -o '[a-z][a-z0-9.+-]*' | grep -v -e '^set$' -e '^cpack' -e '^cmake$' || true)
check "the -dev package has Depends" test -n "$depends"
for package in $depends; do
    check "-dev Depends: $package is in build_packages" in_list "$package" "${build_packages[@]}"
done

# Every script that installs packages takes them from this file.
for script in tools/demo.sh tools/test.sh; do
    check "$script sources tools/packages.sh" grep -q '^source tools/packages.sh' "$script"
    check "$script names no package itself" bash -c "! grep -q 'apt-get install' '$script'"
done
check "the README's CI recipe installs from tools/packages.sh" \
    grep -q 'install_packages build' README.md

checks_done

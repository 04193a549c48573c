#!/usr/bin/env bash
# The one list of Debian 12 packages mastotape needs, sourced by tools/demo.sh, tools/test.sh and
# the README's CI recipe (`source tools/packages.sh && install_packages build`); the Debian
# packaging's -dev Depends are checked against it (tests/tools/packages_test.sh).
#
#   build_packages: what `cmake` and the build of the `mastotape` binary need.
#   test_packages:  what the test suite adds (Catch2, the real client libraries, chromium, ...).
#   node_packages:  Node.js and npm, where the machine has none.
#
# A dependency added to CMakeLists.txt must be named in cmake_package_of below, mapped to a
# package of build_packages (or test_packages for what only a test or benchmark build finds):
# tests/tools/packages_test.sh fails otherwise.

# shellcheck disable=SC2034 # the lists are used by the scripts that source this file
build_packages=(
    build-essential cmake pkg-config
    libboost1.81-dev libssl-dev
    libsqlite3-dev libsqlitecpp-dev
    nlohmann-json3-dev libsimdjson-dev libcli11-dev libzstd-dev libyaml-cpp-dev
)

# shellcheck disable=SC2034
test_packages=(
    catch2 openssl sqlite3 shellcheck
    python3 python3-mastodon python3-websockets python3-pytest python3-venv python3-setuptools
    python3-wheel dpkg-dev clang libclang-rt-14-dev clang-format clang-tidy iproute2 chromium
    systemd
)

# Node.js for masto.js, wscat, puppeteer-core and the Node helper: installed only where no `node`
# and `npm` are on the PATH (a machine may have its own Node.js, which Debian's npm conflicts with).
# shellcheck disable=SC2034
node_packages=(nodejs npm)

# Each name CMakeLists.txt finds (find_package / pkg_check_modules) and the package that has it.
# shellcheck disable=SC2034
declare -A cmake_package_of=(
    [SQLiteCpp]=libsqlitecpp-dev
    [nlohmann_json]=nlohmann-json3-dev
    [simdjson]=libsimdjson-dev
    [CLI11]=libcli11-dev
    [Threads]=build-essential
    [Boost]=libboost1.81-dev
    [OpenSSL]=libssl-dev
    [PkgConfig]=pkg-config
    [libzstd]=libzstd-dev
    [SQLite3]=libsqlite3-dev
    [Catch2]=catch2
    [yaml-cpp]=libyaml-cpp-dev
)

# The packages of the named lists (build, test) that dpkg does not have installed.
missing_packages() {
    local list p
    for list in "$@"; do
        local -n names="${list}_packages"
        for p in "${names[@]}"; do
            [[ $(dpkg-query -W -f='${Status}' "$p" 2> /dev/null) == "install ok installed" ]] ||
                echo "$p"
        done
    done
}

# Installs what is missing of the named lists (as root); says what and why otherwise.
install_packages() {
    local missing
    mapfile -t missing < <(missing_packages "$@")
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    echo "== installing: ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then
        echo "mastotape: missing Debian packages: ${missing[*]}" >&2
        echo "  install them (sudo apt-get install ${missing[*]}) or run this as root" >&2
        return 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

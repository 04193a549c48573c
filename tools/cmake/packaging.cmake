# `cpack -G DEB` in a build directory: mastotape_VERSION_ARCH.deb (the tool, its man pages, its
# bash completion) and mastotape-dev_VERSION_ARCH.deb (the C++ package). The tool's Depends are
# computed by dpkg-shlibdeps from what the binary links; the -dev package's are the -dev packages
# its exported targets need.
set(CPACK_PACKAGE_NAME mastotape)
set(CPACK_PACKAGE_VENDOR "mastotape")
set(CPACK_PACKAGE_CONTACT "mastotape maintainers <mastotape@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "Record Mastodon streaming API sessions to SQLite tapes and replay them")
set(CPACK_PACKAGE_DESCRIPTION
  "mastotape records a live Mastodon streaming connection into a SQLite tape (every event, \
heartbeat and disconnect gap, with timestamps) and replays tapes through a local server that \
speaks Mastodon's streaming protocol, for deterministic offline tests of bots and clients.")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://github.com/mastotape/mastotape")
set(CPACK_PACKAGE_FILE_NAME "${PROJECT_NAME}-${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL tool dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_TOOL_PACKAGE_NAME mastotape)
set(CPACK_DEBIAN_TOOL_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_TOOL_PACKAGE_SUGGESTS "sqlite3, zstd")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME mastotape-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libboost1.81-dev, libssl-dev, libsqlitecpp-dev, nlohmann-json3-dev, libsimdjson-dev, \
libzstd-dev, libyaml-cpp-dev, pkg-config, cmake (>= 3.25)")
set(CPACK_COMPONENT_TOOL_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "The C++ package of mastotape: find_package(mastotape CONFIG) gives mastotape::tape, \
mastotape::replay and mastotape::record; <mastotape/replayer.hpp> runs a replayer in a test.")
include(CPack)

#include "tools/version.hpp"

#include <openssl/crypto.h>
#include <sqlite3.h>
#include <zstd.h>

#include <boost/beast/version.hpp>
#include <boost/version.hpp>

#include "schema/tape/migrations.hpp"

namespace mastotape::tools {

std::string version_text() {
    const std::string boost = std::to_string(BOOST_VERSION / 100000) + "." +
                              std::to_string(BOOST_VERSION / 100 % 1000) + "." +
                              std::to_string(BOOST_VERSION % 100);
    return "mastotape " MASTOTAPE_VERSION
           "\n"
           "tape format " +
           std::to_string(schema::current_schema_version()) +
           "\n"
           "Boost.Beast " +
           std::to_string(BOOST_BEAST_VERSION) + " (Boost " + boost +
           ")\n"
           "SQLite " +
           std::string(sqlite3_libversion()) + " (built with " SQLITE_VERSION ")\n" +
           std::string(OpenSSL_version(OPENSSL_VERSION)) + "\nzstd " +
           std::string(ZSTD_versionString());
}

}  // namespace mastotape::tools

#include "schema/tape/sqlite_util.hpp"

#include <sqlite3.h>

namespace mastotape::schema {

namespace {

// SQLite's message on one line (a schema error can quote SQL over many), and not too long.
std::string one_line(std::string_view text) {
    constexpr std::size_t kMax = 300;
    std::string out;
    bool space = false;
    for (const char c : text) {
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) {
            out += ' ';
            space = false;
        }
        out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
        if (out.size() >= kMax) {
            return out + "...";
        }
    }
    return out;
}

}  // namespace

std::string describe(const SQLite::Exception& e) {
    const int code = e.getErrorCode() & 0xff;
    switch (code) {
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            return "corrupt tape (" + one_line(e.what()) + ")" + std::string(kCorruptAdvice);
        case SQLITE_FULL:
            return "disk full; nothing of the last batch was written";
        case SQLITE_READONLY:
            return "read-only location; copy the tape somewhere writable";
        case SQLITE_CANTOPEN:
            return "cannot open (missing directory or no permission)";
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return "tape is locked by another writer";
        case SQLITE_IOERR:
            return "I/O error (" + one_line(e.what()) + ")";
        default:
            return one_line(e.what());
    }
}

std::optional<std::int64_t> opt_int(const SQLite::Column& c) {
    if (c.isNull()) {
        return std::nullopt;
    }
    return c.getInt64();
}

std::string_view column_bytes(const SQLite::Column& c) {
    const auto* data = static_cast<const char*>(c.getBlob());
    return std::string_view(data == nullptr ? "" : data, static_cast<std::size_t>(c.getBytes()));
}

void bind_opt(SQLite::Statement& st, int i, const std::optional<std::int64_t>& v) {
    if (v) {
        st.bind(i, *v);
    } else {
        st.bind(i);
    }
}

void bind_opt_text(SQLite::Statement& st, int i, const std::optional<std::string>& v) {
    if (v) {
        st.bind(i, *v);
    } else {
        st.bind(i);
    }
}

}  // namespace mastotape::schema

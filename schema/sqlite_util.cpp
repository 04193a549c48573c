#include "schema/sqlite_util.hpp"

#include <sqlite3.h>

namespace mastotape::schema {

std::string describe(const SQLite::Exception& e) {
    const int code = e.getErrorCode() & 0xff;
    switch (code) {
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            return std::string("corrupt tape (") + e.what() + "); try `mastotape verify`";
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
            return std::string("I/O error (") + e.what() + ")";
        default:
            return e.what();
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

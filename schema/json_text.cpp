#include "schema/json_text.hpp"

#include <cstdio>

namespace mastotape::schema {

void append_json_escaped(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    const auto plain = [](unsigned char c) { return c >= 0x20 && c != '"' && c != '\\'; };
    std::size_t i = 0;
    while (i < s.size()) {
        // Copy the run of bytes that need no escape at once: most text is one long run.
        std::size_t run = i;
        while (run < s.size() && plain(static_cast<unsigned char>(s[run]))) {
            ++run;
        }
        out.append(s.data() + i, run - i);
        if (run == s.size()) {
            return;
        }
        const auto c = static_cast<unsigned char>(s[run]);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default: {
                const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
                out.append(escape, sizeof escape);
            }
        }
        i = run + 1;
    }
}

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    append_json_escaped(out, s);
    out += '"';
}

std::string format_uuid_v4(std::uint64_t high, std::uint64_t low) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx",
                  static_cast<unsigned>(high >> 32), static_cast<unsigned>((high >> 16) & 0xffff),
                  static_cast<unsigned>(high & 0xfff), static_cast<unsigned>(0x8000 | (low >> 50)),
                  static_cast<unsigned long long>(low & 0xffffffffffffULL));
    return buf;
}

}  // namespace mastotape::schema

#include "schema/text/byte_codec.hpp"

#include <simdjson.h>

#include <array>
#include <cstdio>

namespace mastotape::schema {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> decode_table() {
    std::array<int, 256> t{};
    for (auto& v : t) {
        v = -1;
    }
    for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
        t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
    }
    return t;
}

constexpr std::array<int, 256> kDecode = decode_table();

}  // namespace

bool is_valid_utf8(std::string_view bytes) {
    return simdjson::validate_utf8(bytes.data(), bytes.size());
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const auto n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
    }
    if (i + 1 == bytes.size()) {
        const auto n = static_cast<unsigned char>(bytes[i]) << 16;
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += "==";
    } else if (i + 2 == bytes.size()) {
        const auto n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = text[i + static_cast<std::size_t>(k)];
            if (c == '=' && i + 4 == text.size() && k >= 2) {
                v[k] = 0;
                ++pad;
            } else if (pad > 0) {
                return std::nullopt;
            } else {
                v[k] = kDecode[static_cast<unsigned char>(c)];
                if (v[k] < 0) {
                    return std::nullopt;
                }
            }
        }
        const int n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
        out += static_cast<char>((n >> 16) & 0xff);
        if (pad < 2) {
            out += static_cast<char>((n >> 8) & 0xff);
        }
        if (pad < 1) {
            out += static_cast<char>(n & 0xff);
        }
    }
    // Only the canonical encoding is accepted, so that decode-then-encode gives the same text.
    if (base64_encode(out) != text) {
        return std::nullopt;
    }
    return out;
}

namespace {

// The length of the well-formed UTF-8 sequence at the front of `s` (no overlong forms, no
// surrogates, nothing past U+10FFFF), or 0 when there is none.
std::size_t utf8_sequence(std::string_view s) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char c = b(0);
    if (c < 0x80) {
        return 1;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (s.size() < n || b(1) < lo || b(1) > hi) {
        return 0;
    }
    for (std::size_t i = 2; i < n; ++i) {
        if (b(i) < 0x80 || b(i) > 0xbf) {
            return 0;
        }
    }
    return n;
}

void append_hex(std::string& out, unsigned char c) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02x", c);
    out += hex;
}

}  // namespace

std::string printable(std::string_view bytes, std::size_t max_chars) {
    std::string out;
    while (!bytes.empty()) {
        if (out.size() >= max_chars) {
            out += "…";
            break;
        }
        const auto c = static_cast<unsigned char>(bytes[0]);
        const std::size_t n = utf8_sequence(bytes);
        const bool c1_control = n == 2 && c == 0xc2 && static_cast<unsigned char>(bytes[1]) < 0xa0;
        if (c == '\n') {
            out += "\\n";
        } else if (n == 0 || c < 0x20 || c == 0x7f) {
            append_hex(out, c);  // a control byte, or a byte that is not UTF-8
        } else if (c1_control) {
            append_hex(out, c);
            append_hex(out, static_cast<unsigned char>(bytes[1]));
        } else {
            out.append(bytes.data(), n);
        }
        bytes.remove_prefix(n == 0 ? 1 : n);
    }
    return out;
}

std::string valid_utf8(std::string_view bytes) {
    if (is_valid_utf8(bytes)) {
        return std::string(bytes);
    }
    std::string out;
    while (!bytes.empty()) {
        const std::size_t n = utf8_sequence(bytes);
        out.append(n == 0 ? std::string_view("\xEF\xBF\xBD") : bytes.substr(0, n));
        bytes.remove_prefix(n == 0 ? 1 : n);
    }
    return out;
}

std::string preview(std::string_view bytes, std::size_t max_chars) {
    return printable(bytes, max_chars);
}

}  // namespace mastotape::schema

#include "schema/text/json_text.hpp"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <array>
#include <cstdio>

#include "schema/text/byte_codec.hpp"

namespace mastotape::schema {

namespace {

// What escaping makes of each byte: 0 for itself, else the letter after `\` (`u` for \u00XX).
constexpr std::array<char, 256> kEscape = [] {
    std::array<char, 256> t{};
    for (std::size_t c = 0; c < 0x20; ++c) {
        t[c] = 'u';
    }
    t['"'] = '"';
    t['\\'] = '\\';
    t['\n'] = 'n';
    t['\r'] = 'r';
    t['\t'] = 't';
    t['\b'] = 'b';
    t['\f'] = 'f';
    return t;
}();

// Which of the 16 bytes at `at` are a quote, a backslash or a control character (the bytes to
// escape), as a bit mask.
#ifdef __SSE2__
int special_mask(const char* at) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    const __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);  // v <= 0x1f
    return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control));
}
#endif

// The position of the first byte in [i, n) to escape, or n.
std::size_t next_special(const char* s, std::size_t i, std::size_t n) {
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        const int mask = special_mask(s + i);
        if (mask != 0) {
            return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
        }
    }
#endif
    while (i < n && kEscape[static_cast<unsigned char>(s[i])] == 0) {
        ++i;
    }
    return i;
}

}  // namespace

// Copies the runs between the bytes to escape, found 16 bytes a step where the CPU has SSE2. A
// payload is escaped into every WebSocket envelope: this is the hot path of synth.
void append_json_escaped(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    const std::size_t n = s.size();
    out.reserve(out.size() + n + n / 8 + 16);  // JSON text has a quote every ten bytes or so
    std::size_t i = 0;
    while (true) {
        const std::size_t j = next_special(s.data(), i, n);
        out.append(s.data() + i, j - i);
        if (j == n) {
            return;
        }
        const auto c = static_cast<unsigned char>(s[j]);
        const char e = kEscape[c];
        if (e != 'u') {
            const char escape[] = {'\\', e};
            out.append(escape, sizeof escape);
        } else {
            const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
            out.append(escape, sizeof escape);
        }
        i = j + 1;
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

std::string error_json(std::string_view message) {
    std::string body = "{\"error\":";
    append_json_string(body, valid_utf8(message));
    return body + "}";
}

}  // namespace mastotape::schema

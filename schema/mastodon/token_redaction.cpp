#include "schema/mastodon/token_redaction.hpp"

#include <cctype>

namespace mastotape::schema {
namespace {

// What access tokens are made of (Mastodon's are base64url).
bool token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

}  // namespace

std::string redact(const std::string& value, const std::string& token) {
    if (token.empty()) {
        return value;
    }
    const auto alone = [&](std::size_t pos) {
        const std::size_t end = pos + token.size();
        return (pos == 0 || !token_char(value[pos - 1])) &&
               (end == value.size() || !token_char(value[end]));
    };
    std::string out;
    std::size_t copied = 0;
    for (auto pos = value.find(token); pos != std::string::npos; pos = value.find(token, pos + 1)) {
        if (pos >= copied && (token.size() >= 16 || alone(pos))) {
            out.append(value, copied, pos - copied);
            out += "[token]";
            copied = pos + token.size();
        }
    }
    out.append(value, copied);
    return out;
}

}  // namespace mastotape::schema

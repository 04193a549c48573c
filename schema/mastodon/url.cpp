#include "schema/mastodon/url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace mastotape::schema {
namespace {

std::uint16_t default_port(const std::string& scheme) {
    return scheme == "ws" || scheme == "http" ? 80 : 443;
}

}  // namespace

std::string Url::authority() const {
    // An IPv6 address goes in brackets, or its colons would read as the port's.
    const bool v6 = host.find(':') != std::string::npos;
    std::string out = v6 ? "[" + host + "]" : host;
    if (port != default_port(scheme)) {
        out += ":" + std::to_string(port);
    }
    return out;
}

std::string Url::origin() const { return scheme + "://" + authority(); }

std::optional<UrlParts> split_url(std::string_view text) {
    const auto sep = text.find("://");
    if (sep == std::string_view::npos || sep == 0) {
        return std::nullopt;
    }
    UrlParts p;
    p.scheme = text.substr(0, sep);
    text.remove_prefix(sep + 3);
    const auto end = std::min(text.find_first_of("/?#"), text.size());
    p.authority = text.substr(0, end);
    if (p.authority.empty()) {
        return std::nullopt;
    }
    text.remove_prefix(end);
    const auto fragment = std::min(text.find('#'), text.size());
    p.fragment = text.substr(fragment);
    text = text.substr(0, fragment);
    const auto query = std::min(text.find('?'), text.size());
    p.path = text.substr(0, query);
    p.query = text.substr(query);
    // host[:port] or [v6][:port]
    std::string_view host = p.authority;
    if (host.front() == '[') {
        const auto close = host.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        p.host = host.substr(1, close - 1);
        host.remove_prefix(close + 1);
        if (!host.empty() && host.front() != ':') {
            return std::nullopt;
        }
        p.port = host.empty() ? host : host.substr(1);
    } else {
        const auto colon = host.rfind(':');
        p.host = host.substr(0, colon);
        p.port = colon == std::string_view::npos ? std::string_view() : host.substr(colon + 1);
    }
    return p;
}

std::optional<Url> parse_url(std::string_view text) {
    const std::string full = text.find("://") == std::string_view::npos
                                 ? "https://" + std::string(text)  // a bare host means https
                                 : std::string(text);
    const auto p = split_url(full);
    if (!p || p->host.empty() || p->authority.find('@') != std::string_view::npos) {
        return std::nullopt;
    }
    Url u;
    u.scheme = std::string(p->scheme);
    std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (u.scheme != "ws" && u.scheme != "wss" && u.scheme != "http" && u.scheme != "https") {
        return std::nullopt;
    }
    u.host = std::string(p->host);
    u.port = default_port(u.scheme);
    const bool bracketed = p->authority.front() == '[';
    const auto ipv6_char = [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    };
    if (p->authority.back() == ':' ||
        (bracketed ? p->host.find(':') == std::string_view::npos ||
                         !std::all_of(p->host.begin(), p->host.end(), ipv6_char)
                   : p->host.find_first_of(":[]") != std::string_view::npos)) {
        return std::nullopt;  // "host:", a bare IPv6 address, or brackets round something else
    }
    if (!p->port.empty()) {
        const std::string_view port = p->port;
        if (port.size() > 5 ||
            !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return std::nullopt;
        }
        const int n = std::stoi(std::string(port));
        if (n <= 0 || n > 65535) {
            return std::nullopt;
        }
        u.port = static_cast<std::uint16_t>(n);
    }
    // The fragment is the client's own, as a browser keeps it.
    u.target = std::string(p->path.empty() ? "/" : p->path) + std::string(p->query);
    return u;
}

std::string percent_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out += ch;
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

}  // namespace

bool loopback_address(std::string_view host) {
    const std::string h(host);
    if (h == "localhost") {
        return true;
    }
    in_addr v4{};
    if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    return inet_pton(AF_INET6, h.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
                   hex_value(s[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string without_access_token(std::string_view url) {
    // A URL or path has its query after a '?'; a query alone has no '/' before its first '='.
    const bool bare_query =
        url.find('?') == std::string_view::npos && url.find('/') > url.find('=');
    if (bare_query) {
        std::string out = without_access_token("?" + std::string(url));
        return out.empty() ? out : out.substr(1);
    }
    const auto q = url.find('?');
    if (q == std::string_view::npos) {
        return std::string(url);
    }
    std::string out(url.substr(0, q));
    std::string query;
    std::size_t pos = q + 1;
    while (pos <= url.size()) {
        auto end = url.find('&', pos);
        if (end == std::string_view::npos) {
            end = url.size();
        }
        const std::string_view pair = url.substr(pos, end - pos);
        if (!pair.empty() && percent_decode(pair.substr(0, pair.find('='))) != "access_token") {
            query += (query.empty() ? "" : "&") + std::string(pair);
        }
        pos = end + 1;
    }
    if (!query.empty()) {
        out += "?" + query;
    }
    return out;
}

}  // namespace mastotape::schema

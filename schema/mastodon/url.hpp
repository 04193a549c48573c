#pragma once

// URLs as mastotape uses them: scheme, host, port, path-and-query. Shared by the recorder
// (discovery, connection URLs, backfill links) and the tools.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mastotape::schema {

struct Url {
    std::string scheme;  // ws, wss, http, https
    std::string host;
    std::uint16_t port = 0;
    std::string target = "/";  // path and query

    bool tls() const { return scheme == "wss" || scheme == "https"; }
    // host[:port] as a URL and the Host header write it: an IPv6 address in brackets, the port
    // only when not the scheme's default.
    std::string authority() const;
    // scheme://authority
    std::string origin() const;
    std::string str() const { return origin() + target; }
};

// The parts of an absolute URL as written, each a view into it (nothing checked, nothing lowered):
// "https://[::1]:8080/a/b?x=1#top" is https, [::1]:8080, ::1, 8080, /a/b, ?x=1, #top. nullopt
// without a scheme and `://`, an authority or a closing bracket.
struct UrlParts {
    std::string_view scheme;
    std::string_view authority;  // host and port as written
    std::string_view host;       // without brackets or port
    std::string_view port;       // empty when none is written
    std::string_view path;       // empty or starting with '/'
    std::string_view query;      // empty or starting with '?'
    std::string_view fragment;   // empty or starting with '#'
};
std::optional<UrlParts> split_url(std::string_view text);

// Parses `scheme://host[:port][/path][?query][#fragment]` (ws, wss, http, https; a fragment is
// dropped); a bare host (`example.social`) means https. nullopt for anything else.
std::optional<Url> parse_url(std::string_view text);

// `text` as a query parameter's value: every byte but RFC 3986's unreserved ones as %XX (a '+'
// would read as a space, a '&' or '=' would split the parameter).
std::string percent_encode(std::string_view text);

// Whether `host` (an address literal without brackets, or a name) is this machine's loopback:
// localhost, 127.0.0.0/8 or ::1.
bool loopback_address(std::string_view host);

// A query's key or value as the server reads it: %XX decoded, '+' a space.
std::string percent_decode(std::string_view text);

// Removes an `access_token` parameter from a URL, a path with a query or a query alone
// (`min_id=1&access_token=x`), so a token never reaches a tape or log: its key as the server
// reads it (`access%5Ftoken` is one too).
std::string without_access_token(std::string_view url);

}  // namespace mastotape::schema

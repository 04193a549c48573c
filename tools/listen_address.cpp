#include "tools/listen_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "schema/mastodon/url.hpp"

namespace mastotape::tools {

std::optional<ListenAddress> parse_listen_address(const std::string& text, std::string& error) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        error = "'" + text + "' is not HOST:PORT (e.g. 127.0.0.1:4000, [::1]:0)";
        return std::nullopt;
    }
    ListenAddress a;
    a.host = text.substr(0, colon);
    const std::string port = text.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }) ||
        std::stoul(port) > 65535) {
        error = "the port in '" + text + "' is not a number from 0 to 65535";
        return std::nullopt;
    }
    a.port = static_cast<std::uint16_t>(std::stoul(port));
    in6_addr v6{};
    if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']') {
        a.host = a.host.substr(1, a.host.size() - 2);
        if (inet_pton(AF_INET6, a.host.c_str(), &v6) != 1) {
            error = "'" + a.host + "' in '" + text + "' is not an IPv6 address";
            return std::nullopt;
        }
        a.loopback = schema::loopback_address(a.host);
        return a;
    }
    if (a.host == "localhost") {
        a.host = "127.0.0.1";
    }
    in_addr v4{};
    if (inet_pton(AF_INET, a.host.c_str(), &v4) == 1) {
        a.loopback = schema::loopback_address(a.host);
        return a;
    }
    if (inet_pton(AF_INET6, a.host.c_str(), &v6) == 1) {
        error = "put an IPv6 address in brackets: [" + a.host + "]:" + port;
    } else {
        error = "'" + a.host + "' in '" + text +
                "' is not an IP address (or localhost): name the address to bind";
    }
    return std::nullopt;
}

}  // namespace mastotape::tools

#pragma once

// A HOST:PORT to bind (`replay --listen`), read whole or refused with the reason: HOST is an IPv4
// or IPv6 literal (IPv6 in brackets: [::1]:4000) or localhost; PORT is 0 to 65535 (0: any free
// port).

#include <cstdint>
#include <optional>
#include <string>

namespace mastotape::tools {

struct ListenAddress {
    std::string host;  // an address literal (localhost becomes 127.0.0.1), without brackets
    std::uint16_t port = 0;
    bool loopback = false;  // 127.0.0.0/8 or ::1
};

// The address `text` names, or nullopt with `error` saying what is wrong in one line.
std::optional<ListenAddress> parse_listen_address(const std::string& text, std::string& error);

}  // namespace mastotape::tools

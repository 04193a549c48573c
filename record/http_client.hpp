#pragma once

// One HTTP GET over a fresh connection (TLS for https), for discovery and backfill. Runs on the
// calling coroutine's executor; every wait has the transport's handshake deadline.

#include <boost/asio/awaitable.hpp>

#include <string>

#include "schema/url.hpp"

namespace mastotape::record {

struct Transport;

struct HttpResult {
    std::string error;  // transport failure; empty when a response arrived
    int status = 0;
    std::string body;
    std::string link;  // the Link header
    std::string rate_remaining;
    std::string rate_reset;
};

// GETs `target`, with `Authorization: Bearer token` unless `token` is empty. `t` must outlive the
// call. Network errors come back in `error`, never as exceptions.
boost::asio::awaitable<HttpResult> http_get(Transport& t, schema::Url target, std::string token);

}  // namespace mastotape::record

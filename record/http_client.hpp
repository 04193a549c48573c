#pragma once

// One HTTP GET over a fresh connection (TLS for https), for discovery and backfill. Runs on the
// calling coroutine's executor; every wait has the transport's handshake deadline.

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>

#include "schema/mastodon/url.hpp"

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

// Lets the thread a request runs on end it while it waits (a stop): cancel() closes the request's
// connection, and a request started after it fails at once.
class RequestCanceller {
   public:
    void cancel() {
        cancelled_ = true;
        if (close_) {
            close_();
        }
    }
    bool cancelled() const { return cancelled_; }
    // For the request in flight: what cancel() does to it (empty when none is).
    void set_close(std::function<void()> close) { close_ = std::move(close); }

   private:
    bool cancelled_ = false;
    std::function<void()> close_;
};

// GETs `target`, with `Authorization: Bearer token` unless `token` is empty. `t` (and `cancel`,
// when given) must outlive the call. Network errors, and a cancel, come back in `error`, never
// as exceptions.
boost::asio::awaitable<HttpResult> http_get(Transport& t, schema::Url target, std::string token,
                                            RequestCanceller* cancel = nullptr);

}  // namespace mastotape::record

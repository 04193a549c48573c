#pragma once

// The recorder's monitoring endpoint (--metrics HOST:PORT): a small HTTP/1.1 server on the
// network thread that answers GET /metrics (Prometheus text) and GET /healthz (200 or 503), one
// request a connection. It only reads the session's counters, so it never holds a frame back.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mastotape::record {

struct MetricsAnswer {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

class MetricsServer {
   public:
    using Handler = std::function<MetricsAnswer(std::string_view path)>;

    // Listens on `host`:`port` (0: any free port); throws std::runtime_error naming the address
    // when it cannot.
    MetricsServer(const boost::asio::any_io_executor& ex, const std::string& host,
                  std::uint16_t port, Handler handler);
    std::uint16_t port() const;
    // Accepts until the io_context stops or close() is called.
    void start();
    void close();

   private:
    boost::asio::ip::tcp::acceptor acceptor_;
    Handler handler_;
};

}  // namespace mastotape::record

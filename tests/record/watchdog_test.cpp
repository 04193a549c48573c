#include "record/watchdog.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>

using mastotape::record::Watchdog;
using namespace std::chrono_literals;

TEST_CASE("A silent connection's watchdog fires once, after the timeout") {
    boost::asio::io_context ioc;
    int fired = 0;
    Watchdog w(ioc.get_executor(), 50ms, [&] { ++fired; });
    const auto start = Watchdog::Clock::now();
    ioc.run_for(5s);  // returns when the watchdog is done waiting
    CHECK(fired == 1);
    CHECK(w.fired());
    CHECK(Watchdog::Clock::now() - start >= 50ms);
}

TEST_CASE("Activity keeps the watchdog quiet, and silence after it ends the connection") {
    boost::asio::io_context ioc;
    int fired = 0;
    auto w = std::make_unique<Watchdog>(ioc.get_executor(), 400ms, [&] { ++fired; });
    // Feed every 20 ms for 1.2 s (three timeouts' worth), then go silent.
    boost::asio::steady_timer tick(ioc);
    int ticks = 0;
    std::function<void()> feed = [&] {
        tick.expires_after(20ms);
        tick.async_wait([&](boost::system::error_code) {
            CHECK(fired == 0);
            w->feed();
            if (++ticks < 60) {
                feed();
            }
        });
    };
    feed();
    ioc.run_for(10s);
    CHECK(ticks == 60);
    CHECK(fired == 1);
}

TEST_CASE("A watchdog destroyed before the timeout never calls its action") {
    boost::asio::io_context ioc;
    bool fired = false;
    {
        Watchdog w(ioc.get_executor(), 30ms, [&] { fired = true; });
    }
    ioc.run_for(1s);
    CHECK_FALSE(fired);
}

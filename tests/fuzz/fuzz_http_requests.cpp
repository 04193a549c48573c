// libFuzzer: a request as the replayer reads it off the wire (Beast's parser with the server's
// limits, the bytes arriving in two reads), then routed as the server routes it: the token, an
// upgrade's stream, an SSE path, the control API (status, clock, run-to, faults, reset) and the
// REST timelines (max_id, since_id, min_id, limit and their Link headers) over a small
// synthesized tape with gaps, on a virtual clock. Every answer has a status; a JSON answer is
// JSON. Never a crash, a hang or undefined behaviour.

#include <unistd.h>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "replay/admission.hpp"
#include "replay/control_access.hpp"
#include "replay/control_api.hpp"
#include "replay/faults.hpp"
#include "replay/player.hpp"
#include "replay/replay_clock.hpp"
#include "replay/report/client_report.hpp"
#include "replay/rest_timelines.hpp"
#include "replay/tape_plan.hpp"
#include "schema/mastodon/client_protocol.hpp"
#include "schema/ops/synth.hpp"
#include "schema/tape/tape_store.hpp"

namespace {

using namespace mastotape;
namespace http = boost::beast::http;

std::string tape_path() {
    char tmpl[] = "/tmp/mastotape-fuzz-XXXXXX";
    const std::string path = std::string(::mkdtemp(tmpl)) + "/tape.db";
    schema::TapeStore store(path, schema::OpenMode::create);
    schema::SynthOptions o;
    o.events = 40;
    o.subscriptions = {{"user", ""}, {"public", ""}, {"hashtag", "tag"}};
    o.connection_ends = {"eof", "close"};
    schema::synthesize(store, o);
    return path;
}

// One replayer's state, made once: what the server's routes reach.
struct World {
    std::string path = tape_path();
    schema::TapeStore store{path, schema::OpenMode::read};
    std::int64_t session = store.newest_session_id();
    replay::TapePlan plan = replay::make_plan(store, session);
    std::vector<replay::Fault> faults;
    replay::ReplayClock clock{replay::ClockMode::virtual_clock, 1.0, false,
                              plan.connections.front().up_offset_ns};
    replay::Admission admission{plan, clock, false, true};
    replay::Player player{store, session, plan, clock, admission, faults, false};
    replay::ControlApi control{store, session, plan, clock, admission, player, faults};
    replay::RestTimelines rest{store, plan.session};
};

World& world() {
    static World w;
    return w;
}

void check_json(const std::string& body) {
    if (!nlohmann::json::accept(body)) {
        std::abort();  // an answer said to be JSON is not
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    World& w = world();
    // The first byte says where the first read ends.
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t cut = std::min<std::size_t>(data[0], bytes.size());
    http::request_parser<http::string_body> parser;  // the server's limits: Beast's defaults
    parser.eager(true);
    // As Beast's read loop does: never an empty buffer (Asio's for an empty string is null).
    boost::beast::error_code ec;
    std::size_t used = 0;
    if (cut > 0) {
        used = parser.put(boost::asio::buffer(bytes.data(), cut), ec);
        if (ec == http::error::need_more) {
            ec = {};
        }
    }
    if (!ec && !parser.is_done() && used < bytes.size()) {
        // What the first read left unparsed comes again, with the rest.
        const std::string rest(bytes.substr(used));
        parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    }
    if (ec || !parser.is_done()) {
        return 0;
    }
    const auto& req = parser.get();
    const auto [path, query] = schema::split_target(req.target());
    const std::string token = schema::request_token(req[http::field::authorization], query,
                                                    req[http::field::sec_websocket_protocol]);
    (void)w.admission.client(token);
    if (boost::beast::websocket::is_upgrade(req)) {
        (void)schema::query_param(query, "stream");
        return 0;
    }
    if (schema::sse_subscription(path, query)) {
        return 0;
    }
    if (w.control.keeps_report(path)) {
        (void)replay::make_reports(w.store, w.plan, w.control.clients());
        return 0;
    }
    if (replay::ControlApi::owns(path)) {
        const replay::ControlRequest who{req.method_string(), true, req[http::field::host],
                                         req[http::field::origin], req[http::field::authorization]};
        if (const auto refusal = replay::control_refusal(who, path, query, "fuzz-token")) {
            check_json(refusal->body);
            return 0;
        }
        const replay::ControlAnswer a = w.control.handle(path, query);
        if (a.status < 100 || a.status > 599) {
            std::abort();
        }
        if (a.content_type.rfind("application/json", 0) == 0) {
            check_json(a.body);
        }
        // Each input starts from no faults and no clients (state would pile up over a run).
        w.control.handle("/_mastotape/faults", "clear=1");
        w.control.handle("/_mastotape/reset", "");
        return 0;
    }
    const std::int64_t now = w.clock.tape_now(w.admission.client(token).clock);
    if (const auto r = w.rest.handle(path, query, now, "http://127.0.0.1:4000")) {
        check_json(r->body);
    }
    return 0;
}

// The archive as a process runs it under systemd: --rotate with compaction and read-only files,
// --metrics in Prometheus text, /healthz, and the options refused.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <sstream>

#include "record/archive_files.hpp"
#include "schema/tape/tape_store.hpp"
#include "schema/tape/tape_verifier.hpp"
#include "tests/tape_helpers.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using mastotape::test::Child;
using mastotape::test::eventually;
using mastotape::test::http_get;
using mastotape::test::read_file;
using mastotape::test::TempDir;

namespace {

// The port the recorder said it serves metrics on (its "metrics at http://HOST:PORT/..." line).
std::uint16_t metrics_port(const std::string& out_file) {
    std::uint16_t port = 0;
    eventually([&] {
        static const std::regex line(R"(metrics at http://127\.0\.0\.1:([0-9]+)/metrics)");
        std::smatch m;
        const std::string out = read_file(out_file);
        if (std::regex_search(out, m, line)) {
            port = static_cast<std::uint16_t>(std::stoi(m[1]));
        }
        return port != 0;
    });
    return port;
}

std::string body_of(const std::string& response) {
    const auto at = response.find("\r\n\r\n");
    return at == std::string::npos ? "" : response.substr(at + 4);
}

// The samples of an exposition, by name with labels; fails the test on a line that is not one.
std::map<std::string, double> samples_of(const std::string& text) {
    static const std::regex sample(R"(^([a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})?) (\S+)$)");
    static const std::regex help(R"(^# (HELP|TYPE) ([a-z_]+) .+$)");
    std::map<std::string, double> out;
    std::map<std::string, int> described;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        INFO(line);
        std::smatch m;
        if (std::regex_match(line, m, help)) {
            ++described[m[2]];
            continue;
        }
        REQUIRE(std::regex_match(line, m, sample));
        const std::string name = m[1].str().substr(0, m[1].str().find('{'));
        CHECK(described[name] == 2);  // HELP and TYPE before its samples
        out[m[1]] = std::stod(m[4]);
    }
    return out;
}

}  // namespace

TEST_CASE(
    "A rotating recording serves its metrics and health, and leaves compacted read-only files") {
    TempDir dir;
    REQUIRE(
        test::run_mastotape("synth --db source.db --events 400 --rate 2000 -q", dir).exit_code ==
        0);
    Child replay({MASTOTAPE_BINARY, "replay", dir.file("source.db"), "--hold"},
                 dir.file("replay.out"));
    const std::string url = test::listening_url(dir.file("replay.out"));
    REQUIRE_FALSE(url.empty());
    Child rec({MASTOTAPE_BINARY, "record", url, "--db", dir.file("arch/%Y-%m-%d.db"), "--rotate",
               "64KiB", "--batch-frames", "50", "--metrics", "127.0.0.1:0"},
              dir.file("rec.out"));
    const std::uint16_t port = metrics_port(dir.file("rec.out"));
    REQUIRE(port != 0);

    std::map<std::string, double> m;
    REQUIRE(eventually([&] {
        const std::string response = http_get(port, "/metrics");
        if (response.rfind("HTTP/1.1 200 OK\r\n", 0) != 0) {
            return false;
        }
        CHECK(response.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
        m = samples_of(body_of(response));
        return m["mastotape_record_frames_total"] >= 400;
    }));
    double events = 0;
    for (const auto& [name, value] : m) {
        if (name.rfind("mastotape_record_events_total{", 0) == 0) {
            CHECK(name.find(R"(stream="user")") != std::string::npos);
            events += value;
        }
    }
    CHECK(events == 400);
    CHECK(m[R"(mastotape_record_events_total{event="update",stream="user"})"] > 0);
    CHECK(m[R"(mastotape_record_connected{state="connected"})"] == 1);
    CHECK(m["mastotape_record_connections_total"] == 1);
    CHECK(m["mastotape_record_rotations_total"] >= 1);
    CHECK(m["mastotape_record_written_bytes_total"] > 0);
    CHECK(m["mastotape_record_disk_free_bytes"] > 0);
    CHECK(m["mastotape_record_healthy"] == 1);
    CHECK(m.count("mastotape_record_seconds_since_last_event") == 1);
    CHECK(m.count("mastotape_record_seconds_since_last_heartbeat") == 1);
    CHECK(m.count("mastotape_record_writer_queue_bytes") == 1);
    CHECK(m.count("mastotape_record_retention_deleted_files_total") == 1);
    CHECK(http_get(port, "/healthz").rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(body_of(http_get(port, "/healthz")) == "ok: connected\n");
    CHECK(http_get(port, "/other").rfind("HTTP/1.1 404 ", 0) == 0);

    rec.signal(SIGTERM);
    CHECK(rec.wait() == 0);
    replay.signal(SIGTERM);
    replay.wait();
    const record::ArchiveFiles archive(dir.file("arch/%Y-%m-%d.db"), {}, {});
    const auto files = archive.files();
    REQUIRE(files.size() >= 2);
    const std::string log = read_file(dir.file("rec.out"));
    std::int64_t recorded = 0;
    for (const auto& f : files) {
        INFO(f.path);
        struct stat st {};
        REQUIRE(::stat(f.path.c_str(), &st) == 0);
        CHECK((st.st_mode & 0222) == 0);  // read-only
        CHECK_FALSE(std::filesystem::exists(f.path + "-wal"));
        CHECK(log.find("closed " + f.path + "\n") != std::string::npos);
        CHECK(log.find(f.path + ": compacted and made read-only: ") != std::string::npos);
        schema::TapeStore store(f.path, schema::OpenMode::read);
        CHECK(schema::verify_tape(store, false, 0).clean());
        recorded += store.counts(1).events;
    }
    CHECK(recorded == 400);
}

TEST_CASE("/healthz says 503 once a recorder has had no frame past the watchdog and backoff cap") {
    TempDir dir;
    // Nothing listens on the recorder's target: every attempt is refused.
    const std::vector<std::string> base{MASTOTAPE_BINARY,
                                        "record",
                                        "ws://127.0.0.1:1",
                                        "--db",
                                        dir.file("t.db"),
                                        "--metrics",
                                        "127.0.0.1:0",
                                        "--backoff-start",
                                        "0.05",
                                        "--backoff-cap",
                                        "0.1"};
    SECTION("backing off within the cap is healthy") {
        Child rec(base, dir.file("rec.out"));  // stuck only after 75 s + 0.1 s
        const std::uint16_t port = metrics_port(dir.file("rec.out"));
        REQUIRE(port != 0);
        CHECK(http_get(port, "/healthz").rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        rec.signal(SIGTERM);
        CHECK(rec.wait() == 0);
    }
    SECTION("silent past the heartbeat timeout and the cap is stuck") {
        auto argv = base;
        argv.insert(argv.end(), {"--heartbeat-timeout", "0.2"});
        Child rec(argv, dir.file("rec.out"));
        const std::uint16_t port = metrics_port(dir.file("rec.out"));
        REQUIRE(port != 0);
        std::string health;
        CHECK(eventually([&] {
            health = http_get(port, "/healthz");
            return health.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0;
        }));
        CHECK(body_of(health).rfind("stuck: ", 0) == 0);
        const auto m = samples_of(body_of(http_get(port, "/metrics")));
        CHECK(m.at("mastotape_record_healthy") == 0);
        CHECK(m.at("mastotape_record_connections_total") == 0);
        rec.signal(SIGTERM);
        CHECK(rec.wait() == 0);
    }
}

TEST_CASE("Archive options that cannot work are refused with one line, and nothing is made") {
    TempDir dir;
    const auto refused = [&](const std::string& args, const std::string& says) {
        INFO(args);
        const auto r = test::run_mastotape(
            "record ws://127.0.0.1:1 --db " + dir.file("t.db") + " " + args, dir);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(says) != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(dir.file("t.db")));
    };
    refused("--retain 3", "add --rotate");
    refused("--rotate weekly", "--rotate takes hourly, daily or a size");
    refused("--rotate 1000", "at least 64KiB");
    refused("--metrics 0.0.0.0:9100", "pass --allow-remote");
    refused("--metrics nowhere", "--metrics");
}

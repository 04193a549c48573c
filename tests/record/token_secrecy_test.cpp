// A known access token, recorded with through every --token-in and both transports and through
// failing runs (401, a TLS error, a failed discovery), appears nowhere: not in the tape and its
// WAL, an export, anything printed, nor the recorder's command line; not raw, base64, base64url,
// hex or URL-encoded.

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <map>

#include "schema/mastodon/url.hpp"
#include "schema/tape/tape_store.hpp"
#include "schema/text/byte_codec.hpp"
#include "tests/record/scripted_server.hpp"
#include "tests/tape_helpers.hpp"
#include "tests/test_support.hpp"

using namespace mastotape;
using namespace mastotape::test;

namespace {

// Characters that every encoding below changes.
constexpr const char* kToken = "s3cr3t-TOKEN_x+y/z=Q";

std::string hex(const std::string& s, const char* digits) {
    std::string out;
    for (const unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// The part of base64(PREFIX + token) that depends only on the token, for each of the three
// alignments a token inside longer encoded bytes can have; and the same in base64url.
std::map<std::string, std::string> base64_cores(const std::string& token) {
    std::map<std::string, std::string> out;
    for (std::size_t pad = 0; pad < 3; ++pad) {
        const std::string encoded = schema::base64_encode(std::string(pad, 'x') + token);
        // The prefix's bytes touch the first ceil(pad * 4 / 3) characters; the last group may
        // hold padding or bytes that follow.
        const std::size_t from = (pad * 4 + 2) / 3;
        const std::size_t to = (pad + token.size()) / 3 * 4;
        std::string core = encoded.substr(from, to - from);
        out["base64/" + std::to_string(pad)] = core;
        for (char& c : core) {
            c = c == '+' ? '-' : c == '/' ? '_' : c;
        }
        out["base64url/" + std::to_string(pad)] = core;
    }
    return out;
}

std::map<std::string, std::string> token_forms() {
    std::map<std::string, std::string> forms = base64_cores(kToken);
    forms["raw"] = kToken;
    forms["url-encoded"] = schema::percent_encode(kToken);
    forms["hex"] = hex(kToken, "0123456789abcdef");
    forms["HEX"] = hex(kToken, "0123456789ABCDEF");
    return forms;
}

// Fails the test if `bytes` (named `what`) hold the token in any form.
void check_no_token(const std::string& what, const std::string& bytes) {
    for (const auto& [form, text] : token_forms()) {
        INFO(what << " holds the token " << form << ": " << text);
        CHECK(bytes.find(text) == std::string::npos);
    }
}

// Every file of the tape (the database, its WAL and shared memory, a lock) and its export.
void check_tape(const TempDir& dir, const std::string& db) {
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        const std::string name = e.path().filename().string();
        if (name.rfind(std::filesystem::path(db).filename().string(), 0) == 0) {
            check_no_token(name, read_file(e.path().string()));
        }
    }
    if (std::filesystem::exists(db)) {
        const RunResult exported = run_mastotape("export --db '" + db + "'", dir);
        INFO(exported.err);
        check_no_token("export of " + db, exported.out + exported.err);
        const RunResult shown = run_mastotape("sessions --db '" + db + "'", dir);
        check_no_token("sessions of " + db, shown.out + shown.err);
    }
}

// A replayer of a synthesized tape that holds its connections open, accepting only `token`.
struct ReplayProcess {
    ReplayProcess(const TempDir& dir, const std::string& token,
                  std::vector<std::string> extra = {}) {
        REQUIRE(run_mastotape("synth --db source.db --events 20 --rate 200 -q", dir).exit_code ==
                0);
        write_file(dir.file("required-token"), token + "\n");
        std::vector<std::string> argv = {MASTOTAPE_BINARY,       "replay",
                                         dir.file("source.db"),  "--hold",
                                         "--require-token-file", dir.file("required-token")};
        argv.insert(argv.end(), extra.begin(), extra.end());
        child = std::make_unique<Child>(argv, dir.file("replay.out"));
        url = listening_url(dir.file("replay.out"));
        REQUIRE_FALSE(url.empty());
    }
    ~ReplayProcess() {
        child->signal(SIGTERM);
        child->wait();
    }
    std::unique_ptr<Child> child;
    std::string url;
};

}  // namespace

TEST_CASE("The encodings searched for are the token's") {
    const auto forms = token_forms();
    CHECK(forms.at("url-encoded") == "s3cr3t-TOKEN_x%2By%2Fz%3DQ");
    CHECK(forms.at("hex").substr(0, 6) == "733363");
    // Each base64 core is found in the encoding of the token inside longer bytes.
    for (const char* before : {"", "a", "ab", "abc", "abcd"}) {
        const std::string encoded = schema::base64_encode(std::string(before) + kToken + "tail");
        bool found = false;
        for (std::size_t pad = 0; pad < 3; ++pad) {
            found = found ||
                    encoded.find(forms.at("base64/" + std::to_string(pad))) != std::string::npos;
        }
        INFO(before);
        CHECK(found);
    }
}

TEST_CASE("A recording through every --token-in and transport keeps the token out of everything") {
    const std::vector<std::pair<std::string, std::string>> ways = {
        {"websocket", "header"}, {"websocket", "query"}, {"websocket", "subprotocol"},
        {"sse", "header"},       {"sse", "query"},
    };
    for (const auto& [transport, token_in] : ways) {
        INFO(transport << " " << token_in);
        TempDir dir;  // and a replayer of its own: it knows a client by its token
        ReplayProcess replay(dir, kToken);
        const std::string db = dir.file("rec.db");
        Child rec({MASTOTAPE_BINARY, "record", replay.url, "--db", db, "--transport", transport,
                   "--token-in", token_in, "--json-log"},
                  dir.file("rec.out"), {std::string("ACCESS_TOKEN=") + kToken});
        // The token got through (the replayer accepts no other), and 20 events came.
        REQUIRE(eventually([&] { return frames_in(db) >= 20; }));
        const std::string proc = "/proc/" + std::to_string(rec.pid());
        check_no_token("the recorder's command line", read_file(proc + "/cmdline"));
        // Where it was given, the search finds it: the search works.
        CHECK(read_file(proc + "/environ").find(kToken) != std::string::npos);
        rec.signal(SIGINT);
        CHECK(rec.wait() == 0);
        check_no_token("the recorder's output", read_file(dir.file("rec.out")));
        check_tape(dir, db);
        check_no_token("the replayer's output", read_file(dir.file("replay.out")));
    }
}

TEST_CASE("Failing recordings keep the token out of their output and tapes") {
    TempDir dir;
    REQUIRE(make_test_certificates(dir, "IP:127.0.0.1"));
    const auto record = [&](const std::string& name, const std::string& target,
                            std::vector<std::string> extra = {}) {
        const std::string db = dir.file(name + ".db");
        std::vector<std::string> argv = {MASTOTAPE_BINARY,   "record", target,      "--db", db,
                                         "--max-reconnects", "0",      "--json-log"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        Child rec(argv, db + ".out", {std::string("ACCESS_TOKEN=") + kToken});
        const int code = rec.wait();
        const std::string out = read_file(db + ".out");
        INFO(name << " exited " << code << ": " << out);
        CHECK(code != 0);
        check_no_token(db + ".out", out);
        check_tape(dir, db);
        return out;
    };
    SECTION("401: the server refuses the token") {
        ReplayProcess replay(dir, "another-token");
        for (const char* token_in : {"header", "query", "subprotocol"}) {
            CHECK_THAT(
                record(std::string("refused-") + token_in, replay.url, {"--token-in", token_in}),
                Catch::Contains("Invalid access token"));
        }
        CHECK_THAT(record("refused-sse", replay.url, {"--transport", "sse", "--token-in", "query"}),
                   Catch::Contains("Invalid access token"));
    }
    SECTION("a TLS error: the server's CA is not trusted") {
        ReplayProcess replay(
            dir, kToken,
            {"--tls-cert", dir.file("server.pem"), "--tls-key", dir.file("server.key")});
        REQUIRE_THAT(replay.url, Catch::StartsWith("wss://"));
        record("tls", replay.url, {"--token-in", "query"});
    }
    SECTION("a failed discovery: the instance does not answer") {
        record("discovery", "https://127.0.0.1:9");
    }
    SECTION("a server that echoes the token: in a close reason, a status line, an error") {
        // Before, the close reason and the status line's reason phrase were stored verbatim.
        const std::string token = kToken;
        ScriptedServer closing({[&](ScriptedServer& s, int fd) {
            s.upgrade(fd);
            s.send(fd, ws_frame(8, std::string("\x0f\xa0", 2) + "bad token " + token));
            s.read_until_closed(fd, 500);
        }});
        record("echo-close", closing.url());
        CHECK(closing.accepted() == 1);
        ScriptedServer refusing({[&](ScriptedServer& s, int fd) {
            s.read_request(fd);
            s.send(fd, "HTTP/1.1 503 No " + token + "\r\nX-Error-Message: no " + token +
                           "\r\nContent-Length: 0\r\n\r\n");
        }});
        record("echo-status", refusing.url());
        CHECK(refusing.accepted() == 1);
    }
}

#include "tools/man_page.hpp"

#include <map>
#include <utility>
#include <vector>

namespace mastotape::tools {
namespace {

// Text made roff: backslashes and hyphens escaped, a leading . or ' made text.
std::string roff(const std::string& text) {
    std::string out;
    for (const char c : text) {
        if (c == '\\') {
            out += "\\e";
        } else if (c == '-') {
            out += "\\-";
        } else {
            out += c;
        }
    }
    std::string lines;
    std::size_t at = 0;
    while (at <= out.size()) {
        const auto end = out.find('\n', at);
        std::string line = out.substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (!line.empty() && (line[0] == '.' || line[0] == '\'')) {
            line.insert(0, "\\&");
        }
        lines += line + (end == std::string::npos ? "" : "\n");
        if (end == std::string::npos) {
            break;
        }
        at = end + 1;
    }
    return lines;
}

using Examples = std::vector<std::pair<std::string, std::string>>;

// What each page shows a newcomer first: a command and what it does.
const std::map<std::string, Examples>& examples() {
    static const std::map<std::string, Examples> kAll{
        {"",
         {{"tools/demo.sh", "Build, replay a bundled session, record it back and diff it."},
          {"ACCESS_TOKEN=... mastotape record mastodon.social --stream user",
           "Record a real instance's user stream into ./mastotape.db (Ctrl-C stops)."},
          {"mastotape replay fixtures/user-gaps.jsonl --speed 10",
           "Serve a recorded session as a Mastodon streaming server."}}},
        {"record",
         {{"ACCESS_TOKEN=... mastotape record mastodon.social \\\n    --stream user --stream "
           "hashtag=rust",
           "Two streams over one WebSocket, into ./mastotape.db."},
          {"mastotape record wss://streaming.example \\\n    --transport sse --stream public --db "
           "a.db",
           "One stream over SSE, into a.db."}}},
        {"replay",
         {{"mastotape replay fixtures/user-gaps.jsonl --speed 10",
           "The tape's schedule at ten times its speed; the URL is printed on one line."},
          {"mastotape replay t.jsonl --max-speed --exit-when-done \\\n"
           "    --report r.json --fail-on-missed --timeout 600",
           "A CI run: client-paced, exits once the client is done, 1 if it missed an item."},
          {"mastotape replay t.db --virtual-clock --port-file port",
           "Time moves only through /_mastotape/clock/advance?ms=N and run-to."},
          {"mastotape replay t.db --fault drop-after=5 --fault refuse=2",
           "Drop the connection after the 5th event and refuse the next two attempts."}}},
        {"sessions", {{"mastotape sessions --db archive.db", "One line per session."}}},
        {"show",
         {{"mastotape show 3 --kind gap", "The gaps of session 3."},
          {"mastotape show --event update --json", "Its update frames as JSONL records."}}},
        {"stats", {{"mastotape stats --db fixtures/user-gaps.jsonl", "Counts, rates, gaps."}}},
        {"verify", {{"mastotape verify archive.db", "Check every invariant; exit 4 on damage."}}},
        {"export",
         {{"mastotape export 2 -o fixture.jsonl", "Session 2 as a JSONL tape."},
          {"mastotape export --format har -o s.har", "As a HAR file for browsers."}}},
        {"import", {{"mastotape import fixture.jsonl --db t.db", "A JSONL tape into t.db."}}},
        {"import-har",
         {{"mastotape import-har capture.har --db t.db",
           "The streaming entries of a HAR capture as a session."}}},
        {"synth",
         {{"mastotape synth --events 1000 \\\n    --connection-ends eof,heartbeat-timeout",
           "A made-up session with two gaps."}}},
        {"diff",
         {{"mastotape diff fixture.jsonl recorded.db --time-scale 10",
           "Compare a recording of a 10x replay with its original."}}},
        {"cut",
         {{"mastotape cut --db archive.db --around-gap 41 \\\n    --before 60 --after 60 --out "
           "f.db",
           "Two minutes around gap 41 as a session of its own."}}},
        {"merge", {{"mastotape merge other.db --db archive.db", "Copy other.db's sessions in."}}},
        {"redact", {{"mastotape redact --db f.db --seed 1", "A session safe to publish."}}},
        {"compact", {{"mastotape compact --db big.db small.db", "A smaller copy."}}},
        {"plot", {{"mastotape plot -o session.svg", "The newest session as a picture."}}},
        {"completion",
         {{"mastotape completion bash > /etc/bash_completion.d/mastotape",
           "Install the bash completion."}}},
    };
    return kAll;
}

// What a page says beyond the one-line description.
const std::map<std::string, std::string>& details() {
    static const std::map<std::string, std::string> kAll{
        {"replay",
         "A client connects as to Mastodon: WebSocket at /api/v1/streaming, SSE at "
         "/api/v1/streaming/STREAM, the REST timelines, the instance endpoints; it gets the tape's "
         "frames byte for byte, and its connections end as the recorded ones ended.\n"
         ".PP\nClocks, by what a client can miss. Real time and \\-\\-speed X: the tape's "
         "schedule rules; a connection a client opens late starts where its clock stands, and what "
         "was streamed meanwhile is lost to it (REST has it). \\-\\-max\\-speed is "
         "client-paced: frames as fast as the client reads, once it has subscribed to what the "
         "recorded connection carried; a recorded gap lasts until the client comes back, a "
         "recorded silence \\-\\-silence seconds; the same client gets the same report on every "
         "run. \\-\\-virtual\\-clock: time moves only through the control API, and nothing "
         "waits in real time.\n"
         ".PP\nFaults (\\-\\-fault, repeatable, keyed to the tape): drop\\-after=N, "
         "close\\-at=T:CODE, stall=T:SECONDS, refuse=K[:STATUS], rest\\-error=K[:STATUS], "
         "malformed\\-at=N, oversize\\-at=N, slow=BYTES_PER_S.\n"
         ".PP\nThe control API, on the same port: /_mastotape/status (the clock, the clients and "
         "whether each is subscribed), /_mastotape/report, /_mastotape/clock/advance?ms=N, "
         "/_mastotape/clock/run\\-to?seq=N or next=frame|heartbeat|gap, /_mastotape/pause, "
         "/_mastotape/resume, /_mastotape/faults?add=SPEC or clear=1, /_mastotape/reset "
         "(these change the replay: POST only); /_mastotape/ is a dashboard page. It answers "
         "this machine only (loopback, a Host naming it, no other page's Origin), or the "
         "\\-\\-require\\-token token as Authorization: Bearer.\n"
         ".PP\nWith \\-\\-exit\\-when\\-done the replayer exits once no stream is open and "
         "nothing came for \\-\\-exit\\-grace seconds, and judges each client on the whole "
         "tape."},
        {"record",
         "Records a live streaming connection into a tape: every frame as received, with its "
         "time, every connection attempt and how it ended, every gap and what REST backfill "
         "recovered. The token comes from ACCESS_TOKEN or \\-\\-token\\-file, never the "
         "command line; TLS is verified."},
    };
    return kAll;
}

std::string synopsis(const CLI::App& sub, const std::string& name) {
    std::string out = ".B " + roff(name) + "\n[\\fIOPTIONS\\fR]";
    for (const CLI::Option* o : sub.get_options()) {
        if (o->get_positional()) {
            const std::string arg = "\\fI" + roff(o->get_name()) + "\\fR";
            out += o->get_required() ? " " + arg : " [" + arg + "]";
        }
    }
    return out + "\n";
}

std::string options(const CLI::App& sub) {
    std::string out;
    for (const CLI::Option* o : sub.get_options()) {
        std::string names;
        for (const auto& s : o->get_snames()) {
            names += (names.empty() ? "" : ", ") + std::string("\\fB\\-") + roff(s) + "\\fR";
        }
        for (const auto& l : o->get_lnames()) {
            names += (names.empty() ? "" : ", ") + std::string("\\fB\\-\\-") + roff(l) + "\\fR";
        }
        if (o->get_positional()) {
            names = "\\fI" + roff(o->get_name()) + "\\fR";
        } else if (o->get_items_expected_min() > 0) {
            names += " \\fI" + roff(o->get_type_name()) + "\\fR";
        }
        std::string text = o->get_description();
        if (!o->get_default_str().empty()) {
            text += " (default: " + o->get_default_str() + ")";
        }
        out += ".TP\n" + names + "\n" + roff(text) + "\n";
    }
    return out;
}

}  // namespace

std::string man_page(const CLI::App& app, const CLI::App* sub, const std::string& version) {
    const std::string key = sub ? sub->get_name() : "";
    const std::string name = sub ? "mastotape-" + key : "mastotape";
    std::string title = name;
    for (char& c : title) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    const CLI::App& self = sub ? *sub : app;
    std::string summary = self.get_description();
    summary = summary.substr(0, summary.find('\n'));
    std::string out = ".TH " + title + " 1 \"\" \"" + roff(version) + "\" \"User Commands\"\n";
    out += ".SH NAME\n" + roff(name) + " \\- " +
           roff(sub ? summary
                    : "record Mastodon streaming "
                      "sessions into tapes and "
                      "replay them") +
           "\n";
    out += ".SH SYNOPSIS\n";
    if (sub) {
        out += synopsis(*sub, "mastotape " + key);
    } else {
        out += ".B mastotape\n\\fISUBCOMMAND\\fR [\\fIOPTIONS\\fR]\n";
    }
    out += ".SH DESCRIPTION\n" + roff(self.get_description()) + "\n";
    if (const auto it = details().find(key); it != details().end()) {
        out += ".PP\n" + it->second + "\n";  // roff already
    }
    if (sub == nullptr) {
        out += ".PP\nSubcommands:\n";
        for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; })) {
            const std::string d = s->get_description();
            out += ".TP\n\\fBmastotape " + roff(s->get_name()) + "\\fR\n" +
                   roff(d.substr(0, d.find('\n'))) + "\n";
        }
    }
    out += ".SH OPTIONS\n" + options(self);
    if (const auto it = examples().find(key); it != examples().end()) {
        out += ".SH EXAMPLES\n";
        for (const auto& [command, what] : it->second) {
            out += ".PP\n" + roff(what) + "\n.PP\n.RS 4\n.EX\n" + roff(command) + "\n.EE\n.RE\n";
        }
    }
    out +=
        ".SH EXIT STATUS\n"
        ".TP\n0\nSuccess.\n"
        ".TP\n1\nFailure: a bad tape or file, an I/O error; for diff, the sessions differ; for "
        "replay, a client missed an item (\\-\\-fail\\-on\\-missed) or \\-\\-timeout passed.\n"
        ".TP\n2\nUsage: a bad command line, or input that cannot be read.\n"
        ".TP\n3\nThe server refused the token (record).\n"
        ".TP\n4\nverify found problems.\n";
    out +=
        ".SH ENVIRONMENT\n"
        ".TP\nMASTOTAPE_DB\nThe tape when \\-\\-db is not given.\n"
        ".TP\nACCESS_TOKEN, STREAMING_DOMAIN, STREAM\nThe recorder's token (never on the "
        "command line) and the seed's variables.\n";
    out +=
        ".SH FILES\n"
        ".TP\n./mastotape.db\nThe tape when neither \\-\\-db nor MASTOTAPE_DB says another.\n"
        ".TP\n/usr/lib/systemd/system/mastotape\\-record@.service\nThe recorder as a "
        "service: /etc/mastotape/NAME.conf and NAME.token, the tape in "
        "/var/lib/mastotape/NAME.db.\n";
    out += ".SH SEE ALSO\n";
    if (sub) {
        out += ".BR mastotape (1)\n";
    } else {
        const auto subs = app.get_subcommands([](const CLI::App*) { return true; });
        for (std::size_t i = 0; i < subs.size(); ++i) {
            out += ".BR mastotape\\-" + roff(subs[i]->get_name()) + " (1)" +
                   (i + 1 < subs.size() ? ",\n" : "\n");
        }
    }
    return out;
}

}  // namespace mastotape::tools

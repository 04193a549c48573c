// The hot path of recording: classifying each incoming frame (kind, stream label, event, object id)
// from its bytes. Compares the shipped simdjson classifier with the same work done by
// nlohmann/json, on synthesized frames shaped like the real server's. Prints frames/s for both and
// their ratio. Usage: classify_bench [FRAMES]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "schema/mastodon/frame_classifier.hpp"
#include "schema/ops/synth.hpp"

using namespace mastotape::schema;

namespace {

// The same columns as classify_text for a WebSocket frame, with nlohmann/json.
FrameColumns classify_nlohmann(const std::string& bytes) {
    FrameColumns out;
    out.kind = FrameKind::text;
    out.parse_ok = false;
    const auto j = nlohmann::json::parse(bytes, nullptr, false);
    if (!j.is_object()) {
        return out;
    }
    if (j.contains("error")) {
        out.kind = FrameKind::error;
        out.parse_ok = true;
        return out;
    }
    if (!j.contains("event") || !j.contains("stream") || !j.contains("payload")) {
        return out;
    }
    out.kind = FrameKind::event;
    out.event = j["event"].get<std::string>();
    out.stream = j["stream"].dump();
    const std::string payload = j["payload"].get<std::string>();
    out.parse_ok = true;
    if (*out.event == "delete" || *out.event == "announcement.delete") {
        out.object_id = payload;
    } else if (*out.event != "notifications_merged") {
        const auto entity = nlohmann::json::parse(payload, nullptr, false);
        out.parse_ok = entity.is_object();
        const char* key = *out.event == "announcement.reaction" ? "announcement_id" : "id";
        if (out.parse_ok && entity.contains(key) && entity[key].is_string()) {
            out.object_id = entity[key].get<std::string>();
        }
    }
    return out;
}

template <typename F>
double frames_per_second(const std::vector<std::string>& frames, F&& classify) {
    std::size_t ids = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const auto& f : frames) {
        ids += classify(f).object_id ? 1 : 0;
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (ids == 0) {
        std::fprintf(stderr, "no ids classified\n");
    }
    return static_cast<double>(frames.size()) / secs;
}

}  // namespace

int main(int argc, char** argv) {
    const std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 100'000;
    const auto path = std::filesystem::temp_directory_path() / "mastotape-classify-bench.db";
    std::filesystem::remove(path);
    std::vector<std::string> frames;
    {
        TapeStore store(path.string(), OpenMode::create);
        SynthOptions o;
        o.events = n;
        o.rate = 1000;
        const auto id = synthesize(store, o);
        auto cursor = store.frames_from_seq(id, 1);
        Frame f;
        while (cursor.next(f)) {
            if (f.columns.kind == FrameKind::event) {
                frames.push_back(f.bytes);
            }
        }
    }
    std::filesystem::remove(path);
    double bytes = 0;
    for (const auto& f : frames) {
        bytes += static_cast<double>(f.size());
    }
    // Agreement first: both must produce the same columns.
    for (std::size_t i = 0; i < frames.size(); i += 97) {
        const auto a = classify_text(Transport::websocket, frames[i], "");
        const auto b = classify_nlohmann(frames[i]);
        if (a.event != b.event || a.object_id != b.object_id) {
            std::fprintf(stderr, "classifiers disagree on frame %zu\n", i);
            return 1;
        }
    }
    std::vector<double> simd;
    std::vector<double> nl;
    for (int run = 0; run < 3; ++run) {
        simd.push_back(frames_per_second(frames, [](const std::string& f) {
            return classify_text(Transport::websocket, f, "");
        }));
        nl.push_back(frames_per_second(frames, classify_nlohmann));
    }
    std::sort(simd.begin(), simd.end());
    std::sort(nl.begin(), nl.end());
    std::printf("frames %zu, mean size %.0f B\n", frames.size(),
                bytes / static_cast<double>(frames.size()));
    std::printf("simdjson  frames/s min %.0f median %.0f max %.0f\n", simd[0], simd[1], simd[2]);
    std::printf("nlohmann  frames/s min %.0f median %.0f max %.0f\n", nl[0], nl[1], nl[2]);
    std::printf("ratio simdjson/nlohmann (median) %.2f\n", simd[1] / nl[1]);
    return 0;
}

#include "replay/report/client_log.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace mastotape::replay {
namespace {

// Standard deviation over mean, of `n` values summing to `sum` (squares: `sum_sq`).
double variation(double sum, double sum_sq, std::int64_t n) {
    if (n < 2 || sum <= 0) {
        return 0;
    }
    const double mean = sum / static_cast<double>(n);
    return std::sqrt(std::max(0.0, sum_sq / static_cast<double>(n) - mean * mean)) / mean;
}

std::string seconds_text(double s) {
    char out[32];
    std::snprintf(out, sizeof out, s < 10 ? "%.2f s" : "%.1f s", s);
    return out;
}

}  // namespace

std::optional<std::uint64_t> numeric_id(std::string_view id) {
    if (id.empty() || (id.size() > 1 && id.front() == '0')) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
    if (ec != std::errc() || end != id.data() + id.size()) {
        return std::nullopt;
    }
    return n;
}

void IdTimes::served(std::string_view id, std::int64_t at) {
    std::int64_t* latest = nullptr;
    if (const auto n = numeric_id(id)) {
        latest = &numeric_.try_emplace(*n, at).first->second;
    } else {
        auto it = text_.find(id);
        latest = &(it != text_.end() ? it : text_.emplace(std::string(id), at).first)->second;
    }
    *latest = std::max(*latest, at);
}

std::optional<std::int64_t> IdTimes::latest(std::string_view id) const {
    if (const auto n = numeric_id(id)) {
        const auto it = numeric_.find(*n);
        return it == numeric_.end() ? std::nullopt : std::optional<std::int64_t>(it->second);
    }
    const auto it = text_.find(id);
    return it == text_.end() ? std::nullopt : std::optional<std::int64_t>(it->second);
}

const char* to_string(ConnectionEnd how) {
    switch (how) {
        case ConnectionEnd::open:
            return "open";
        case ConnectionEnd::tape:
            return "tape";
        case ConnectionEnd::fault:
            return "fault";
        case ConnectionEnd::client:
            return "client";
    }
    return "open";
}

void Attempts::start(std::optional<TimePoint> from) {
    *this = Attempts{};
    previous_ = from;
}

void Attempts::add(TimePoint at) {
    if (count_++ == 0) {
        first_ = at;
        if (previous_) {
            first_delay_ = at - *previous_;  // from the drop: often at once, so kept apart
        }
    } else {
        const auto d = at - *previous_;
        const double s = in_seconds(d);
        min_ = delays_ ? std::min(min_, d) : d;
        max_ = delays_ ? std::max(max_, d) : d;
        ++delays_;
        sum_ += s;
        sum_sq_ += s * s;
        if (previous_delay_) {
            const double p = in_seconds(*previous_delay_);
            grew_ += s > 1.2 * p ? 1 : 0;
            if (p > 0) {
                ratio_sum_ += s / p;
                ratio_sum_sq_ += (s / p) * (s / p);
                ++ratios_;
            }
        }
        previous_delay_ = d;
    }
    previous_ = at;
    last_ = at;
}

double Attempts::spread() const {
    const bool growing = ratios_ >= 2 && 3 * grew_ >= 2 * ratios_;
    return growing ? variation(ratio_sum_, ratio_sum_sq_, ratios_)
                   : variation(sum_, sum_sq_, delays_);
}

std::string Attempts::pattern() const {
    if (count_ < 3 || delays_ < 2) {
        return "";
    }
    const double mean = sum_ / static_cast<double>(delays_);
    // Jitter is judged on three delays (two ratios) at least; with fewer, nothing is said.
    const std::string jitter = ratios_ < 2 ? "" : spread() > 0.05 ? ", with jitter" : ", no jitter";
    // Growing delays are a backoff however short they started (0.1, 0.2, 0.4 s...), and two
    // delays are one when the second grew (masto.js: 2 s, then 4 s).
    if ((ratios_ >= 2 && 3 * grew_ >= 2 * ratios_) || (ratios_ == 1 && grew_ == 1)) {
        return "backed off: delays grew from " + seconds_text(in_seconds(min_)) + " to " +
               seconds_text(in_seconds(*previous_delay_)) + jitter;
    }
    if (mean < 0.25) {
        return "hammered: " + std::to_string(count_) + " attempts in " +
               seconds_text(in_seconds(span()));
    }
    return "kept a delay of about " + seconds_text(mean) + jitter;
}

void ClientLog::attempt_refused(TimePoint at) { pending_.add(at); }

void ClientLog::connection_started(TimePoint at, std::int64_t tape_start) {
    Connection c;
    c.started = at;
    c.tape_start = tape_start;
    c.tape_end = tape_start;
    pending_.add(at);
    c.attempts = pending_;
    pending_.start(at);
    connections_.push_back(c);
    run_open_ = false;
}

void ClientLog::connection_ended(TimePoint at, std::int64_t tape_end, ConnectionEnd how,
                                 std::string recorded_end,
                                 const std::vector<schema::Subscription>& subscriptions) {
    if (connections_.empty()) {
        return;
    }
    Connection& c = connections_.back();
    c.ended = at;
    c.tape_end = std::max(c.tape_start, tape_end);
    c.how = how;
    c.recorded_end = std::move(recorded_end);
    pending_.start(at);
    for (const auto& s : subscriptions) {
        if (std::find(subscriptions_.begin(), subscriptions_.end(), s) == subscriptions_.end()) {
            subscriptions_.push_back(s);
        }
    }
}

void ClientLog::silence(std::optional<SteadyClock::duration> noticed) {
    if (!connections_.empty()) {
        connections_.back().silent = true;
        connections_.back().noticed_after = noticed;
    }
}

void ClientLog::left_after_heartbeat(SteadyClock::duration after) {
    if (!connections_.empty()) {
        connections_.back().left_after_heartbeat = after;
    }
}

void ClientLog::streamed(std::int64_t seq) {
    if (!keep_items_) {
        return;
    }
    if (run_open_ && !runs_.empty() && runs_.back().second < seq) {
        runs_.back().second = seq;
    } else {
        runs_.emplace_back(seq, seq);
    }
    run_open_ = true;
}

void ClientLog::rest_page(std::string target, std::string_view event, std::int64_t limit,
                          const std::vector<std::string>& ids, std::int64_t tape_now) {
    if (!keep_items_) {
        return;
    }
    auto kind = std::find_if(served_.begin(), served_.end(),
                             [&](const Served& k) { return k.event == event; });
    if (kind == served_.end()) {
        kind = served_.insert(served_.end(), {std::string(event), {}});
    }
    for (const auto& id : ids) {
        kind->ids.served(id, tape_now);
    }
    RestRequest q;
    q.target = std::move(target);
    q.event = std::string(event);
    q.limit = limit;
    q.items = static_cast<std::int64_t>(ids.size());
    if (!ids.empty()) {
        q.newest = ids.front();
        q.oldest = ids.back();
    }
    q.tape_now = tape_now;
    q.connections_before = connections_.size();
    q.stream_up = !connections_.empty() && !connections_.back().ended;
    requests_.push_back(std::move(q));
}

std::optional<std::int64_t> ClientLog::served_over_rest(const Item& item) const {
    for (const auto& k : served_) {
        if (k.event == item.first) {
            return k.ids.latest(item.second);
        }
    }
    return std::nullopt;
}

}  // namespace mastotape::replay

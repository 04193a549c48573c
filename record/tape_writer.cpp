#include "record/tape_writer.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iterator>

namespace mastotape::record {
namespace {

std::int64_t now_wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

TapeWriter::TapeWriter(std::unique_ptr<schema::TapeStore> store, std::int64_t session_id,
                       WriterOptions options)
    : store_(std::move(store)), session_id_(session_id), options_(std::move(options)) {
    thread_ = std::thread([this] { run(); });
}

TapeWriter::~TapeWriter() { stop_thread(); }

void TapeWriter::stop_thread() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

namespace {

// What a queued record holds in memory, near enough: its bytes and a fixed share for the rest.
std::size_t footprint(const TapeWriter::Record& r) {
    constexpr std::size_t kFixed = 256;
    if (const auto* f = std::get_if<schema::Frame>(&r)) {
        return kFixed + f->bytes.size();
    }
    if (const auto* b = std::get_if<schema::BackfillItem>(&r)) {
        return kFixed + b->body.size();
    }
    return kFixed;
}

}  // namespace

bool TapeWriter::push(Record r) {
    std::size_t size = 0;
    std::size_t bytes = 0;
    {
        std::lock_guard lock(mutex_);
        queued_bytes_ += footprint(r);
        queue_.push_back(std::move(r));
        size = queue_.size();
        queued_records_ = size;
        bytes = queued_bytes_;
    }
    if (size >= options_.batch_records || options_.sync_full) {
        wake_.notify_one();
    }
    return bytes < options_.queue_limit_bytes;
}

bool TapeWriter::has_room() const {
    return queued_bytes_.load(std::memory_order_relaxed) < options_.queue_limit_bytes / 2 &&
           queued_records_.load(std::memory_order_relaxed) < options_.batch_records;
}

void TapeWriter::fail(const std::string& error) {
    {
        std::lock_guard lock(mutex_);
        if (!error_.empty()) {
            return;
        }
        error_ = error;
    }
    if (options_.on_error) {
        options_.on_error(error);
    }
}

std::string TapeWriter::error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

void TapeWriter::finish(std::int64_t ended_wall_ns, std::int64_t ended_offset_ns,
                        schema::SessionEnd reason, const std::string& detail) {
    // The writer thread commits what is queued and goes: nothing runs beside the session's end
    // and the rescue (SQLite's VACUUM INTO fails inside another's transaction).
    stop_thread();
    std::lock_guard lock(mutex_);
    if (!error_.empty()) {
        return;
    }
    try {
        if (rotated_to_) {
            store_->set_setting(session_id_, schema::kRotatedToSetting,
                                schema::to_json(*rotated_to_));
        }
        store_->end_session(session_id_, ended_wall_ns, ended_offset_ns, reason, detail);
    } catch (const schema::TapeError& e) {
        error_ = e.what();
        return;
    }
    if (!path_problem_.empty()) {
        rescued_ = rescue();
    }
}

void TapeWriter::set_rotated_to(const schema::RotationLink& next) { rotated_to_ = next; }

std::string TapeWriter::rescued() const {
    std::lock_guard lock(mutex_);
    return rescued_;
}

std::string TapeWriter::rescue_path(const std::string& tape) {
    const std::filesystem::path p(tape);
    std::filesystem::path out = p;
    out.replace_filename(p.stem().string() + ".rescued-" + std::to_string(::getpid()) +
                         p.extension().string());
    return out.string();
}

std::string TapeWriter::rescue() {
    const std::string& tape = store_->path();
    const std::string to = rescue_path(tape);
    const std::string what = "the tape " + tape + " was " + path_problem_ +
                             " while recording (session " + std::to_string(session_id_) + ")";
    try {
        store_->save_copy(to);
    } catch (const schema::TapeError& e) {
        return what + "; could not save it: " + e.what();
    }
    return what + "; everything recorded is saved in " + to + " (`mastotape sessions --db " + to +
           "`; `mastotape merge " + to + " --db TAPE` copies it into a tape)";
}

void TapeWriter::check_path() {
    if (!path_problem_.empty()) {
        return;
    }
    std::string problem = store_->path_problem();
    if (problem.empty()) {
        return;
    }
    {
        std::lock_guard lock(mutex_);
        path_problem_ = problem;
    }
    try {
        store_->leave_path();
    } catch (const schema::TapeError&) {
        // (A reader of the old file holds it.) The commits go on in the WAL, and the rescue
        // saves them all the same; the WAL stays beside the path.
    }
    if (options_.on_error) {
        options_.on_error("the tape " + store_->path() + " was " + problem + " while recording");
    }
}

void TapeWriter::write_batch(std::deque<Record>& items) {
    schema::Batch b;
    b.session_id = session_id_;
    b.now_wall_ns = now_wall_ns();
    std::int64_t bytes = 0;
    for (const auto& r : items) {
        if (const auto* f = std::get_if<schema::Frame>(&r)) {
            bytes += static_cast<std::int64_t>(f->bytes.size());
        } else if (const auto* i = std::get_if<schema::BackfillItem>(&r)) {
            bytes += static_cast<std::int64_t>(i->body.size());
        }
    }
    b.records.assign(std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
    items.clear();
    store_->append(b);
    if (options_.committed_bytes) {
        *options_.committed_bytes += bytes;
    }
    std::error_code ec;
    const auto main = std::filesystem::file_size(store_->path(), ec);
    const auto wal = std::filesystem::file_size(store_->path() + "-wal", ec);
    file_bytes_ = static_cast<std::int64_t>((main == std::uintmax_t(-1) ? 0 : main) +
                                            (wal == std::uintmax_t(-1) ? 0 : wal));
}

void TapeWriter::run() {
    store_->checkpoint_in_background();
    if (options_.sync_full) {
        try {
            store_->set_synchronous_full();
        } catch (const schema::TapeError& e) {
            fail(e.what());
        }
    }
    auto last_commit = std::chrono::steady_clock::now();
    for (;;) {
        std::deque<Record> items;
        bool stop = false;
        bool took = false;
        {
            std::unique_lock lock(mutex_);
            const auto deadline = last_commit + options_.batch_interval;
            wake_.wait_until(lock, deadline, [&] {
                return stopping_ || queue_.size() >= options_.batch_records ||
                       (options_.sync_full && !queue_.empty());
            });
            const std::size_t take = options_.sync_full
                                         ? std::min<std::size_t>(1, queue_.size())
                                         : std::min(queue_.size(), options_.batch_records);
            for (std::size_t i = 0; i < take; ++i) {
                queued_bytes_ -= footprint(queue_.front());
                items.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            queued_records_ = queue_.size();
            took = take > 0;
            stop = stopping_ && queue_.empty();
            if (!error_.empty()) {
                items.clear();  // storage failed: keep what is committed, write nothing more
            }
        }
        if (took && options_.on_room && has_room()) {
            options_.on_room();
        }
        try {
            // An empty batch still refreshes `updated_wall_ns`, which tells a live recording from
            // an interrupted one.
            check_path();  // before the commit: none goes into a WAL beside a lost path
            write_batch(items);
        } catch (const schema::TapeError& e) {
            fail(e.what());
        }
        last_commit = std::chrono::steady_clock::now();
        if (stop) {
            return;
        }
    }
}

}  // namespace mastotape::record

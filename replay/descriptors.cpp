#include "replay/descriptors.hpp"

#include <sys/resource.h>

#include <filesystem>
#include <system_error>

namespace mastotape::replay {
namespace {

// Kept free for what the process opens as it goes.
constexpr std::size_t kReserve = 16;
// Assumed held already where /proc/self/fd cannot be read.
constexpr std::size_t kAssumedOpen = 32;

std::size_t open_now() {
    std::error_code ec;
    std::size_t n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
        ++n;
    }
    return ec || n == 0 ? kAssumedOpen : n;
}

}  // namespace

std::string DescriptorBudget::describe() const {
    return std::to_string(max_connections) + " connections: the descriptor limit " +
           std::to_string(limit) + " less what the replayer holds and a reserve; the hard limit " +
           "(`ulimit -Hn`, systemd's LimitNOFILE=) raises it";
}

DescriptorBudget raise_descriptor_limit() {
    rlimit r{};
    DescriptorBudget b;
    if (::getrlimit(RLIMIT_NOFILE, &r) != 0) {
        b.limit = 1024;
    } else {
        if (r.rlim_cur < r.rlim_max) {
            rlimit raised = r;
            raised.rlim_cur = r.rlim_max;
            if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
                r = raised;
            }
        }
        b.limit = r.rlim_cur == RLIM_INFINITY ? std::size_t{1} << 20
                                              : static_cast<std::size_t>(r.rlim_cur);
    }
    const std::size_t held = open_now() + kReserve;
    b.max_connections = b.limit > held ? b.limit - held : 1;
    return b;
}

}  // namespace mastotape::replay

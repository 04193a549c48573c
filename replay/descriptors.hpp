#pragma once

// The replayer's file descriptors. Its soft limit is raised to the hard one at start, and client
// connections may use what the process does not already hold, less a reserve for the files it
// opens as it goes (SQLite's temporary files, a report, a TLS session's), so that the process
// itself never runs out: out of descriptors, SQLite fails to sort and a sanitized build's checks,
// which probe memory through a pipe, report errors that are not there. Clients past the budget
// wait in the listen queue until connections close.

#include <cstddef>
#include <string>

namespace mastotape::replay {

struct DescriptorBudget {
    std::size_t limit = 0;            // the soft limit, after raising it
    std::size_t max_connections = 0;  // client connections open at once
    // For the log line said at the budget: the limit and what raises it.
    std::string describe() const;
};

// Raises the soft limit to the hard one (as far as the kernel allows) and returns the budget
// left by the descriptors open now.
DescriptorBudget raise_descriptor_limit();

}  // namespace mastotape::replay

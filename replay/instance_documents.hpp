#pragma once

// The instance documents (GET /api/v1/instance, /api/v2/instance), with what a client reads from
// them: the streaming URL. The replayer's own address (`host_port`) stands for the domain.
// Beast-free.

#include <string>

namespace mastotape::replay {

std::string instance_v1(const std::string& host_port, const std::string& version);
std::string instance_v2(const std::string& host_port, const std::string& version);

}  // namespace mastotape::replay

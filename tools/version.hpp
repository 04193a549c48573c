#pragma once

#include <string>

namespace mastotape::tools {

// What `mastotape --version` prints: mastotape's version, the tape format it writes, and the
// versions of the libraries it was built with (compiled) and runs with (linked).
std::string version_text();

}  // namespace mastotape::tools

#pragma once

// Man pages in roff, read off the CLI's own definition (names, arguments, option types, defaults
// and help texts as CLI11 holds them), with the examples, exit status and files each page adds.

#include <string>

#include <CLI/CLI.hpp>

namespace mastotape::tools {

// mastotape(1) when `sub` is null, else mastotape-SUB(1). `version`: "mastotape 0.1.0".
std::string man_page(const CLI::App& app, const CLI::App* sub, const std::string& version);

}  // namespace mastotape::tools

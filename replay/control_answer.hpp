#pragma once

// An answer of the control API (/_mastotape/...), whichever room gives it. Beast-free.

#include <string>

namespace mastotape::replay {

struct ControlAnswer {
    int status = 200;
    std::string body;  // JSON, but for the dashboard's page
    std::string content_type = "application/json; charset=utf-8";
};

}  // namespace mastotape::replay

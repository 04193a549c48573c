#include "schema/timeline_flags.hpp"

namespace mastotape::schema {

std::string timeline_flags(const Subscription& s) {
    const std::string& n = s.stream;
    if (n == "hashtag:local") {
        return "local=true";
    }
    if (n.rfind("public", 0) != 0) {
        return "";
    }
    std::string flags;
    if (n.find(":local") != std::string::npos) {
        flags = "local=true";
    } else if (n.find(":remote") != std::string::npos) {
        flags = "remote=true";
    }
    if (n.find(":media") != std::string::npos) {
        flags += (flags.empty() ? "" : "&") + std::string("only_media=true");
    }
    return flags;
}

}  // namespace mastotape::schema

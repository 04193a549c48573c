#pragma once

// Keeps the access token out of everything the recorder writes or says.

#include <string>

namespace mastotape::schema {

// `value` with each occurrence of `token` replaced by "[token]". A token shorter than 16
// characters counts only where it stands alone, not inside a longer run of token characters
// ([A-Za-z0-9_-]): a short one ("t" in a test) must not turn every "t" of a log line, or of a
// recorded header, into the mark. A longer one counts wherever it is.
std::string redact(const std::string& value, const std::string& token);

}  // namespace mastotape::schema

#pragma once

// The tape's schema as a list of forward migrations. `PRAGMA user_version` is the number of
// migrations applied; opening a tape applies the missing ones inside one transaction.

#include <cstdint>
#include <string_view>
#include <vector>

namespace mastotape::schema {

// Marks a SQLite file as a tape: 'MTap'.
inline constexpr std::int32_t kApplicationId = 0x4D546170;

// migrations()[i] takes a tape from version i to version i + 1.
const std::vector<std::string_view>& migrations();

inline std::int32_t current_schema_version() {
    return static_cast<std::int32_t>(migrations().size());
}

}  // namespace mastotape::schema

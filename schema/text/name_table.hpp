#pragma once

// An enum stored by name: a table of (value, name) pairs, read both ways. What the tape keeps
// as text (end causes, backfill statuses, frame and message kinds, ...) has one such table.

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>

namespace mastotape::schema {

// The name of `value` in `table`; "" when it has none.
template <typename Table, typename E>
std::string_view name_in(const Table& table, E value) {
    const auto it = std::find_if(table.begin(), table.end(),
                                 [&](const auto& entry) { return entry.first == value; });
    return it == table.end() ? std::string_view() : it->second;
}

// The value named `name` in `table`; nullopt for a name it does not have.
template <typename E, typename Table>
std::optional<E> value_in(const Table& table, std::string_view name) {
    const auto it = std::find_if(table.begin(), table.end(),
                                 [&](const auto& entry) { return entry.second == name; });
    return it == table.end() ? std::nullopt : std::optional<E>(it->first);
}

}  // namespace mastotape::schema

#pragma once

// Text inside XML and HTML (the JUnit report, the plot's SVG and page): `&`, `<`, `>` and `"`
// as entities, everything else as it is. The caller makes the text valid UTF-8 without control
// characters first (schema::printable) where it may hold any bytes.

#include <string>
#include <string_view>

namespace mastotape::schema {

std::string xml_escaped(std::string_view text);

}  // namespace mastotape::schema

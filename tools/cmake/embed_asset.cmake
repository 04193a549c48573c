# Writes OUTPUT, a C++ source defining `const std::string_view mastotape::assets::SYMBOL` with the
# text of INPUT (a page, a script): run by mastotape_embed_asset() in CMakeLists.txt at build time.
file(READ "${INPUT}" content)
string(FIND "${content}" ")mastotape_asset\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string's end marker")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by tools/cmake/embed_asset.cmake; do not edit.\n"
  "#include <string_view>\n"
  "namespace mastotape::assets {\n"
  "extern const std::string_view ${SYMBOL};\n"
  "const std::string_view ${SYMBOL} = R\"mastotape_asset(${content})mastotape_asset\";\n"
  "}  // namespace mastotape::assets\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")

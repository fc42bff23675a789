// YAML text <-> JSON for configs. Scalars are typed by the YAML 1.2 core schema, so `yes`, `on`
// and `1_000` stay strings (YAML 1.1 read them as bool / int); quoted scalars are always strings.
#pragma once
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace arlt::config {

using Json = nlohmann::ordered_json;
// Dotted key path ("trainer.lr", "stop[1]", "" for the document) -> 1-based line in the file.
using LineTable = std::map<std::string, int>;

// Mappings -> objects in file order, sequences -> arrays. Plain scalars: null / Null / NULL / ~ /
// empty -> null; true / false (and True, TRUE, ...) -> bool; [-+]?[0-9]+, 0x.., 0o.. -> int64;
// 1.5, .5, 1e-6, 1. -> double; .inf / -.inf / .nan -> double; anything else -> string.
// Empty (or comments-only) text -> {}. Aliases are expanded; merge keys (<<), tags other than
// !!str, duplicate keys, several documents and int64 overflow are errors
// "<source>:<line>:<col>: ...".
Json parse_yaml(const std::string& text, const std::string& source);
// As parse_yaml, and fills `lines` (when not null) with where each key and list element is.
Json parse_yaml_with_lines(const std::string& text, const std::string& source, LineTable* lines);
// A missing or unreadable file is an Error naming it.
Json load_yaml_file(const std::string& path);
Json load_yaml_file_with_lines(const std::string& path, LineTable* lines);

// Block-style YAML that parse_yaml reads back to the same JSON, and that YAML 1.1 readers
// (PyYAML) read the same. Strings are double-quoted when a plain scalar would read as another
// type under YAML 1.2 or 1.1, starts like a number, or holds anything but
// [A-Za-z0-9 _./+-()=~^$;<>@%!&*?'"]; multi-line text is a literal block (| or |-) where that
// keeps every byte. Doubles are printed in the shortest form that reads back exactly, always
// with a '.' (3.0, 1.0e-6). Known gap: strings that are not valid UTF-8.
std::string to_yaml(const Json& value);

}  // namespace arlt::config

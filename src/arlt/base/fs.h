// File helpers: whole-file read, atomic write (temp file + rename), JSON files with errors
// that name the file.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace arlt {

std::string read_file(const std::string& path);
// Writes to "<path>.tmp.<pid>" then renames over path, so readers see the old or the new file.
void write_file_atomic(const std::string& path, const std::string& contents);
// A temporary name next to path, for writers that stream (safetensors).
std::string temp_path_for(const std::string& path);
void rename_atomic(const std::string& from, const std::string& to);

nlohmann::json read_json_file(const std::string& path);
void write_json_file(const std::string& path, const nlohmann::json& value, int indent = 2);

}  // namespace arlt

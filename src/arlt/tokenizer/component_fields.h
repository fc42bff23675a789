// Helpers shared by the four component files (normalizers, pre_tokenizers, decoders,
// post_processors): reading tokenizer.json fields with errors that name them. Internal to
// src/arlt/tokenizer/.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "arlt/base/error.h"
#include "arlt/tokenizer/regex.h"

namespace arlt::tokenizer::detail {
using nlohmann::json;

inline std::string type_of(const json& j, const std::string& kind) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    throw Error("tokenizer.json: " + kind + " has no 'type': " + j.dump().substr(0, 200));
  return j["type"].get<std::string>();
}

inline std::string str_field(const json& j, const std::string& key, const std::string& where, const std::string& def = "") {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_string()) throw Error("tokenizer.json: " + where + "." + key + " must be a string");
  return j[key].get<std::string>();
}

inline bool bool_field(const json& j, const std::string& key, bool def) {
  return j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : def;
}

inline void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  std::string out;
  size_t i = 0;
  for (size_t p; (p = s.find(from, i)) != std::string::npos; i = p + from.size()) {
    out.append(s, i, p - i);
    out += to;
  }
  out.append(s, i, std::string::npos);
  s.swap(out);
}

// A {"String": s} or {"Regex": r} pattern, as Replace and Split take.
struct Pattern {
  std::string literal;
  std::unique_ptr<Regex> regex;
  Pattern(const json& j, const std::string& where) {
    if (j.is_object() && j.contains("String") && j["String"].is_string()) literal = j["String"].get<std::string>();
    else if (j.is_object() && j.contains("Regex") && j["Regex"].is_string())
      regex = std::make_unique<Regex>(j["Regex"].get<std::string>(), "tokenizer.json " + where);
    else throw Error("tokenizer.json: " + where + ".pattern must be {\"String\": ...} or {\"Regex\": ...}");
  }
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view s) const {
    if (regex) return regex->find_all(s);
    std::vector<std::pair<size_t, size_t>> out;
    if (literal.empty()) return out;
    for (size_t p = 0; (p = s.find(literal, p)) != std::string::npos; p += literal.size())
      out.emplace_back(p, p + literal.size());
    return out;
  }
};

inline const json& list_field(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_array()) throw Error("tokenizer.json: " + where + " Sequence has no '" + key + "' list");
  return j[key];
}

// The Metaspace replacement character, U+2581, as the pre-tokenizer and the decoder default it.
inline constexpr const char* kMetaspace = "\xE2\x96\x81";

}  // namespace arlt::tokenizer::detail

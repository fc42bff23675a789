#include "arlt/config/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "arlt/base/error.h"

namespace arlt::config {

namespace {

// Where the values being overlaid came from, for error messages.
struct Origin {
  const std::string& source;   // file path or "override '...'"
  const LineTable* lines;      // may be null
  const Json& root_schema;     // searched for a key of the same name elsewhere
};

std::string child_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string line_note(const Origin& o, const std::string& path) {
  if (!o.lines) return "";
  auto it = o.lines->find(path);
  return it == o.lines->end() ? "" : " (line " + std::to_string(it->second) + ")";
}

std::string expected_kind(const Json& schema) {
  if (schema.is_boolean()) return "a bool";
  if (schema.is_number_float()) return "a number";
  if (schema.is_number_integer()) return "an integer";
  if (schema.is_string()) return "a string";
  if (schema.is_array()) return "a list";
  return "a mapping";
}

std::string describe(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return std::string("bool ") + (v.get<bool>() ? "true" : "false");
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer " + v.dump();
    case Json::value_t::number_float: return "number " + v.dump();
    case Json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      return "string '" + (s.size() > 60 ? s.substr(0, 57) + "..." : s) + "'";
    }
    case Json::value_t::array: return "a list";
    default: return "a mapping";
  }
}

// The usual slips, named: YAML 1.1 booleans and unquoted numbers meant as strings.
std::string hint(const Json& schema, const Json& found) {
  if (schema.is_boolean() && found.is_string()) return "; YAML 1.2 booleans are true and false";
  if (schema.is_string() && found.is_null()) return "; write '' for an empty string";
  if (schema.is_string() && (found.is_number() || found.is_boolean())) return "; quote it to make it a string";
  return "";
}

[[noreturn]] void type_error(const Origin& o, const std::string& path, const Json& schema, const Json& found) {
  throw Error(o.source + ": " + (path.empty() ? "top level" : path) + ": expected " + expected_kind(schema) +
              ", found " + describe(found) + line_note(o, path) + hint(schema, found));
}

// First path (depth first, "*" templates skipped) whose last key is `key`: a key written at the
// wrong level ("lr" at the top instead of "trainer.lr") is then found.
std::string find_key_anywhere(const Json& schema, const std::string& key, const std::string& path) {
  if (!schema.is_object()) return "";
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    if (it.key() == "*") continue;
    if (it.key() == key) return child_path(path, key);
  }
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    if (it.key() == "*") continue;
    std::string found = find_key_anywhere(it.value(), key, child_path(path, it.key()));
    if (!found.empty()) return found;
  }
  return "";
}

std::vector<std::string> keys_of(const Json& schema) {
  std::vector<std::string> keys;
  for (auto it = schema.begin(); it != schema.end(); ++it)
    if (it.key() != "*") keys.push_back(it.key());
  return keys;
}

[[noreturn]] void unknown_key(const Origin& o, const Json& schema, const std::string& path, const std::string& key) {
  const std::string full = child_path(path, key);
  const std::vector<std::string> keys = keys_of(schema);
  std::string msg = o.source + ": unknown key '" + full + "'" + line_note(o, full);
  std::string close = did_you_mean(key, keys);
  if (!close.empty()) close = child_path(path, close);
  else close = find_key_anywhere(o.root_schema, key, "");
  if (!close.empty()) {
    msg += "; did you mean '" + close + "'?";
  } else if (!keys.empty()) {
    msg += path.empty() ? std::string("; top-level keys:") : "; keys under '" + path + "':";
    for (size_t i = 0; i < keys.size() && i < 12; ++i) msg += (i ? ", " : " ") + keys[i];
    if (keys.size() > 12) msg += ", ...";
  }
  throw Error(msg);
}

// The defaults as a config: "*" templates are schema, not values.
Json strip_templates(const Json& schema) {
  if (schema.is_object()) {
    Json out = Json::object();
    for (auto it = schema.begin(); it != schema.end(); ++it)
      if (it.key() != "*") out[it.key()] = strip_templates(it.value());
    return out;
  }
  if (schema.is_array()) {
    Json out = Json::array();
    for (const auto& v : schema) out.push_back(strip_templates(v));
    return out;
  }
  return schema;
}

// Under a null default nothing is checked; objects still merge so that an override of one key
// keeps the others the file set.
void merge_free(Json& target, const Json& user) {
  if (!target.is_object() || !user.is_object()) {
    target = user;
    return;
  }
  for (auto it = user.begin(); it != user.end(); ++it) {
    auto t = target.find(it.key());
    if (t == target.end()) target[it.key()] = it.value();
    else merge_free(*t, it.value());
  }
}

Json coerce_scalar(const Origin& o, const std::string& path, const Json& schema, const Json& user) {
  if (schema.is_boolean()) {
    if (user.is_boolean()) return user;
  } else if (schema.is_string()) {
    if (user.is_string()) return user;
  } else if (schema.is_number_float()) {
    if (user.is_number_float()) return user;
    if (user.is_number_integer()) return user.get<double>();
  } else if (schema.is_number_integer()) {
    if (user.is_number_integer()) return user;
    if (user.is_number_float()) {
      const double d = user.get<double>();
      // 2^63 is exact in a double; anything below it converts without overflow.
      if (std::isfinite(d) && std::floor(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
        return static_cast<int64_t>(d);
    }
  }
  type_error(o, path, schema, user);
}

// Writes `user` into `target`, checking it against `schema` (the defaults at this path).
void overlay(const Json& schema, Json& target, const Json& user, const std::string& path, const Origin& o) {
  if (schema.is_null()) {
    merge_free(target, user);
  } else if (schema.is_object()) {
    if (!user.is_object()) type_error(o, path, schema, user);
    if (!target.is_object()) target = strip_templates(schema);
    const auto any = schema.find("*");
    for (auto it = user.begin(); it != user.end(); ++it) {
      const std::string& key = it.key();
      auto known = key == "*" ? schema.end() : schema.find(key);
      if (known == schema.end()) known = any;
      if (known == schema.end()) unknown_key(o, schema, path, key);
      if (!target.contains(key)) target[key] = strip_templates(*known);
      overlay(*known, target[key], it.value(), child_path(path, key), o);
    }
  } else if (schema.is_array()) {
    if (!user.is_array()) type_error(o, path, schema, user);
    Json out = Json::array();
    for (size_t i = 0; i < user.size(); ++i) {
      if (schema.empty()) {
        out.push_back(user[i]);
        continue;
      }
      Json element = strip_templates(schema[0]);
      overlay(schema[0], element, user[i], path + "[" + std::to_string(i) + "]", o);
      out.push_back(std::move(element));
    }
    target = std::move(out);
  } else {
    target = coerce_scalar(o, path, schema, user);
  }
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    parts.push_back(s.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

// "a.b=v" -> {"a": {"b": v}}, so an override goes through the same checks as a file.
Json override_as_document(const std::string& assignment, const std::string& source) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos) throw Error(source + ": expected key=value, e.g. trainer.lr=1e-6");
  const std::string key = trim(assignment.substr(0, eq));
  const std::vector<std::string> parts = split_dots(key);
  for (const auto& p : parts)
    if (p.empty()) throw Error(source + ": key path '" + key + "' has an empty part; expected a.b.c=value");
  const std::string text = assignment.substr(eq + 1);
  // Empty YAML is null as a value, not parse_yaml's empty config.
  Json doc = trim(text).empty() ? Json(nullptr) : parse_yaml(text, source);
  for (auto p = parts.rbegin(); p != parts.rend(); ++p) doc = Json::object({{*p, std::move(doc)}});
  return doc;
}

std::string override_source(const std::string& assignment) { return "override '" + assignment + "'"; }

}  // namespace

Json merge_config(const Json& defaults, const Json& user, const std::string& source, const LineTable& lines) {
  Json out = strip_templates(defaults);
  overlay(defaults, out, user, "", Origin{source, &lines, defaults});
  return out;
}

Json merge_config(const Json& defaults, const Json& user, const std::string& source) {
  return merge_config(defaults, user, source, LineTable{});
}

void apply_override(Json& config, const std::string& assignment) {
  const std::string source = override_source(assignment);
  const Json doc = override_as_document(assignment, source);
  // The config's own values are all the types it has. Work on a copy so that a failed
  // override leaves the config as it was.
  Json updated = config;
  overlay(config, updated, doc, "", Origin{source, nullptr, config});
  config = std::move(updated);
}

Json load_config(const Json& defaults, const std::string& path, const std::vector<std::string>& overrides) {
  if (!defaults.is_object())
    throw runtime_failure("config defaults must be a JSON object, found " + describe(defaults));
  Json config = strip_templates(defaults);
  if (!path.empty()) {
    LineTable lines;
    const Json user = load_yaml_file_with_lines(path, &lines);
    overlay(defaults, config, user, "", Origin{path, &lines, defaults});
  }
  for (const auto& assignment : overrides) {
    const std::string source = override_source(assignment);
    overlay(defaults, config, override_as_document(assignment, source), "", Origin{source, nullptr, defaults});
  }
  return config;
}

const Json& at_path(const Json& config, const std::string& dotted) {
  if (dotted.empty()) return config;
  const Json* node = &config;
  std::string walked;
  for (const auto& part : split_dots(dotted)) {
    const Json* next = nullptr;
    if (node->is_object()) {
      auto it = node->find(part);
      if (it != node->end()) next = &*it;
    } else if (node->is_array()) {
      size_t i = 0;
      auto r = std::from_chars(part.data(), part.data() + part.size(), i);
      if (r.ec == std::errc() && r.ptr == part.data() + part.size() && i < node->size()) next = &(*node)[i];
    }
    if (!next) {
      std::string msg = "config has no key '" + dotted + "'";
      if (node->is_object()) {
        const std::string close = did_you_mean(part, keys_of(*node));
        if (!close.empty()) msg += "; did you mean '" + child_path(walked, close) + "'?";
      }
      throw runtime_failure(msg);
    }
    walked = child_path(walked, part);
    node = next;
  }
  return *node;
}

}  // namespace arlt::config

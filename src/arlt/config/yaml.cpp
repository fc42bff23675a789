#include "arlt/config/yaml.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <vector>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"

namespace arlt::config {

namespace {

// Deeper than any real config; stops a self-referencing alias (&a [*a]), which yaml-cpp turns
// into a cyclic node graph, before it overflows the stack.
constexpr int kMaxDepth = 100;

const char* const kStrTag = "tag:yaml.org,2002:str";

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// ---- YAML 1.2 core schema for plain scalars ----

enum class Plain { Null, Bool, Int, Float, String };

bool all_in(const std::string& s, size_t from, bool (*pred)(char)) {
  if (from >= s.size()) return false;
  for (size_t i = from; i < s.size(); ++i)
    if (!pred(s[i])) return false;
  return true;
}

bool is_int_text(const std::string& s) {
  const size_t sign = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (all_in(s, sign, is_digit)) return true;
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x')
    return all_in(s, 2, [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); });
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o') return all_in(s, 2, [](char c) { return c >= '0' && c <= '7'; });
  return false;
}

bool is_inf_text(const std::string& s, size_t from) {
  const std::string rest = s.substr(from);
  return rest == ".inf" || rest == ".Inf" || rest == ".INF";
}
bool is_nan_text(const std::string& s) { return s == ".nan" || s == ".NaN" || s == ".NAN"; }

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, plus .inf and .nan
bool is_float_text(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (is_inf_text(s, i) || is_nan_text(s)) return true;
  size_t before = 0, after = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++before;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++after;
  } else if (before == 0) {
    return false;
  }
  if (before == 0 && after == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

Plain classify_plain(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Plain::Null;
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE") return Plain::Bool;
  if (is_int_text(s)) return Plain::Int;
  if (is_float_text(s)) return Plain::Float;
  return Plain::String;
}

// ---- YAML -> JSON ----

class Reader {
 public:
  Reader(const std::string& source, LineTable* lines) : source_(source), lines_(lines) {}

  std::string at(const YAML::Mark& m) const {
    if (m.is_null()) return source_ + ": ";
    return source_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": ";
  }
  [[noreturn]] void fail(const YAML::Mark& m, const std::string& what) const { throw Error(at(m) + what); }

  Json convert(const YAML::Node& n, const std::string& path, int depth) const {
    if (depth > kMaxDepth)
      fail(n.Mark(), "nesting deeper than " + std::to_string(kMaxDepth) + " levels (an alias that contains itself?)");
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Scalar:
        return scalar(n);
      case YAML::NodeType::Sequence: {
        check_collection_tag(n);
        Json out = Json::array();
        for (size_t i = 0; i < n.size(); ++i) {
          const YAML::Node item = n[i];
          const std::string sub = path + "[" + std::to_string(i) + "]";
          note_line(sub, item.Mark());
          out.push_back(convert(item, sub, depth + 1));
        }
        return out;
      }
      case YAML::NodeType::Map: {
        check_collection_tag(n);
        Json out = Json::object();
        std::map<std::string, int> first_line;
        for (auto it = n.begin(); it != n.end(); ++it) {
          const std::string key = key_text(it->first);
          const int line = it->first.Mark().line + 1;
          auto [seen, fresh] = first_line.emplace(key, line);
          if (!fresh)
            fail(it->first.Mark(), "duplicate key '" + key + "' (first at line " + std::to_string(seen->second) + ")");
          const std::string sub = path.empty() ? key : path + "." + key;
          note_line(sub, it->first.Mark());
          out[key] = convert(it->second, sub, depth + 1);
        }
        return out;
      }
    }
    return nullptr;
  }

 private:
  void note_line(const std::string& path, const YAML::Mark& m) const {
    if (lines_ && !m.is_null()) (*lines_)[path] = m.line + 1;
  }

  void check_collection_tag(const YAML::Node& n) const {
    const std::string& tag = n.Tag();
    if (tag.empty() || tag == "?" || tag == "!" || tag == "tag:yaml.org,2002:map" || tag == "tag:yaml.org,2002:seq") return;
    fail(n.Mark(), "tag '" + tag + "' is not supported");
  }

  std::string key_text(const YAML::Node& k) const {
    if (!k.IsScalar()) {
      const char* found = k.IsNull() ? "null" : k.IsMap() ? "a mapping" : "a list";
      fail(k.Mark(), std::string("a key must be a string, found ") + found);
    }
    // YAML 1.1 merge keys; yaml-cpp 0.7 would keep "<<" as an ordinary key, silently.
    if (k.Tag() == "?" && k.Scalar() == "<<") fail(k.Mark(), "merge keys (<<) are not supported; write the keys out");
    if (k.Tag() != "?" && k.Tag() != "!" && k.Tag() != kStrTag) fail(k.Mark(), "tag '" + k.Tag() + "' is not supported");
    return k.Scalar();
  }

  Json scalar(const YAML::Node& n) const {
    const std::string& tag = n.Tag();
    const std::string& s = n.Scalar();
    if (tag == "!" || tag == kStrTag) return s;  // quoted, block (| >) or !!str: a string
    if (tag != "?") fail(n.Mark(), "tag '" + tag + "' is not supported (quote the value for a string)");
    switch (classify_plain(s)) {
      case Plain::Null: return nullptr;
      case Plain::Bool: return s[0] == 't' || s[0] == 'T';
      case Plain::Int: return parse_int(s, n.Mark());
      case Plain::Float: return parse_float(s, n.Mark());
      case Plain::String: return s;
    }
    return s;
  }

  Json parse_int(const std::string& s, const YAML::Mark& m) const {
    const bool negative = s[0] == '-';
    size_t from = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) base = s[1] == 'x' ? 16 : 8, from = 2;
    uint64_t magnitude = 0;
    auto r = std::from_chars(s.data() + from, s.data() + s.size(), magnitude, base);
    const uint64_t limit = uint64_t(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0);
    if (r.ec != std::errc() || magnitude > limit) fail(m, "integer " + s + " does not fit in 64 bits");
    return negative ? int64_t(0 - magnitude) : int64_t(magnitude);
  }

  Json parse_float(const std::string& s, const YAML::Mark& m) const {
    const bool negative = s[0] == '-';
    const size_t from = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (is_nan_text(s)) return std::numeric_limits<double>::quiet_NaN();
    if (is_inf_text(s, from)) return negative ? -HUGE_VAL : HUGE_VAL;
    double v = 0;
    // from_chars, unlike strtod, ignores the C locale's decimal point.
    auto r = std::from_chars(s.data() + from, s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) fail(m, "number " + s + " is out of range for a double");
    return negative ? -v : v;
  }

  const std::string& source_;
  LineTable* lines_;
};

// ---- JSON -> YAML ----

std::string indent_of(int n) { return std::string(size_t(n), ' '); }

std::string format_double(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest text that reads back exactly
  std::string s(buf, r.ptr);
  const size_t e = s.find('e');
  if (e != std::string::npos) {
    size_t digits = e + 1;
    if (s[digits] == '+' || s[digits] == '-') ++digits;
    size_t end = digits;
    while (end + 1 < s.size() && s[end] == '0') ++end;
    s.erase(digits, end - digits);  // 1e-06 -> 1e-6
    // YAML 1.1 readers (PyYAML) take a float only with a '.' in it: 1.0e-6, not 1e-6.
    if (s.find('.') == std::string::npos) s.insert(e, ".0");
  } else if (s.find('.') == std::string::npos) {
    s += ".0";  // 3 would read back as an int
  }
  return s;
}

bool plain_safe(const std::string& s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') return false;
  const char c0 = s[0];
  const bool first_ok = is_alnum(c0) || c0 == '_' || c0 == '.' || c0 == '/' ||
                        ((c0 == '-' || c0 == '+') && s.size() > 1 && s[1] != ' ');
  if (!first_ok) return false;
  if (s.rfind("---", 0) == 0 || s.rfind("...", 0) == 0) return false;  // document markers
  static const char kInner[] = " _./+-()=~^$;<>@%!&*?'\"";
  for (char c : s)
    if (!is_alnum(c) && (c == '\0' || !std::strchr(kInner, c))) return false;
  if (classify_plain(s) != Plain::String) return false;
  // What YAML 1.1 readers (PyYAML) would take for a bool or a number is quoted as well, so the
  // resolved config reads the same in Python.
  std::string lower;
  for (char c : s) lower += (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
  for (const char* word : {"y", "n", "yes", "no", "on", "off"})
    if (lower == word) return false;
  // 1_000, 0b101, 2001-12-14 (a date), 1:20 (base 60): anything that starts like a number.
  return !(is_digit(c0) || ((c0 == '-' || c0 == '+' || c0 == '.') && s.size() > 1 && is_digit(s[1])));
}

// Bytes of a Unicode line break (NEL, LS, PS) or BOM starting at s[i], else 0: escaped so
// that no reader folds or drops them.
size_t unicode_special_at(const std::string& s, size_t i) {
  const auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (at(0) == 0xC2 && at(1) == 0x85) return 2;
  if (at(0) == 0xE2 && at(1) == 0x80 && (at(2) == 0xA8 || at(2) == 0xA9)) return 3;
  if (at(0) == 0xEF && at(1) == 0xBB && at(2) == 0xBF) return 3;
  return 0;
}

std::string double_quoted(const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (const size_t n = unicode_special_at(s, i)) {
      out += n == 2 ? "\\x85" : s[i] == '\xEF' ? "\\ufeff" : s[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += n - 1;
      continue;
    }
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7f) out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    else out += char(c);
  }
  return out + "\"";
}

std::string string_text(const std::string& s) { return plain_safe(s) ? s : double_quoted(s); }

// Multi-line text (prompts, chat templates) reads better as a literal block than as one escaped
// line. Only text that a literal block gives back byte for byte takes this form: no leading
// space or newline (the block's indentation is read from its first line), no trailing spaces,
// no control characters, at most one final newline (| keeps one, |- none).
bool literal_safe(const std::string& s) {
  if (s.find('\n') == std::string::npos || s.front() == ' ' || s.front() == '\n') return false;
  if (s.size() >= 2 && s.compare(s.size() - 2, 2, "\n\n") == 0) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
    if (c == ' ' && (i + 1 == s.size() || s[i + 1] == '\n')) return false;
    if (unicode_special_at(s, i)) return false;
  }
  return true;
}

std::string scalar_text(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer: return std::to_string(v.get<int64_t>());
    case Json::value_t::number_unsigned: return std::to_string(v.get<uint64_t>());
    case Json::value_t::number_float: return format_double(v.get<double>());
    case Json::value_t::string: return string_text(v.get_ref<const std::string&>());
    case Json::value_t::object: return "{}";  // only empty ones reach here
    case Json::value_t::array: return "[]";
    default: throw Error("to_yaml: cannot write a JSON " + std::string(v.type_name()) + " value");
  }
}

// A scalar after "key:" or "-", its text (if a literal block) indented by `indent`.
void write_scalar_value(const Json& v, int indent, std::string& out) {
  if (!v.is_string() || !literal_safe(v.get_ref<const std::string&>())) {
    out += " " + scalar_text(v) + "\n";
    return;
  }
  const std::string& s = v.get_ref<const std::string&>();
  const bool final_newline = s.back() == '\n';
  out += final_newline ? " |\n" : " |-\n";
  size_t start = 0;
  const size_t end = final_newline ? s.size() - 1 : s.size();
  while (start <= end) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos || nl > end) nl = end;
    if (nl > start) out += indent_of(indent) + s.substr(start, nl - start);
    out += "\n";
    start = nl + 1;
  }
}

bool is_block(const Json& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

void write_block(const Json& v, int indent, std::string& out);

void write_mapping(const Json& obj, int indent, std::string& out) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    out += indent_of(indent) + string_text(it.key()) + ":";
    if (is_block(it.value())) {
      out += "\n";
      write_block(it.value(), indent + 2, out);
    } else {
      write_scalar_value(it.value(), indent + 2, out);
    }
  }
}

void write_sequence(const Json& arr, int indent, std::string& out) {
  for (const auto& item : arr) {
    if (is_block(item)) {
      // "- " takes the place of the first line's indentation: "- a: 1\n  b: 2", "- - 1\n  - 2".
      std::string inner;
      write_block(item, indent + 2, inner);
      out += indent_of(indent) + "- " + inner.substr(size_t(indent) + 2);
    } else {
      out += indent_of(indent) + "-";
      write_scalar_value(item, indent + 2, out);
    }
  }
}

void write_block(const Json& v, int indent, std::string& out) {
  if (v.is_object()) write_mapping(v, indent, out);
  else write_sequence(v, indent, out);
}

}  // namespace

Json parse_yaml_with_lines(const std::string& text, const std::string& source, LineTable* lines) {
  Reader reader(source, lines);
  try {
    const std::vector<YAML::Node> docs = YAML::LoadAll(text);
    if (docs.empty()) return Json::object();
    if (docs.size() > 1) reader.fail(docs[1].Mark(), "a second YAML document; a config is one document");
    if (lines && !docs[0].Mark().is_null()) (*lines)[""] = docs[0].Mark().line + 1;
    return reader.convert(docs[0], "", 0);
  } catch (const YAML::Exception& e) {
    throw Error(reader.at(e.mark) + "invalid YAML: " + e.msg);
  }
}

Json parse_yaml(const std::string& text, const std::string& source) {
  return parse_yaml_with_lines(text, source, nullptr);
}

Json load_yaml_file_with_lines(const std::string& path, LineTable* lines) {
  // An ifstream opens a directory and reads nothing, which would look like an empty config.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(path + ": is a directory, expected a YAML file");
  return parse_yaml_with_lines(read_file(path), path, lines);
}

Json load_yaml_file(const std::string& path) { return load_yaml_file_with_lines(path, nullptr); }

std::string to_yaml(const Json& value) {
  std::string out;
  if (is_block(value)) write_block(value, 0, out);
  else out = scalar_text(value) + "\n";
  return out;
}

}  // namespace arlt::config

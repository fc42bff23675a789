// Attribute and item access, slicing, and the Python methods of str / list / dict that chat
// templates call (`content.split('</think>')[-1].lstrip('\n')`), plus % and str.format.
// Strings are UTF-8; every index a method takes or returns counts code points, as in Python.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "arlt/jinja/internal.h"

namespace arlt::jinja::detail {
namespace {

using Method = Value (*)(const Value& self, CallArgs& args);

struct Char {
  size_t begin, end;
  char32_t cp;
};
std::vector<Char> decode_all(const std::string& s) {
  std::vector<Char> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t b = i;
    const char32_t cp = utf8_decode_at(s, i);
    out.push_back({b, i, cp});
  }
  return out;
}

std::string need_str(const Value& v, const std::string& what) {
  if (!v.is_string()) fail(what + " must be str, not " + type_name(v));
  return v.s;
}
int64_t need_int(const Value& v, const std::string& what) {
  if (!v.is_int()) fail(what + " must be an integer, not " + type_name(v));
  return v.as_int();
}

// Python slice bounds (PySlice_AdjustIndices) over n elements: the selected indices.
std::vector<int64_t> slice_indices(int64_t n, const Value& start, const Value& stop, const Value& step) {
  auto as_index = [](const Value& v) {
    if (!v.is_int()) fail("slice indices must be integers or None, not " + type_name(v));
    return v.as_int();
  };
  const int64_t st = step.is_none() || step.is_undefined() ? 1 : as_index(step);
  if (st == 0) fail("slice step cannot be zero");
  const int64_t lower = st > 0 ? 0 : -1, upper = st > 0 ? n : n - 1;
  auto bound = [&](const Value& v, int64_t dflt) {
    if (v.is_none() || v.is_undefined()) return dflt;
    int64_t x = as_index(v);
    if (x < 0) x = std::max(x + n, lower);
    else x = std::min(x, upper);
    return x;
  };
  const int64_t a = bound(start, st > 0 ? lower : upper), b = bound(stop, st > 0 ? upper : lower);
  std::vector<int64_t> idx;
  for (int64_t k = a; st > 0 ? k < b : k > b; k += st) idx.push_back(k);
  return idx;
}

// s[start:end] in code points, with Python's clamping of the optional bounds.
std::string substr_cp(const std::string& s, const Value& start, const Value& end) {
  const auto chars = decode_all(s);
  const auto idx = slice_indices(static_cast<int64_t>(chars.size()), start, end, Value::none());
  if (idx.empty()) return {};
  return s.substr(chars[idx.front()].begin, chars[idx.back()].end - chars[idx.front()].begin);
}

size_t cp_index(const std::string& s, size_t byte_offset) { return utf8_length(std::string_view(s).substr(0, byte_offset)); }

// ---- str methods ----

Value m_strip_impl(const Value& self, CallArgs& a, const char* name, bool left, bool right) {
  ArgReader r(a, name, {"chars"});
  const std::string& s = self.s;
  const Value chars = r.get(0);
  std::vector<char32_t> set;
  if (!chars.is_none()) {
    const std::string c = need_str(chars, std::string(name) + " arg");
    for (size_t i = 0; i < c.size();) set.push_back(utf8_decode_at(c, i));
  }
  auto strip_it = [&](char32_t cp) {
    return chars.is_none() ? is_py_space(cp) : std::find(set.begin(), set.end(), cp) != set.end();
  };
  const auto cs = decode_all(s);
  size_t b = 0, e = cs.size();
  if (left)
    while (b < e && strip_it(cs[b].cp)) ++b;
  if (right)
    while (e > b && strip_it(cs[e - 1].cp)) --e;
  if (b == e) return Value::str("");
  return Value::str(s.substr(cs[b].begin, cs[e - 1].end - cs[b].begin));
}
Value m_strip(const Value& v, CallArgs& a) { return m_strip_impl(v, a, "strip", true, true); }
Value m_lstrip(const Value& v, CallArgs& a) { return m_strip_impl(v, a, "lstrip", true, false); }
Value m_rstrip(const Value& v, CallArgs& a) { return m_strip_impl(v, a, "rstrip", false, true); }

Value split_impl(const Value& self, CallArgs& a, bool from_right) {
  ArgReader r(a, from_right ? "rsplit" : "split", {"sep", "maxsplit"});
  const Value sep = r.get(0);
  const int64_t maxsplit = need_int(r.get(1, Value::integer(-1)), "maxsplit");
  const std::string& s = self.s;
  std::vector<std::string> parts;
  if (sep.is_none()) {  // runs of whitespace; no empty parts
    const auto cs = decode_all(s);
    std::vector<std::pair<size_t, size_t>> words;  // char index ranges
    for (size_t k = 0; k < cs.size();) {
      while (k < cs.size() && is_py_space(cs[k].cp)) ++k;
      if (k == cs.size()) break;
      size_t e = k;
      while (e < cs.size() && !is_py_space(cs[e].cp)) ++e;
      words.emplace_back(k, e);
      k = e;
    }
    const size_t n = words.size();
    auto text = [&](size_t b, size_t e) { return s.substr(cs[b].begin, cs[e - 1].end - cs[b].begin); };
    if (maxsplit < 0 || static_cast<int64_t>(n) <= maxsplit) {
      for (auto& w : words) parts.push_back(text(w.first, w.second));
    } else if (!from_right) {  // the remainder keeps its inner and trailing whitespace
      const size_t k = static_cast<size_t>(maxsplit);
      for (size_t w = 0; w < k; ++w) parts.push_back(text(words[w].first, words[w].second));
      parts.push_back(s.substr(cs[words[k].first].begin));
    } else {
      const size_t k = static_cast<size_t>(maxsplit);
      parts.push_back(s.substr(0, cs[words[n - k - 1].second - 1].end));
      for (size_t w = n - k; w < n; ++w) parts.push_back(text(words[w].first, words[w].second));
    }
  } else {
    const std::string d = need_str(sep, "sep");
    if (d.empty()) fail("empty separator");
    if (!from_right) {
      size_t i = 0;
      for (size_t p; (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) &&
                     (p = s.find(d, i)) != std::string::npos;
           i = p + d.size())
        parts.push_back(s.substr(i, p - i));
      parts.push_back(s.substr(i));
    } else {
      size_t end = s.size();
      std::vector<std::string> rev;
      while (maxsplit < 0 || static_cast<int64_t>(rev.size()) < maxsplit) {
        if (end < d.size()) break;
        const size_t p = s.rfind(d, end - d.size());
        if (p == std::string::npos) break;
        rev.push_back(s.substr(p + d.size(), end - p - d.size()));
        end = p;
      }
      parts.push_back(s.substr(0, end));
      parts.insert(parts.end(), rev.rbegin(), rev.rend());
    }
  }
  List out;
  for (auto& p : parts) out.push_back(Value::str(std::move(p)));
  return Value::make_list(std::move(out));
}
Value m_split(const Value& v, CallArgs& a) { return split_impl(v, a, false); }
Value m_rsplit(const Value& v, CallArgs& a) { return split_impl(v, a, true); }

Value m_splitlines(const Value& self, CallArgs& a) {
  ArgReader r(a, "splitlines", {"keepends"});
  const bool keep = truthy(r.get(0, Value::boolean(false)));
  const auto cs = decode_all(self.s);
  List out;
  size_t start = 0;
  for (size_t k = 0; k < cs.size(); ++k) {
    const char32_t c = cs[k].cp;
    const bool brk = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E) || c == 0x85 ||
                     c == 0x2028 || c == 0x2029;
    if (!brk) continue;
    size_t end_char = k + 1;
    if (c == '\r' && k + 1 < cs.size() && cs[k + 1].cp == '\n') end_char = k + 2;
    const size_t b = start < cs.size() ? cs[start].begin : self.s.size();
    const size_t e = keep ? cs[end_char - 1].end : cs[k].begin;
    out.push_back(Value::str(self.s.substr(b, e - b)));
    start = end_char;
    k = end_char - 1;
  }
  if (start < cs.size()) out.push_back(Value::str(self.s.substr(cs[start].begin)));
  return Value::make_list(std::move(out));
}

Value affix_impl(const Value& self, CallArgs& a, const char* name, bool prefix) {
  ArgReader r(a, name, {"affix", "start", "end"});
  const std::string s = (r.has(1) || r.has(2)) ? substr_cp(self.s, r.get(1), r.get(2)) : self.s;
  const Value what = r.get(0, Value::undefined());
  List options = what.kind == Value::Kind::Tuple ? *what.list : List{what};
  for (const auto& o : options) {
    const std::string x = need_str(o, std::string(name) + " arg");
    if (x.size() <= s.size() && (prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0))
      return Value::boolean(true);
  }
  return Value::boolean(false);
}
Value m_startswith(const Value& v, CallArgs& a) { return affix_impl(v, a, "startswith", true); }
Value m_endswith(const Value& v, CallArgs& a) { return affix_impl(v, a, "endswith", false); }

Value m_lower(const Value& v, CallArgs& a) {
  ArgReader(a, "lower", {});
  return Value::str(str_lower(v.s));
}
Value m_upper(const Value& v, CallArgs& a) {
  ArgReader(a, "upper", {});
  return Value::str(str_upper(v.s));
}
Value m_title(const Value& v, CallArgs& a) {  // Python's str.title, not jinja's |title
  ArgReader(a, "title", {});
  std::string out;
  bool prev_cased = false;
  for (size_t i = 0; i < v.s.size();) {
    const char32_t c = utf8_decode_at(v.s, i);
    std::string one;
    utf8_append(one, c);
    out += prev_cased ? str_lower(one) : title_char(c);
    prev_cased = is_cased_letter(c);
  }
  return Value::str(out);
}
Value m_capitalize(const Value& v, CallArgs& a) {
  ArgReader(a, "capitalize", {});
  std::string out;
  bool first = true;
  for (size_t i = 0; i < v.s.size(); first = false) {
    const size_t start = i;
    const char32_t c = utf8_decode_at(v.s, i);
    out += first ? title_char(c) : str_lower(std::string_view(v.s).substr(start, i - start));
  }
  return Value::str(out);
}

Value m_replace(const Value& self, CallArgs& a) {
  ArgReader r(a, "replace", {"old", "new", "count"});
  const std::string from = need_str(r.get(0, Value::undefined()), "replace() arg 1");
  const std::string to = need_str(r.get(1, Value::undefined()), "replace() arg 2");
  int64_t count = need_int(r.get(2, Value::integer(-1)), "count");
  const std::string& s = self.s;
  std::string out;
  if (from.empty()) {  // Python inserts `to` around every character
    for (auto c : utf8_chars(s)) {
      if (count-- != 0) out += to;
      out += c;
    }
    if (count != 0) out += to;
    return Value::str(out);
  }
  size_t i = 0;
  for (size_t p; count != 0 && (p = s.find(from, i)) != std::string::npos; i = p + from.size(), --count) {
    out.append(s, i, p - i);
    out += to;
  }
  out.append(s, i, std::string::npos);
  return Value::str(out);
}

Value find_impl(const Value& self, CallArgs& a, const char* name, bool from_right, bool raise) {
  ArgReader r(a, name, {"sub", "start", "end"});
  const std::string sub = need_str(r.get(0, Value::undefined()), std::string(name) + " arg");
  const auto cs = decode_all(self.s);
  const auto idx = slice_indices(static_cast<int64_t>(cs.size()), r.get(1), r.get(2), Value::none());
  const size_t b = idx.empty() ? 0 : cs[idx.front()].begin;
  const std::string window = idx.empty() ? std::string() : self.s.substr(b, cs[idx.back()].end - b);
  const size_t p = from_right ? window.rfind(sub) : window.find(sub);
  if (p == std::string::npos || (idx.empty() && !sub.empty())) {
    if (raise) fail("substring not found");
    return Value::integer(-1);
  }
  return Value::integer(static_cast<int64_t>(cp_index(self.s, b + p)));
}
Value m_find(const Value& v, CallArgs& a) { return find_impl(v, a, "find", false, false); }
Value m_rfind(const Value& v, CallArgs& a) { return find_impl(v, a, "rfind", true, false); }
Value m_index(const Value& v, CallArgs& a) { return find_impl(v, a, "index", false, true); }
Value m_rindex(const Value& v, CallArgs& a) { return find_impl(v, a, "rindex", true, true); }

Value m_count(const Value& self, CallArgs& a) {
  ArgReader r(a, "count", {"sub"});
  const std::string sub = need_str(r.get(0, Value::undefined()), "count arg");
  if (sub.empty()) return Value::integer(static_cast<int64_t>(utf8_length(self.s)) + 1);
  int64_t n = 0;
  for (size_t p = self.s.find(sub); p != std::string::npos; p = self.s.find(sub, p + sub.size())) ++n;
  return Value::integer(n);
}

Value m_join(const Value& self, CallArgs& a) {
  ArgReader r(a, "join", {"iterable"});
  std::string out;
  size_t k = 0;
  for (const auto& item : iterate(r.get(0, Value::undefined()))) {
    if (!item.is_string())
      fail("sequence item " + std::to_string(k) + ": expected str instance, " + type_name(item) + " found");
    if (k++) out += self.s;
    out += item.s;
  }
  return Value::str(out);
}

Value m_format(const Value& self, CallArgs& a) { return Value::str(str_format(self.s, a)); }

Value pad_impl(const Value& self, CallArgs& a, const char* name, int where) {  // -1 left, 0 center, 1 right
  ArgReader r(a, name, {"width", "fillchar"});
  const int64_t width = need_int(r.get(0, Value::undefined()), "width");
  const std::string fill = need_str(r.get(1, Value::str(" ")), "fillchar");
  const int64_t len = static_cast<int64_t>(utf8_length(self.s));
  if (width <= len) return self;
  const int64_t marg = width - len;
  const int64_t left = where == -1 ? 0 : where == 1 ? marg : marg / 2 + (marg & width & 1);
  std::string out;
  for (int64_t k = 0; k < left; ++k) out += fill;
  out += self.s;
  for (int64_t k = 0; k < marg - left; ++k) out += fill;
  return Value::str(out);
}
Value m_ljust(const Value& v, CallArgs& a) { return pad_impl(v, a, "ljust", -1); }
Value m_center(const Value& v, CallArgs& a) { return pad_impl(v, a, "center", 0); }
Value m_rjust(const Value& v, CallArgs& a) { return pad_impl(v, a, "rjust", 1); }
Value m_zfill(const Value& self, CallArgs& a) {
  ArgReader r(a, "zfill", {"width"});
  const int64_t width = need_int(r.get(0, Value::undefined()), "width");
  std::string s = self.s;
  const int64_t len = static_cast<int64_t>(utf8_length(s));
  if (width <= len) return self;
  const size_t at = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  s.insert(at, static_cast<size_t>(width - len), '0');
  return Value::str(s);
}

Value partition_impl(const Value& self, CallArgs& a, bool from_right) {
  ArgReader r(a, from_right ? "rpartition" : "partition", {"sep"});
  const std::string sep = need_str(r.get(0, Value::undefined()), "sep");
  if (sep.empty()) fail("empty separator");
  const size_t p = from_right ? self.s.rfind(sep) : self.s.find(sep);
  if (p == std::string::npos)
    return from_right ? Value::make_tuple({Value::str(""), Value::str(""), self})
                      : Value::make_tuple({self, Value::str(""), Value::str("")});
  return Value::make_tuple({Value::str(self.s.substr(0, p)), Value::str(sep), Value::str(self.s.substr(p + sep.size()))});
}
Value m_partition(const Value& v, CallArgs& a) { return partition_impl(v, a, false); }
Value m_rpartition(const Value& v, CallArgs& a) { return partition_impl(v, a, true); }

Value m_removeprefix(const Value& self, CallArgs& a) {
  ArgReader r(a, "removeprefix", {"prefix"});
  const std::string p = need_str(r.get(0, Value::undefined()), "prefix");
  return self.s.compare(0, p.size(), p) == 0 ? Value::str(self.s.substr(p.size())) : self;
}
Value m_removesuffix(const Value& self, CallArgs& a) {
  ArgReader r(a, "removesuffix", {"suffix"});
  const std::string p = need_str(r.get(0, Value::undefined()), "suffix");
  const std::string& s = self.s;
  return !p.empty() && p.size() <= s.size() && s.compare(s.size() - p.size(), p.size(), p) == 0
             ? Value::str(s.substr(0, s.size() - p.size()))
             : self;
}

// Character-class predicates, each true when every character (at least one) qualifies.
template <bool (*Pred)(char32_t)>
Value m_is(const Value& self, CallArgs& a) {
  ArgReader(a, "is*", {});
  if (self.s.empty()) return Value::boolean(false);
  for (size_t i = 0; i < self.s.size();)
    if (!Pred(utf8_decode_at(self.s, i))) return Value::boolean(false);
  return Value::boolean(true);
}
bool cp_alnum(char32_t c) { return is_word_char(c) && c != '_'; }
Value m_islower(const Value& self, CallArgs& a) {
  ArgReader(a, "islower", {});
  bool cased = false;
  for (size_t i = 0; i < self.s.size();) {
    const char32_t c = utf8_decode_at(self.s, i);
    if (to_lower(c) != c) return Value::boolean(false);
    cased = cased || is_cased_letter(c);
  }
  return Value::boolean(cased);
}
Value m_isupper(const Value& self, CallArgs& a) {
  ArgReader(a, "isupper", {});
  bool cased = false;
  for (size_t i = 0; i < self.s.size();) {
    const char32_t c = utf8_decode_at(self.s, i);
    if (to_upper(c) != c) return Value::boolean(false);
    cased = cased || is_cased_letter(c);
  }
  return Value::boolean(cased);
}

const std::unordered_map<std::string, Method>& str_methods() {
  static const std::unordered_map<std::string, Method> m = {
      {"strip", m_strip},           {"lstrip", m_lstrip},         {"rstrip", m_rstrip},
      {"split", m_split},           {"rsplit", m_rsplit},         {"splitlines", m_splitlines},
      {"startswith", m_startswith}, {"endswith", m_endswith},     {"lower", m_lower},
      {"casefold", m_lower},        {"upper", m_upper},           {"title", m_title},
      {"capitalize", m_capitalize}, {"replace", m_replace},       {"find", m_find},
      {"rfind", m_rfind},           {"index", m_index},           {"rindex", m_rindex},
      {"count", m_count},           {"join", m_join},             {"format", m_format},
      {"ljust", m_ljust},           {"rjust", m_rjust},           {"center", m_center},
      {"zfill", m_zfill},           {"partition", m_partition},   {"rpartition", m_rpartition},
      {"removeprefix", m_removeprefix}, {"removesuffix", m_removesuffix},
      {"isdigit", m_is<is_decimal>},  {"isdecimal", m_is<is_decimal>}, {"isnumeric", m_is<is_decimal>},
      {"isalpha", m_is<is_letter>},  {"isalnum", m_is<cp_alnum>},  {"isspace", m_is<is_py_space>},
      {"islower", m_islower},       {"isupper", m_isupper},
  };
  return m;
}

// ---- list and dict methods ----

Value l_index(const Value& self, CallArgs& a) {
  ArgReader r(a, "index", {"value"});
  const Value x = r.get(0, Value::undefined());
  for (size_t k = 0; k < self.list->size(); ++k)
    if (equals((*self.list)[k], x)) return Value::integer(static_cast<int64_t>(k));
  fail(repr(x) + " is not in list");
}
Value l_count(const Value& self, CallArgs& a) {
  ArgReader r(a, "count", {"value"});
  const Value x = r.get(0, Value::undefined());
  return Value::integer(std::count_if(self.list->begin(), self.list->end(), [&](const Value& y) { return equals(x, y); }));
}
Value l_copy(const Value& self, CallArgs& a) {
  ArgReader(a, "copy", {});
  return Value::make_list(*self.list);
}

// Python's dict views print as dict_keys([...]); here they are lists that print that way.
Value dict_view(const char* type, List items) {
  Value v = Value::make_list(std::move(items));
  v.s = type;
  return v;
}

Value d_items(const Value& self, CallArgs& a) {
  ArgReader(a, "items", {});
  List out;
  for (const auto& kv : self.dict->items) out.push_back(Value::make_tuple({kv.first, kv.second}));
  return dict_view("dict_items", std::move(out));
}
Value d_keys(const Value& self, CallArgs& a) {
  ArgReader(a, "keys", {});
  List out;
  for (const auto& kv : self.dict->items) out.push_back(kv.first);
  return dict_view("dict_keys", std::move(out));
}
Value d_values(const Value& self, CallArgs& a) {
  ArgReader(a, "values", {});
  List out;
  for (const auto& kv : self.dict->items) out.push_back(kv.second);
  return dict_view("dict_values", std::move(out));
}
Value d_get(const Value& self, CallArgs& a) {
  ArgReader r(a, "get", {"key", "default"});
  const Value* v = self.dict->find(r.get(0, Value::undefined()));
  return v ? *v : r.get(1);
}
Value d_copy(const Value& self, CallArgs& a) {
  ArgReader(a, "copy", {});
  return Value::make_dict(*self.dict);
}

const std::unordered_map<std::string, Method>& list_methods() {
  static const std::unordered_map<std::string, Method> m = {{"index", l_index}, {"count", l_count}, {"copy", l_copy}};
  return m;
}
const std::unordered_map<std::string, Method>& dict_methods() {
  static const std::unordered_map<std::string, Method> m = {
      {"items", d_items}, {"keys", d_keys}, {"values", d_values}, {"get", d_get}, {"copy", d_copy}};
  return m;
}

// Hugging Face renders in an ImmutableSandboxedEnvironment: these exist in Python but using
// them is a SecurityError there, so a template relying on them would break in transformers.
bool is_mutator(const Value& obj, const std::string& name) {
  static const char* const kList[] = {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"};
  static const char* const kDict[] = {"pop", "popitem", "clear", "update", "setdefault"};
  if (obj.kind == Value::Kind::List)
    return std::any_of(std::begin(kList), std::end(kList), [&](const char* m) { return name == m; });
  if (obj.kind == Value::Kind::Dict)
    return std::any_of(std::begin(kDict), std::end(kDict), [&](const char* m) { return name == m; });
  return false;
}

Value bind(const Value& self, const std::string& name, Method m) {
  return Value::make_function(name, [self, m](CallArgs& a) { return m(self, a); });
}

// A method of obj, or nullopt-like undefined with an empty reason when there is none.
bool find_method(const Value& obj, const std::string& name, Value* out) {
  const std::unordered_map<std::string, Method>* table = nullptr;
  if (obj.is_string()) table = &str_methods();
  else if (obj.kind == Value::Kind::List) table = &list_methods();
  else if (obj.kind == Value::Kind::Tuple) table = &list_methods();
  else if (obj.kind == Value::Kind::Dict) table = &dict_methods();
  if (table) {
    auto it = table->find(name);
    if (it != table->end() && !(obj.kind == Value::Kind::Tuple && name == "copy")) {
      *out = bind(obj, name, it->second);
      return true;
    }
  }
  if (is_mutator(obj, name)) {
    *out = Value::undefined("access to attribute '" + name + "' of '" + type_name(obj) +
                            "' object is unsafe: Hugging Face renders chat templates in jinja2's "
                            "ImmutableSandboxedEnvironment, where lists and dicts cannot be modified "
                            "(use `{% set ns.items = ns.items + [x] %}` instead)");
    return true;
  }
  return false;
}

Value no_attribute(const Value& obj, const std::string& name) {
  const std::string owner = obj.is_none() ? "'None'" : "'" + type_name(obj) + " object'";
  return Value::undefined(owner + " has no attribute '" + name + "'");
}

}  // namespace

Value get_attr(const Value& obj, const std::string& name) {
  using K = Value::Kind;
  if (obj.is_undefined()) fail(obj.s.empty() ? "undefined value has no attribute '" + name + "'" : obj.s);
  Value method;
  if (find_method(obj, name, &method)) return method;  // Python's getattr comes first for `.`
  if (obj.kind == K::Dict) {
    if (const Value* v = obj.dict->find(std::string_view(name))) return *v;
  } else if (obj.kind == K::Object) {
    if (const Value* v = obj.obj->attrs.find(std::string_view(name))) return *v;
  }
  return no_attribute(obj, name);
}

Value get_item(const Value& obj, const Value& key) {
  using K = Value::Kind;
  if (obj.is_undefined()) fail(obj.s.empty() ? "undefined value is not subscriptable" : obj.s);
  if (obj.kind == K::Dict) {
    if (const Value* v = obj.dict->find(key)) return *v;
  } else if ((obj.is_list_like() || obj.is_string()) && key.is_int()) {
    const auto chars = obj.is_string() ? utf8_chars(obj.s) : std::vector<std::string_view>{};
    const int64_t n = obj.is_string() ? static_cast<int64_t>(chars.size()) : static_cast<int64_t>(obj.list->size());
    int64_t k = key.as_int();
    if (k < 0) k += n;
    if (k >= 0 && k < n) return obj.is_string() ? Value::str(std::string(chars[k])) : (*obj.list)[k];
    return Value::undefined("'" + type_name(obj) + " object' has no element " + std::to_string(key.as_int()));
  } else if (obj.kind == K::Object && key.is_string()) {
    if (const Value* v = obj.obj->attrs.find(std::string_view(key.s))) return *v;
  }
  // Item lookup failed: jinja2 falls back to an attribute of that name (methods).
  Value method;
  if (key.is_string() && find_method(obj, key.s, &method)) return method;
  return key.is_string() ? no_attribute(obj, key.s)
                         : Value::undefined("'" + type_name(obj) + " object' has no element " + repr(key));
}

Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) fail(obj.s.empty() ? "undefined value is not subscriptable" : obj.s);
  if (obj.is_string()) {
    const auto chars = utf8_chars(obj.s);
    std::string out;
    for (int64_t k : slice_indices(static_cast<int64_t>(chars.size()), start, stop, step)) out += chars[k];
    return Value::str(out);
  }
  if (obj.is_list_like()) {
    List out;
    for (int64_t k : slice_indices(static_cast<int64_t>(obj.list->size()), start, stop, step)) out.push_back((*obj.list)[k]);
    return obj.kind == Value::Kind::Tuple ? Value::make_tuple(std::move(out)) : Value::make_list(std::move(out));
  }
  return Value::undefined("'" + type_name(obj) + "' object is not subscriptable");
}

}  // namespace arlt::jinja::detail

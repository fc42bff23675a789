// jinja2's built-in filters, and the tojson filter as transformers overrides it (json.dumps
// with ensure_ascii=False and no HTML escaping). Filters read Python-style arguments with
// ArgReader; each is jinja2's function of the same name, quirks included.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "arlt/jinja/internal.h"

namespace arlt::jinja::detail {

// ---- helpers shared by filters ---------------------------------------------------------------

namespace {

std::string soft_str(const Value& v) { return to_str(v); }

// jinja2's make_attrgetter: "a.b.0" looks up each part with getitem (integers as indices).
Value attr_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool numeric = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    v = get_item(v, numeric ? Value::integer(std::stoll(part)) : Value::str(part));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

// Keys compared case-insensitively lower-case strings (jinja2's ignore_case).
Value sort_key(const Value& v, bool case_sensitive) {
  return (!case_sensitive && v.is_string()) ? Value::str(str_lower(v.s)) : v;
}

Value key_of(const Value& item, const Value& attribute, bool case_sensitive) {
  Value k = attribute.is_none() ? item : attr_path(item, to_str(attribute));
  return sort_key(k, case_sensitive);
}

// select / reject / selectattr / rejectattr: args after the attribute name are a test name
// and its arguments; with no test the truth value decides.
Value select_impl(const Value& seq, CallArgs& a, bool by_attr, bool keep_when) {
  size_t k = 0;
  std::string attribute;
  if (by_attr) {
    if (a.pos.empty()) fail("selectattr() / rejectattr() need an attribute name");
    attribute = to_str(a.pos[k++]);
  }
  TestFn test = nullptr;
  if (k < a.pos.size()) {
    const std::string name = to_str(a.pos[k++]);
    test = find_test(name);
    if (!test) fail("no test named '" + name + "'");
  }
  CallArgs test_args;
  test_args.pos.assign(a.pos.begin() + static_cast<long>(k), a.pos.end());
  test_args.kw = a.kw;
  List out;
  if (!truthy(seq)) return Value::make_list();  // jinja2 tests `if seq:` before iterating
  for (const auto& item : iterate(seq)) {
    const Value subject = by_attr ? attr_path(item, attribute) : item;
    CallArgs copy = test_args;
    const bool ok = test ? test(subject, copy) : truthy(subject);
    if (ok == keep_when) out.push_back(item);
  }
  return Value::make_list(std::move(out));
}

double py_round(double x, int64_t digits) {
  // The correctly rounded decimal string, as Python's round() computes it (ties to even on
  // the exact binary value).
  if (!std::isfinite(x)) return x;
  if (digits >= 0) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(std::min<int64_t>(digits, 300)), x);
    return std::strtod(buf, nullptr);
  }
  const double p = std::pow(10.0, static_cast<double>(-digits));
  return std::nearbyint(x / p) * p;
}

}  // namespace

// ---- filters --------------------------------------------------------------------------------

namespace {

Value f_abs(const Value& v, CallArgs& a) {
  ArgReader(a, "abs", {});
  if (v.kind == Value::Kind::Float) return Value::number(std::fabs(v.f));
  if (v.is_int()) return Value::integer(v.as_int() < 0 ? -v.as_int() : v.as_int());
  fail("bad operand type for abs(): '" + type_name(v) + "'");
}
Value f_attr(const Value& v, CallArgs& a) {
  ArgReader r(a, "attr", {"name"});
  return get_attr(v, to_str(r.get(0, Value::undefined())));
}
Value f_batch(const Value& v, CallArgs& a) {
  ArgReader r(a, "batch", {"linecount", "fill_with"});
  const int64_t n = r.get(0, Value::undefined()).as_int();
  if (n <= 0) fail("batch() needs a positive line count");
  const Value fill = r.get(1);
  List out, cur;
  for (const auto& x : iterate(v)) {
    cur.push_back(x);
    if (static_cast<int64_t>(cur.size()) == n) out.push_back(Value::make_list(std::exchange(cur, {})));
  }
  if (!cur.empty()) {
    if (!fill.is_none())
      while (static_cast<int64_t>(cur.size()) < n) cur.push_back(fill);
    out.push_back(Value::make_list(std::move(cur)));
  }
  return Value::make_list(std::move(out));
}
Value f_capitalize(const Value& v, CallArgs& a) {
  ArgReader(a, "capitalize", {});
  const std::string s = soft_str(v);
  std::string out;
  bool first = true;
  for (size_t i = 0; i < s.size(); first = false) {  // str.capitalize()
    const size_t start = i;
    const char32_t c = utf8_decode_at(s, i);
    out += first ? title_char(c) : str_lower(std::string_view(s).substr(start, i - start));
  }
  return Value::str(out);
}
Value f_center(const Value& v, CallArgs& a) {
  ArgReader r(a, "center", {"width"});
  CallArgs inner;
  inner.pos.push_back(r.get(0, Value::integer(80)));
  return get_attr(Value::str(soft_str(v)), "center").fn->call(inner);
}
Value f_length(const Value& v, CallArgs& a) {
  ArgReader(a, "length", {});
  return Value::integer(length(v));
}
Value f_default(const Value& v, CallArgs& a) {
  ArgReader r(a, "default", {"default_value", "boolean"});
  if (v.is_undefined() || (truthy(r.get(1, Value::boolean(false))) && !truthy(v))) return r.get(0, Value::str(""));
  return v;
}
Value f_dictsort(const Value& v, CallArgs& a) {
  ArgReader r(a, "dictsort", {"case_sensitive", "by", "reverse"});
  if (v.kind != Value::Kind::Dict) {
    if (v.is_undefined()) fail(v.s);
    fail("dictsort() needs a mapping, got " + type_name(v));
  }
  const bool cs = truthy(r.get(0, Value::boolean(false)));
  const std::string by = to_str(r.get(1, Value::str("key")));
  if (by != "key" && by != "value") fail("You can only sort by either 'key' or 'value'");
  const size_t pos = by == "key" ? 0 : 1;
  List items;
  for (const auto& kv : v.dict->items) items.push_back(Value::make_tuple({kv.first, kv.second}));
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    return compare(sort_key((*x.list)[pos], cs), sort_key((*y.list)[pos], cs)) < 0;
  });
  if (truthy(r.get(2, Value::boolean(false)))) std::reverse(items.begin(), items.end());
  return Value::make_list(std::move(items));
}
Value f_escape(const Value& v, CallArgs& a) {
  ArgReader(a, "escape", {});
  std::string out;
  for (char c : soft_str(v)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return Value::str(out);
}
Value f_first(const Value& v, CallArgs& a) {
  ArgReader(a, "first", {});
  const List items = iterate(v);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}
Value f_last(const Value& v, CallArgs& a) {
  ArgReader(a, "last", {});
  const List items = iterate(v);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}
bool parse_py_float(const std::string& text, double* out) {
  std::string s;
  for (char c : text)
    if (c != '_') s += c;
  const size_t b = s.find_first_not_of(" \t\n\r\f\v"), e = s.find_last_not_of(" \t\n\r\f\v");
  if (b == std::string::npos) return false;
  s = s.substr(b, e - b + 1);
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && !(s.size() > 1 && (s[1] == 'x' || s[1] == 'X'));
}
Value f_float(const Value& v, CallArgs& a) {
  ArgReader r(a, "float", {"default"});
  if (v.is_undefined()) fail(v.s);
  if (v.is_number()) return Value::number(v.as_double());
  double d;
  if (v.is_string() && parse_py_float(v.s, &d)) return Value::number(d);
  return r.get(0, Value::number(0.0));
}
Value f_int(const Value& v, CallArgs& a) {
  ArgReader r(a, "int", {"default", "base"});
  if (v.is_undefined()) fail(v.s);
  if (v.is_int()) return Value::integer(v.as_int());
  if (v.kind == Value::Kind::Float) {
    if (!std::isfinite(v.f)) fail("cannot convert float " + to_str(v) + " to integer");
    return Value::integer(static_cast<int64_t>(std::trunc(v.f)));
  }
  if (v.is_string()) {
    const int base = static_cast<int>(r.get(1, Value::integer(10)).as_int());
    std::string s;
    for (char c : v.s)
      if (c != '_' && !std::isspace(static_cast<unsigned char>(c))) s += c;
    if (!s.empty()) {
      char* end = nullptr;
      const long long x = std::strtoll(s.c_str(), &end, base);
      if (end == s.c_str() + s.size()) return Value::integer(x);
    }
    double d;  // "42.23"|int is 42: jinja2 retries through float
    if (parse_py_float(v.s, &d) && std::isfinite(d)) return Value::integer(static_cast<int64_t>(std::trunc(d)));
  }
  return r.get(0, Value::integer(0));
}
Value f_format(const Value& v, CallArgs& a) {
  if (!a.pos.empty() && !a.kw.empty()) fail("can't handle positional and keyword arguments at the same time");
  if (!a.kw.empty()) {
    Dict d;
    for (auto& kv : a.kw) d.set(Value::str(kv.first), kv.second);
    return Value::str(percent_format(soft_str(v), Value::make_dict(std::move(d))));
  }
  return Value::str(percent_format(soft_str(v), Value::make_tuple(a.pos)));
}
Value f_indent(const Value& v, CallArgs& a) {
  ArgReader r(a, "indent", {"width", "first", "blank"});
  const Value w = r.get(0, Value::integer(4));
  const std::string ind = w.is_string() ? w.s : std::string(static_cast<size_t>(std::max<int64_t>(0, w.as_int())), ' ');
  const bool first = truthy(r.get(1, Value::boolean(false))), blank = truthy(r.get(2, Value::boolean(false)));
  if (!v.is_string()) fail("unsupported operand type(s) for +=: '" + type_name(v) + "' and 'str'");  // as jinja2
  CallArgs none;
  const Value lines_v = get_attr(Value::str(v.s + "\n"), "splitlines").fn->call(none);
  std::string out;
  const List& lines = *lines_v.list;
  for (size_t k = 0; k < lines.size(); ++k) {
    if (k) out += "\n";
    if (k && (blank || !lines[k].s.empty())) out += ind;
    out += lines[k].s;
  }
  return Value::str(first ? ind + out : out);
}
Value f_items(const Value& v, CallArgs& a) {
  ArgReader(a, "items", {});
  if (v.is_undefined()) return Value::make_list();
  if (v.kind != Value::Kind::Dict) fail("Can only get item pairs from a mapping.");
  List out;
  for (const auto& kv : v.dict->items) out.push_back(Value::make_tuple({kv.first, kv.second}));
  return Value::make_list(std::move(out));
}
Value f_join(const Value& v, CallArgs& a) {
  ArgReader r(a, "join", {"d", "attribute"});
  const std::string sep = to_str(r.get(0, Value::str("")));
  const Value attribute = r.get(1);
  std::string out;
  size_t k = 0;
  for (const auto& item : iterate(v)) {
    if (k++) out += sep;
    out += to_str(attribute.is_none() ? item : attr_path(item, to_str(attribute)));
  }
  return Value::str(out);
}
Value f_list(const Value& v, CallArgs& a) {
  ArgReader(a, "list", {});
  return Value::make_list(iterate(v));
}
Value f_lower(const Value& v, CallArgs& a) {
  ArgReader(a, "lower", {});
  return Value::str(str_lower(soft_str(v)));
}
Value f_upper(const Value& v, CallArgs& a) {
  ArgReader(a, "upper", {});
  return Value::str(str_upper(soft_str(v)));
}
Value f_map(const Value& v, CallArgs& a) {
  List out;
  if (!truthy(v)) return Value::make_list();  // jinja2 tests `if value:` before iterating
  const Value* attribute = nullptr;
  const Value* dflt = nullptr;
  for (auto& kv : a.kw) {
    if (kv.first == "attribute") attribute = &kv.second;
    else if (kv.first == "default") dflt = &kv.second;
  }
  if (attribute) {
    for (const auto& item : iterate(v)) {
      Value x = attr_path(item, to_str(*attribute));
      out.push_back(x.is_undefined() && dflt ? *dflt : x);
    }
    return Value::make_list(std::move(out));
  }
  if (a.pos.empty()) fail("map() needs a filter name or attribute=");
  const std::string name = to_str(a.pos[0]);
  FilterFn f = find_filter(name);
  if (!f) fail("no filter named '" + name + "'");
  CallArgs fa;
  fa.pos.assign(a.pos.begin() + 1, a.pos.end());
  fa.kw = a.kw;
  for (const auto& item : iterate(v)) {
    CallArgs copy = fa;
    out.push_back(f(item, copy));
  }
  return Value::make_list(std::move(out));
}
Value minmax(const Value& v, CallArgs& a, const char* name, bool want_max) {
  ArgReader r(a, name, {"case_sensitive", "attribute"});
  const bool cs = truthy(r.get(0, Value::boolean(false)));
  const Value attribute = r.get(1);
  const List items = iterate(v);
  if (items.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
  size_t best = 0;
  for (size_t k = 1; k < items.size(); ++k) {
    const int c = compare(key_of(items[k], attribute, cs), key_of(items[best], attribute, cs));
    if (want_max ? c > 0 : c < 0) best = k;
  }
  return items[best];
}
Value f_max(const Value& v, CallArgs& a) { return minmax(v, a, "max", true); }
Value f_min(const Value& v, CallArgs& a) { return minmax(v, a, "min", false); }
Value f_select(const Value& v, CallArgs& a) { return select_impl(v, a, false, true); }
Value f_reject(const Value& v, CallArgs& a) { return select_impl(v, a, false, false); }
Value f_selectattr(const Value& v, CallArgs& a) { return select_impl(v, a, true, true); }
Value f_rejectattr(const Value& v, CallArgs& a) { return select_impl(v, a, true, false); }
Value f_replace(const Value& v, CallArgs& a) {
  ArgReader r(a, "replace", {"old", "new", "count"});
  CallArgs inner;
  inner.pos = {Value::str(to_str(r.get(0, Value::undefined()))), Value::str(to_str(r.get(1, Value::undefined())))};
  const Value count = r.get(2);
  if (!count.is_none()) inner.pos.push_back(count);
  return get_attr(Value::str(soft_str(v)), "replace").fn->call(inner);
}
Value f_reverse(const Value& v, CallArgs& a) {
  ArgReader(a, "reverse", {});
  if (v.is_string()) {
    auto chars = utf8_chars(v.s);
    std::string out;
    for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
    return Value::str(out);
  }
  List items = iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::make_list(std::move(items));
}
Value f_round(const Value& v, CallArgs& a) {
  ArgReader r(a, "round", {"precision", "method"});
  const int64_t precision = r.get(0, Value::integer(0)).as_int();
  const std::string method = to_str(r.get(1, Value::str("common")));
  if (method != "common" && method != "ceil" && method != "floor") fail("method must be common, ceil or floor");
  if (!v.is_number()) fail("type " + type_name(v) + " doesn't define __round__ method");
  if (method == "common") {
    if (v.is_int() && precision >= 0) return Value::integer(v.as_int());  // round(int, n) is an int
    return Value::number(py_round(v.as_double(), precision));
  }
  const double p = std::pow(10.0, static_cast<double>(precision));
  const double x = v.as_double() * p;
  return Value::number((method == "ceil" ? std::ceil(x) : std::floor(x)) / p);
}
Value f_safe(const Value& v, CallArgs& a) {
  ArgReader(a, "safe", {});
  return Value::str(to_str(v));
}
Value f_sort(const Value& v, CallArgs& a) {
  ArgReader r(a, "sort", {"reverse", "case_sensitive", "attribute"});
  const bool rev = truthy(r.get(0, Value::boolean(false))), cs = truthy(r.get(1, Value::boolean(false)));
  const Value attribute = r.get(2);
  List items = iterate(v);
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    const int c = compare(key_of(x, attribute, cs), key_of(y, attribute, cs));
    return rev ? c > 0 : c < 0;
  });
  return Value::make_list(std::move(items));
}
Value f_string(const Value& v, CallArgs& a) {
  ArgReader(a, "string", {});
  return Value::str(soft_str(v));
}
Value f_sum(const Value& v, CallArgs& a) {
  ArgReader r(a, "sum", {"attribute", "start"});
  const Value attribute = r.get(0);
  Value total = r.get(1, Value::integer(0));
  for (const auto& item : iterate(v))
    total = binary_op("+", total, attribute.is_none() ? item : attr_path(item, to_str(attribute)));
  return total;
}
Value f_title(const Value& v, CallArgs& a) {  // jinja2's do_title: words start after [-\s({[<]
  ArgReader(a, "title", {});
  const std::string s = soft_str(v);
  std::string out;
  bool at_start = true;
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    const char32_t c = utf8_decode_at(s, i);
    const bool sep = is_py_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    const std::string_view one = std::string_view(s).substr(start, i - start);
    out += sep ? std::string(one) : at_start ? str_upper(one) : str_lower(one);
    at_start = sep;
  }
  return Value::str(out);
}
Value f_tojson(const Value& v, CallArgs& a) {
  ArgReader r(a, "tojson", {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonStyle st;
  st.ensure_ascii = truthy(r.get(0, Value::boolean(false)));
  const Value indent = r.get(1);
  if (!indent.is_none()) {
    st.has_indent = true;
    st.indent = indent.is_string() ? indent.s : std::string(static_cast<size_t>(std::max<int64_t>(0, indent.as_int())), ' ');
    st.item_sep = ",";
  }
  const Value seps = r.get(2);
  if (!seps.is_none()) {
    if (!seps.is_list_like() || seps.list->size() != 2) fail("tojson separators must be a pair (item_sep, key_sep)");
    st.item_sep = to_str((*seps.list)[0]);
    st.key_sep = to_str((*seps.list)[1]);
  }
  st.sort_keys = truthy(r.get(3, Value::boolean(false)));
  return Value::str(to_json(v, st));
}
Value f_trim(const Value& v, CallArgs& a) {
  ArgReader r(a, "trim", {"chars"});
  CallArgs inner;
  inner.pos.push_back(r.get(0));
  return get_attr(Value::str(soft_str(v)), "strip").fn->call(inner);
}
Value f_truncate(const Value& v, CallArgs& a) {
  ArgReader r(a, "truncate", {"length", "killwords", "end", "leeway"});
  const std::string s = soft_str(v);
  const int64_t len = r.get(0, Value::integer(255)).as_int();
  const bool killwords = truthy(r.get(1, Value::boolean(false)));
  const std::string end = to_str(r.get(2, Value::str("...")));
  const int64_t leeway = r.get(3, Value::integer(5)).as_int();
  const int64_t end_len = static_cast<int64_t>(utf8_length(end));
  if (len < end_len) fail("expected length >= " + std::to_string(end_len) + ", got " + std::to_string(len));
  const auto chars = utf8_chars(s);
  if (static_cast<int64_t>(chars.size()) <= len + leeway) return Value::str(s);
  std::string head;
  for (int64_t k = 0; k < len - end_len; ++k) head += chars[k];
  if (!killwords) {
    const size_t sp = head.rfind(' ');
    if (sp != std::string::npos) head.resize(sp);
  }
  return Value::str(head + end);
}
Value f_unique(const Value& v, CallArgs& a) {
  ArgReader r(a, "unique", {"case_sensitive", "attribute"});
  const bool cs = truthy(r.get(0, Value::boolean(false)));
  const Value attribute = r.get(1);
  List out, seen;
  for (const auto& item : iterate(v)) {
    const Value k = key_of(item, attribute, cs);
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); })) {
      seen.push_back(k);
      out.push_back(item);
    }
  }
  return Value::make_list(std::move(out));
}
Value f_wordcount(const Value& v, CallArgs& a) {  // len(re.findall(r"\w+", s))
  ArgReader(a, "wordcount", {});
  const std::string s = soft_str(v);
  int64_t n = 0;
  bool in_word = false;
  for (size_t i = 0; i < s.size();) {
    const char32_t c = utf8_decode_at(s, i);
    const bool w = is_word_char(c);
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value::integer(n);
}

const std::map<std::string, FilterFn>& filters() {
  static const std::map<std::string, FilterFn> m = {
      {"abs", f_abs},         {"attr", f_attr},           {"batch", f_batch},       {"capitalize", f_capitalize},
      {"center", f_center},   {"count", f_length},        {"d", f_default},         {"default", f_default},
      {"dictsort", f_dictsort}, {"e", f_escape},          {"escape", f_escape},     {"forceescape", f_escape},
      {"first", f_first},     {"float", f_float},         {"format", f_format},     {"indent", f_indent},
      {"int", f_int},         {"items", f_items},         {"join", f_join},         {"last", f_last},
      {"length", f_length},   {"list", f_list},           {"lower", f_lower},       {"map", f_map},
      {"max", f_max},         {"min", f_min},             {"reject", f_reject},     {"rejectattr", f_rejectattr},
      {"replace", f_replace}, {"reverse", f_reverse},     {"round", f_round},       {"safe", f_safe},
      {"select", f_select},   {"selectattr", f_selectattr}, {"sort", f_sort},       {"string", f_string},
      {"sum", f_sum},         {"title", f_title},         {"tojson", f_tojson},     {"trim", f_trim},
      {"truncate", f_truncate}, {"unique", f_unique},     {"upper", f_upper},       {"wordcount", f_wordcount},
  };
  return m;
}

}  // namespace

FilterFn find_filter(const std::string& name) {
  auto it = filters().find(name);
  return it == filters().end() ? nullptr : it->second;
}
bool jinja_has_filter(const std::string& name) {
  static const std::set<std::string> k = {"filesizeformat", "groupby", "pprint", "random", "slice", "striptags",
                                          "urlencode", "urlize", "wordwrap", "xmlattr"};
  return k.count(name) > 0;
}

}  // namespace arlt::jinja::detail

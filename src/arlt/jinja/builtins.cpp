// Python-style argument reading, the Python operators, and jinja2's tests and globals (plus
// transformers' raise_exception and strftime_now). Filters are in filters.cpp.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

#include "arlt/jinja/internal.h"

namespace arlt::jinja::detail {

// ---- arguments ------------------------------------------------------------------------------

ArgReader::ArgReader(CallArgs& args, std::string callee, std::vector<std::string> names)
    : args_(args), callee_(std::move(callee)), names_(std::move(names)) {
  if (args_.pos.size() > names_.size())
    fail(callee_ + "() takes at most " + std::to_string(names_.size()) + " argument(s) (" +
         std::to_string(args_.pos.size()) + " given)");
  for (const auto& kw : args_.kw) {
    auto it = std::find(names_.begin(), names_.end(), kw.first);
    if (it == names_.end()) fail(callee_ + "() got an unexpected keyword argument '" + kw.first + "'");
    if (static_cast<size_t>(it - names_.begin()) < args_.pos.size())
      fail(callee_ + "() got multiple values for argument '" + kw.first + "'");
  }
}

bool ArgReader::has(size_t i) const {
  if (i < args_.pos.size()) return true;
  for (const auto& kw : args_.kw)
    if (kw.first == names_[i]) return true;
  return false;
}

Value ArgReader::get(size_t i, Value fallback) const {
  if (i < args_.pos.size()) return args_.pos[i];
  for (const auto& kw : args_.kw)
    if (kw.first == names_[i]) return kw.second;
  if (fallback.is_undefined() && fallback.s.empty())
    fail(callee_ + "() missing required argument '" + names_[i] + "'");
  return fallback;
}

// ---- operators ------------------------------------------------------------------------------

namespace {

[[noreturn]] void fail_undefined(const Value& v) { fail(v.s.empty() ? "undefined value used as an operand" : v.s); }

[[noreturn]] void fail_operands(const std::string& op, const Value& a, const Value& b) {
  if (op == "+" && (a.is_string() || a.is_list_like()))
    fail("can only concatenate " + type_name(a) + " (not \"" + type_name(b) + "\") to " + type_name(a));
  fail("unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
}

// Python's ints are unbounded; ours are 64-bit, and overflowing one is an error, not a wrap.
template <class Op>
int64_t checked(Op op, int64_t a, int64_t b) {
  int64_t r = 0;
  if (op(a, b, &r)) fail("integer overflow: arlt's Jinja holds integers in 64 bits");
  return r;
}
bool add_overflow(int64_t a, int64_t b, int64_t* r) { return __builtin_add_overflow(a, b, r); }
bool sub_overflow(int64_t a, int64_t b, int64_t* r) { return __builtin_sub_overflow(a, b, r); }
bool mul_overflow(int64_t a, int64_t b, int64_t* r) { return __builtin_mul_overflow(a, b, r); }

Value repeat(const Value& seq, int64_t n) {
  if (seq.is_string()) {
    std::string out;
    for (int64_t k = 0; k < n; ++k) out += seq.s;
    return Value::str(out);
  }
  List out;
  for (int64_t k = 0; k < n; ++k) out.insert(out.end(), seq.list->begin(), seq.list->end());
  return seq.kind == Value::Kind::Tuple ? Value::make_tuple(std::move(out)) : Value::make_list(std::move(out));
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  // str % undefined formats like str % {} in Python (Undefined is subscriptable).
  if (op == "%" && a.is_string() && b.is_undefined()) return Value::str(percent_format(a.s, b));
  if (b.is_undefined()) fail_undefined(b);
  const bool ints = a.is_int() && b.is_int();
  const bool nums = a.is_number() && b.is_number();
  if (op == "+") {
    if (ints) return Value::integer(checked(add_overflow, a.as_int(), b.as_int()));
    if (nums) return Value::number(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) return Value::str(a.s + b.s);
    if (a.is_list_like() && a.kind == b.kind) {
      List out = *a.list;
      out.insert(out.end(), b.list->begin(), b.list->end());
      return a.kind == Value::Kind::Tuple ? Value::make_tuple(std::move(out)) : Value::make_list(std::move(out));
    }
  } else if (op == "-") {
    if (ints) return Value::integer(checked(sub_overflow, a.as_int(), b.as_int()));
    if (nums) return Value::number(a.as_double() - b.as_double());
  } else if (op == "*") {
    if (ints) return Value::integer(checked(mul_overflow, a.as_int(), b.as_int()));
    if (nums) return Value::number(a.as_double() * b.as_double());
    if ((a.is_string() || a.is_list_like()) && b.is_int()) return repeat(a, b.as_int());
    if (a.is_int() && (b.is_string() || b.is_list_like())) return repeat(b, a.as_int());
  } else if (op == "/") {
    if (nums) {
      if (b.as_double() == 0) fail("division by zero");
      return Value::number(a.as_double() / b.as_double());
    }
  } else if (op == "//" || op == "%") {
    if (a.is_string() && op == "%") return Value::str(percent_format(a.s, b));
    if (ints) {
      const int64_t x = a.as_int(), y = b.as_int();
      if (y == 0) fail(op == "//" ? "integer division or modulo by zero" : "integer modulo by zero");
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {  // Python floors toward negative infinity
        --q;
        m += y;
      }
      return Value::integer(op == "//" ? q : m);
    }
    if (nums) {
      const double x = a.as_double(), y = b.as_double();
      if (y == 0) fail(op == "//" ? "float floor division by zero" : "float modulo");
      double m = std::fmod(x, y);
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      if (m == 0) m = std::copysign(0.0, y);  // Python: a zero remainder takes the divisor's sign
      return Value::number(op == "//" ? std::floor((x - m) / y + 0.5) : m);
    }
  } else if (op == "**") {
    if (nums && a.as_double() == 0 && b.as_double() < 0) fail("0.0 cannot be raised to a negative power");
    if (nums && a.as_double() < 0 && b.kind == Value::Kind::Float && b.f != std::floor(b.f))
      fail("a negative number raised to a fractional power is complex, which arlt's Jinja does not support");
    if (ints && b.as_int() >= 0) {
      int64_t result = 1, base = a.as_int();
      for (int64_t e = b.as_int(); e > 0; --e) result = checked(mul_overflow, result, base);
      return Value::integer(result);
    }
    if (nums) return Value::number(std::pow(a.as_double(), b.as_double()));
  }
  fail_operands(op, a, b);
}

bool contains(const Value& container, const Value& item) {
  using K = Value::Kind;
  switch (container.kind) {
    case K::Undefined: return false;  // jinja2's Undefined iterates as empty
    case K::String:
      if (!item.is_string()) fail("'in <string>' requires string as left operand, not " + type_name(item));
      return container.s.find(item.s) != std::string::npos;
    case K::List:
    case K::Tuple:
      return std::any_of(container.list->begin(), container.list->end(), [&](const Value& x) { return equals(x, item); });
    case K::Dict:
      if (item.kind == K::List || item.kind == K::Dict || item.kind == K::Object)
        fail("unhashable type: '" + type_name(item) + "'");
      return container.dict->find(item) != nullptr;
    default: fail("argument of type '" + type_name(container) + "' is not iterable");
  }
}

// ---- tests ----------------------------------------------------------------------------------

namespace {

Value test_arg(CallArgs& a, const char* name) {
  ArgReader r(a, name, {"other"});
  return r.get(0, Value::undefined());
}
bool t_defined(const Value& v, CallArgs&) { return !v.is_undefined(); }
bool t_undefined(const Value& v, CallArgs&) { return v.is_undefined(); }
bool t_none(const Value& v, CallArgs&) { return v.is_none(); }
bool t_boolean(const Value& v, CallArgs&) { return v.kind == Value::Kind::Bool; }
bool t_true(const Value& v, CallArgs&) { return v.kind == Value::Kind::Bool && v.b; }
bool t_false(const Value& v, CallArgs&) { return v.kind == Value::Kind::Bool && !v.b; }
bool t_integer(const Value& v, CallArgs&) { return v.kind == Value::Kind::Int; }
bool t_float(const Value& v, CallArgs&) { return v.kind == Value::Kind::Float; }
bool t_number(const Value& v, CallArgs&) { return v.is_number(); }
bool t_string(const Value& v, CallArgs&) { return v.is_string(); }
bool t_mapping(const Value& v, CallArgs&) { return v.kind == Value::Kind::Dict; }
bool t_sequence(const Value& v, CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list_like() || v.kind == Value::Kind::Dict;
}
bool t_iterable(const Value& v, CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list_like() || v.kind == Value::Kind::Dict;
}
bool t_callable(const Value& v, CallArgs&) { return v.kind == Value::Kind::Function || v.is_undefined(); }
bool t_odd(const Value& v, CallArgs&) { return equals(binary_op("%", v, Value::integer(2)), Value::integer(1)); }
bool t_even(const Value& v, CallArgs&) { return equals(binary_op("%", v, Value::integer(2)), Value::integer(0)); }
bool t_divisibleby(const Value& v, CallArgs& a) {
  ArgReader r(a, "divisibleby", {"num"});
  return equals(binary_op("%", v, r.get(0, Value::undefined())), Value::integer(0));
}
bool t_eq(const Value& v, CallArgs& a) { return equals(v, test_arg(a, "eq")); }
bool t_ne(const Value& v, CallArgs& a) { return !equals(v, test_arg(a, "ne")); }
bool t_lt(const Value& v, CallArgs& a) { return compare(v, test_arg(a, "lt")) < 0; }
bool t_le(const Value& v, CallArgs& a) { return compare(v, test_arg(a, "le")) <= 0; }
bool t_gt(const Value& v, CallArgs& a) { return compare(v, test_arg(a, "gt")) > 0; }
bool t_ge(const Value& v, CallArgs& a) { return compare(v, test_arg(a, "ge")) >= 0; }
bool t_in(const Value& v, CallArgs& a) {
  ArgReader r(a, "in", {"seq"});
  return contains(r.get(0, Value::undefined()), v);
}
bool t_sameas(const Value& v, CallArgs& a) {  // Python `is`: identity for containers, value for scalars
  const Value o = test_arg(a, "sameas");
  if (v.kind != o.kind) return false;
  switch (v.kind) {
    case Value::Kind::List:
    case Value::Kind::Tuple: return v.list == o.list;
    case Value::Kind::Dict: return v.dict == o.dict;
    case Value::Kind::Object: return v.obj == o.obj;
    case Value::Kind::Function: return v.fn == o.fn;
    default: return equals(v, o);
  }
}
bool t_escaped(const Value&, CallArgs&) { return false; }
bool t_lower(const Value& v, CallArgs&) {
  CallArgs none;
  return truthy(get_attr(Value::str(to_str(v)), "islower").fn->call(none));
}
bool t_upper(const Value& v, CallArgs&) {
  CallArgs none;
  return truthy(get_attr(Value::str(to_str(v)), "isupper").fn->call(none));
}
bool t_filter(const Value& v, CallArgs&) { return v.is_string() && find_filter(v.s) != nullptr; }
bool t_test(const Value& v, CallArgs&) { return v.is_string() && find_test(v.s) != nullptr; }

const std::map<std::string, TestFn>& tests() {
  static const std::map<std::string, TestFn> m = {
      {"boolean", t_boolean}, {"callable", t_callable}, {"defined", t_defined},   {"divisibleby", t_divisibleby},
      {"eq", t_eq},           {"equalto", t_eq},        {"==", t_eq},             {"escaped", t_escaped},
      {"even", t_even},       {"false", t_false},       {"filter", t_filter},     {"float", t_float},
      {"ge", t_ge},           {">=", t_ge},             {"gt", t_gt},             {">", t_gt},
      {"greaterthan", t_gt},  {"in", t_in},             {"integer", t_integer},   {"iterable", t_iterable},
      {"le", t_le},           {"<=", t_le},             {"lower", t_lower},       {"lt", t_lt},
      {"<", t_lt},            {"lessthan", t_lt},       {"mapping", t_mapping},   {"ne", t_ne},
      {"!=", t_ne},           {"none", t_none},         {"number", t_number},     {"odd", t_odd},
      {"sameas", t_sameas},   {"sequence", t_sequence}, {"string", t_string},     {"test", t_test},
      {"true", t_true},       {"undefined", t_undefined}, {"upper", t_upper},
  };
  return m;
}

}  // namespace

TestFn find_test(const std::string& name) {
  auto it = tests().find(name);
  return it == tests().end() ? nullptr : it->second;
}
bool jinja_has_test(const std::string&) { return false; }

// ---- globals --------------------------------------------------------------------------------

namespace {

Value g_range(CallArgs& a) {
  if (!a.kw.empty()) fail("range() takes no keyword arguments");
  if (a.pos.empty() || a.pos.size() > 3) fail("range expected 1 to 3 arguments, got " + std::to_string(a.pos.size()));
  for (const auto& x : a.pos)
    if (!x.is_int()) fail("'" + type_name(x) + "' object cannot be interpreted as an integer");
  const int64_t start = a.pos.size() > 1 ? a.pos[0].as_int() : 0;
  const int64_t stop = a.pos.size() > 1 ? a.pos[1].as_int() : a.pos[0].as_int();
  const int64_t step = a.pos.size() > 2 ? a.pos[2].as_int() : 1;
  if (step == 0) fail("range() arg 3 must not be zero");
  List out;
  for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
    if (out.size() >= 100000) fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    out.push_back(Value::integer(k));
  }
  return Value::make_list(std::move(out));
}

Value g_namespace(CallArgs& a) {
  auto obj = std::make_shared<Object>();
  obj->type_name = "Namespace";
  obj->assignable = true;
  for (const auto& init : a.pos) {
    if (init.kind != Value::Kind::Dict) fail("namespace() positional arguments must be mappings");
    for (const auto& kv : init.dict->items) obj->attrs.set(kv.first, kv.second);
  }
  for (const auto& kv : a.kw) obj->attrs.set(Value::str(kv.first), kv.second);
  Value v;
  v.kind = Value::Kind::Object;
  v.obj = std::move(obj);
  return v;
}

Value g_dict(CallArgs& a) {
  Dict d;
  for (const auto& init : a.pos) {
    if (init.kind != Value::Kind::Dict) fail("dict() positional arguments must be mappings");
    for (const auto& kv : init.dict->items) d.set(kv.first, kv.second);
  }
  for (const auto& kv : a.kw) d.set(Value::str(kv.first), kv.second);
  return Value::make_dict(std::move(d));
}

Value g_raise_exception(CallArgs& a) {
  ArgReader r(a, "raise_exception", {"message"});
  fail("raise_exception: " + to_str(r.get(0, Value::str(""))));
}

Value g_strftime_now(CallArgs& a) {
  ArgReader r(a, "strftime_now", {"format"});
  const std::string fmt = to_str(r.get(0, Value::undefined()));
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[512];
  const size_t n = std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
  return Value::str(std::string(buf, n));
}

}  // namespace

const Dict& builtin_globals() {
  static const Dict d = [] {
    Dict g;
    g.set(Value::str("range"), Value::make_function("range", g_range));
    g.set(Value::str("namespace"), Value::make_function("namespace", g_namespace));
    g.set(Value::str("dict"), Value::make_function("dict", g_dict));
    g.set(Value::str("raise_exception"), Value::make_function("raise_exception", g_raise_exception));
    g.set(Value::str("strftime_now"), Value::make_function("strftime_now", g_strftime_now));
    return g;
  }();
  return d;
}

}  // namespace arlt::jinja::detail

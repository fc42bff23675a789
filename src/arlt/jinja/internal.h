// Private to the Jinja interpreter (jinja*.cpp): values, tokens, the syntax tree, and the
// built-in filters / tests / methods. Nothing outside src/arlt/jinja/*.cpp includes it.
//
// Values follow Python's data model, because chat templates are written against jinja2 running
// on Python objects: ints and floats are distinct (1.0 prints "1.0"), True prints "True",
// lists / dicts / namespaces are shared by reference (so `{% set ns.x = ... %}` is seen by every
// holder), dicts keep insertion order, and "undefined" is a value of its own that prints as
// nothing and fails loudly when used as an operand.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace arlt::jinja::detail {

// ---- values -------------------------------------------------------------------------------

struct Value;
struct Dict;
struct Object;
struct Function;
struct CallArgs;
using List = std::vector<Value>;

struct Value {
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Tuple, Dict, Object, Function };
  Kind kind = Kind::Undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  // String: the text (UTF-8). Undefined: why it is undefined ("'x' is undefined"), for errors.
  // List: empty, or the view type it prints as ("dict_keys" for d.keys(), as Python prints it).
  std::string s;
  std::shared_ptr<List> list;    // List and Tuple
  std::shared_ptr<Dict> dict;    // Dict
  std::shared_ptr<Object> obj;   // Object: namespace(), loop
  std::shared_ptr<Function> fn;  // Function: macros, globals, bound methods

  static Value undefined(std::string why = {});
  static Value none();
  static Value boolean(bool v);
  static Value integer(int64_t v);
  static Value number(double v);
  static Value str(std::string v);
  static Value make_list(List items = {});
  static Value make_tuple(List items);
  static Value make_dict();
  static Value make_dict(Dict d);
  static Value make_function(std::string name, std::function<Value(CallArgs&)> call);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_string() const { return kind == Kind::String; }
  bool is_int() const { return kind == Kind::Int || kind == Kind::Bool; }  // Python: bool is an int
  bool is_number() const { return is_int() || kind == Kind::Float; }
  bool is_list_like() const { return kind == Kind::List || kind == Kind::Tuple; }
  int64_t as_int() const { return kind == Kind::Bool ? (b ? 1 : 0) : i; }
  double as_double() const { return kind == Kind::Float ? f : static_cast<double>(as_int()); }
};

// Insertion-ordered mapping. Keys are Python-hashable scalars (in practice strings); lookups
// are linear because template dicts are small and order matters more than speed here.
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  void set(Value key, Value value);
};

// Attribute bags: namespace() objects (assignable) and the loop variable (read-only).
struct Object {
  std::string type_name;  // "Namespace", "LoopContext"
  bool assignable = false;
  Dict attrs;
};

// Arguments of a call, Python style.
struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
};

struct Function {
  std::string name;
  std::function<Value(CallArgs&)> call;
};

// A runtime failure without a position; the evaluator adds the template name, line and column
// of the expression being evaluated and rethrows it as arlt::Error.
struct Fail {
  std::string message;
};
[[noreturn]] void fail(const std::string& message);

// Python's str(), repr(), truth value, type name, ==, and <-ordering (throws Fail when unordered).
std::string to_str(const Value& v);
std::string repr(const Value& v);
bool truthy(const Value& v);
std::string type_name(const Value& v);
bool equals(const Value& a, const Value& b);
int compare(const Value& a, const Value& b);  // -1, 0, 1
std::string format_float(double d);            // Python repr(float)

// Python's json.dumps(v, ensure_ascii, indent, separators, sort_keys).
struct JsonStyle {
  bool ensure_ascii = false;
  bool has_indent = false;  // false: one line; true: a newline and `indent` per nesting level
  std::string indent;
  std::string item_sep = ", ", key_sep = ": ";
  bool sort_keys = false;
};
std::string to_json(const Value& v, const JsonStyle& style);
Value from_json(const nlohmann::ordered_json& j);
Value from_json(const nlohmann::json& j);

// Iteration as Python's iter(): lists / tuples by element, dicts by key, strings by character;
// undefined is empty; anything else fails.
List iterate(const Value& v);
// len(); fails for values without a length.
int64_t length(const Value& v);

// UTF-8: Python indexes strings by code point.
std::vector<std::string_view> utf8_chars(std::string_view s);
size_t utf8_length(std::string_view s);
char32_t utf8_decode_at(std::string_view s, size_t& i);  // advances i past one code point
void utf8_append(std::string& out, char32_t cp);
bool is_py_space(char32_t cp);  // str.isspace()
bool is_word_char(char32_t cp);  // regex \w: letters, numbers, underscore
bool is_letter(char32_t cp);     // str.isalpha()
bool is_decimal(char32_t cp);    // str.isdecimal()
char32_t to_lower(char32_t cp);
char32_t to_upper(char32_t cp);
char32_t to_title(char32_t cp);
bool is_cased_letter(char32_t cp);
// Python's full case mapping (a character may become several).
std::string str_lower(std::string_view s);
std::string str_upper(std::string_view s);
std::string title_char(char32_t cp);

// ---- built-ins (builtins.cpp, filters.cpp, methods.cpp, format.cpp) --

using FilterFn = Value (*)(const Value& subject, CallArgs& args);
using TestFn = bool (*)(const Value& subject, CallArgs& args);
// nullptr when unknown. `jinja_has_*` is true for names jinja2 defines but arlt does not, so a
// template naming one in a branch it never takes still parses, as it does in Python.
FilterFn find_filter(const std::string& name);
TestFn find_test(const std::string& name);
bool jinja_has_filter(const std::string& name);
bool jinja_has_test(const std::string& name);
// jinja2's environment.getattr / getitem (attribute first for `.`, item first for `[]`), with
// the ImmutableSandboxedEnvironment's refusal of methods that mutate lists and dicts.
Value get_attr(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);
Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
// Python's printf-style `fmt % args` and str.format(*args, **kwargs).
std::string percent_format(const std::string& fmt, const Value& args);
std::string str_format(const std::string& fmt, CallArgs& args);
// Python binary operators (+ - * / // % **) and `in`.
Value binary_op(const std::string& op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);
// Globals every template sees: range, namespace, dict, raise_exception, strftime_now.
const Dict& builtin_globals();
// Reads Python-style arguments: positional first, then by keyword; unknown keywords and extra
// positionals fail with the callee's name.
class ArgReader {
 public:
  ArgReader(CallArgs& args, std::string callee, std::vector<std::string> names);
  // The i-th parameter (positional or keyword), or `fallback` when not given.
  Value get(size_t i, Value fallback = Value::none()) const;
  bool has(size_t i) const;

 private:
  CallArgs& args_;
  std::string callee_;
  std::vector<std::string> names_;
};

// ---- lexer (lexer.cpp) ---------------------------------------------------------------

struct Pos {
  int line = 1, col = 1;
};

enum class Tok { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };
struct Token {
  Tok type;
  std::string text;  // Text: the data; String: the decoded value; Name / Op: as written
  int64_t ival = 0;
  double fval = 0;
  Pos pos;
};

// Tokenises with the options Hugging Face uses: trim_blocks, lstrip_blocks, and a final newline
// removed (keep_trailing_newline=False). Throws arlt::Error naming `name`, line and column.
std::vector<Token> lex(const std::string& source, const std::string& name);
[[noreturn]] void throw_at(const std::string& name, Pos pos, const std::string& message);

// ---- syntax tree (parser.cpp) ---------------------------------------------------------

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using Body = std::vector<std::unique_ptr<Stmt>>;

enum class ExprKind {
  Literal,   // literal
  Name,      // name
  GetAttr,   // args[0].name
  GetItem,   // args[0][args[1]]
  Slice,     // args[0][args[1]:args[2]:args[3]] (null parts omitted)
  Call,      // args[0](args[1:], kwargs)
  Filter,    // args[0] | name(args[1:], kwargs); args[0] is null inside {% filter %}
  Test,      // args[0] is [not] name(args[1:], kwargs)
  Unary,     // name in {"-", "+", "not"} applied to args[0]
  Binary,    // args[0] name args[1]; name in + - * / // % ** ~ and or
  Compare,   // args[0] ops[0] args[1] ops[1] args[2] ... (Python chaining)
  CondExpr,  // args[1] if args[0] else args[2] (args[2] null: undefined)
  ListLit,
  TupleLit,
  DictLit,   // args = key0, value0, key1, value1, ...
};

struct Expr {
  ExprKind kind;
  Pos pos;
  Value literal;
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;
  FilterFn filter = nullptr;  // resolved at parse time; null for a jinja2 filter arlt lacks
  TestFn test = nullptr;
};

enum class StmtKind {
  Text,         // text
  Output,       // {{ expr }}
  If,           // conds[i] -> bodies[i]; bodies has one more entry when there is an else
  For,          // for targets in expr [if cond]: body else else_body
  Set,          // set targets = expr
  SetAttr,      // set targets[0].targets[1] = expr (namespace attribute)
  SetBlock,     // set targets[0] %}body{% endset (filters applied to the captured text)
  Macro,        // macro targets[0](params = defaults) body
  With,         // with targets = values: body
  FilterBlock,  // filter filters: body
  Break,
  Continue,
};

struct Stmt {
  StmtKind kind;
  Pos pos;
  std::string text;
  ExprPtr expr, cond;
  std::vector<std::string> targets;
  std::vector<ExprPtr> conds;     // If conditions; With values
  std::vector<Body> bodies;       // If branches
  Body body, else_body;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // one per param, null when none
  std::vector<ExprPtr> filters;   // Filter expressions with a null subject
};

struct Program {
  std::string name;
  Body body;
};

std::shared_ptr<Program> parse_program(const std::string& source, const std::string& name);

}  // namespace arlt::jinja::detail

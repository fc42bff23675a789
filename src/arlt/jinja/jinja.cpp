// Jinja evaluator: walks the syntax tree with jinja2's scoping rules. A for-loop iteration, a
// macro call, and the bodies of with, filter, set and generation blocks each get a fresh scope
// whose parent is where they appear (so `set` inside a loop does not leak out of it, which is
// why templates use namespace()); if-blocks share their enclosing scope. Names resolve through
// the scope chain at use time, then the globals.
#include "arlt/jinja/jinja.h"

#include <algorithm>

#include "arlt/base/error.h"
#include "arlt/jinja/internal.h"

namespace arlt::jinja {
namespace detail {
namespace {

struct Scope {
  std::shared_ptr<Scope> parent;
  std::vector<std::pair<std::string, Value>> vars;

  const Value* find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent.get())
      for (const auto& kv : s->vars)
        if (kv.first == name) return &kv.second;
    return nullptr;
  }
  void set(const std::string& name, Value v) {
    for (auto& kv : vars)
      if (kv.first == name) {
        kv.second = std::move(v);
        return;
      }
    vars.emplace_back(name, std::move(v));
  }
};
using ScopePtr = std::shared_ptr<Scope>;

enum class Flow { Normal, Break, Continue };

// Macros may recurse; a runaway template must end in an error, not a stack overflow.
constexpr int kMaxCallDepth = 200;

class Evaluator {
 public:
  explicit Evaluator(const Program& program) : program_(program) {}

  std::string run(const Value& context) {
    auto root = std::make_shared<Scope>();
    if (context.kind == Value::Kind::Dict)
      for (const auto& kv : context.dict->items) root->set(to_str(kv.first), kv.second);
    std::string out;
    exec_body(program_.body, root, out);
    return out;
  }

 private:
  [[noreturn]] void error_at(Pos pos, const std::string& message) const { throw_at(program_.name, pos, message); }

  // ---- statements ----

  Flow exec_body(const Body& body, const ScopePtr& scope, std::string& out) {
    for (const auto& stmt : body) {
      const Flow f = exec(*stmt, scope, out);
      if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
  }

  Flow exec(const Stmt& s, const ScopePtr& scope, std::string& out) {
    try {
      return exec_inner(s, scope, out);
    } catch (const Fail& f) {
      error_at(s.pos, f.message);
    }
  }

  Flow exec_inner(const Stmt& s, const ScopePtr& scope, std::string& out) {
    switch (s.kind) {
      case StmtKind::Text: out += s.text; return Flow::Normal;
      case StmtKind::Output: out += to_str(eval(*s.expr, scope)); return Flow::Normal;
      case StmtKind::If:
        for (size_t k = 0; k < s.conds.size(); ++k)
          if (truthy(eval(*s.conds[k], scope))) return exec_body(s.bodies[k], scope, out);
        if (s.bodies.size() > s.conds.size()) return exec_body(s.bodies.back(), scope, out);
        return Flow::Normal;
      case StmtKind::For: return exec_for(s, scope, out);
      case StmtKind::Set: assign(s.targets, eval(*s.expr, scope), *scope); return Flow::Normal;
      case StmtKind::SetAttr: {
        const Value* ns = scope->find(s.targets[0]);
        if (!ns || ns->kind != Value::Kind::Object || !ns->obj->assignable)
          fail("cannot assign attribute on non-namespace object");
        ns->obj->attrs.set(Value::str(s.targets[1]), eval(*s.expr, scope));
        return Flow::Normal;
      }
      case StmtKind::SetBlock: {  // like a filter block, the body has a scope of its own
        std::string captured;
        exec_body(s.body, child_of(scope), captured);
        scope->set(s.targets[0], apply_filters(s.filters, Value::str(std::move(captured)), scope));
        return Flow::Normal;
      }
      case StmtKind::Macro: {
        // The macro lives in `scope` and needs `scope` as its parent: a shared_ptr both ways
        // would be a cycle, so the evaluator keeps the scope alive and the macro holds it weakly.
        keepalive_.push_back(scope);
        const Stmt* macro = &s;
        std::weak_ptr<Scope> defined_in = scope;
        scope->set(s.targets[0], Value::make_function(s.targets[0], [this, macro, defined_in](CallArgs& a) {
                     return call_macro(*macro, defined_in.lock(), a);
                   }));
        return Flow::Normal;
      }
      case StmtKind::With: {
        auto inner = child_of(scope);
        for (size_t k = 0; k < s.targets.size(); ++k) inner->set(s.targets[k], eval(*s.conds[k], scope));
        return exec_body(s.body, inner, out);
      }
      case StmtKind::FilterBlock: {  // jinja2 renders the body in an inner frame: sets stay inside
        std::string captured;
        const Flow f = exec_body(s.body, child_of(scope), captured);
        out += to_str(apply_filters(s.filters, Value::str(std::move(captured)), scope));
        return f;
      }
      case StmtKind::Break: return Flow::Break;
      case StmtKind::Continue: return Flow::Continue;
    }
    return Flow::Normal;
  }

  static ScopePtr child_of(const ScopePtr& parent) {
    auto inner = std::make_shared<Scope>();
    inner->parent = parent;
    return inner;
  }

  // `x` takes the value; `a, b` unpacks a sequence of exactly that length.
  static void assign(const std::vector<std::string>& targets, const Value& v, Scope& scope) {
    if (targets.size() == 1) {
      scope.set(targets[0], v);
      return;
    }
    const List items = iterate(v);
    if (items.size() != targets.size())
      fail(items.size() > targets.size()
               ? "too many values to unpack (expected " + std::to_string(targets.size()) + ")"
               : "not enough values to unpack (expected " + std::to_string(targets.size()) + ", got " +
                     std::to_string(items.size()) + ")");
    for (size_t k = 0; k < targets.size(); ++k) scope.set(targets[k], items[k]);
  }

  Flow exec_for(const Stmt& s, const ScopePtr& scope, std::string& out) {
    List items = iterate(eval(*s.expr, scope));
    if (s.cond) {  // `for x in xs if c`: loop.* counts only the items kept
      List kept;
      for (auto& item : items) {
        auto probe = child_of(scope);
        assign(s.targets, item, *probe);
        // jinja2's filter generator yields the unpacked targets again: a tuple (loop.previtem).
        if (truthy(eval(*s.cond, probe))) kept.push_back(s.targets.size() > 1 ? Value::make_tuple(iterate(item)) : item);
      }
      items = std::move(kept);
    }
    // jinja2 runs the else block unless some iteration reached the end of the body: a loop
    // whose every iteration ends in break or continue runs it too (its compiled code clears
    // the flag at the end of the body), and so does an empty one.
    bool body_completed = false;
    auto last_changed = std::make_shared<std::pair<bool, Value>>(false, Value());
    for (size_t k = 0; k < items.size(); ++k) {
      auto inner = child_of(scope);
      assign(s.targets, items[k], *inner);
      inner->set("loop", make_loop(items, k, last_changed));
      const Flow f = exec_body(s.body, inner, out);
      if (f == Flow::Normal) body_completed = true;
      if (f == Flow::Break) break;
    }
    if (!body_completed) return exec_body(s.else_body, scope, out);
    return Flow::Normal;
  }

  static Value make_loop(const List& items, size_t k, const std::shared_ptr<std::pair<bool, Value>>& last_changed) {
    const int64_t n = static_cast<int64_t>(items.size()), i = static_cast<int64_t>(k);
    auto obj = std::make_shared<Object>();
    obj->type_name = "LoopContext";
    auto put = [&](const char* name, Value v) { obj->attrs.items.emplace_back(Value::str(name), std::move(v)); };
    put("index", Value::integer(i + 1));
    put("index0", Value::integer(i));
    put("revindex", Value::integer(n - i));
    put("revindex0", Value::integer(n - i - 1));
    put("first", Value::boolean(i == 0));
    put("last", Value::boolean(i == n - 1));
    put("length", Value::integer(n));
    put("depth", Value::integer(1));
    put("depth0", Value::integer(0));
    put("previtem", i > 0 ? items[k - 1] : Value::undefined("there is no previous item"));
    put("nextitem", i + 1 < n ? items[k + 1] : Value::undefined("there is no next item"));
    put("cycle", Value::make_function("cycle", [k](CallArgs& a) {
          if (a.pos.empty()) fail("no items for cycling given");
          return a.pos[k % a.pos.size()];
        }));
    put("changed", Value::make_function("changed", [last_changed](CallArgs& a) {
          const Value now = Value::make_list(a.pos);
          const bool changed = !last_changed->first || !equals(last_changed->second, now);
          *last_changed = {true, now};
          return Value::boolean(changed);
        }));
    Value v;
    v.kind = Value::Kind::Object;
    v.obj = std::move(obj);
    return v;
  }

  Value call_macro(const Stmt& m, const ScopePtr& defined_in, CallArgs& a) {
    const std::string& name = m.targets[0];
    if (a.pos.size() > m.params.size())
      fail("macro '" + name + "' takes not more than " + std::to_string(m.params.size()) + " argument(s)");
    auto inner = std::make_shared<Scope>();
    inner->parent = defined_in;
    for (const auto& kw : a.kw)
      if (std::find(m.params.begin(), m.params.end(), kw.first) == m.params.end())
        fail("macro '" + name + "' takes no keyword argument '" + kw.first + "'");
    for (size_t k = 0; k < m.params.size(); ++k) {
      const std::string& p = m.params[k];
      if (k < a.pos.size()) {
        inner->set(p, a.pos[k]);
        continue;
      }
      auto kw = std::find_if(a.kw.begin(), a.kw.end(), [&](const auto& x) { return x.first == p; });
      if (kw != a.kw.end()) inner->set(p, kw->second);
      else if (m.defaults[k]) inner->set(p, eval(*m.defaults[k], inner));
      else inner->set(p, Value::undefined("parameter '" + p + "' was not provided"));
    }
    if (++depth_ > kMaxCallDepth) fail("macro calls nested deeper than " + std::to_string(kMaxCallDepth));
    std::string out;
    exec_body(m.body, inner, out);
    --depth_;
    return Value::str(std::move(out));
  }

  Value apply_filters(const std::vector<ExprPtr>& filters, Value v, const ScopePtr& scope) {
    for (const auto& f : filters) v = call_filter(*f, v, scope);
    return v;
  }

  // ---- expressions ----

  Value eval(const Expr& e, const ScopePtr& scope) {
    try {
      return eval_inner(e, scope);
    } catch (const Fail& f) {
      error_at(e.pos, f.message);
    }
  }

  CallArgs eval_args(const Expr& e, const ScopePtr& scope, size_t first) {
    CallArgs a;
    for (size_t k = first; k < e.args.size(); ++k) a.pos.push_back(eval(*e.args[k], scope));
    for (const auto& kw : e.kwargs) a.kw.emplace_back(kw.first, eval(*kw.second, scope));
    return a;
  }

  Value call_filter(const Expr& e, const Value& subject, const ScopePtr& scope) {
    CallArgs a = eval_args(e, scope, 1);
    try {
      if (!e.filter) fail("filter '" + e.name + "' is not supported by arlt's Jinja");
      return e.filter(subject, a);
    } catch (const Fail& f) {
      error_at(e.pos, f.message);
    }
  }

  Value eval_inner(const Expr& e, const ScopePtr& scope) {
    switch (e.kind) {
      case ExprKind::Literal: return e.literal;
      case ExprKind::Name: {
        if (const Value* v = scope->find(e.name)) return *v;
        if (const Value* g = builtin_globals().find(std::string_view(e.name))) return *g;
        return Value::undefined("'" + e.name + "' is undefined");
      }
      case ExprKind::GetAttr: return get_attr(eval(*e.args[0], scope), e.name);
      case ExprKind::GetItem: {
        const Value obj = eval(*e.args[0], scope);
        return get_item(obj, eval(*e.args[1], scope));
      }
      case ExprKind::Slice: {
        const Value obj = eval(*e.args[0], scope);
        Value parts[3];
        for (int k = 0; k < 3; ++k) parts[k] = e.args[k + 1] ? eval(*e.args[k + 1], scope) : Value::none();
        return slice(obj, parts[0], parts[1], parts[2]);
      }
      case ExprKind::Call: {
        const Value callee = eval(*e.args[0], scope);
        CallArgs a = eval_args(e, scope, 1);
        if (callee.kind == Value::Kind::Function) return callee.fn->call(a);
        if (callee.is_undefined()) fail(callee.s.empty() ? "undefined value is not callable" : callee.s);
        fail("'" + type_name(callee) + "' object is not callable");
      }
      case ExprKind::Filter: return call_filter(e, eval(*e.args[0], scope), scope);
      case ExprKind::Test: {
        const Value subject = eval(*e.args[0], scope);
        CallArgs a = eval_args(e, scope, 1);
        if (!e.test) fail("test '" + e.name + "' is not supported by arlt's Jinja");
        return Value::boolean(e.test(subject, a) != e.negated);
      }
      case ExprKind::Unary: {
        const Value x = eval(*e.args[0], scope);
        if (e.name == "not") return Value::boolean(!truthy(x));
        if (x.is_undefined()) fail(x.s.empty() ? "undefined value used as an operand" : x.s);
        if (e.name == "+") {
          if (!x.is_number()) fail("bad operand type for unary +: '" + type_name(x) + "'");
          return x.kind == Value::Kind::Bool ? Value::integer(x.as_int()) : x;
        }
        if (x.kind == Value::Kind::Float) return Value::number(-x.f);
        if (x.is_int()) return Value::integer(-x.as_int());
        fail("bad operand type for unary -: '" + type_name(x) + "'");
      }
      case ExprKind::Binary: {
        if (e.name == "and" || e.name == "or") {  // Python returns the deciding operand
          Value left = eval(*e.args[0], scope);
          if (truthy(left) == (e.name == "or")) return left;
          return eval(*e.args[1], scope);
        }
        const Value a = eval(*e.args[0], scope);
        const Value b = eval(*e.args[1], scope);
        if (e.name == "~") return Value::str(to_str(a) + to_str(b));
        if (e.name == "**" && is_negative_constant(*e.args[0]) && !is_constant(*e.args[1])) {
          // jinja2 folds `-3` to a constant and writes it into Python source as `-3 ** y`, which
          // Python reads as -(3 ** y). Both operands constant, it folds (-3) ** y correctly.
          return binary_op("-", Value::integer(0), binary_op("**", binary_op("-", Value::integer(0), a), b));
        }
        return binary_op(e.name, a, b);
      }
      case ExprKind::Compare: {
        Value left = eval(*e.args[0], scope);
        for (size_t k = 0; k < e.ops.size(); ++k) {
          Value right = eval(*e.args[k + 1], scope);
          const std::string& op = e.ops[k];
          bool ok;
          if (op == "==") ok = equals(left, right);
          else if (op == "!=") ok = !equals(left, right);
          else if (op == "in") ok = contains(right, left);
          else if (op == "not in") ok = !contains(right, left);
          else {
            const int c = compare(left, right);
            ok = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
          }
          if (!ok) return Value::boolean(false);
          left = std::move(right);
        }
        return Value::boolean(true);
      }
      case ExprKind::CondExpr:
        if (truthy(eval(*e.args[0], scope))) return eval(*e.args[1], scope);
        if (e.args[2]) return eval(*e.args[2], scope);
        return Value::undefined("the inline if-expression evaluated to false and has no else");
      case ExprKind::ListLit:
      case ExprKind::TupleLit: {
        List items;
        for (const auto& x : e.args) items.push_back(eval(*x, scope));
        return e.kind == ExprKind::ListLit ? Value::make_list(std::move(items)) : Value::make_tuple(std::move(items));
      }
      case ExprKind::DictLit: {
        Dict d;
        for (size_t k = 0; k + 1 < e.args.size(); k += 2) d.set(eval(*e.args[k], scope), eval(*e.args[k + 1], scope));
        return Value::make_dict(std::move(d));
      }
    }
    return Value::undefined();
  }

  // What jinja2's optimizer folds at compile time: literals and operators on them.
  static bool is_constant(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Literal: return true;
      case ExprKind::Unary:
      case ExprKind::Binary:
      case ExprKind::Compare:
      case ExprKind::CondExpr:
      case ExprKind::TupleLit:
      case ExprKind::ListLit:
        return std::all_of(e.args.begin(), e.args.end(), [](const ExprPtr& a) { return !a || is_constant(*a); });
      default: return false;
    }
  }
  static bool is_negative_constant(const Expr& e) {
    return e.kind == ExprKind::Unary && e.name == "-" && e.args[0]->kind == ExprKind::Literal &&
           e.args[0]->literal.is_number() && e.args[0]->literal.as_double() > 0;
  }

  const Program& program_;
  int depth_ = 0;
  std::vector<ScopePtr> keepalive_;  // scopes that define macros, alive for the whole render
};

}  // namespace
}  // namespace detail

Template Template::parse(const std::string& source, const std::string& name) {
  Template t;
  t.program_ = detail::parse_program(source, name);
  return t;
}

const std::string& Template::name() const {
  static const std::string empty;
  return program_ ? program_->name : empty;
}

namespace {
std::string render_value(const std::shared_ptr<const detail::Program>& program, const detail::Value& context) {
  if (!program) throw Error("jinja: render() called on a Template that was not parsed");
  if (context.kind != detail::Value::Kind::Dict && !context.is_none())
    throw Error(program->name + ": the render context must be a JSON object, got " + detail::type_name(context));
  return detail::Evaluator(*program).run(context);
}
}  // namespace

std::string Template::render(const nlohmann::ordered_json& context) const {
  return render_value(program_, detail::from_json(context));
}
std::string Template::render(const nlohmann::json& context) const {
  return render_value(program_, detail::from_json(context));
}

}  // namespace arlt::jinja

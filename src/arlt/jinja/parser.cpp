// Jinja parser: tokens to a syntax tree, following jinja2.parser's grammar and operator
// precedence (which differs from Python's in places: `-2**2` is 4, `**` is left-associative,
// filters bind tighter than every binary operator, `~` sits between + and *).
#include <algorithm>
#include <set>

#include "arlt/base/error.h"
#include "arlt/jinja/internal.h"

namespace arlt::jinja::detail {
namespace {

// Tags jinja2 knows that a chat template cannot use here: each names another file or an
// extension Hugging Face does not enable.
const std::set<std::string> kUnsupportedTags = {
    "include", "import", "from", "extends", "block", "endblock", "call", "endcall", "do",
    "autoescape", "endautoescape", "trans", "endtrans", "pluralize",
};

std::string describe(const Token& t) {
  switch (t.type) {
    case Tok::Text: return "text";
    case Tok::VarBegin: return "'{{'";
    case Tok::VarEnd: return "'}}'";
    case Tok::BlockBegin: return "'{%'";
    case Tok::BlockEnd: return "'%}'";
    case Tok::Eof: return "end of template";
    case Tok::String: return "string";
    default: return "'" + t.text + "'";
  }
}

ExprPtr make_expr(ExprKind kind, Pos pos) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->pos = pos;
  return e;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& name) : t_(std::move(tokens)), name_(name) {}

  Body parse_template() {
    std::string end;
    Body body = parse_body({}, &end, Pos{});
    return body;
  }

 private:
  // Recursive descent: nesting is bounded so that a hostile template fails with an error
  // instead of overflowing the stack.
  static constexpr int kMaxDepth = 300;
  struct DepthGuard {
    Parser* p;
    explicit DepthGuard(Parser* parser) : p(parser) {
      if (++p->depth_ > kMaxDepth) p->error("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    ~DepthGuard() { --p->depth_; }
  };

  // ---- token stream ----
  const Token& cur() const { return t_[i_]; }
  const Token& peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& next() { return t_[i_ < t_.size() - 1 ? i_++ : i_]; }
  bool is_op(const char* op) const { return cur().type == Tok::Op && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == Tok::Name && cur().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  [[noreturn]] void error(const std::string& message) const { throw_at(name_, cur().pos, message); }
  void expect_op(const char* op) {
    if (!skip_op(op)) error(std::string("expected '") + op + "', got " + describe(cur()));
  }
  std::string expect_name() {
    if (cur().type != Tok::Name) error("expected a name, got " + describe(cur()));
    return next().text;
  }
  void expect_block_end() {
    if (cur().type != Tok::BlockEnd) error("expected '%}', got " + describe(cur()));
    next();
  }

  // ---- statements ----

  // Statements until a block tag named in `ends` (consumed; its name is stored in *end).
  Body parse_body(const std::vector<std::string>& ends, std::string* end, Pos opened) {
    Body body;
    for (;;) {
      const Token& tok = cur();
      if (tok.type == Tok::Eof) {
        if (ends.empty()) return body;
        std::string want;
        for (size_t k = 0; k < ends.size(); ++k) want += (k ? k + 1 == ends.size() ? " or '" : ", '" : "'") + ends[k] + "'";
        throw_at(name_, opened, "unclosed block: reached the end of the template looking for " + want);
      }
      if (tok.type == Tok::Text) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Text;
        s->pos = tok.pos;
        s->text = tok.text;
        body.push_back(std::move(s));
        next();
      } else if (tok.type == Tok::VarBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Output;
        s->pos = tok.pos;
        next();
        s->expr = parse_tuple(true);
        if (cur().type != Tok::VarEnd) error("expected '}}', got " + describe(cur()));
        next();
        body.push_back(std::move(s));
      } else if (tok.type == Tok::BlockBegin) {
        const Pos at = tok.pos;
        next();
        if (cur().type != Tok::Name) error("expected a tag name, got " + describe(cur()));
        const std::string tag = cur().text;
        if (std::find(ends.begin(), ends.end(), tag) != ends.end()) {
          next();
          *end = tag;
          return body;
        }
        body.push_back(parse_statement(tag, at));
      } else {
        error("unexpected " + describe(tok));
      }
    }
  }

  std::unique_ptr<Stmt> parse_statement(const std::string& tag, Pos at) {
    const DepthGuard guard(this);
    auto s = std::make_unique<Stmt>();
    s->pos = at;
    next();  // the tag name
    std::string end;
    if (tag == "if") {
      s->kind = StmtKind::If;
      s->conds.push_back(parse_tuple(false));
      expect_block_end();
      for (;;) {
        s->bodies.push_back(parse_body({"elif", "else", "endif"}, &end, at));
        if (end == "elif") {
          s->conds.push_back(parse_tuple(false));
          expect_block_end();
        } else if (end == "else") {
          expect_block_end();
          s->bodies.push_back(parse_body({"endif"}, &end, at));
          break;
        } else {
          break;
        }
      }
    } else if (tag == "for") {
      s->kind = StmtKind::For;
      s->targets = parse_targets();
      if (!skip_name("in")) error("expected 'in' in for loop, got " + describe(cur()));
      s->expr = parse_tuple(false, /*stop_at_if=*/true);
      if (skip_name("if")) s->cond = parse_expression(true);
      if (is_name("recursive")) error("recursive loops are not supported");
      expect_block_end();
      ++loop_depth_;
      s->body = parse_body({"else", "endfor"}, &end, at);
      --loop_depth_;
      if (end == "else") {
        expect_block_end();
        s->else_body = parse_body({"endfor"}, &end, at);
      }
    } else if (tag == "set") {
      parse_set(*s, at);
      return s;
    } else if (tag == "macro") {
      s->kind = StmtKind::Macro;
      s->targets.push_back(expect_name());
      expect_op("(");
      while (!skip_op(")")) {
        if (!s->params.empty()) expect_op(",");
        if (skip_op(")")) break;
        s->params.push_back(expect_name());
        s->defaults.push_back(skip_op("=") ? parse_expression(true) : nullptr);
      }
      expect_block_end();
      const int saved = loop_depth_;
      loop_depth_ = 0;  // break / continue never cross a macro boundary
      s->body = parse_body({"endmacro"}, &end, at);
      loop_depth_ = saved;
    } else if (tag == "with") {
      s->kind = StmtKind::With;
      while (cur().type != Tok::BlockEnd) {
        if (!s->targets.empty()) expect_op(",");
        s->targets.push_back(expect_name());
        expect_op("=");
        s->conds.push_back(parse_expression(true));
      }
      expect_block_end();
      s->body = parse_body({"endwith"}, &end, at);
    } else if (tag == "filter") {
      s->kind = StmtKind::FilterBlock;
      do s->filters.push_back(parse_filter(nullptr));
      while (skip_op("|"));
      expect_block_end();
      s->body = parse_body({"endfilter"}, &end, at);
    } else if (tag == "generation") {
      // Hugging Face's extension marks assistant text for return_assistant_tokens_mask. The
      // text is the body as is; transformers renders it as a call block, so like a macro body
      // it has a scope of its own: a `with` without variables.
      s->kind = StmtKind::With;
      expect_block_end();
      s->body = parse_body({"endgeneration"}, &end, at);
    } else if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) throw_at(name_, at, "'" + tag + "' outside a for loop");
      s->kind = tag == "break" ? StmtKind::Break : StmtKind::Continue;
    } else if (kUnsupportedTags.count(tag)) {
      throw_at(name_, at, "'{% " + tag + " %}' is not supported: a chat template is one self-contained file");
    } else if (tag.rfind("end", 0) == 0 || tag == "elif" || tag == "else") {
      throw_at(name_, at, "unexpected '{% " + tag + " %}': no open block it could close or continue");
    } else {
      throw_at(name_, at, "unknown tag '" + tag + "'");
    }
    expect_block_end();
    return s;
  }

  // {% set a = e %}, {% set a, b = e %}, {% set ns.attr = e %}, {% set a | filters %}...{% endset %}
  void parse_set(Stmt& s, Pos at) {
    if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == ".") {
      s.kind = StmtKind::SetAttr;
      s.targets.push_back(next().text);
      next();
      s.targets.push_back(expect_name());
      expect_op("=");
      s.expr = parse_tuple(true);
      expect_block_end();
      return;
    }
    s.targets = parse_targets();
    if (skip_op("=")) {
      s.kind = StmtKind::Set;
      s.expr = parse_tuple(true);
      expect_block_end();
      return;
    }
    if (s.targets.size() != 1) error("expected '=' after a tuple of names in set");
    s.kind = StmtKind::SetBlock;
    while (skip_op("|")) s.filters.push_back(parse_filter(nullptr));
    expect_block_end();
    std::string end;
    s.body = parse_body({"endset"}, &end, at);
    expect_block_end();
  }

  // Assignment targets: "x", "a, b" or "(a, b)".
  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    const bool paren = skip_op("(");
    do {
      if (paren && is_op(")")) break;
      names.push_back(expect_name());
    } while (skip_op(","));
    if (paren) expect_op(")");
    return names;
  }

  // ---- expressions ----

  ExprPtr make_literal(Value v, Pos at) {
    auto e = make_expr(ExprKind::Literal, at);
    e->literal = std::move(v);
    return e;
  }

  bool at_tuple_end(bool stop_at_if) const {
    if (cur().type == Tok::VarEnd || cur().type == Tok::BlockEnd || is_op(")")) return true;
    return stop_at_if && (is_name("if") || is_name("recursive"));
  }

  // Comma-separated expressions: one is itself, several (or a trailing comma) a tuple.
  ExprPtr parse_tuple(bool with_condexpr, bool stop_at_if = false, bool explicit_parens = false) {
    const Pos at = cur().pos;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    for (;;) {
      if (!items.empty()) expect_op(",");
      if (at_tuple_end(stop_at_if)) break;
      items.push_back(parse_expression(with_condexpr));
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) error("expected an expression, got " + describe(cur()));
    }
    auto e = make_expr(ExprKind::TupleLit, at);
    e->args = std::move(items);
    return e;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    const DepthGuard guard(this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      const Pos at = next().pos;
      auto e = make_expr(ExprKind::CondExpr, at);
      e->args.push_back(parse_or());
      e->args.push_back(std::move(expr));
      e->args.push_back(skip_name("else") ? parse_condexpr() : nullptr);
      expr = std::move(e);
    }
    return expr;
  }

  ExprPtr binary(const std::string& op, Pos at, ExprPtr a, ExprPtr b) {
    auto e = make_expr(ExprKind::Binary, at);
    e->name = op;
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const Pos at = next().pos;
      left = binary("or", at, std::move(left), parse_and());
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const Pos at = next().pos;
      left = binary("and", at, std::move(left), parse_not());
    }
    return left;
  }

  ExprPtr parse_not() {
    const DepthGuard guard(this);
    if (is_name("not")) {
      auto e = make_expr(ExprKind::Unary, next().pos);
      e->name = "not";
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Pos at = cur().pos;
    ExprPtr first = parse_math1();
    std::vector<std::string> ops;
    std::vector<ExprPtr> operands;
    for (;;) {
      std::string op;
      if (cur().type == Tok::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                    cur().text == ">" || cur().text == "<=" || cur().text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
        next();
        next();
        op = "not in";
      } else {
        break;
      }
      ops.push_back(op);
      operands.push_back(parse_math1());
    }
    if (ops.empty()) return first;
    auto e = make_expr(ExprKind::Compare, at);
    e->args.push_back(std::move(first));
    for (auto& o : operands) e->args.push_back(std::move(o));
    e->ops = std::move(ops);
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& op = next();
      left = binary(op.text, op.pos, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const Pos at = next().pos;
      left = binary("~", at, std::move(left), parse_math2());
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& op = next();
      left = binary(op.text, op.pos, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const Pos at = next().pos;
      left = binary("**", at, std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    const DepthGuard guard(this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      const Token& op = next();
      node = make_expr(ExprKind::Unary, op.pos);
      node->name = op.text;
      node->args.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& tok = cur();
    const Pos at = tok.pos;
    switch (tok.type) {
      case Tok::Name: {
        next();
        if (tok.text == "true" || tok.text == "True") return make_literal(Value::boolean(true), at);
        if (tok.text == "false" || tok.text == "False") return make_literal(Value::boolean(false), at);
        if (tok.text == "none" || tok.text == "None") return make_literal(Value::none(), at);
        auto e = make_expr(ExprKind::Name, at);
        e->name = tok.text;
        return e;
      }
      case Tok::String: {
        std::string s;
        while (cur().type == Tok::String) s += next().text;  // adjacent literals concatenate
        return make_literal(Value::str(std::move(s)), at);
      }
      case Tok::Int: next(); return make_literal(Value::integer(tok.ival), at);
      case Tok::Float: next(); return make_literal(Value::number(tok.fval), at);
      default: break;
    }
    if (skip_op("(")) {
      ExprPtr e = parse_tuple(true, false, /*explicit_parens=*/true);
      expect_op(")");
      return e;
    }
    if (skip_op("[")) {
      auto e = make_expr(ExprKind::ListLit, at);
      while (!skip_op("]")) {
        if (!e->args.empty()) expect_op(",");
        if (skip_op("]")) break;
        e->args.push_back(parse_expression(true));
      }
      return e;
    }
    if (skip_op("{")) {
      auto e = make_expr(ExprKind::DictLit, at);
      while (!skip_op("}")) {
        if (!e->args.empty()) expect_op(",");
        if (skip_op("}")) break;
        e->args.push_back(parse_expression(true));
        expect_op(":");
        e->args.push_back(parse_expression(true));
      }
      return e;
    }
    error("unexpected " + describe(tok));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    for (;;) {
      if (is_op(".")) {
        const Pos at = next().pos;
        if (cur().type == Tok::Int) {  // x.0 is x[0]
          auto e = make_expr(ExprKind::GetItem, at);
          e->args.push_back(std::move(node));
          e->args.push_back(make_literal(Value::integer(next().ival), at));
          node = std::move(e);
        } else {
          auto e = make_expr(ExprKind::GetAttr, at);
          e->name = expect_name();
          e->args.push_back(std::move(node));
          node = std::move(e);
        }
      } else if (is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  // x[i], x[a:b:c], and as jinja2 allows, x[a, b] and x[] (the tuples (a, b) and ()).
  ExprPtr parse_subscript(ExprPtr node) {
    const Pos at = next().pos;  // '['
    std::vector<ExprPtr> items;
    while (!is_op("]")) {
      if (!items.empty()) expect_op(",");
      if (is_op("]")) break;
      items.push_back(parse_subscribed());
    }
    expect_op("]");
    ExprPtr key;
    if (items.size() == 1) {
      key = std::move(items[0]);
    } else {
      key = make_expr(ExprKind::TupleLit, at);
      for (auto& item : items) {
        if (item->kind == ExprKind::Slice) throw_at(name_, item->pos, "slices inside a tuple subscript are not supported");
        key->args.push_back(std::move(item));
      }
    }
    if (key->kind == ExprKind::Slice && !key->args.empty() && !key->args[0]) {  // a slice: fill in its subject
      key->args[0] = std::move(node);
      return key;
    }
    auto e = make_expr(ExprKind::GetItem, at);
    e->args.push_back(std::move(node));
    e->args.push_back(std::move(key));
    return e;
  }

  // One subscript: an expression, or a slice (returned with a null subject for the caller).
  ExprPtr parse_subscribed() {
    const Pos at = cur().pos;
    ExprPtr parts[3];
    if (!is_op(":")) {
      parts[0] = parse_expression(true);
      if (!is_op(":")) return std::move(parts[0]);
    }
    next();  // ':'
    if (!is_op(":") && !is_op("]") && !is_op(",")) parts[1] = parse_expression(true);
    if (skip_op(":") && !is_op("]") && !is_op(",")) parts[2] = parse_expression(true);
    auto e = make_expr(ExprKind::Slice, at);
    e->args.push_back(nullptr);
    for (auto& p : parts) e->args.push_back(std::move(p));
    return e;
  }

  void parse_call_args(Expr& e) {
    expect_op("(");
    bool first = true;
    while (!skip_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (skip_op(")")) break;
      if (is_op("*") || is_op("**")) error("*args and **kwargs in calls are not supported");
      if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
        std::string key = next().text;
        next();
        e.kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!e.kwargs.empty()) error("positional argument after keyword argument");
        e.args.push_back(parse_expression(true));
      }
    }
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto e = make_expr(ExprKind::Call, cur().pos);
    e->args.push_back(std::move(callee));
    parse_call_args(*e);
    return e;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    for (;;) {
      if (is_op("|")) {
        next();
        node = parse_filter(std::move(node));
      } else if (is_name("is")) {
        node = parse_test(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  std::string dotted_name() {
    std::string n = expect_name();
    while (is_op(".")) {
      next();
      n += "." + expect_name();
    }
    return n;
  }

  // Unknown names fail here, as jinja2 fails at compile time; names jinja2 has but arlt does
  // not fail only when evaluated, so a template that never reaches them still works.
  ExprPtr parse_filter(ExprPtr subject) {
    auto e = make_expr(ExprKind::Filter, cur().pos);
    e->name = dotted_name();
    e->filter = find_filter(e->name);
    if (!e->filter && !jinja_has_filter(e->name)) throw_at(name_, e->pos, "unknown filter '" + e->name + "'");
    e->args.push_back(std::move(subject));
    if (is_op("(")) parse_call_args(*e);
    return e;
  }

  ExprPtr parse_test(ExprPtr subject) {
    next();  // 'is'
    const bool negated = skip_name("not");
    auto e = make_expr(ExprKind::Test, cur().pos);
    e->negated = negated;
    e->name = dotted_name();
    e->test = find_test(e->name);
    if (!e->test && !jinja_has_test(e->name)) throw_at(name_, e->pos, "unknown test '" + e->name + "'");
    e->args.push_back(std::move(subject));
    if (is_op("(")) {
      parse_call_args(*e);
    } else if ((cur().type == Tok::Name || cur().type == Tok::String || cur().type == Tok::Int ||
                cur().type == Tok::Float || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      // `x is divisibleby 3`: one argument without parentheses, as jinja2 allows.
      if (is_name("is")) error("tests cannot be chained with 'is'");
      e->args.push_back(parse_postfix(parse_primary()));
    }
    return e;
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  const std::string& name_;
  int loop_depth_ = 0;
  int depth_ = 0;  // nesting of expressions and blocks being parsed
};

}  // namespace

std::shared_ptr<Program> parse_program(const std::string& source, const std::string& name) {
  auto program = std::make_shared<Program>();
  program->name = name;
  program->body = Parser(lex(source, name), name).parse_template();
  return program;
}

}  // namespace arlt::jinja::detail

#include "arlt/tools/calculator_tool.h"

#include "arlt/base/rational.h"
#include "arlt/base/text.h"

namespace arlt::tools {
namespace {

// expr := term (('+'|'-') term)*, term := unary (('*'|'/') unary)*, unary := '-' unary | atom,
// atom := integer | '(' expr ')'. Depth-limited, so no input can overflow the stack.
class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}
  bool parse(Rational* v, std::string* err) {
    if (!expr(v, 0)) {
      *err = err_.empty() ? "malformed expression" : err_;
      return false;
    }
    skip();
    if (pos_ != s_.size()) {
      *err = "unexpected '" + std::string(1, s_[pos_]) + "' at " + std::to_string(pos_ + 1);
      return false;
    }
    return true;
  }

 private:
  void skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n')) ++pos_;
  }
  bool combine(Rational a, Rational b, char op, Rational* out) {
    if (op == '/' && b.num == 0) return err_ = "division by zero", false;
    if (!apply(a, b, op, out)) return err_ = "the value is too large", false;
    return true;
  }
  bool expr(Rational* out, int depth) {
    if (!term(out, depth)) return false;
    for (;;) {
      skip();
      if (pos_ >= s_.size() || (s_[pos_] != '+' && s_[pos_] != '-')) return true;
      const char op = s_[pos_++];
      Rational rhs;
      if (!term(&rhs, depth) || !combine(*out, rhs, op, out)) return false;
    }
  }
  bool term(Rational* out, int depth) {
    if (!unary(out, depth)) return false;
    for (;;) {
      skip();
      if (pos_ >= s_.size() || (s_[pos_] != '*' && s_[pos_] != '/')) return true;
      const char op = s_[pos_++];
      Rational rhs;
      if (!unary(&rhs, depth) || !combine(*out, rhs, op, out)) return false;
    }
  }
  bool unary(Rational* out, int depth) {
    if (depth > 200) return err_ = "nested too deeply", false;
    skip();
    if (pos_ < s_.size() && s_[pos_] == '-') {
      ++pos_;
      if (!unary(out, depth + 1)) return false;
      out->num = -out->num;
      return true;
    }
    if (pos_ < s_.size() && s_[pos_] == '(') {
      ++pos_;
      if (!expr(out, depth + 1)) return false;
      skip();
      if (pos_ >= s_.size() || s_[pos_] != ')') return err_ = "missing ')'", false;
      ++pos_;
      return true;
    }
    const size_t start = pos_;
    i128 v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (pos_ - start >= 30) return err_ = "a number is too long", false;
      v = v * 10 + (s_[pos_++] - '0');
    }
    if (pos_ == start) return false;
    return make_rational(v, 1, out) || (err_ = "the value is too large", false);
  }
  const std::string& s_;
  size_t pos_ = 0;
  std::string err_;
};

std::string to_text(i128 v) {
  if (v == 0) return "0";
  const bool neg = v < 0;
  std::string s;
  for (i128 x = neg ? -v : v; x > 0; x /= 10) s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(x % 10)));
  return neg ? "-" + s : s;
}

bool block(const std::string& action, std::string* expr) { return first_tagged_block(action, "<calculator>", "</calculator>", expr); }

}  // namespace

std::string evaluate_exactly(const std::string& expr, std::string* error) {
  Rational v;
  if (!Parser(expr).parse(&v, error)) return "";
  return v.den == 1 ? to_text(v.num) : to_text(v.num) + "/" + to_text(v.den);
}

bool CalculatorTool::accepts(const std::string& action) const {
  std::string e;
  return block(action, &e);
}

Observation CalculatorTool::execute(const std::string& action, const ToolContext&) {
  Observation obs;
  std::string expr, err;
  if (!block(action, &expr)) {
    obs.valid = false;
    return obs;
  }
  const std::string v = evaluate_exactly(expr, &err);
  obs.value = "\n<result>\n" + (v.empty() ? "Error: " + err : v) + "\n</result>\n";
  return obs;
}

}  // namespace arlt::tools

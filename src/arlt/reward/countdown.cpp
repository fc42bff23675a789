#include "arlt/reward/countdown.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "arlt/base/error.h"
#include "arlt/base/rational.h"

namespace arlt::reward {
namespace {

bool parse_small_int(const std::string& text, int64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  *out = std::stoll(text);
  return true;
}

// Recursive descent over expr := term (('+'|'-') term)*, term := factor (('*'|'/') factor)*,
// factor := integer | '(' expr ')'. No unary signs: every value must come from a given number.
class ExpressionParser {
 public:
  explicit ExpressionParser(const std::string& text) : s_(text) {}

  bool parse(Rational* value, std::vector<int64_t>* literals) {
    if (!expr(value)) return false;
    skip();
    if (pos_ != s_.size()) return false;
    *literals = std::move(literals_);
    return true;
  }

 private:
  // Bounds the recursion: a response of a million '(' must not overflow the stack.
  static constexpr int kMaxDepth = 64;

  void skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  bool at(char c) {
    skip();
    return pos_ < s_.size() && s_[pos_] == c;
  }

  bool expr(Rational* out) {
    if (!term(out)) return false;
    while (at('+') || at('-')) {
      char op = s_[pos_++];
      Rational rhs;
      if (!term(&rhs) || !apply(*out, rhs, op, out)) return false;
    }
    return true;
  }

  bool term(Rational* out) {
    if (!factor(out)) return false;
    while (at('*') || at('/')) {
      char op = s_[pos_++];
      Rational rhs;
      if (!factor(&rhs) || !apply(*out, rhs, op, out)) return false;
    }
    return true;
  }

  bool factor(Rational* out) {
    if (at('(')) {
      if (++depth_ > kMaxDepth) return false;
      ++pos_;
      if (!expr(out) || !at(')')) return false;
      ++pos_;
      --depth_;
      return true;
    }
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    size_t len = pos_ - start;
    // A leading zero ("07") is not how a given number is written.
    if (len == 0 || len > 18 || (len > 1 && s_[start] == '0')) return false;
    int64_t v = std::stoll(s_.substr(start, len));
    literals_.push_back(v);
    *out = Rational{v, 1};
    return true;
  }

  const std::string& s_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::vector<int64_t> literals_;
};

}  // namespace

void parse_countdown_ground_truth(const std::string& ground_truth, int64_t* target,
                                  std::vector<int64_t>* numbers) {
  auto bad = [&]() {
    return Error("countdown ground truth \"" + ground_truth +
                 "\" is malformed; expected \"target|n1,n2,...\" with non-negative integers below "
                 "10^18, e.g. \"22|3,5,7\"");
  };
  size_t bar = ground_truth.find('|');
  if (bar == std::string::npos || !parse_small_int(ground_truth.substr(0, bar), target)) throw bad();
  numbers->clear();
  std::string rest = ground_truth.substr(bar + 1);
  size_t start = 0;
  for (;;) {
    size_t comma = rest.find(',', start);
    int64_t n;
    if (!parse_small_int(rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start), &n))
      throw bad();
    numbers->push_back(n);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

double verify_countdown(const std::string& expression, const std::string& ground_truth) {
  int64_t target;
  std::vector<int64_t> numbers;
  parse_countdown_ground_truth(ground_truth, &target, &numbers);
  Rational value;
  std::vector<int64_t> used;
  if (!ExpressionParser(expression).parse(&value, &used)) return 0.0;
  std::multiset<int64_t> available(numbers.begin(), numbers.end());
  for (int64_t n : used) {
    auto it = available.find(n);
    if (it == available.end()) return 0.0;  // not given, or used more often than given
    available.erase(it);
  }
  return value == Rational{target, 1} ? 1.0 : 0.0;
}

}  // namespace arlt::reward

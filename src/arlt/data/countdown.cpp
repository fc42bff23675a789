#include "arlt/data/countdown.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <utility>

#include "arlt/base/error.h"
#include "arlt/data/rng.h"

namespace arlt::data {
namespace {

using i128 = __int128;

// Values stay within ±2^120 so that a cross product of two of them is detected as an
// overflow instead of wrapping: an expression that leaves the range scores 0.
constexpr i128 kLimit = static_cast<i128>(1) << 120;

struct Rational {
  i128 num = 0;
  i128 den = 1;
  bool operator==(const Rational& o) const { return num == o.num && den == o.den; }
  bool operator<(const Rational& o) const { return num != o.num ? num < o.num : den < o.den; }
};

i128 abs128(i128 x) { return x < 0 ? -x : x; }

i128 gcd128(i128 a, i128 b) {
  a = abs128(a);
  b = abs128(b);
  while (b != 0) {
    i128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

bool make_rational(i128 num, i128 den, Rational* out) {
  if (den == 0) return false;
  if (abs128(num) > kLimit * 2 || abs128(den) > kLimit * 2) return false;
  if (den < 0) {
    num = -num;
    den = -den;
  }
  i128 g = gcd128(num, den);
  if (g > 1) {
    num /= g;
    den /= g;
  }
  if (abs128(num) > kLimit || den > kLimit) return false;
  *out = Rational{num, den};
  return true;
}

bool mul_i(i128 a, i128 b, i128* out) { return !__builtin_mul_overflow(a, b, out); }

bool apply(Rational a, Rational b, char op, Rational* out) {
  i128 x, y, z;
  switch (op) {
    case '+':
    case '-':
      if (!mul_i(a.num, b.den, &x) || !mul_i(b.num, a.den, &y) || !mul_i(a.den, b.den, &z)) return false;
      if (op == '-') y = -y;
      if (__builtin_add_overflow(x, y, &x)) return false;
      return make_rational(x, z, out);
    case '*':
      if (!mul_i(a.num, b.num, &x) || !mul_i(a.den, b.den, &z)) return false;
      return make_rational(x, z, out);
    case '/':
      if (b.num == 0) return false;
      if (!mul_i(a.num, b.den, &x) || !mul_i(a.den, b.num, &z)) return false;
      return make_rational(x, z, out);
  }
  return false;
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

// An expression with its value; prec says how tightly its text binds (3 number, 2 * /, 1 + -),
// so that combining adds only the parentheses the text needs.
struct Node {
  Rational value;
  std::string text;
  int prec = 3;
};

Node atom(int64_t n) { return Node{Rational{n, 1}, std::to_string(n), 3}; }

bool combine(const Node& a, const Node& b, char op, Node* out) {
  Rational v;
  if (!apply(a.value, b.value, op, &v)) return false;
  int p = (op == '+' || op == '-') ? 1 : 2;
  bool paren_a = a.prec < p;
  bool paren_b = b.prec < p || (b.prec == p && (op == '-' || op == '/'));
  out->value = v;
  out->text = (paren_a ? "(" + a.text + ")" : a.text) + op + (paren_b ? "(" + b.text + ")" : b.text);
  out->prec = p;
  return true;
}

std::string join(const std::vector<int64_t>& xs, const char* sep) {
  std::string s;
  for (size_t i = 0; i < xs.size(); ++i) s += (i ? sep : "") + std::to_string(xs[i]);
  return s;
}

bool parse_small_int(const std::string& text, int64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  *out = std::stoll(text);
  return true;
}

using ValueKey = std::vector<std::pair<i128, i128>>;

bool search(const std::vector<Node>& items, const Rational& target, std::set<ValueKey>* seen, std::string* found) {
  for (const auto& n : items) {
    if (n.value == target) {
      *found = n.text;
      return true;
    }
  }
  if (items.size() < 2) return false;
  ValueKey key;
  for (const auto& n : items) key.emplace_back(n.value.num, n.value.den);
  std::sort(key.begin(), key.end());
  if (!seen->insert(key).second) return false;  // the same multiset of values was tried already
  for (size_t i = 0; i < items.size(); ++i) {
    for (size_t j = i + 1; j < items.size(); ++j) {
      std::vector<Node> rest;
      for (size_t k = 0; k < items.size(); ++k)
        if (k != i && k != j) rest.push_back(items[k]);
      const std::pair<int, char> moves[] = {{0, '+'}, {0, '*'}, {0, '-'}, {1, '-'}, {0, '/'}, {1, '/'}};
      for (auto [swap, op] : moves) {
        Node c;
        if (!combine(swap ? items[j] : items[i], swap ? items[i] : items[j], op, &c)) continue;
        rest.push_back(c);
        if (search(rest, target, seen, found)) return true;
        rest.pop_back();
      }
    }
  }
  return false;
}

}  // namespace

std::string countdown_prompt(const std::vector<int64_t>& numbers, int64_t target) {
  return join(numbers, " ") + " to " + std::to_string(target) + ":";
}

std::string countdown_ground_truth(const std::vector<int64_t>& numbers, int64_t target) {
  return std::to_string(target) + "|" + join(numbers, ",");
}

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

std::string solve_countdown(const std::vector<int64_t>& numbers, int64_t target) {
  if (numbers.size() > 6) {
    throw Error("solve_countdown: " + std::to_string(numbers.size()) +
                " numbers; expected at most 6 (the search is exhaustive)");
  }
  std::vector<Node> items;
  for (int64_t n : numbers) items.push_back(atom(n));
  std::set<ValueKey> seen;
  std::string found;
  return search(items, Rational{target, 1}, &seen, &found) ? found : "";
}

CountdownProblem draw_countdown_problem(uint64_t seed, int count, int64_t max_number, int64_t target_max) {
  Rng rng(seed);
  constexpr int kTries = 10000;
  for (int attempt = 0; attempt < kTries; ++attempt) {
    std::vector<int64_t> numbers(count);
    for (auto& n : numbers) n = rng.range(1, max_number);
    // A random expression over a random subset of two or more: solvable by construction.
    std::vector<size_t> order(count);
    std::iota(order.begin(), order.end(), 0);
    int used = static_cast<int>(rng.range(2, count));
    std::vector<Node> items;
    for (int i = 0; i < used; ++i) {
      std::swap(order[i], order[i + rng.below(count - i)]);
      items.push_back(atom(numbers[order[i]]));
    }
    bool ok = true;
    while (ok && items.size() > 1) {
      size_t i = rng.below(items.size());
      size_t j = rng.below(items.size() - 1);
      if (j >= i) ++j;
      Node c;
      ok = combine(items[i], items[j], "+-*/"[rng.below(4)], &c);
      items.erase(items.begin() + std::max(i, j));
      items.erase(items.begin() + std::min(i, j));
      items.push_back(std::move(c));
    }
    if (!ok) continue;
    const Rational& v = items[0].value;
    if (v.den != 1 || v.num < 1 || v.num > target_max) continue;
    auto target = static_cast<int64_t>(v.num);
    // A target that is one of the numbers is answered by copying it: no arithmetic to learn.
    if (std::find(numbers.begin(), numbers.end(), target) != numbers.end()) continue;
    return CountdownProblem{numbers, target, items[0].text};
  }
  throw Error("countdown: no problem found in " + std::to_string(kTries) + " tries with numbers=" +
              std::to_string(count) + ", max_number=" + std::to_string(max_number) +
              ", target_max=" + std::to_string(target_max) +
              "; expected parameters that allow an integer target in [1, target_max] other than the "
              "numbers themselves");
}

}  // namespace arlt::data

#include "arlt/data/countdown.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <utility>

#include "arlt/base/error.h"
#include "arlt/base/rng.h"
#include "arlt/reward/countdown.h"
#include "arlt/base/rational.h"

namespace arlt::data {
namespace {

using arlt::i128;
using arlt::Rational;

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

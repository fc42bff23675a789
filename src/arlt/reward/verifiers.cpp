#include "arlt/reward/verifiers.h"

#include <algorithm>
#include <cstdlib>

#include "arlt/base/error.h"
#include "arlt/base/suggest.h"
#include "arlt/base/text.h"
#include "arlt/reward/countdown.h"

namespace arlt::reward {
namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Integer text in canonical form ("-0" and "+007" become "0" and "7"), or "" if not an integer.
std::string canonical_integer(const std::string& text) {
  std::string s = trim(text);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.erase(0, 1);
  }
  if (!all_digits(s)) return "";
  s.erase(0, std::min(s.find_first_not_of('0'), s.size() - 1));
  return (negative && s != "0" ? "-" : "") + s;
}

// Strict on the answer: "082", "+82" and "82.0" are not how the sum is written.
double verify_integer(const std::string& task, const std::string& answer, const std::string& ground_truth) {
  std::string want = canonical_integer(ground_truth);
  if (want.empty()) {
    throw Error("verify " + task + ": ground truth \"" + ground_truth + "\" is not an integer");
  }
  return trim(answer) == want ? 1.0 : 0.0;
}

// [+-]digits[.digits][e[+-]digits], at least one mantissa digit.
bool is_number_text(const std::string& s, bool* integer) {
  size_t i = 0, n = s.size(), digits = 0;
  auto run = [&]() {
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
  digits += run();
  *integer = true;
  if (i < n && s[i] == '.') {
    ++i;
    digits += run();
    *integer = false;
  }
  if (digits == 0) return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (run() == 0) return false;
    *integer = false;
  }
  return i == n;
}

double verify_text(const std::string& answer, const std::string& ground_truth) {
  std::string a = trim(answer), g = trim(ground_truth);
  if (a == g) return 1.0;
  bool a_int, g_int;
  if (!is_number_text(a, &a_int) || !is_number_text(g, &g_int)) return 0.0;
  // Integers as text: doubles would call 2^53 + 1 equal to 2^53.
  if (a_int && g_int) return canonical_integer(a) == canonical_integer(g) ? 1.0 : 0.0;
  return std::strtod(a.c_str(), nullptr) == std::strtod(g.c_str(), nullptr) ? 1.0 : 0.0;
}

void check_known_task(const std::string& task) {
  auto names = verifier_tasks();
  if (std::find(names.begin(), names.end(), task) == names.end()) {
    throw Error("unknown task \"" + task + "\"" + unknown_name_hint(task, names));
  }
}

}  // namespace

std::vector<std::string> verifier_tasks() { return {"addition", "multiplication", "countdown", "format"}; }

double verify(const std::string& task, const std::string& answer, const std::string& ground_truth) {
  if (task.empty()) return verify_text(answer, ground_truth);
  check_known_task(task);
  if (task == "countdown") return verify_countdown(trim(answer), ground_truth);
  if (task == "format") return trim(answer) == trim(ground_truth) ? 1.0 : 0.0;
  return verify_integer(task, answer, ground_truth);
}

bool answer_has_shape(const std::string& task, const std::string& answer) {
  std::string a = trim(answer);
  if (task == "addition" || task == "multiplication") return all_digits(a);
  if (task == "countdown") {
    return a.find_first_not_of("0123456789+-*/() ") == std::string::npos &&
           a.find_first_of("0123456789") != std::string::npos;
  }
  if (task == "format") {
    // (<[a-z]+>)+
    size_t i = 0;
    while (i < a.size()) {
      if (a[i] != '<') return false;
      size_t j = i + 1;
      while (j < a.size() && a[j] >= 'a' && a[j] <= 'z') ++j;
      if (j == i + 1 || j == a.size() || a[j] != '>') return false;
      i = j + 1;
    }
    return !a.empty();
  }
  return !a.empty();
}

std::string extract_answer(const std::string& response) {
  const auto answers = tagged_blocks(response, "<answer>", "</answer>");
  if (!answers.empty()) return trim(answers.back());
  std::string line = trim(response.substr(0, response.find('\n')));
  if (!line.empty() && line.back() == '.') line.pop_back();
  return line;
}

}  // namespace arlt::reward

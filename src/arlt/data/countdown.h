// Countdown: reach a target from given numbers with + - * / and parentheses, each number used
// at most once. Arithmetic is exact (rationals on 128-bit integers) so "7/2*4" is 14 and no
// float rounding can turn a wrong answer into a right one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace arlt::data {

struct CountdownProblem {
  std::vector<int64_t> numbers;
  int64_t target = 0;
  std::string solution;  // one expression that reaches target (verify_countdown gives it 1.0)
};

// One solvable problem, deterministic in seed: `count` numbers drawn from [1, max_number], a
// target in [1, target_max] that is not itself one of the numbers, built from a random
// expression over two or more of them. Throws Error when the parameters allow no such problem.
CountdownProblem draw_countdown_problem(uint64_t seed, int count, int64_t max_number, int64_t target_max);

std::string countdown_prompt(const std::vector<int64_t>& numbers, int64_t target);        // "3 5 7 to 22:"
std::string countdown_ground_truth(const std::vector<int64_t>& numbers, int64_t target);  // "22|3,5,7"
// Reads "22|3,5,7" (non-negative integers below 10^18); throws Error when malformed.
void parse_countdown_ground_truth(const std::string& ground_truth, int64_t* target,
                                  std::vector<int64_t>* numbers);

// 1.0 when `expression` (integers, + - * / ( ), spaces) uses only the given numbers, each at
// most as often as it is given, and equals the target exactly; otherwise 0.0, never a throw
// for a bad expression (malformed, division by zero, overflow, nesting deeper than 64).
// Throws Error only for a malformed ground truth.
double verify_countdown(const std::string& expression, const std::string& ground_truth);

// An expression reaching target with each number at most once, or "" when none exists.
// Exhaustive (with memo), so meant for at most 6 numbers; more throws Error.
std::string solve_countdown(const std::vector<int64_t>& numbers, int64_t target);

}  // namespace arlt::data

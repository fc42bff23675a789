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
  std::string solution;  // one expression that reaches target (reward::verify_countdown gives it 1.0)
};

// One solvable problem, deterministic in seed: `count` numbers drawn from [1, max_number], a
// target in [1, target_max] that is not itself one of the numbers, built from a random
// expression over two or more of them. Throws Error when the parameters allow no such problem.
CountdownProblem draw_countdown_problem(uint64_t seed, int count, int64_t max_number, int64_t target_max);

std::string countdown_prompt(const std::vector<int64_t>& numbers, int64_t target);        // "3 5 7 to 22:"
std::string countdown_ground_truth(const std::vector<int64_t>& numbers, int64_t target);  // "22|3,5,7"
// An expression reaching target with each number at most once, or "" when none exists.
// Exhaustive (with memo), so meant for at most 6 numbers; more throws Error.
std::string solve_countdown(const std::vector<int64_t>& numbers, int64_t target);

}  // namespace arlt::data

// Countdown: generated problems are solvable (the generator's own solution and an independent
// exhaustive search both verify), and the verifier is exact and never throws on a bad answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "arlt/base/error.h"
#include "arlt/data/countdown.h"
#include "arlt/data/tasks.h"
#include "arlt/reward/countdown.h"
#include "arlt/reward/verifiers.h"

namespace arlt::data {
namespace {

using reward::answer_has_shape;
using reward::parse_countdown_ground_truth;
using reward::verify;

TEST(DataCountdown, FormatsOfPromptAndGroundTruth) {
  EXPECT_EQ(countdown_prompt({3, 5, 7}, 22), "3 5 7 to 22:");
  EXPECT_EQ(countdown_ground_truth({3, 5, 7}, 22), "22|3,5,7");
  int64_t target;
  std::vector<int64_t> numbers;
  parse_countdown_ground_truth("22|3,5,7", &target, &numbers);
  EXPECT_EQ(target, 22);
  EXPECT_EQ(numbers, (std::vector<int64_t>{3, 5, 7}));
  for (const char* bad : {"", "22", "22|", "22|3,,5", "x|3", "22|3,-5", "22|3;5", "|3", "22|1234567890123456789"}) {
    EXPECT_THROW(parse_countdown_ground_truth(bad, &target, &numbers), Error) << bad;
    EXPECT_THROW(verify("countdown", "3", bad), Error) << bad;
  }
}

TEST(DataCountdown, GeneratorSolutionsVerify) {
  struct P {
    int count;
    int64_t max_number, target_max;
  };
  for (P p : {P{2, 9, 100}, P{3, 9, 100}, P{4, 20, 1000}, P{6, 100, 1000}, P{6, 1000000, 1000000000}}) {
    for (uint64_t seed = 0; seed < 300; ++seed) {
      CountdownProblem cp = draw_countdown_problem(seed, p.count, p.max_number, p.target_max);
      ASSERT_EQ(cp.numbers.size(), static_cast<size_t>(p.count));
      for (int64_t n : cp.numbers) ASSERT_TRUE(n >= 1 && n <= p.max_number);
      ASSERT_TRUE(cp.target >= 1 && cp.target <= p.target_max);
      ASSERT_EQ(std::count(cp.numbers.begin(), cp.numbers.end(), cp.target), 0);
      ASSERT_EQ(verify("countdown", cp.solution, countdown_ground_truth(cp.numbers, cp.target)), 1.0)
          << cp.solution << " for " << countdown_ground_truth(cp.numbers, cp.target);
    }
  }
  EXPECT_EQ(draw_countdown_problem(5, 4, 9, 100).solution, draw_countdown_problem(5, 4, 9, 100).solution);
}

TEST(DataCountdown, EveryTaskExampleHasAVerifiedSolution) {
  for (int count : {3, 4}) {
    for (const std::string split : {"train", "test"}) {
      for (const auto& x : make_task_examples("countdown", split, 200, 11, {{"numbers", count}})) {
        int64_t target;
        std::vector<int64_t> numbers;
        parse_countdown_ground_truth(x.ground_truth, &target, &numbers);
        ASSERT_EQ(x.prompt, countdown_prompt(numbers, target));
        std::string solution = solve_countdown(numbers, target);
        ASSERT_FALSE(solution.empty()) << x.prompt;
        ASSERT_EQ(verify("countdown", solution, x.ground_truth), 1.0) << solution << " for " << x.prompt;
        ASSERT_TRUE(answer_has_shape("countdown", solution)) << solution;
        ASSERT_EQ(verify("countdown", std::to_string(target), x.ground_truth), 0.0);  // target not given
      }
    }
  }
}

TEST(DataCountdown, SolverSearchesExhaustively) {
  EXPECT_EQ(solve_countdown({1, 1}, 5), "");
  EXPECT_EQ(solve_countdown({4}, 4), "4");
  std::string s = solve_countdown({7, 2, 4}, 14);
  EXPECT_EQ(verify("countdown", s, "14|7,2,4"), 1.0) << s;
  s = solve_countdown({3, 3, 8, 8}, 24);  // only 8/(3-8/3)
  EXPECT_EQ(verify("countdown", s, "24|3,3,8,8"), 1.0) << s;
  EXPECT_THROW(solve_countdown({1, 2, 3, 4, 5, 6, 7}, 9), Error);
}

}  // namespace
}  // namespace arlt::data

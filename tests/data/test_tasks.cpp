// Built-in tasks: split disjointness, determinism, every example verifying against its own
// ground truth, strict verifiers, parameter errors, answer extraction.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "../test_fs.h"
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

using nlohmann::json;

std::set<std::string> prompts(const std::vector<Example>& xs) {
  std::set<std::string> s;
  for (const auto& x : xs) s.insert(x.prompt);
  return s;
}

using arlt::test::error_of;

TEST(DataTasks, Names) {
  EXPECT_EQ(task_names(), (std::vector<std::string>{"addition", "multiplication", "countdown", "format"}));
}

TEST(DataTasks, TrainAndTestSplitsAreDisjoint) {
  auto train = make_task_examples("addition", "train", 2000, 1);
  auto test = make_task_examples("addition", "test", 2000, 1);
  auto train_prompts = prompts(train);
  for (const auto& x : test) {
    ASSERT_EQ(train_prompts.count(x.prompt), 0u) << x.prompt;
    // 37+45 in test keeps 45+37 out of train too.
    auto plus = x.prompt.find('+');
    std::string swapped = x.prompt.substr(plus + 1, x.prompt.size() - plus - 2) + "+" + x.prompt.substr(0, plus) + "=";
    ASSERT_EQ(train_prompts.count(swapped), 0u) << swapped;
  }
  for (const std::string task : {"multiplication", "countdown", "format"}) {
    SCOPED_TRACE(task);
    auto tr = prompts(make_task_examples(task, "train", 1500, 7));
    for (const auto& x : make_task_examples(task, "test", 1500, 7)) ASSERT_EQ(tr.count(x.prompt), 0u) << x.prompt;
  }
}

TEST(DataTasks, TestSplitIsAboutATenthOfTheSpace) {
  // One-digit addition has 100 prompts: both splits together cover them, test about 10%.
  json one = {{"digits", 1}};
  auto train = prompts(make_task_examples("addition", "train", 5000, 3, one));
  auto test = prompts(make_task_examples("addition", "test", 2000, 3, one));
  EXPECT_EQ(train.size() + test.size(), 100u);
  EXPECT_GE(test.size(), 4u);
  EXPECT_LE(test.size(), 25u);
}

TEST(DataTasks, DeterministicInSeedAndPrefixStable) {
  for (const std::string task : task_names()) {
    SCOPED_TRACE(task);
    auto a = make_task_examples(task, "train", 50, 42);
    auto b = make_task_examples(task, "train", 50, 42);
    auto c = make_task_examples(task, "train", 50, 43);
    auto shorter = make_task_examples(task, "train", 20, 42);
    ASSERT_EQ(a.size(), 50u);
    bool differs = false;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].prompt, b[i].prompt);
      EXPECT_EQ(a[i].ground_truth, b[i].ground_truth);
      EXPECT_EQ(a[i].task, task);
      EXPECT_TRUE(a[i].messages.is_null());
      differs |= a[i].prompt != c[i].prompt;
      if (i < shorter.size()) EXPECT_EQ(a[i].prompt, shorter[i].prompt);
    }
    EXPECT_TRUE(differs);
  }
  EXPECT_TRUE(make_task_examples("addition", "test", 0, 1).empty());
}

TEST(DataTasks, EveryExampleVerifiesAgainstItsGroundTruth) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"addition", json::object()},           {"addition", {{"digits", 1}}},
      {"addition", {{"digits", 9}, {"min_digits", 1}}},
      {"multiplication", json::object()},     {"multiplication", {{"digits", 9}, {"second_digits", 9}}},
      {"format", json::object()},             {"format", {{"words", 4}}},
  };
  for (const auto& [task, params] : cases) {
    SCOPED_TRACE(task + " " + params.dump());
    for (const std::string split : {"train", "test"}) {
      for (const auto& x : make_task_examples(task, split, 300, 5, params)) {
        ASSERT_EQ(verify(task, x.ground_truth, x.ground_truth), 1.0) << x.prompt;
        ASSERT_TRUE(answer_has_shape(task, x.ground_truth)) << x.ground_truth;
      }
    }
  }
}

TEST(DataTasks, ArithmeticPromptsAndAnswers) {
  for (const auto& x : make_task_examples("addition", "train", 500, 9)) {
    int a, b;
    ASSERT_EQ(std::sscanf(x.prompt.c_str(), "%d+%d=", &a, &b), 2);
    EXPECT_EQ(x.prompt, std::to_string(a) + "+" + std::to_string(b) + "=");
    EXPECT_GE(a, 10);  // exactly two digits
    EXPECT_LE(b, 99);
    EXPECT_EQ(x.ground_truth, std::to_string(a + b));
  }
  std::set<size_t> lengths;
  for (const auto& x : make_task_examples("addition", "train", 500, 9, {{"digits", 3}, {"min_digits", 1}}))
    lengths.insert(x.prompt.find('+'));
  EXPECT_EQ(lengths, (std::set<size_t>{1, 2, 3}));
  for (const auto& x : make_task_examples("multiplication", "train", 300, 9)) {
    int a, b;
    ASSERT_EQ(std::sscanf(x.prompt.c_str(), "%d*%d=", &a, &b), 2);
    EXPECT_TRUE(a >= 10 && a <= 99 && b >= 0 && b <= 9) << x.prompt;
    EXPECT_EQ(x.ground_truth, std::to_string(a * b));
  }
  auto big = make_task_examples("multiplication", "train", 50, 1, {{"digits", 9}, {"second_digits", 9}});
  for (const auto& x : big) EXPECT_GE(x.ground_truth.size(), 17u) << x.prompt;  // no overflow into negatives
}

TEST(DataTasks, FormatPromptsAndAnswers) {
  for (const auto& x : make_task_examples("format", "train", 100, 2, {{"words", 3}})) {
    char w1[8], w2[8], w3[8];
    ASSERT_EQ(std::sscanf(x.prompt.c_str(), "wrap %7s %7s %7[a-z]:", w1, w2, w3), 3) << x.prompt;
    EXPECT_EQ(x.ground_truth, "<" + std::string(w1) + "><" + w2 + "><" + w3 + ">");
  }
  EXPECT_FALSE(make_task_examples("format", "test", 5, 2, {{"words", 1}}).empty());
}

TEST(DataTasks, ParameterErrors) {
  auto e = error_of([] { make_task_examples("additon", "train", 1, 0); });
  EXPECT_NE(e.find("unknown task \"additon\""), std::string::npos) << e;
  EXPECT_NE(e.find("addition, multiplication, countdown, format"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean \"addition\""), std::string::npos) << e;
  e = error_of([] { make_task_examples("addition", "train", 1, 0, {{"digit", 3}}); });
  EXPECT_NE(e.find("unknown param \"digit\""), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean \"digits\""), std::string::npos) << e;
  e = error_of([] { make_task_examples("addition", "train", 1, 0, {{"digits", 12}}); });
  EXPECT_NE(e.find("\"digits\" is 12; expected an integer in [1, 9]"), std::string::npos) << e;
  e = error_of([] { make_task_examples("addition", "train", 1, 0, {{"digits", 3}, {"min_digits", 4}}); });
  EXPECT_NE(e.find("\"min_digits\" is 4"), std::string::npos) << e;
  e = error_of([] { make_task_examples("countdown", "train", 1, 0, {{"numbers", "3"}}); });
  EXPECT_NE(e.find("\"numbers\" is \"3\""), std::string::npos) << e;
  e = error_of([] { make_task_examples("countdown", "train", 1, 0, {{"numbers", 7}}); });
  EXPECT_NE(e.find("[2, 6]"), std::string::npos) << e;
  e = error_of([] { make_task_examples("format", "train", 1, 0, json::array()); });
  EXPECT_NE(e.find("expected a JSON object"), std::string::npos) << e;
  e = error_of([] { make_task_examples("addition", "valid", 1, 0); });
  EXPECT_NE(e.find("split \"valid\""), std::string::npos) << e;
  e = error_of([] { make_task_examples("addition", "train", -1, 0); });
  EXPECT_NE(e.find("count -1"), std::string::npos) << e;
  e = error_of([] { make_task_examples("addition", "train", 1'000'000'000, 0); });
  EXPECT_NE(e.find("count 1000000000"), std::string::npos) << e;
  e = error_of([] { verify("addtion", "1", "1"); });
  EXPECT_NE(e.find("did you mean \"addition\""), std::string::npos) << e;
  EXPECT_NO_THROW(make_task_examples("addition", "train", 1, 0, json()));  // null params: defaults
  EXPECT_NO_THROW(make_task_examples("addition", "train", 1, 0, {{"digits", 3.0}}));
}

TEST(DataTasks, ParamsThatLeaveNoProblemError) {
  // Two 1s and target 2 is the only problem: it belongs to one split, the other is empty.
  json tiny = {{"numbers", 2}, {"max_number", 1}, {"target_max", 2}};
  int failures = 0;
  for (const std::string split : {"train", "test"}) {
    try {
      auto xs = make_task_examples("countdown", split, 3, 0, tiny);
      for (const auto& x : xs) EXPECT_EQ(x.prompt, "1 1 to 2:");
    } catch (const Error& e) {
      ++failures;
      EXPECT_NE(std::string(e.what()).find("no " + split + " problem"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(failures, 1);
  auto e = error_of([] { make_task_examples("countdown", "train", 1, 0, {{"max_number", 1}, {"target_max", 1}}); });
  EXPECT_NE(e.find("no problem found"), std::string::npos) << e;
}

}  // namespace
}  // namespace arlt::data

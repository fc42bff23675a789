// Rewards: the built-ins on the tasks' answers, failure counting in score(), name errors with a
// did-you-mean, spec lists as configs write them, and concurrent use of the registry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "arlt/base/error.h"
#include "arlt/reward/reward.h"

namespace arlt::reward {
namespace {

RewardInput input(const std::string& response, const std::string& ground_truth, const std::string& task,
                  const std::string& finish = "stop") {
  RewardInput in;
  in.prompt = "p";
  in.response = response;
  in.ground_truth = ground_truth;
  in.task = task;
  in.finish_reason = finish;
  return in;
}

double one(const std::string& name, const RewardInput& in) { return score({{name, 1.0}}, in).total; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

TEST(RewardBuiltins, Registered) {
  EXPECT_TRUE(has_reward("exact_match"));
  EXPECT_TRUE(has_reward("format"));
  EXPECT_FALSE(has_reward("nope"));
  auto names = reward_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "exact_match"), names.end());
}

TEST(RewardBuiltins, ExactMatch) {
  EXPECT_EQ(one("exact_match", input("82", "82", "addition")), 1.0);
  EXPECT_EQ(one("exact_match", input("82.\nsince 37+45", "82", "addition")), 1.0);
  EXPECT_EQ(one("exact_match", input("hmm <answer>82</answer>", "82", "addition")), 1.0);
  EXPECT_EQ(one("exact_match", input("083", "83", "addition")), 0.0);
  EXPECT_EQ(one("exact_match", input("3*5+7", "22|3,5,7", "countdown")), 1.0);
  EXPECT_EQ(one("exact_match", input("3*5+5", "22|3,5,7", "countdown")), 0.0);
  EXPECT_EQ(one("exact_match", input("<cat>", "<cat>", "format")), 1.0);
  EXPECT_EQ(one("exact_match", input(" Paris.", "Paris", "")), 1.0);
  EXPECT_EQ(one("exact_match", input("0.50", "0.5", "")), 1.0);
  EXPECT_EQ(one("exact_match", input("72", "72", "gsm8k")), 1.0);  // not built in: plain compare
  EXPECT_EQ(one("exact_match", input("71", "72", "gsm8k")), 0.0);
}

TEST(RewardBuiltins, Format) {
  EXPECT_EQ(one("format", input("82", "0", "addition")), 1.0);  // shape, not correctness
  EXPECT_EQ(one("format", input("82", "0", "addition", "length")), 0.0);
  EXPECT_EQ(one("format", input("eighty", "0", "addition")), 0.0);
  EXPECT_EQ(one("format", input("", "0", "")), 0.0);
  EXPECT_EQ(one("format", input("anything", "0", "")), 1.0);
  EXPECT_EQ(one("format", input("(3+5)*7", "x", "countdown")), 1.0);
  EXPECT_EQ(one("format", input("three", "x", "countdown")), 0.0);
  EXPECT_EQ(one("format", input("<cat><sun>", "x", "format")), 1.0);
  EXPECT_EQ(one("format", input("cat sun", "x", "format")), 0.0);
}

TEST(RewardScore, WeightsAndAThrowingReward) {
  register_reward("test_throws", [](const RewardInput&) -> double { throw std::runtime_error("boom"); });
  register_reward("test_nan", [](const RewardInput&) { return std::nan(""); });
  auto r = score({{"exact_match", 1.0}, {"test_throws", 0.5}, {"format", 0.25}}, input("82", "82", "addition"));
  ASSERT_EQ(r.components.size(), 3u);
  EXPECT_EQ(r.components[0], 1.0);
  EXPECT_EQ(r.components[1], 0.0);
  EXPECT_EQ(r.components[2], 1.0);
  EXPECT_EQ(r.errors, 1);
  EXPECT_EQ(r.first_error, "test_throws: boom");
  EXPECT_DOUBLE_EQ(r.total, 1.25);

  r = score({{"test_nan", 1.0}, {"test_throws", 1.0}, {"exact_match", -2.0}}, input("81", "82", "addition"));
  EXPECT_EQ(r.errors, 2);
  EXPECT_EQ(r.first_error.rfind("test_nan: returned", 0), 0u) << r.first_error;
  EXPECT_EQ(r.total, 0.0);
  EXPECT_TRUE(score({}, input("", "", "")).components.empty());
}

TEST(RewardScore, RegisterReplaces) {
  register_reward("test_const", [](const RewardInput&) { return 1.0; });
  EXPECT_EQ(one("test_const", input("", "", "")), 1.0);
  register_reward("test_const", [](const RewardInput&) { return 3.0; });
  EXPECT_EQ(one("test_const", input("", "", "")), 3.0);
  EXPECT_THROW(register_reward("a,b", [](const RewardInput&) { return 0.0; }), Error);
  EXPECT_THROW(register_reward("empty_fn", RewardFn()), Error);
}

TEST(RewardScore, UnknownNameSuggests) {
  auto e = error_of([] { score({{"exact_mach", 1.0}}, input("", "", "")); });
  EXPECT_NE(e.find("unknown reward \"exact_mach\""), std::string::npos) << e;
  EXPECT_NE(e.find("exact_match"), std::string::npos) << e;
  EXPECT_NE(e.find("format"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean \"exact_match\"?"), std::string::npos) << e;
  e = error_of([] { score({{"zzzzzzzzzz", 1.0}}, input("", "", "")); });
  EXPECT_EQ(e.find("did you mean"), std::string::npos) << e;
}

TEST(RewardSpecs, Parses) {
  auto s = parse_reward_specs("exact_match");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].name, "exact_match");
  EXPECT_EQ(s[0].weight, 1.0);
  s = parse_reward_specs(" exact_match:1.0 , format : 0.2 ");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].name, "format");
  EXPECT_DOUBLE_EQ(s[1].weight, 0.2);
  EXPECT_EQ(parse_reward_specs("format:-1e-1")[0].weight, -0.1);
}

TEST(RewardSpecs, Errors) {
  struct Case {
    const char* text;
    const char* want;
  };
  for (Case c : {Case{"exact_match:abc", "weight \"abc\" of \"exact_match\" is not a finite number"},
                 Case{"exact_match:", "weight \"\""}, Case{"exact_match:1.0x", "weight \"1.0x\""},
                 Case{"exact_match:inf", "weight \"inf\""}, Case{"exact_match:nan", "weight \"nan\""},
                 Case{"", "is empty"}, Case{"  ", "is empty"}, Case{"exact_match,,format", "empty item"},
                 Case{"exact_match,", "empty item"}, Case{"exact_match,exact_match:2", "twice"},
                 Case{"exact_match,fromat:0.2", "did you mean \"format\""}}) {
    auto e = error_of([&] { parse_reward_specs(c.text); });
    EXPECT_NE(e.find(c.want), std::string::npos) << c.text << " -> " << e;
    // Each says what was expected: the syntax, the known names, or the duplicate.
    EXPECT_TRUE(e.find("e.g. \"exact_match:1.0,format:0.2\"") != std::string::npos ||
                e.find("expected one of") != std::string::npos || e.find("twice") != std::string::npos)
        << e;
  }
}

TEST(RewardScore, ConcurrentRegistrationAndScoring) {
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &wrong] {
      std::string name = "test_thread_" + std::to_string(t);
      for (int i = 0; i < 200; ++i) {
        register_reward(name, [i](const RewardInput&) { return static_cast<double>(i); });
        auto r = score({{name, 1.0}, {"exact_match", 1.0}}, input("82", "82", "addition"));
        if (r.total != i + 1.0 || r.errors != 0) ++wrong[t];
        reward_names();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int w : wrong) EXPECT_EQ(w, 0);
}

}  // namespace
}  // namespace arlt::reward

// The built-in tasks' verifiers (reward/verifiers.h, reward/countdown.h): strict integer and
// text checks, answer shapes, answer extraction, countdown's exact expression rules.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "../test_fs.h"
#include "arlt/base/error.h"
#include "arlt/reward/countdown.h"
#include "arlt/reward/verifiers.h"

namespace arlt::reward {
namespace {

using arlt::test::error_of;

TEST(RewardVerifiers, KnowEveryGeneratedTask) {
  EXPECT_EQ(verifier_tasks(), (std::vector<std::string>{"addition", "multiplication", "countdown", "format"}));
}

TEST(RewardVerifiers, IntegerVerifierIsStrict) {
  EXPECT_EQ(verify("addition", "82", "82"), 1.0);
  EXPECT_EQ(verify("addition", " 82 ", "82"), 1.0);
  EXPECT_EQ(verify("addition", "0", "0"), 1.0);
  EXPECT_EQ(verify("multiplication", "148", "0148"), 1.0);  // the ground truth may be loose
  for (const char* wrong : {"83", "082", "+82", "82.0", "8 2", "", "eighty-two", "82!", "-82", "0x52"})
    EXPECT_EQ(verify("addition", wrong, "82"), 0.0) << wrong;
  EXPECT_NE(error_of([] { verify("addition", "82", "abc"); }).find("not an integer"), std::string::npos);
}

TEST(RewardVerifiers, FormatAndTextVerifiers) {
  EXPECT_EQ(verify("format", "<cat><sun>", "<cat><sun>"), 1.0);
  EXPECT_EQ(verify("format", "<cat> <sun>", "<cat><sun>"), 0.0);
  EXPECT_EQ(verify("format", "<sun><cat>", "<cat><sun>"), 0.0);
  EXPECT_EQ(verify("", " Paris ", "Paris"), 1.0);
  EXPECT_EQ(verify("", "paris", "Paris"), 0.0);
  EXPECT_EQ(verify("", ".50", "0.5"), 1.0);
  EXPECT_EQ(verify("", "42.0", "42"), 1.0);
  EXPECT_EQ(verify("", "-0", "0"), 1.0);
  EXPECT_EQ(verify("", "1e3", "1000"), 1.0);
  EXPECT_EQ(verify("", "9007199254740993", "9007199254740992"), 0.0);  // beyond a double's integers
  EXPECT_EQ(verify("", "nan", "nan"), 1.0);                          // equal text
  EXPECT_EQ(verify("", "inf", "1e999"), 0.0);
  EXPECT_EQ(verify("", "", "x"), 0.0);
}

TEST(RewardVerifiers, AnswerShapes) {
  EXPECT_TRUE(answer_has_shape("addition", "82"));
  EXPECT_FALSE(answer_has_shape("addition", "8a"));
  EXPECT_FALSE(answer_has_shape("multiplication", ""));
  EXPECT_TRUE(answer_has_shape("countdown", "(3+5)*7"));
  EXPECT_FALSE(answer_has_shape("countdown", "()"));
  EXPECT_FALSE(answer_has_shape("countdown", "3+x"));
  EXPECT_TRUE(answer_has_shape("format", "<cat><dog>"));
  EXPECT_FALSE(answer_has_shape("format", "<cat"));
  EXPECT_FALSE(answer_has_shape("format", "<>"));
  EXPECT_FALSE(answer_has_shape("format", "cat"));
  EXPECT_TRUE(answer_has_shape("", "anything"));
  EXPECT_FALSE(answer_has_shape("", "  "));
  EXPECT_TRUE(answer_has_shape("gsm8k", "7"));
}

TEST(RewardVerifiers, ExtractAnswer) {
  EXPECT_EQ(extract_answer("82"), "82");
  EXPECT_EQ(extract_answer("  82.  \nbecause 37+45"), "82");
  EXPECT_EQ(extract_answer("82.."), "82.");
  EXPECT_EQ(extract_answer("3.5"), "3.5");
  EXPECT_EQ(extract_answer(""), "");
  EXPECT_EQ(extract_answer("\n82"), "");
  EXPECT_EQ(extract_answer("think...<answer> 12 </answer> then <answer>3*5+7</answer> done"), "3*5+7");
  EXPECT_EQ(extract_answer("<answer>\n82\n</answer>"), "82");
  EXPECT_EQ(extract_answer("<answer>82"), "<answer>82");  // unclosed: the first line
  EXPECT_EQ(extract_answer("<answer></answer>"), "");
}

TEST(RewardVerifiers, CountdownVerifierRules) {
  const std::string gt = "22|3,5,7";
  EXPECT_EQ(verify("countdown", "3*5+7", gt), 1.0);
  EXPECT_EQ(verify("countdown", " ( 3 * 5 ) + 7 ", gt), 1.0);
  EXPECT_EQ(verify("countdown", "7+5*3", gt), 1.0);
  EXPECT_EQ(verify("countdown", "3*5+5+3-... ", gt), 0.0);
  EXPECT_EQ(verify("countdown", "3*3+5+7+1", gt), 0.0);  // 3 reused, 1 not given
  EXPECT_EQ(verify("countdown", "5*5-3", gt), 0.0);      // 5 reused
  EXPECT_EQ(verify("countdown", "22", gt), 0.0);         // not given
  EXPECT_EQ(verify("countdown", "35-7-3-3", gt), 0.0);   // concatenated digits are not a given number
  EXPECT_EQ(verify("countdown", "3*5+6", gt), 0.0);      // wrong value
  EXPECT_EQ(verify("countdown", "3*5+7=22", gt), 0.0);   // the expression only
  EXPECT_EQ(verify("countdown", "-3+5*5", gt), 0.0);     // no unary minus
  EXPECT_EQ(verify("countdown", "03*5+7", gt), 0.0);     // leading zero
  EXPECT_EQ(verify("countdown", "15|7", "22|15,7"), 0.0);
  EXPECT_EQ(verify("countdown", "5*5-3", "22|3,5,5"), 1.0);  // given twice, used twice
  EXPECT_EQ(verify("countdown", "5", "5|5"), 1.0);           // at most once: one number is fine
  // Exact rationals: 7/2 is 3.5, not 3.
  EXPECT_EQ(verify("countdown", "7/2*4", "14|7,2,4"), 1.0);
  EXPECT_EQ(verify("countdown", "4/3*3", "4|4,3,3"), 1.0);
  EXPECT_EQ(verify("countdown", "7/2*4", "12|7,2,4"), 0.0);
  EXPECT_EQ(verify("countdown", "1/3+1/3+1/3", "1|1,3,1,3,1,3"), 1.0);
  // Division by zero scores 0, even where a later step would cancel it.
  EXPECT_EQ(verify("countdown", "7/(5-5)", "7|7,5,5"), 0.0);
  EXPECT_EQ(verify("countdown", "0*(7/(5-5))+7", "7|0,7,5,5,7"), 0.0);
  for (const char* garbage : {"", " ", "abc", "3*", "*3", "(3+5", "3+5)", "3 5", "()", "3++5", "3**5", "3^2", "3.0+5",
                              "\xff\xfe", "(((", ")))", "3/", "x=3*5+7"}) {
    EXPECT_EQ(verify("countdown", garbage, gt), 0.0) << garbage;
  }
}

TEST(RewardVerifiers, CountdownDeepParenthesesAndHugeNumbers) {
  std::string nested = std::string(60, '(') + "3*5" + std::string(60, ')') + "+7";
  EXPECT_EQ(verify("countdown", nested, "22|3,5,7"), 1.0);
  std::string deep = std::string(70, '(') + "3*5" + std::string(70, ')') + "+7";
  EXPECT_EQ(verify("countdown", deep, "22|3,5,7"), 0.0);  // nesting over 64
  EXPECT_EQ(verify("countdown", std::string(1'000'000, '('), "22|3,5,7"), 0.0);
  EXPECT_EQ(verify("countdown", std::string(100'000, '(') + "3" + std::string(100'000, ')'), "3|3"), 0.0);

  const int64_t big = 999'999'999'999'999'999;
  std::string gt = std::to_string(big) + "|";
  for (int i = 0; i < 12; ++i) gt += std::to_string(big - i) + (i < 11 ? "," : "");
  std::string product, sum;
  for (int i = 0; i < 12; ++i) {
    product += (i ? "*" : "") + std::to_string(big - i);
    sum += (i ? "+" : "") + std::to_string(big - i);
  }
  EXPECT_EQ(verify("countdown", product, gt), 0.0);  // overflows 2^120: scored 0, no wrap-around
  EXPECT_EQ(verify("countdown", sum, gt), 0.0);
  EXPECT_EQ(verify("countdown", std::to_string(big), gt), 1.0);
  // (b-1)(b-2) - (b-3)b = 2 exactly, through products near 10^36.
  auto n = [&](int i) { return std::to_string(big - i); };
  std::string two = "(" + n(1) + ")*" + n(2) + "-" + n(3) + "*" + n(0);
  EXPECT_EQ(verify("countdown", two, "2" + gt.substr(gt.find('|'))), 1.0) << two;
  EXPECT_EQ(verify("countdown", "1" + std::string(30, '0'), gt), 0.0);  // a literal too long to be given
}

}  // namespace
}  // namespace arlt::reward

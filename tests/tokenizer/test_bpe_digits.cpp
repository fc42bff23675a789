// The BPE trainer's individual_digits option: every digit stays its own token, as the HF
// Digits(individual_digits) pre-tokenizer written into the tokenizer.json demands.
#include <gtest/gtest.h>

#include "arlt/tokenizer/bpe_trainer.h"
#include "arlt/tokenizer/tokenizer.h"

using namespace arlt::tokenizer;

namespace {
std::string corpus() {
  std::string t;
  for (int a = 10; a < 100; a += 3)
    for (int b = 10; b < 100; b += 7) t += std::to_string(a) + "+" + std::to_string(b) + "=" + std::to_string(a + b) + "\n";
  return t;
}
int longest_digit_run(const Tokenizer& tok, const std::string& text) {
  int longest = 0;
  for (int64_t id : tok.encode(text, false)) {
    std::string piece = tok.decode({id});
    int run = 0;
    for (char c : piece) run += c >= '0' && c <= '9';
    longest = std::max(longest, run);
  }
  return longest;
}
}  // namespace

TEST(BpeTrainer, IndividualDigitsKeepsEveryDigitAlone) {
  BpeTrainOptions o;
  o.vocab_size = 300;
  o.individual_digits = true;
  auto tok = Tokenizer::from_json(train_bpe(corpus(), o));
  EXPECT_EQ(longest_digit_run(*tok, "123+456=579\n98+76=174"), 1);
  EXPECT_EQ(tok->decode(tok->encode("123+456=579", false)), "123+456=579");
  // Without the option, frequent digit pairs merge: the check above can fail.
  o.individual_digits = false;
  auto merged = Tokenizer::from_json(train_bpe(corpus(), o));
  EXPECT_GT(longest_digit_run(*merged, "123+456=579\n98+76=174"), 1);
}

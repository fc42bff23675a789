// arlt tokenizer train --input FILE --vocab-size N --out DIR: a byte-level BPE tokenizer.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/cli/commands.h"
#include "arlt/tokenizer/bpe_trainer.h"

namespace arlt::cli {

void add_tokenizer_train(CLI::App& app) {
  using nlohmann::json;
  struct TrainOpts {
    std::string input, out;
    int vocab_size = 1000;
    bool digits = false;
    std::vector<std::string> specials;
  };
  auto t = std::make_shared<TrainOpts>();
  CLI::App* tk = app.add_subcommand("tokenizer", "tokenizer tools");
  tk->require_subcommand(1);
  CLI::App* train = tk->add_subcommand("train", "train a byte-level BPE tokenizer on a text file");
  train->add_option("--input", t->input, "UTF-8 text file")->required();
  train->add_option("--vocab-size", t->vocab_size, "vocabulary size (bytes + merges + special tokens)")->capture_default_str();
  train->add_option("--special", t->specials, "special tokens (default <|endoftext|> <|im_start|> <|im_end|>)");
  train->add_option("--out", t->out, "output folder")->required();
  train->add_flag("--individual-digits", t->digits, "keep every digit its own token (for arithmetic)");
  train->callback([t] {
    tokenizer::BpeTrainOptions opt;
    opt.vocab_size = t->vocab_size;
    opt.individual_digits = t->digits;
    if (!t->specials.empty()) opt.special_tokens = t->specials;
    if (!std::filesystem::exists(t->input)) throw Error(t->input + ": no such file");
    json tj = tokenizer::train_bpe(read_file(t->input), opt);
    tokenizer::save_trained_tokenizer(t->out, tj, opt);
    std::cout << "wrote a " << tj["model"]["vocab"].size() << "-token tokenizer (" << tj["model"]["merges"].size()
              << " merges) to " << t->out << "\n";
  });
}

}  // namespace arlt::cli

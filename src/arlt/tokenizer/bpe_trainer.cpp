#include "arlt/tokenizer/bpe_trainer.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <unordered_map>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/tokenizer/chat_template.h"
#include "arlt/tokenizer/regex.h"
#include "arlt/tokenizer/tokenizer.h"
#include "arlt/tokenizer/unicode.h"

namespace arlt::tokenizer {
using nlohmann::json;

json train_bpe(const std::string& raw, const BpeTrainOptions& o) {
  const int n_special = static_cast<int>(o.special_tokens.size());
  if (o.vocab_size < 256 + n_special)
    throw Error("tokenizer train: --vocab-size " + std::to_string(o.vocab_size) + " is below the minimum " +
                std::to_string(256 + n_special) + " (256 bytes + " + std::to_string(n_special) + " special tokens)");
  for (size_t i = 0; i < o.special_tokens.size(); ++i) {
    const std::string& s = o.special_tokens[i];
    if (utf8_chars(s).size() < 2)
      throw Error("tokenizer train: special token '" + s + "' must be at least two characters (single characters are byte tokens)");
    for (size_t k = 0; k < i; ++k)
      if (o.special_tokens[k] == s) throw Error("tokenizer train: special token '" + s + "' is given twice");
  }
  const std::string text = utf8_lossy(raw);

  // Words (pre-tokenised pieces) with their counts, as sequences of symbol ids.
  std::unordered_map<std::string, int64_t> word_counts;
  auto count_words = [&](size_t from, size_t to) {
    const std::string piece = text.substr(from, to - from);
    for (auto [b, e] : gpt2_regex().find_all(piece)) ++word_counts[piece.substr(b, e - b)];
  };
  if (o.individual_digits) {
    // Each ASCII digit is a word of its own (HF's Digits pre-tokenizer runs before ByteLevel).
    size_t start = 0;
    for (size_t i = 0; i < text.size(); ++i)
      if (text[i] >= '0' && text[i] <= '9') {
        if (i > start) count_words(start, i);
        ++word_counts[text.substr(i, 1)];
        start = i + 1;
      }
    if (start < text.size()) count_words(start, text.size());
  } else {
    count_words(0, text.size());
  }
  std::vector<std::string> tokens(256);
  const auto& alphabet = byte_to_unicode();
  for (int b = 0; b < 256; ++b) tokens[b] = alphabet[b];
  std::vector<std::vector<int>> words;
  std::vector<int64_t> counts;
  for (const auto& [w, c] : word_counts) {
    std::vector<int> syms;
    for (unsigned char ch : w) syms.push_back(ch);
    words.push_back(std::move(syms));
    counts.push_back(c);
  }

  json merges = json::array();
  const int target = o.vocab_size - n_special;
  while (static_cast<int>(tokens.size()) < target) {
    std::map<std::pair<int, int>, int64_t> pairs;  // ordered: deterministic iteration
    for (size_t w = 0; w < words.size(); ++w)
      for (size_t i = 0; i + 1 < words[w].size(); ++i) pairs[{words[w][i], words[w][i + 1]}] += counts[w];
    std::pair<int, int> best{-1, -1};
    int64_t best_count = 0;
    std::string best_text;
    for (const auto& [p, c] : pairs) {
      if (c < best_count || c < o.min_frequency) continue;
      std::string t = tokens[p.first] + " " + tokens[p.second];
      if (c > best_count || t < best_text) {
        best = p;
        best_count = c;
        best_text = std::move(t);
      }
    }
    if (best.first < 0) break;
    const int new_id = static_cast<int>(tokens.size());
    tokens.push_back(tokens[best.first] + tokens[best.second]);
    merges.push_back(best_text);
    for (auto& syms : words) {
      std::vector<int> next;
      next.reserve(syms.size());
      for (size_t i = 0; i < syms.size();) {
        if (i + 1 < syms.size() && syms[i] == best.first && syms[i + 1] == best.second) {
          next.push_back(new_id);
          i += 2;
        } else {
          next.push_back(syms[i++]);
        }
      }
      syms.swap(next);
    }
  }

  json j = byte_tokenizer_json({});
  json vocab = json::object();
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
  json added = json::array();
  int64_t id = static_cast<int64_t>(tokens.size());
  for (const auto& s : o.special_tokens) {
    vocab[s] = id;
    added.push_back({{"id", id}, {"content", s}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                     {"normalized", false}, {"special", true}});
    ++id;
  }
  j["model"]["vocab"] = vocab;
  j["model"]["merges"] = merges;
  j["added_tokens"] = added;
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  if (o.individual_digits)
    j["pre_tokenizer"] = {{"type", "Sequence"},
                          {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, j["pre_tokenizer"]}}};
  return j;
}

void save_trained_tokenizer(const std::string& dir, const nlohmann::json& tj, const BpeTrainOptions& opt) {
  std::filesystem::create_directories(dir);
  write_json_file((std::filesystem::path(dir) / "tokenizer.json").string(), tj);
  nlohmann::json cfg = {{"tokenizer_class", "PreTrainedTokenizerFast"}, {"clean_up_tokenization_spaces", false},
                        {"model_max_length", 1024}};
  const auto& sp = opt.special_tokens;
  auto has = [&](const char* s) { return std::find(sp.begin(), sp.end(), s) != sp.end(); };
  if (has("<|endoftext|>")) cfg["pad_token"] = "<|endoftext|>";
  if (has("<|im_end|>")) cfg["eos_token"] = "<|im_end|>";
  else if (has("<|endoftext|>")) cfg["eos_token"] = "<|endoftext|>";
  if (has("<|im_start|>") && has("<|im_end|>")) cfg["chat_template"] = builtin_chat_template("chatml");
  write_json_file((std::filesystem::path(dir) / "tokenizer_config.json").string(), cfg);
}

}  // namespace arlt::tokenizer

// Tokenizer: a Hugging Face tokenizer.json (+ tokenizer_config.json) giving the same ids and
// text as Hugging Face's tokenizers. Pipeline of encode, as in HF:
//   added tokens split out of the raw text -> normalizer on the rest -> added tokens that are
//   "normalized" split out -> pre-tokenizer -> BPE per piece -> post-processor (special tokens).
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "arlt/tokenizer/bpe.h"
#include "arlt/tokenizer/components.h"

namespace arlt::tokenizer {

struct AddedToken {
  int64_t id = -1;
  std::string content;
  bool single_word = false, lstrip = false, rstrip = false, normalized = false, special = false;
};

struct TokenizerJson;

class Tokenizer {
 public:
  // tokenizer.json (required) and tokenizer_config.json (optional: special tokens, chat template).
  static std::shared_ptr<Tokenizer> from_json(const nlohmann::json& tokenizer, const nlohmann::json& config = nullptr,
                                              const std::string& source = "tokenizer.json");
  // From the text of a tokenizer.json (the fast path: vocabulary and merges are streamed).
  static std::shared_ptr<Tokenizer> from_text(const std::string& tokenizer_json_text, const nlohmann::json& config,
                                              const std::string& source);
  static std::shared_ptr<Tokenizer> from_file(const std::string& tokenizer_json_path);
  // A folder holding tokenizer.json and optionally tokenizer_config.json.
  static std::shared_ptr<Tokenizer> from_folder(const std::string& dir);

  // Any bytes are accepted: invalid UTF-8 is replaced by U+FFFD first (as a str in Python would be).
  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens = true) const;
  std::vector<std::vector<int64_t>> encode_batch(const std::vector<std::string>& texts, bool add_special_tokens = true,
                                                 int threads = 0) const;
  // Unknown ids are an error naming the id. clean_up: transformers' clean_up_tokenization_spaces
  // (default: the tokenizer_config.json setting).
  // strict = false drops unknown ids as Hugging Face does (a model's vocab_size is often padded
  // past the tokenizer's, and a sampled id may have no token).
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false,
                     std::optional<bool> clean_up = std::nullopt, bool strict = true) const;

  int64_t token_to_id(std::string_view token) const;  // -1 if absent
  std::optional<std::string> id_to_token(int64_t id) const;
  // One more than the largest id (model vocabulary and added tokens).
  int64_t vocab_size() const { return vocab_size_; }
  bool is_special(int64_t id) const;
  const std::vector<AddedToken>& added_tokens() const { return added_; }

  // From tokenizer_config.json (empty / -1 when absent).
  const std::string& chat_template() const { return chat_template_; }
  const std::string& bos_token() const { return bos_token_; }
  const std::string& eos_token() const { return eos_token_; }
  const std::string& pad_token() const { return pad_token_; }
  int64_t bos_id() const { return token_to_id(bos_token_); }
  int64_t eos_id() const { return token_to_id(eos_token_); }
  int64_t pad_id() const { return token_to_id(pad_token_); }
  const nlohmann::json& config() const { return config_; }

 private:
  struct Segment {
    std::string text;
    int64_t token = -1;  // an added token's id, or -1 for text still to tokenize
    bool at_start = false;
  };
  static std::shared_ptr<Tokenizer> build(const nlohmann::json& j, const TokenizerJson* streamed,
                                          const nlohmann::json& config, const std::string& source);
  static std::shared_ptr<Tokenizer> build_checked(const nlohmann::json& j, const TokenizerJson* streamed,
                                                  const nlohmann::json& config, const std::string& source);
  void split_added(std::vector<Segment>& segs, bool normalized_pass) const;
  void encode_text(const Segment& seg, std::vector<int64_t>& out) const;

  std::unique_ptr<BPE> model_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  std::vector<AddedToken> added_;
  std::unordered_map<int64_t, size_t> added_by_id_;
  std::unordered_map<std::string, int64_t> added_by_content_;
  std::string added_first_bytes_[2];  // first bytes of raw / normalized added tokens, for a fast scan
  int64_t vocab_size_ = 0;
  nlohmann::json config_;
  std::string chat_template_, bos_token_, eos_token_, pad_token_;
  bool clean_up_spaces_ = false;
};

// transformers' clean_up_tokenization: " ." -> ".", " n't" -> "n't", ...
std::string clean_up_tokenization(std::string text);

// tokenizer.json of a byte-level tokenizer: the 256 bytes (GPT-2 alphabet, ids 0-255) then the
// special tokens, no merges. Hugging Face tokenizers reads it.
nlohmann::json byte_tokenizer_json(const std::vector<std::string>& special_tokens);

}  // namespace arlt::tokenizer

// A byte-level BPE trainer for the tiny built-in models: GPT-2 pre-tokenisation, merges of
// the most frequent adjacent pair (ties broken by the pair's text), written as a tokenizer.json
// that Hugging Face's tokenizers reads.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace arlt::tokenizer {

struct BpeTrainOptions {
  int vocab_size = 1000;  // bytes (256) + merges + special tokens
  int min_frequency = 2;  // a pair seen fewer times is never merged
  bool individual_digits = false;  // every digit its own token (Llama / Qwen style), for arithmetic
  std::vector<std::string> special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
};

// Trains on `text`; returns the tokenizer.json object (ids: bytes 0-255, merges, then specials).
nlohmann::json train_bpe(const std::string& text, const BpeTrainOptions& options);

// Writes DIR/tokenizer.json and a tokenizer_config.json naming the special tokens' roles
// (eos <|im_end|> or <|endoftext|>, pad <|endoftext|>) and the chatml template when the
// chatml tokens are there.
void save_trained_tokenizer(const std::string& dir, const nlohmann::json& tokenizer_json, const BpeTrainOptions& options);

}  // namespace arlt::tokenizer

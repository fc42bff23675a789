// Fast reading of tokenizer.json: the vocabulary and merges (hundreds of thousands of entries)
// are streamed into flat vectors by a SAX parser instead of building a JSON tree of them, which
// halves the load time of a 150k-token vocabulary. Everything else becomes an ordinary JSON tree.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace arlt::tokenizer {

struct TokenizerJson {
  nlohmann::json doc;  // tokenizer.json without model.vocab / model.merges when they were streamed
  bool vocab_streamed = false, merges_streamed = false;
  std::vector<std::pair<std::string, int64_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;  // "a b" strings are split here
  std::string stream_error;  // a vocab or merge entry of the wrong shape, with its position
};

// Parses tokenizer.json text; errors name `source`.
TokenizerJson parse_tokenizer_json(const std::string& text, const std::string& source);

}  // namespace arlt::tokenizer

// The pipeline stages of a tokenizer.json, each built from its JSON object:
// normalizer -> pre-tokenizer -> model (bpe.h) -> post-processor; and the decoder.
// They work on plain strings (no offset tracking: arlt needs ids and text, not alignments).
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace arlt::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};
// null JSON -> nullptr. Supported: NFC, NFD, NFKC, NFKD, Lowercase, Replace, Prepend, Strip, Sequence.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j);

// A piece of text on its way to the model; at_start says it begins at offset 0 of the input
// (Metaspace's prepend_scheme "first" needs it).
struct Piece {
  std::string text;
  bool at_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void split(std::vector<Piece>& pieces) const = 0;
};
// null -> nullptr. Supported: ByteLevel, Split, Digits, Metaspace, Whitespace, WhitespaceSplit,
// Punctuation, Sequence.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j);

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
};
// null -> nullptr. Supported: ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j);

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Adds the special tokens around one sequence's ids.
  virtual std::vector<int64_t> process(std::vector<int64_t> ids) const = 0;
  virtual size_t added_tokens() const = 0;
};
// null -> nullptr. Supported: TemplateProcessing, ByteLevel (no change to ids), BertProcessing,
// RobertaProcessing, Sequence.
std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& j);

}  // namespace arlt::tokenizer

// Text of a growing token sequence, delta by delta, for streaming: each new token decodes a small
// window (the tokens since the last emitted text, plus the few before them as context) instead
// of the whole sequence, so a stream costs O(n) decoding, not O(n^2). The concatenated deltas
// equal the whole sequence's decoded text: a delta is the window's text minus the text of its
// context part, both decoded the same way (so a decoder that strips a leading space strips it
// from both), and an incomplete UTF-8 character is held back until it completes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace arlt::tokenizer {

class Tokenizer;

class StreamDecoder {
 public:
  // skip_special: as Tokenizer::decode's skip_special_tokens. Unknown ids are dropped.
  explicit StreamDecoder(const Tokenizer& tok, bool skip_special = true) : tok_(tok), skip_special_(skip_special) {}
  // Adds a token; returns the text it completes ("" while a character is incomplete).
  std::string push(int64_t token);
  const std::vector<int64_t>& tokens() const { return ids_; }
  int64_t decoded_tokens() const { return decoded_; }  // tokens decoded so far (tests: linear)

 private:
  std::string decode(size_t from, size_t to);
  const Tokenizer& tok_;
  bool skip_special_;
  std::vector<int64_t> ids_;
  size_t prefix_ = 0, read_ = 0;  // context starts at prefix_, new (unemitted) tokens at read_
  std::string emitted_;           // the text emitted so far (for the fallback when a window does not extend its context)
  int64_t decoded_ = 0;
};

}  // namespace arlt::tokenizer

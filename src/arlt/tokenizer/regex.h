// A PCRE2 regex (UTF + Unicode properties, JIT) for the Split / ByteLevel pre-tokenizers and
// the Replace normaliser. Patterns of tokenizer.json are written for Oniguruma; PCRE2 accepts
// the constructs they use (\p{L}, (?i:...), lookahead).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace arlt::tokenizer {

class Regex {
 public:
  // `where` names the component in errors ("pre_tokenizer Split").
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  // Non-overlapping matches [begin, end) in order, as Rust's find_iter (empty matches skipped).
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8
};

// The GPT-2 pre-tokenisation pattern (ByteLevel with use_regex).
const Regex& gpt2_regex();

}  // namespace arlt::tokenizer

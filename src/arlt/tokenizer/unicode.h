// UTF-8 helpers for the tokenizer: code point iteration, lossy decoding of arbitrary bytes,
// and GPT-2's byte <-> printable-character map used by byte-level BPE.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace arlt::tokenizer {

// Length in bytes of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid
// (truncated, overlong, surrogate, out of range).
size_t utf8_valid_length(std::string_view s, size_t i);
bool is_valid_utf8(std::string_view s);
// Replaces each maximal invalid subpart with U+FFFD, as Rust's String::from_utf8_lossy and the
// WHATWG decoder do, so invalid input never reaches the tokenizer.
std::string utf8_lossy(std::string_view s);
// Decodes valid UTF-8 (call on valid text only) into code points, and back.
std::vector<char32_t> utf8_decode(std::string_view s);
void utf8_append(std::string& out, char32_t cp);
std::string utf8_encode(char32_t cp);
// Splits valid UTF-8 into its characters (each a string of 1-4 bytes).
std::vector<std::string_view> utf8_chars(std::string_view s);

// Unicode White_Space (what Rust's char::is_whitespace and Oniguruma's \s accept).
bool is_unicode_space(char32_t cp);

// GPT-2 byte-level alphabet: each byte maps to a printable code point.
const std::array<std::string, 256>& byte_to_unicode();
// The inverse: code point -> byte, or -1.
int unicode_to_byte(char32_t cp);

}  // namespace arlt::tokenizer

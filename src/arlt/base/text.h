// Small text helpers shared by the verifiers and the tools.
#pragma once
#include <string>
#include <vector>

namespace arlt {

// s without leading and trailing whitespace (space, \t, \r, \n, \f, \v).
inline std::string trim(const std::string& s) {
  const char* ws = " \t\r\n\f\v";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// The text of every open ... close block, in order (an unclosed last block is not one).
inline std::vector<std::string> tagged_blocks(const std::string& text, const std::string& open, const std::string& close) {
  std::vector<std::string> out;
  for (size_t pos = 0;;) {
    const size_t a = text.find(open, pos);
    if (a == std::string::npos) break;
    const size_t b = text.find(close, a + open.size());
    if (b == std::string::npos) break;
    out.push_back(text.substr(a + open.size(), b - a - open.size()));
    pos = b + close.size();
  }
  return out;
}

// The first such block, if there is one.
inline bool first_tagged_block(const std::string& text, const std::string& open, const std::string& close, std::string* block) {
  const size_t a = text.find(open);
  if (a == std::string::npos) return false;
  const size_t b = text.find(close, a + open.size());
  if (b == std::string::npos) return false;
  *block = text.substr(a + open.size(), b - a - open.size());
  return true;
}

}  // namespace arlt

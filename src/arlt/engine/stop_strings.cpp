#include "arlt/engine/stop_strings.h"

#include <algorithm>

#include "arlt/tokenizer/tokenizer.h"

namespace arlt::engine {
namespace {

// Bytes of slack at the start of a tail window: decoding a window on its own can differ from
// the same tokens inside the whole output only at its start (a leading space a decoder strips, up
// to three bytes of a cut UTF-8 character decoded as U+FFFD each).
constexpr size_t kWindowSlack = 16;

std::string decode(const tokenizer::Tokenizer& tok, const std::vector<int64_t>& ids, size_t from, int64_t* counter) {
  if (counter) *counter += static_cast<int64_t>(ids.size() - from);
  return tok.decode(std::vector<int64_t>(ids.begin() + static_cast<std::ptrdiff_t>(from), ids.end()), true, false,
                    /*strict=*/false);
}

// The earliest occurrence of any stop string in the whole text (ties: the first listed).
std::optional<StopMatch> search_whole(const std::string& text, const std::vector<std::string>& stops) {
  size_t best = std::string::npos;
  const std::string* which = nullptr;
  for (const auto& stop : stops) {
    const size_t p = text.find(stop);
    if (p != std::string::npos && (best == std::string::npos || p < best)) best = p, which = &stop;
  }
  if (!which) return std::nullopt;
  return StopMatch{*which, text.substr(0, best + which->size())};
}

}  // namespace

std::optional<StopMatch> find_stop_string(const tokenizer::Tokenizer& tok, const std::vector<int64_t>& tokens,
                                          const std::vector<std::string>& stops, int64_t* decoded_tokens) {
  if (stops.empty() || tokens.empty()) return std::nullopt;
  size_t longest = 0;
  for (const auto& s : stops) longest = std::max(longest, s.size());
  // A stop string completed by the newest token ends inside that token's text and starts at most
  // `longest` bytes before its end: the window must hold that many bytes after its slack.
  const size_t newest = decode(tok, tokens, tokens.size() - 1, decoded_tokens).size();
  const size_t need = longest + newest + kWindowSlack;
  const size_t n = tokens.size();
  size_t k = std::min<size_t>(n, 8);
  std::string tail;
  for (;;) {
    tail = decode(tok, tokens, n - k, decoded_tokens);
    if (tail.size() >= need || k == n) break;
    k = std::min(n, 2 * k);
  }
  if (k == n) return search_whole(tail, stops);
  const bool in_tail = std::any_of(stops.begin(), stops.end(), [&](const std::string& s) { return tail.find(s) != std::string::npos; });
  if (!in_tail) return std::nullopt;
  return search_whole(decode(tok, tokens, 0, decoded_tokens), stops);
}

}  // namespace arlt::engine

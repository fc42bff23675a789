// Stop strings: matched on the decoded text of a sequence's output, across token boundaries.
// Checked after every sampled token, so the check decodes only a tail window of the output, long
// enough to hold any stop string that the newest token can have completed; the whole output is
// decoded only when the window holds a match. The cost per token is then independent of the
// output's length (the old check decoded everything at every token: O(n^2) per sequence).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace arlt::tokenizer {
class Tokenizer;
}

namespace arlt::engine {

struct StopMatch {
  std::string stop;  // the stop string that ended the output (the earliest one, if several)
  std::string text;  // the decoded output up to the end of that stop string
};

// The first stop string found in the decoded `tokens`, given that none was found before the
// newest token was added (the engine checks after every token). Decoding is lenient (unknown ids
// dropped, as the engine's text is). `decoded_tokens`, when given, grows by the number of tokens
// decoded (tests check the cost stays linear).
std::optional<StopMatch> find_stop_string(const tokenizer::Tokenizer& tok, const std::vector<int64_t>& tokens,
                                          const std::vector<std::string>& stops, int64_t* decoded_tokens = nullptr);

}  // namespace arlt::engine

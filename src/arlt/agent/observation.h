// Observation tokens: tokenised on their own (never re-tokenised with the text around them) and
// cut to a budget, keeping the left part, the right part, or both ends around a visible marker.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace arlt::agent {

enum class Truncation { Left, Right, Middle };  // keep the start / the end / both ends

// "left", "right" or "middle"; anything else is an arlt::Error naming `key`.
Truncation parse_truncation(const std::string& name, const std::string& key);

// ids cut to at most max_tokens: Left keeps the first tokens and appends `marker`, Right keeps
// the last and prepends it, Middle keeps both ends around it (the marker counts in the budget;
// a budget smaller than the marker gives the marker cut to the budget).
std::vector<int64_t> truncate_observation(const std::vector<int64_t>& ids, int64_t max_tokens, Truncation mode,
                                          const std::vector<int64_t>& marker);

}  // namespace arlt::agent

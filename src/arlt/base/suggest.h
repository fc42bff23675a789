// Suggestions for a name that is not known: the closest known one (did you mean), and the
// tail of an "unknown name" error. One edit distance for configs, tasks, rewards and the trainer.
#pragma once
#include <string>
#include <vector>

namespace arlt {

// The candidate closest to `key` (case-insensitive optimal string alignment: edits plus adjacent
// swaps) when it is within max(1, len/3) edits, else "".
std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates);

// "; expected one of: a, b, c" plus "; did you mean \"b\"?" when did_you_mean finds one.
std::string unknown_name_hint(const std::string& name, const std::vector<std::string>& known);

}  // namespace arlt

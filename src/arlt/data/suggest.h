// The tail of an "unknown name" error: the known names and, when one is close, a did-you-mean.
#pragma once
#include <string>
#include <vector>

namespace arlt::data {

// "; expected one of: a, b, c; did you mean \"b\"?" (the last part only when a name is within
// a third of its length in edit distance, at least 1, at most 3).
std::string unknown_name_hint(const std::string& name, const std::vector<std::string>& known);

}  // namespace arlt::data

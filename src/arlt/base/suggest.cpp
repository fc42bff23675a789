#include "arlt/base/suggest.h"

#include <algorithm>

namespace arlt {

std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates) {
  auto lower = [](std::string s) {
    for (auto& c : s)
      if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return s;
  };
  // Optimal string alignment: Levenshtein plus adjacent swaps ("rl" for "lr") at cost one.
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      for (size_t j = 1; j <= b.size(); ++j) {
        const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
    return d[a.size()][b.size()];
  };
  const std::string k = lower(key);
  const size_t limit = std::max<size_t>(1, key.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const auto& c : candidates) {
    const size_t dist = distance(k, lower(c));
    if (dist < best_distance) best = c, best_distance = dist;
  }
  return best;
}

std::string unknown_name_hint(const std::string& name, const std::vector<std::string>& known) {
  std::string out = "; expected one of: ";
  for (size_t i = 0; i < known.size(); ++i) out += (i ? ", " : "") + known[i];
  const std::string best = did_you_mean(name, known);
  if (!best.empty()) out += "; did you mean \"" + best + "\"?";
  return out;
}

}  // namespace arlt

#include "arlt/data/suggest.h"

#include <algorithm>

namespace arlt::data {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string unknown_name_hint(const std::string& name, const std::vector<std::string>& known) {
  std::string out = "; expected one of: ";
  for (size_t i = 0; i < known.size(); ++i) out += (i ? ", " : "") + known[i];
  const std::string* best = nullptr;
  size_t best_distance = std::min<size_t>(3, std::max<size_t>(1, name.size() / 3)) + 1;
  for (const auto& k : known) {
    size_t d = edit_distance(name, k);
    if (d < best_distance) {
      best = &k;
      best_distance = d;
    }
  }
  if (best) out += "; did you mean \"" + *best + "\"?";
  return out;
}

}  // namespace arlt::data

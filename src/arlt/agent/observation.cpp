#include "arlt/agent/observation.h"

#include <algorithm>

#include "arlt/base/error.h"

namespace arlt::agent {

Truncation parse_truncation(const std::string& name, const std::string& key) {
  if (name == "left") return Truncation::Left;
  if (name == "right") return Truncation::Right;
  if (name == "middle") return Truncation::Middle;
  throw Error(key + ": unknown truncation '" + name + "' (one of: left, right, middle)");
}

std::vector<int64_t> truncate_observation(const std::vector<int64_t>& ids, int64_t max_tokens, Truncation mode,
                                          const std::vector<int64_t>& marker) {
  const int64_t n = static_cast<int64_t>(ids.size());
  if (n <= max_tokens) return ids;
  if (max_tokens <= 0) return {};
  const int64_t m = static_cast<int64_t>(marker.size());
  if (m >= max_tokens) return std::vector<int64_t>(marker.begin(), marker.begin() + max_tokens);
  const int64_t keep = max_tokens - m;
  std::vector<int64_t> out;
  if (mode == Truncation::Left) {
    out.assign(ids.begin(), ids.begin() + keep);
    out.insert(out.end(), marker.begin(), marker.end());
  } else if (mode == Truncation::Right) {
    out = marker;
    out.insert(out.end(), ids.end() - keep, ids.end());
  } else {
    const int64_t head = (keep + 1) / 2, tail = keep - head;
    out.assign(ids.begin(), ids.begin() + head);
    out.insert(out.end(), marker.begin(), marker.end());
    out.insert(out.end(), ids.end() - tail, ids.end());
  }
  return out;
}

}  // namespace arlt::agent

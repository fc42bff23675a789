// The project's random numbers: splitmix64, seed mixing and a Fisher-Yates shuffle. std::
// distributions and std::shuffle are implementation-defined (they differ between standard
// libraries), so everything whose order must be reproducible (task draws, data order,
// mini-batch order, resume) uses these instead: a seed names the same order on every machine.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace arlt {

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// FNV-1a then mix64: a stable hash of a problem's text, the same on every platform.
inline uint64_t hash_text(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return mix64(h);
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}
  uint64_t next() { return mix64(state_ += 0x9e3779b97f4a7c15ULL); }
  // Uniform in [0, n), n > 0; rejection keeps it unbiased.
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }
  // Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }

 // The whole state, for checkpoints: Rng(r.state()) continues where r stands.
  uint64_t state() const { return state_; }

 private:
  uint64_t state_;
};

// Mixes numbers into one seed (boost's hash_combine, then splitmix64's finaliser), for
// per-step, per-prompt and per-purpose seeds.
inline uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c = 0, uint64_t d = 0) {
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (uint64_t v : {a, b, c, d}) {
    x ^= v + 0x9E3779B97F4A7C15ULL + (x << 6) + (x >> 2);
    x ^= x >> 30, x *= 0xBF58476D1CE4E5B9ULL, x ^= x >> 27, x *= 0x94D049BB133111EBULL, x ^= x >> 31;
  }
  return x;
}

// Fisher-Yates from the back: position i swaps with one drawn uniformly from [0, i].
template <typename T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

}  // namespace arlt

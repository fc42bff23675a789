// base/rng.h: the project's RNG, seed mixing and shuffle give the same numbers and orders on
// every standard library (std::shuffle and std:: distributions do not), so the values here are
// hard-coded: a change to any of them changes every seeded run and must be deliberate.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "arlt/base/rng.h"

namespace arlt {
namespace {

TEST(Rng, FixedSeedGivesAFixedOrder) {
  Rng r(42);
  std::vector<int> v(10);
  std::iota(v.begin(), v.end(), 0);
  shuffle(v, r);
  EXPECT_EQ(v, (std::vector<int>{0, 9, 5, 8, 6, 4, 7, 2, 1, 3}));
  EXPECT_EQ(r.state(), 10372713005361028327ULL);
  Rng a(7);
  EXPECT_EQ(a.next(), 7191089600892374487ULL);
  EXPECT_EQ(a.below(10), 4u);
  EXPECT_EQ(mix_seed(1, 2, 3, 4), 9738437288940577143ULL);
}

TEST(Rng, StateRoundTripsAndShuffleIsAPermutation) {
  Rng r(5);
  for (int i = 0; i < 3; ++i) r.next();
  Rng copy(r.state());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(copy.next(), r.next());
  std::vector<int> v(1000);
  std::iota(v.begin(), v.end(), 0);
  shuffle(v, r);
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_NE(v, sorted);
  std::vector<int> empty, one{3};
  shuffle(empty, r);
  shuffle(one, r);
  EXPECT_EQ(one, std::vector<int>{3});
}

TEST(Rng, BelowIsUniformEnough) {
  // 60,000 draws over 6 values: each count within 5 standard deviations (about 456) of 10,000.
  Rng r(11);
  std::vector<int> count(6, 0);
  for (int i = 0; i < 60000; ++i) ++count[r.below(6)];
  for (int c : count) EXPECT_NEAR(c, 10000, 456);
}

}  // namespace
}  // namespace arlt

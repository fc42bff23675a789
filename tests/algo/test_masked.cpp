// Masked reductions: padding never reaches a result, an empty mask gives 0, whitening uses
// verl's Bessel-corrected variance. Expected numbers are worked out in the comments.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "arlt/algo/util.h"
#include "arlt/base/error.h"

using namespace arlt::algo;

namespace {

const auto F = torch::kFloat32;

// Masked entries: 1, 2 | 5, 6, 7.
torch::Tensor x() { return torch::tensor({{1.0, 2.0, 3.0, 4.0}, {5.0, 6.0, 7.0, 8.0}}, F); }
torch::Tensor mask() { return torch::tensor({{1.0, 1.0, 0.0, 0.0}, {1.0, 1.0, 1.0, 0.0}}, F); }

}  // namespace

TEST(AlgoMasked, SumAndMean) {
  // 1+2+5+6+7 = 21 over 5 tokens = 4.2
  EXPECT_FLOAT_EQ(masked_sum(x(), mask()).item<float>(), 21.0f);
  EXPECT_FLOAT_EQ(masked_mean(x(), mask()).item<float>(), 4.2f);
}

TEST(AlgoMasked, PaddingHoldingNanOrInfIsIgnored) {
  torch::Tensor v = x();
  v[0][3] = std::numeric_limits<float>::quiet_NaN();
  v[1][3] = -std::numeric_limits<float>::infinity();
  EXPECT_FLOAT_EQ(masked_sum(v, mask()).item<float>(), 21.0f);
  EXPECT_FLOAT_EQ(masked_mean(v, mask()).item<float>(), 4.2f);
  EXPECT_TRUE(torch::isfinite(masked_whiten(v, mask())).all().item<bool>());
}

TEST(AlgoMasked, EmptyMaskGivesZero) {
  torch::Tensor empty = torch::zeros({2, 4}, F);
  EXPECT_EQ(masked_sum(x(), empty).item<float>(), 0.0f);
  EXPECT_EQ(masked_mean(x(), empty).item<float>(), 0.0f);
  EXPECT_TRUE(masked_whiten(x(), empty).eq(0).all().item<bool>());
}

TEST(AlgoMasked, WhitenIsBesselCorrected) {
  // mean 4.2; deviations -3.2 -2.2 0.8 1.8 2.8; squares sum to 10.24+4.84+0.64+3.24+7.84 = 26.8;
  // Bessel variance 26.8/4 = 6.7, std sqrt(6.7) = 2.5884358.
  // -3.2/2.5884358 = -1.2362679, -2.2/.. = -0.8499342, 0.8/.. = 0.3090670, 1.8/.. = 0.6954007, 2.8/.. = 1.0817344
  torch::Tensor want = torch::tensor({{-1.2362679, -0.8499342, 0.0, 0.0}, {0.3090670, 0.6954007, 1.0817344, 0.0}}, F);
  torch::Tensor got = masked_whiten(x(), mask());
  EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6)) << got;
  // shift_mean = false adds the mean 4.2 back on the masked entries: -1.2362679 + 4.2 = 2.9637321, ...
  torch::Tensor want_noshift = torch::tensor({{2.9637321, 3.3500658, 0.0, 0.0}, {4.5090670, 4.8954007, 5.2817344, 0.0}}, F);
  got = masked_whiten(x(), mask(), /*shift_mean=*/false);
  EXPECT_TRUE(torch::allclose(got, want_noshift, 1e-5, 1e-6)) << got;
}

TEST(AlgoMasked, WhitenOfOneTokenIsZero) {
  // n = 1: Bessel's n/(n-1) is undefined; the one deviation is 0, so the result is 0 (verl raises).
  torch::Tensor m = torch::tensor({{0.0, 1.0, 0.0, 0.0}, {0.0, 0.0, 0.0, 0.0}}, F);
  torch::Tensor got = masked_whiten(x(), m);
  EXPECT_TRUE(got.eq(0).all().item<bool>()) << got;
}

TEST(AlgoMasked, ShapeMismatchIsAnError) {
  EXPECT_THROW(masked_mean(x(), torch::ones({2, 3})), arlt::Error);
}

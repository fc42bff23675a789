// model/cpu_kernels.h (project, the fused row-wise ops) and the kernels behind them, against torch.
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <cmath>
#include <algorithm>
#include <limits>
#include <stdexcept>

#include "arlt/kernels/attention.h"
#include "arlt/kernels/elementwise.h"
#include "arlt/kernels/linear.h"
#include "arlt/kernels/parallel.h"
#include "arlt/model/cpu_kernels.h"
#include "arlt/model/transformer.h"
#include "../test_util.h"

using namespace arlt;
using arlt::test::max_abs_diff;

namespace {
// Restores the default row limit when a test ends, whatever it set.
struct KernelRows {
  explicit KernelRows(int64_t rows) { model::set_linear_kernel_rows(rows); }
  ~KernelRows() { model::set_linear_kernel_rows(model::kLinearKernelRows); }
};
}  // namespace

TEST(Linear, KernelEqualsTorchOnEdgeShapes) {
  if (!kernels::linear_available()) GTEST_SKIP() << "this CPU has no AVX-512F";
  torch::NoGradGuard ng;
  torch::manual_seed(3);
  // Rows, inner and output sizes off the kernel's 6 x 4 tile and 16-float vectors on purpose.
  for (int64_t M : {1, 5, 6, 7, 13, 64})
    for (int64_t K : {1, 15, 16, 17, 100, 1100})  // 1100: three K chunks, the last masked
      for (int64_t N : {1, 3, 4, 9, 70}) {
        torch::Tensor x = torch::randn({M, K}), w = torch::randn({N, K}), b = torch::randn({N});
        for (bool bias : {false, true}) {
          const torch::Tensor bb = bias ? b : torch::Tensor();
          torch::Tensor want = torch::nn::functional::linear(x.to(torch::kFloat64), w.to(torch::kFloat64),
                                                             bias ? b.to(torch::kFloat64) : torch::Tensor());
          torch::Tensor y = torch::full({M, N}, 1e30f);  // untouched cells would show
          kernels::LinearArgs a;
          a.x = x.data_ptr<float>(), a.w = w.data_ptr<float>(), a.bias = bias ? b.data_ptr<float>() : nullptr;
          a.y = y.data_ptr<float>(), a.M = M, a.K = K, a.N = N, a.ldx = K, a.ldy = N;
          // Two column ranges, split off the tile boundary, as two threads would take them.
          const int64_t cut = N / 2;
          kernels::linear(a, 0, cut);
          kernels::linear(a, cut, N);
          EXPECT_TRUE(test::within_bound(y, want, test::linear_error_bound(x, w, bb))) << M << "x" << K << "x" << N << " bias " << bias;
        }
      }
}

TEST(Linear, BroadcastFormEqualsTorchOnEdgeShapes) {
  // The form with x transposed: rows off its 16-row vectors and 64-row tiles, K off its chunks,
  // columns off its 6-column tiles and 96-column blocks; bias, the gated product; rows of x and
  // y wider than K and N; column ranges that start inside a tile and a block.
  if (!kernels::linear_available()) GTEST_SKIP() << "this CPU has no AVX-512F";
  torch::NoGradGuard ng;
  torch::manual_seed(21);
  for (int64_t M : {1, 15, 16, 17, 64, 70, 130})
    for (int64_t K : {1, 17, 64, 65, 300, 4100})  // 4100: three K chunks of 2048, the last short
      for (int64_t N : {1, 7, 96, 97, 203}) {
        if (K > 300 && M != 17 && M != 70) continue;  // the long K on two row counts is enough
        const int64_t ldx = K + 3, ldy = N + 5, ldxt = (M + 15) / 16 * 16;
        torch::Tensor xs = torch::randn({M, ldx}), w = torch::randn({N, K}) / 4, w2 = torch::randn({N, K}) / 4;
        torch::Tensor b = torch::randn({N}), b2 = torch::randn({N});
        torch::Tensor x = xs.narrow(1, 0, K);
        torch::Tensor xt = torch::full({K, ldxt}, 1e30f);
        kernels::transpose_rows(xs.data_ptr<float>(), M, K, ldx, xt.data_ptr<float>(), ldxt);
        ASSERT_TRUE(torch::equal(xt.narrow(1, 0, M), x.t())) << M << "x" << K;
        if (ldxt > M) ASSERT_EQ(xt.narrow(1, M, ldxt - M).abs().max().item<float>(), 0.f) << "padding rows are zero";
        for (int variant = 0; variant < 3; ++variant) {  // plain, bias, gated with biases
          const bool bias = variant >= 1, gated = variant == 2;
          // The exact result (in double) and the bound of fp32 sums in any order (test_util.h).
          const auto f = [&](const torch::Tensor& x_, const torch::Tensor& w_, const torch::Tensor& w2_, const torch::Tensor& b_,
                             const torch::Tensor& b2_) {
            torch::Tensor lin = torch::nn::functional::linear(x_, w_, bias ? b_ : torch::Tensor());
            return gated ? torch::silu(lin) * torch::nn::functional::linear(x_, w2_, b2_) : lin;
          };
          const auto d = [](const torch::Tensor& t) { return t.to(torch::kFloat64); };
          torch::Tensor want = f(d(x), d(w), d(w2), d(b), d(b2));
          torch::Tensor bound = test::linear_error_bound(x, w, bias ? b : torch::Tensor());
          if (gated) {
            const torch::Tensor bd = bias ? d(b) : torch::Tensor();
            bound = test::gated_error_bound(torch::nn::functional::linear(d(x), d(w), bd), bound,
                                            torch::nn::functional::linear(d(x), d(w2), d(b2)), test::linear_error_bound(x, w2, b2));
          }
          torch::Tensor ys = torch::full({M, ldy}, 1e30f);
          kernels::LinearArgs a;
          a.x = xs.data_ptr<float>(), a.w = w.data_ptr<float>(), a.bias = bias ? b.data_ptr<float>() : nullptr;
          if (gated) a.w2 = w2.data_ptr<float>(), a.bias2 = b2.data_ptr<float>();
          a.xt = xt.data_ptr<float>(), a.ldxt = ldxt;
          a.y = ys.data_ptr<float>(), a.M = M, a.K = K, a.N = N, a.ldx = ldx, a.ldy = ldy;
          const int64_t cut1 = std::min<int64_t>(N, 5), cut2 = std::min<int64_t>(N, 100);
          kernels::linear(a, 0, cut1, cut2);
          kernels::linear(a, cut1, cut2);
          kernels::linear(a, cut2, N);
          EXPECT_TRUE(test::within_bound(ys.narrow(1, 0, N), want, bound)) << M << "x" << K << "x" << N << " variant " << variant;
          EXPECT_TRUE(torch::equal(ys.narrow(1, N, ldy - N), torch::full({M, ldy - N}, 1e30f))) << "wrote past its columns";
        }
      }
  // A leading dimension that is not M rounded up to 16 is refused.
  kernels::LinearArgs bad;
  bad.M = 20, bad.ldxt = 20;
  float dummy = 0.f;
  bad.xt = &dummy;
  EXPECT_THROW(kernels::linear(bad, 0, 0), std::invalid_argument);
}

TEST(Linear, ProjectTakesTheBroadcastFormForManyRows) {
  // project() on a shape with many rows (here an LM head) takes the broadcast form; forced
  // either way, both forms agree with torch.
  if (!kernels::linear_available()) GTEST_SKIP() << "this CPU has no AVX-512F";
  EXPECT_TRUE(kernels::linear_prefers_broadcast(64, 512, 32000));
  EXPECT_TRUE(kernels::linear_prefers_broadcast(64, 512, 1408));
  EXPECT_TRUE(kernels::linear_prefers_broadcast(16, 1408, 512));
  EXPECT_FALSE(kernels::linear_prefers_broadcast(8, 512, 32000));
  EXPECT_FALSE(kernels::linear_prefers_broadcast(64, 512, 128));
  torch::NoGradGuard ng;
  torch::manual_seed(22);
  torch::Tensor x = torch::randn({40, 96}), w = torch::randn({9000, 96}) / 8;
  torch::Tensor want = torch::nn::functional::linear(x.to(torch::kFloat64), w.to(torch::kFloat64));
  std::vector<torch::Tensor> ys;
  for (int64_t forced : {-1, 0, 1 << 20}) {
    model::set_linear_broadcast_rows(forced);
    ys.push_back(model::project(x, w));
    EXPECT_TRUE(test::within_bound(ys.back(), want, test::linear_error_bound(x, w))) << forced;
  }
  model::set_linear_broadcast_rows(-1);
  // The two forms sum in different orders, so their outputs differ in the last bits: the default
  // equal to the forced broadcast form, bit for bit, shows which form ran.
  EXPECT_FALSE(torch::equal(ys[1], ys[2])) << "the two forms gave identical bits";
  EXPECT_TRUE(torch::equal(ys[0], ys[1])) << "the default did not take the broadcast form";
}

TEST(Linear, KernelColumnRangesBlocksAndStrides) {
  if (!kernels::linear_available()) GTEST_SKIP() << "this CPU has no AVX-512F";
  torch::manual_seed(9);
  // N = 203: several 64-column blocks, the next-block prefetch, a last partial tile; ranges
  // starting inside a tile; rows of x and y further apart than K and N.
  const int64_t M = 11, K = 37, N = 203, ldx = 50, ldy = 210;
  torch::Tensor xs = torch::randn({M, ldx}), w = torch::randn({N, K}), b = torch::randn({N});
  torch::Tensor x = xs.narrow(1, 0, K);
  torch::Tensor want = torch::nn::functional::linear(x.to(torch::kFloat64), w.to(torch::kFloat64), b.to(torch::kFloat64));
  torch::Tensor ys = torch::full({M, ldy}, 1e30f);
  kernels::LinearArgs a;
  a.x = xs.data_ptr<float>(), a.w = w.data_ptr<float>(), a.bias = b.data_ptr<float>(), a.y = ys.data_ptr<float>();
  a.M = M, a.K = K, a.N = N, a.ldx = ldx, a.ldy = ldy;
  kernels::linear(a, 0, 3);
  kernels::linear(a, 3, 150);
  kernels::linear(a, 150, N);
  EXPECT_TRUE(test::within_bound(ys.narrow(1, 0, N), want, test::linear_error_bound(x, w, b)));
  EXPECT_TRUE(torch::equal(ys.narrow(1, N, ldy - N), torch::full({M, ldy - N}, 1e30f))) << "wrote past its columns";
}

TEST(Linear, ProjectUsesTheKernelOnlyWhereItMay) {
  torch::manual_seed(4);
  torch::Tensor w = torch::randn({37, 40}), b = torch::randn({37});
  torch::Tensor x = torch::randn({3, 5, 80}).narrow(2, 10, 40);  // [3,5,40], rows not contiguous
  torch::Tensor want = torch::nn::functional::linear(x, w, b);
  {
    torch::NoGradGuard ng;
    KernelRows on(1 << 20);
    torch::Tensor y = model::project(x, w, b);
    EXPECT_EQ(y.sizes(), want.sizes());
    EXPECT_TRUE(test::within_bound(y, torch::nn::functional::linear(x.to(torch::kFloat64), w.to(torch::kFloat64), b.to(torch::kFloat64)),
                                   test::linear_error_bound(x, w, b)));
    if (kernels::linear_available()) EXPECT_FALSE(torch::equal(y, want)) << "the kernel did not run";
    // What the kernel must not take goes to torch::linear, bit for bit: a transposed (not
    // contiguous) weight, a double weight, a bias that broadcasts.
    torch::Tensor wt = w.t().contiguous().t();
    EXPECT_TRUE(torch::equal(model::project(x, wt, b), torch::nn::functional::linear(x, wt, b)));
    torch::Tensor xd = x.to(torch::kFloat64), wd = w.to(torch::kFloat64), bd = b.to(torch::kFloat64);
    EXPECT_TRUE(torch::equal(model::project(xd, wd, bd), torch::nn::functional::linear(xd, wd, bd)));
    torch::Tensor b1 = torch::tensor({0.5f});
    EXPECT_TRUE(torch::equal(model::project(x, w, b1), torch::nn::functional::linear(x, w, b1)));
    // A weight of the wrong rank is torch's error, not a wrong result.
    EXPECT_THROW(model::project(x, torch::randn({37, 40, 2})), std::exception);
    // Past the row limit, the BLAS: bit-identical to torch::linear.
    KernelRows off(10);
    EXPECT_TRUE(torch::equal(model::project(x, w, b), want));
  }
  // With autograd on, torch::linear, so gradients flow.
  torch::Tensor wg = w.clone().requires_grad_(true);
  KernelRows on(1 << 20);
  torch::Tensor y = model::project(x, wg, b);
  ASSERT_TRUE(y.requires_grad());
  y.sum().backward();
  EXPECT_TRUE(torch::allclose(wg.grad(), x.reshape({15, 40}).sum(0).expand({37, 40})));
}

TEST(Linear, GatedMlpInputFusedEqualsTorch) {
  // silu(gate(x)) * up(x) in one kernel pass: odd widths (masked column tails, several blocks),
  // with and without biases, gates spanning silu's range (some below -87); against torch.
  torch::manual_seed(12);
  for (bool bias : {false, true})
    for (int64_t N : {1, 17, 70, 200}) {
      torch::nn::Linear gate(torch::nn::LinearOptions(48, N).bias(bias)), up(torch::nn::LinearOptions(48, N).bias(bias));
      torch::NoGradGuard ng;
      gate->weight.mul_(150);  // gates of std about 90: silu's -87 cut-off and its far tails
      for (int64_t M : {1, 7, 64}) {
        torch::Tensor x = torch::randn({M, 48});
        torch::Tensor want = torch::silu(gate(x)) * up(x);
        const auto exact = [&](const torch::nn::Linear& l) {
          return torch::nn::functional::linear(x.to(torch::kFloat64), l->weight.to(torch::kFloat64),
                                               bias ? l->bias.to(torch::kFloat64) : torch::Tensor());
        };
        const auto err = [&](const torch::nn::Linear& l) { return test::linear_error_bound(x, l->weight, bias ? l->bias : torch::Tensor()); };
        const torch::Tensor bound = test::gated_error_bound(exact(gate), err(gate), exact(up), err(up));
        KernelRows on(1 << 20);
        torch::Tensor got = model::gated_mlp_input(x, gate, up);
        EXPECT_EQ(got.sizes(), want.sizes());
        EXPECT_TRUE(test::within_bound(got, torch::silu(exact(gate)) * exact(up), bound)) << bias << " " << N << " " << M;
        if (M == 64 && N >= 70) EXPECT_TRUE((gate(x) < -87).any().item<bool>()) << "no gate below silu's cut-off";
        if (kernels::linear_available() && M == 64) EXPECT_FALSE(torch::equal(got, want)) << "the kernel did not run";
      }
    }
  // With autograd on: torch's ops, gradients flow.
  torch::nn::Linear gate(48, 30), up(48, 30);
  torch::Tensor x = torch::randn({5, 48});
  torch::Tensor y = model::gated_mlp_input(x, gate, up);
  ASSERT_TRUE(y.requires_grad());
  y.sum().backward();
  EXPECT_TRUE(gate->weight.grad().defined() && up->weight.grad().defined());
}

TEST(Linear, BroadcastFormWritesTheOutputTransposed) {
  // LinearArgs::yt: y transposed, padding rows (M .. ldyt) zero, columns split in ranges; plain,
  // bias, gated; equal to the row-major output bit for bit; a missing xt or a bad ldyt refused.
  if (!kernels::linear_available()) GTEST_SKIP() << "this CPU has no AVX-512F";
  torch::NoGradGuard ng;
  torch::manual_seed(23);
  for (int64_t M : {1, 16, 20, 64})
    for (int64_t N : {5, 97, 200}) {
      const int64_t K = 70, ldxt = (M + 15) / 16 * 16, ldyt = ldxt + 16;  // a row wider than the buffer's
      torch::Tensor x = torch::randn({M, K}), w = torch::randn({N, K}), w2 = torch::randn({N, K});
      torch::Tensor b = torch::randn({N}), b2 = torch::randn({N});
      torch::Tensor xt = torch::empty({K, ldxt});
      kernels::transpose_rows(x.data_ptr<float>(), M, K, K, xt.data_ptr<float>(), ldxt);
      for (int variant = 0; variant < 3; ++variant) {
        kernels::LinearArgs a;
        a.w = w.data_ptr<float>(), a.xt = xt.data_ptr<float>(), a.ldxt = ldxt, a.M = M, a.K = K, a.N = N, a.ldx = K, a.ldy = N;
        if (variant >= 1) a.bias = b.data_ptr<float>();
        if (variant == 2) a.w2 = w2.data_ptr<float>(), a.bias2 = b2.data_ptr<float>();
        torch::Tensor y = torch::empty({M, N}), yt = torch::full({N + 1, ldyt}, 1e30f);  // a row past N shows stray writes
        a.y = y.data_ptr<float>();
        kernels::linear(a, 0, N);
        a.y = nullptr, a.yt = yt.data_ptr<float>(), a.ldyt = ldyt;
        kernels::linear(a, 0, N / 2);
        kernels::linear(a, N / 2, N);
        EXPECT_TRUE(torch::equal(yt.narrow(0, 0, N).narrow(1, 0, M), y.t())) << M << "x" << N << " variant " << variant;
        EXPECT_EQ(yt.narrow(0, 0, N).narrow(1, M, ldyt - M).abs().max().item<float>(), 0.f) << "padding rows are zero";
        EXPECT_TRUE(torch::equal(yt[N], torch::full({ldyt}, 1e30f))) << "wrote past column N";
      }
      kernels::LinearArgs bad;
      bad.w = w.data_ptr<float>(), bad.M = M, bad.K = K, bad.N = N, bad.ldx = K;
      float dummy[16] = {};
      bad.yt = dummy, bad.ldyt = ldxt;
      EXPECT_THROW(kernels::linear(bad, 0, N), std::invalid_argument) << "yt without xt";
      bad.xt = xt.data_ptr<float>(), bad.ldxt = ldxt, bad.ldyt = ldxt + 1;
      EXPECT_THROW(kernels::linear(bad, 0, N), std::invalid_argument) << "ldyt not a multiple of 16";
      if (M > 16) {
        bad.ldyt = 16;
        EXPECT_THROW(kernels::linear(bad, 0, N), std::invalid_argument) << "ldyt below M";
      }
    }
}

TEST(Linear, GatedMlpEqualsTorchWithTheProductTransposedInBetween) {
  // down(silu(gate(x)) * up(x)): the fused path (the product written transposed for down) from
  // 16 rows, the two-step path below and for a narrow output; biases; batch dims; against torch
  // in double, and bit for bit against the two-step path (the same sums in the same order).
  if (!kernels::linear_available()) GTEST_SKIP() << "this CPU has no AVX-512F";
  torch::manual_seed(24);
  // Widths 390 (chunks of 96) and 512 (chunks of 64, partial tiles) for the transposed product.
  for (int64_t width : {390, 512})
  for (int64_t out : {400, 100})  // 100: too narrow for the broadcast form
  for (bool bias : {false, true}) {
    torch::nn::Linear gate(torch::nn::LinearOptions(40, width).bias(bias)), up(torch::nn::LinearOptions(40, width).bias(bias));
    torch::nn::Linear down(torch::nn::LinearOptions(width, out).bias(bias));
    torch::NoGradGuard ng;
    for (int64_t M : {1, 15, 16, 20, 64}) {
      torch::Tensor x = torch::randn({1, M, 40});
      const auto d = [](const torch::nn::Linear& l, const torch::Tensor& t) {
        return torch::nn::functional::linear(t, l->weight.to(torch::kFloat64), l->bias.defined() ? l->bias.to(torch::kFloat64) : torch::Tensor());
      };
      const torch::Tensor xd = x.to(torch::kFloat64);
      torch::Tensor want = d(down, torch::silu(d(gate, xd)) * d(up, xd));
      // The gated product's bound, carried through down (|W| times it) plus down's own sums.
      const auto e = [&](const torch::nn::Linear& l) { return test::linear_error_bound(x, l->weight, l->bias); };
      const torch::Tensor h = torch::silu(d(gate, xd)) * d(up, xd), eh = test::gated_error_bound(d(gate, xd), e(gate), d(up, xd), e(up));
      const torch::Tensor wd = down->weight.to(torch::kFloat64).abs();
      torch::Tensor sum_abs = torch::matmul(h.abs() + eh, wd.t());
      if (bias) sum_abs = sum_abs + down->bias.to(torch::kFloat64).abs();
      const torch::Tensor bound = torch::matmul(eh, wd.t()) + test::gamma_fp32(width + 1) * sum_abs;
      KernelRows on(1 << 20);
      const int64_t fused_before = model::gated_mlp_fused_calls();
      torch::Tensor got = model::gated_mlp(x, gate, up, down);
      EXPECT_EQ(model::gated_mlp_fused_calls() - fused_before, M >= 16 && out == 400 ? 1 : 0) << M << " rows, " << out;
      ASSERT_EQ(got.sizes(), want.sizes());
      EXPECT_TRUE(test::within_bound(got, want, bound)) << bias << " " << M;
      torch::Tensor two_step = model::project(down, model::gated_mlp_input(x, gate, up));
      EXPECT_TRUE(test::within_bound(two_step, want, bound)) << bias << " " << M;
      EXPECT_TRUE(torch::equal(got, two_step)) << bias << " " << M;
    }
  }
  // With autograd on: torch's ops, gradients reach all three weights.
  torch::nn::Linear gate(40, 30), up(40, 30), down(30, 40);
  torch::Tensor y = model::gated_mlp(torch::randn({20, 40}), gate, up, down);
  ASSERT_TRUE(y.requires_grad());
  y.sum().backward();
  EXPECT_TRUE(gate->weight.grad().defined() && up->weight.grad().defined() && down->weight.grad().defined());
}

TEST(Linear, BroadcastChunksBalanceTheThreads) {
  // The chunk each form splits its columns into: the dot form's 64-column block; the broadcast
  // form's 96 columns unless 64 or 48 leave the most loaded thread 2% fewer tile columns.
  kernels::LinearArgs a;
  a.M = 64, a.K = 512, a.N = 512;
  EXPECT_EQ(kernels::linear_chunk(a, 2), 64);
  float dummy = 0.f;
  a.xt = &dummy, a.ldxt = 64;
  EXPECT_EQ(kernels::linear_chunk(a, 2), 64);  // 96: 288 vs 228 tile columns; 64: 4 x 66 each
  EXPECT_EQ(kernels::linear_chunk(a, 1), 96);  // one thread: nothing to balance
  a.N = 1408;
  EXPECT_EQ(kernels::linear_chunk(a, 2), 48);  // the most loaded thread: 96: 738; 64: 726; 48: 720
  a.N = 32000;
  EXPECT_EQ(kernels::linear_chunk(a, 2), 96);  // 48 would save less than 2%
  a.N = 192;
  EXPECT_EQ(kernels::linear_chunk(a, 2), 96);  // already even
}

TEST(Linear, ProjectManyEqualsProjectForEachLayer) {
  // q, k, v in one region: layers of different widths (grouped KV), with and without bias, one
  // narrower than a chunk; each output as project() alone gives it (same kernel, same sums).
  torch::manual_seed(13);
  torch::nn::Linear q(torch::nn::LinearOptions(40, 200).bias(true)), k(40, 70), v(torch::nn::LinearOptions(40, 30).bias(false));
  for (int64_t M : {1, 9, 64}) {
    torch::Tensor x = torch::randn({2, M, 40});
    {
      torch::NoGradGuard ng;
      KernelRows on(1 << 20);
      auto outs = model::project_many(x, {&q, &k, &v});
      ASSERT_EQ(outs.size(), 3u);
      EXPECT_TRUE(torch::equal(outs[0], model::project(q, x))) << M;
      EXPECT_TRUE(torch::equal(outs[1], model::project(k, x))) << M;
      EXPECT_TRUE(torch::equal(outs[2], model::project(v, x))) << M;
      EXPECT_TRUE(test::within_bound(outs[1], torch::nn::functional::linear(x.to(torch::kFloat64), k->weight.to(torch::kFloat64), k->bias.to(torch::kFloat64)),
                                     test::linear_error_bound(x, k->weight, k->bias))) << M;
    }
    // With autograd on: torch::linear for each, gradients flow.
    auto outs = model::project_many(x, {&q, &k, &v});
    ASSERT_TRUE(outs[2].requires_grad());
    EXPECT_TRUE(torch::equal(outs[0], q(x)));
  }
}

TEST(Linear, DecodeWithTheKernelMatchesTheBlasForward) {
  // The whole model, few rows (the engine's decode shape): kernel path against BLAS path.
  auto cfg = model::ModelConfig::preset("tiny");
  auto m = std::make_shared<model::Transformer>(cfg);
  m->init_random(7);
  torch::NoGradGuard ng;
  torch::Tensor ids = torch::randint(cfg.vocab_size, {4, 9});
  torch::Tensor with, without;
  {
    KernelRows on(1 << 20);
    with = m->forward(ids, torch::Tensor());
  }
  {
    KernelRows off(0);
    without = m->forward(ids, torch::Tensor());
  }
  EXPECT_LT(max_abs_diff(with, without), 1e-4);
  if (kernels::linear_available()) EXPECT_FALSE(torch::equal(with, without)) << "the kernel did not run";
}

TEST(Linear, ParallelForCoversTheRangeOnceAndRethrows) {
  std::vector<int> hits(1000, 0);
  kernels::parallel_for(0, 1000, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
  });
  for (int h : hits) ASSERT_EQ(h, 1);
  // Only the last chunk throws (with one thread, the only chunk): its exception comes back.
  EXPECT_THROW(kernels::parallel_for(0, 100, 1, [](int64_t, int64_t e) {
                 if (e == 100) throw std::runtime_error("boom");
               }),
               std::runtime_error);
}

TEST(Linear, ParallelForChunksCoversEveryItemOnceWithUnevenThreads) {
  // Every item exactly once, chunks inside [begin, end), own_end bounds each chunk. In one case
  // thread 0 holds on to its first chunk until another thread has taken a chunk of thread 0's
  // share (at most 5 s): chunks left in a share are taken over. The first exception is rethrown.
  for (int64_t n : {1, 7, 64, 1000}) {
    for (int64_t chunk : {1, 3, 64}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      const int64_t chunks = (n + chunk - 1) / chunk, T = std::min<int64_t>(omp_get_max_threads(), chunks);
      const int64_t share0_end = 5 + std::min(n, chunks / T * chunk);
      const bool hold = n == 1000 && chunk == 1 && T > 1;
      std::atomic<bool> taken_over{false};
      kernels::parallel_for_chunks(5, 5 + n, chunk, [&](int64_t b, int64_t e, int64_t own_end) {
        ASSERT_TRUE(5 <= b && b < e && e <= 5 + n && e - b <= chunk && e <= own_end && own_end <= 5 + n);
        if (hold && own_end == share0_end) {
          if (omp_get_thread_num() != 0) taken_over = true;
          for (int i = 0; i < 5000 && omp_get_thread_num() == 0 && !taken_over; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i - 5)]++;
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << n << " " << chunk << " " << i;
      if (hold) EXPECT_TRUE(taken_over.load()) << "no chunk of thread 0's share was taken over";
    }
  }
  EXPECT_THROW(kernels::parallel_for_chunks(0, 100, 4, [](int64_t b, int64_t, int64_t) {
                 if (b == 40) throw std::runtime_error("chunk 40");
               }),
               std::runtime_error);
}

TEST(Linear, ParallelForChunksRunsItsPrologueOnEveryThreadFirst) {
  // The prologue runs once for each t in [0, T), with T the threads that then take the chunks
  // (1 when serial), and every call has returned before the first chunk starts: the slow one
  // (thread 0 sleeps) shows the barrier. An exception in it is rethrown and no chunk runs.
  const int64_t max_threads = omp_get_max_threads();
  for (int64_t n : {1, 2, 50}) {
    const int64_t want_T = n == 1 ? 1 : std::min<int64_t>(max_threads, n);
    std::vector<std::atomic<int>> seen(static_cast<size_t>(max_threads));
    std::atomic<int> done{0}, chunks_run{0};
    std::atomic<int64_t> team{-1};
    kernels::parallel_for_chunks(0, n, 1, [&](int64_t, int64_t, int64_t) {
      EXPECT_EQ(done.load(), want_T) << "a chunk started before every prologue had returned";
      chunks_run++;
    }, [&](int64_t t, int64_t T) {
      team = T;
      if (0 <= t && t < T && T <= max_threads) seen[static_cast<size_t>(t)]++;
      if (t == 0) std::this_thread::sleep_for(std::chrono::milliseconds(30));
      done++;
    });
    EXPECT_EQ(team.load(), want_T) << n;
    for (int64_t t = 0; t < max_threads; ++t) EXPECT_EQ(seen[static_cast<size_t>(t)].load(), t < want_T ? 1 : 0) << n << " thread " << t;
    EXPECT_EQ(chunks_run.load(), n);
  }
  std::atomic<int> chunks_run{0};
  EXPECT_THROW(kernels::parallel_for_chunks(0, 100, 4, [&](int64_t, int64_t, int64_t) { chunks_run++; },
                                            [](int64_t t, int64_t) {
                                              if (t == 0) throw std::runtime_error("prologue");
                                            }),
               std::runtime_error);
  EXPECT_EQ(chunks_run.load(), 0);
}

TEST(Linear, ParametersMoveToHugePagesKeepingValuesAndIdentity) {
  torch::nn::Linear big(1024, 600), small(8, 8);  // 2.4 MB weight; 256 B
  torch::Tensor before = big->weight.detach().clone(), small_before = small->weight.detach().clone();
  const void* small_ptr = small->weight.data_ptr();
  const auto* impl = big->weight.unsafeGetTensorImpl();
  model::place_parameters_on_huge_pages(*big);
  model::place_parameters_on_huge_pages(*small);
  EXPECT_EQ(big->weight.unsafeGetTensorImpl(), impl) << "the same parameter object";
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big->weight.data_ptr()) % (2 << 20), 0u) << "2 MB aligned";
  EXPECT_TRUE(torch::equal(big->weight, before));
  EXPECT_TRUE(big->weight.requires_grad());
  EXPECT_EQ(small->weight.data_ptr(), small_ptr) << "under 2 MB: left where it is";
  EXPECT_TRUE(torch::equal(small->weight, small_before));
  // Training goes on as before: gradients and an optimizer step land in the moved weight.
  torch::optim::SGD opt(big->parameters(), 0.1);
  big(torch::ones({2, 1024})).sum().backward();
  opt.step();
  EXPECT_TRUE(torch::allclose(big->weight, before - 0.2, 1e-5, 1e-5));
  // The tensor helper: right shape, dtype and device, writable.
  torch::Tensor kv = model::empty_on_huge_pages({3, 1024, 1024}, torch::TensorOptions().dtype(torch::kFloat32)).zero_();
  EXPECT_EQ(kv.sizes(), (std::vector<int64_t>{3, 1024, 1024}));
  EXPECT_EQ(kv.sum().item<float>(), 0.f);
}

TEST(Fused, SlotAttentionEqualsAPlainReference) {
  // The decode attention kernel against softmax(q k / sqrt(D)) v in double: head sizes on and off
  // the AVX-512 path (multiples of 16 up to 256), grouped queries, positions below, at and past
  // 16 (whole and partial blocks of 16 scores), slots out of order, a cache longer than used.
  torch::manual_seed(31);
  for (int64_t D : {8, 16, 24, 64, 80, 128})
    for (int64_t G : {1, 3}) {
      const int64_t KV = 2, H = KV * G, L = 45, slots = 4, N = 5;
      torch::Tensor q = torch::randn({N, H, D}) * 2, k = torch::randn({slots, KV, L, D}), v = torch::randn({slots, KV, L, D});
      std::vector<int64_t> slot = {2, 0, 3, 1, 2}, pos = {0, 15, 16, 44, 30};
      torch::Tensor out = torch::full({N, H, D}, 1e30f);
      kernels::SlotAttentionArgs a;
      a.q = q.data_ptr<float>(), a.k = k.data_ptr<float>(), a.v = v.data_ptr<float>();
      a.slot = slot.data(), a.pos = pos.data(), a.H = H, a.KV = KV, a.L = L, a.D = D;
      a.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
      a.out = out.data_ptr<float>();
      kernels::slot_attention(a, 0, 3, N * KV);  // two ranges, the first prefetching past its end
      kernels::slot_attention(a, 3, N * KV);
      torch::Tensor qd = q.to(torch::kFloat64), kd = k.to(torch::kFloat64), vd = v.to(torch::kFloat64);
      for (int64_t i = 0; i < N; ++i)
        for (int64_t h = 0; h < H; ++h) {
          torch::Tensor keys = kd[slot[i]][h / G].narrow(0, 0, pos[i] + 1), vals = vd[slot[i]][h / G].narrow(0, 0, pos[i] + 1);
          torch::Tensor p = torch::softmax(keys.matmul(qd[i][h]) * a.scale, 0);
          torch::Tensor want = p.matmul(vals);
          EXPECT_LT(max_abs_diff(out[i][h].to(torch::kFloat64), want), 2e-6) << "D " << D << " G " << G << " token " << i << " head " << h;
        }
    }
}

TEST(Fused, SlotAttentionWithVeryNegativeScores) {
  // Every score far below zero and a position count off the 16-lane blocks: the softmax's max
  // must come from the scores alone (padding lanes once counted as 0 and flattened the weights).
  torch::manual_seed(32);
  const int64_t D = 64, L = 20, S = 17;
  torch::Tensor q = torch::ones({1, 1, D}), k = -torch::rand({1, 1, L, D}) * 8 - 2, v = torch::randn({1, 1, L, D});
  std::vector<int64_t> slot = {0}, pos = {S - 1};
  torch::Tensor out = torch::zeros({1, 1, D});
  kernels::SlotAttentionArgs a;
  a.q = q.data_ptr<float>(), a.k = k.data_ptr<float>(), a.v = v.data_ptr<float>();
  a.slot = slot.data(), a.pos = pos.data(), a.H = 1, a.KV = 1, a.L = L, a.D = D, a.scale = 1.f, a.out = out.data_ptr<float>();
  kernels::slot_attention(a, 0, 1);
  torch::Tensor kd = k[0][0].narrow(0, 0, S).to(torch::kFloat64), vd = v[0][0].narrow(0, 0, S).to(torch::kFloat64);
  torch::Tensor scores = kd.matmul(q[0][0].to(torch::kFloat64));
  ASSERT_LT(scores.max().item<double>(), -100.0);
  torch::Tensor want = torch::softmax(scores, 0).matmul(vd);
  EXPECT_LT(max_abs_diff(out[0][0].to(torch::kFloat64), want), 1e-5);
}

TEST(Fused, RmsNormAndSiluMulEqualTorch) {
  torch::NoGradGuard ng;
  torch::manual_seed(5);
  for (int64_t D : {1, 7, 64, 513}) {
    torch::Tensor x = torch::randn({3, 5, D}) * 3, w = torch::randn({D});
    const torch::Tensor xd = x.to(torch::kFloat64);  // the exact result, not torch's fp32 one
    torch::Tensor want = xd * torch::rsqrt(xd.pow(2).mean(-1, true) + 1e-6) * w.to(torch::kFloat64);
    EXPECT_LT(max_abs_diff(model::rms_norm_fp32(x, w, 1e-6), want), 1e-5) << D;
  }
  // silu over the whole float range that matters, extremes included.
  torch::Tensor g = torch::cat({torch::linspace(-100, 100, 20001), torch::tensor({-1e30f, -1e36f, -3e38f, 1e30f, 0.f, -87.5f, 88.5f})});
  torch::Tensor u = torch::randn(g.sizes());
  torch::Tensor want = torch::silu(g.to(torch::kFloat64)) * u.to(torch::kFloat64), got = model::silu_mul(g, u);
  EXPECT_TRUE(torch::allclose(got.to(torch::kFloat64), want, 1e-6, 1e-6)) << max_abs_diff(got, want);
  EXPECT_FALSE(got.isnan().any().item<bool>());
  EXPECT_LT(got.narrow(0, 20001, 3).abs().max().item<float>(), 1e-30f) << "silu of a huge negative gate is 0";
}

TEST(Fused, RowArgmaxLogsumexpEqualsTorch) {
  torch::manual_seed(9);
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t V : {1, 5, 15, 16, 17, 33, 1000, 32000}) {
    for (int trial = 0; trial < 6; ++trial) {
      torch::Tensor x = torch::randn({V}) * 5;
      if (trial == 1 && V > 3) x.index_put_({torch::indexing::Slice(0, V / 2)}, -inf);  // masked vocabulary
      if (trial == 2) x.index_put_({V - 1}, 40.f);                                      // the max in the tail
      if (trial == 3 && V > 17) {  // ties: the same max in two lanes and in the tail; the first wins
        x.index_put_({V - 1}, 50.f), x.index_put_({17}, 50.f), x.index_put_({V / 2}, 50.f);
      }
      if (trial == 4) x = x - 200.f;  // far below zero: lse relative to the max
      if (trial == 5 && V > 1) x.index_put_({0}, 100.f);  // the rest more than 87 under the max
      int64_t arg = -1;
      float lse = 0.f;
      ASSERT_TRUE(kernels::row_argmax_logsumexp(x.data_ptr<float>(), V, &arg, &lse)) << V << " " << trial;
      EXPECT_EQ(arg, x.argmax().item<int64_t>()) << V << " " << trial;
      EXPECT_NEAR(lse, x.logsumexp(0).item<float>(), 2e-5 * std::max(1.f, std::abs(lse))) << V << " " << trial;
    }
  }
  // Rows the kernel declines (the caller takes torch's path): no finite max, or a NaN.
  int64_t arg = 0;
  float lse = 0.f;
  for (float bad : {-inf, inf, std::numeric_limits<float>::quiet_NaN()}) {
    torch::Tensor x = bad == -inf ? torch::full({40}, -inf) : torch::randn({40});
    x.index_put_({23}, bad);
    EXPECT_FALSE(kernels::row_argmax_logsumexp(x.data_ptr<float>(), 40, &arg, &lse)) << bad;
  }
}

TEST(Fused, RopeEqualsTorch) {
  torch::NoGradGuard ng;
  torch::manual_seed(8);
  auto rotate_half = [](const torch::Tensor& x) {
    const int64_t h = x.size(-1) / 2;
    return torch::cat({-x.narrow(-1, h, h), x.narrow(-1, 0, h)}, -1);
  };
  for (int64_t Bc : {1, 3}) {
    torch::Tensor x = torch::randn({3, 5, 4, 8});
    torch::Tensor ang = torch::randn({Bc, 1, 5, 4});
    torch::Tensor cos = torch::cat({ang, ang}, -1).cos(), sin = torch::cat({ang, ang}, -1).sin();
    torch::Tensor got = model::rope_heads_first(x, cos, sin);
    ASSERT_TRUE(got.defined());
    torch::Tensor xt = x.transpose(1, 2);
    EXPECT_EQ(got.sizes(), xt.sizes());
    EXPECT_LT(max_abs_diff(got, xt * cos + rotate_half(xt) * sin), 1e-6) << Bc;
  }
  // With autograd on, torch ops: the same values, and gradients flow.
  torch::Tensor x = torch::randn({2, 5, 4, 8}).requires_grad_(true);
  torch::Tensor ang = torch::randn({1, 1, 5, 4});
  torch::Tensor cos = torch::cat({ang, ang}, -1).cos(), sin = torch::cat({ang, ang}, -1).sin();
  torch::AutoGradMode on(true);
  torch::Tensor got = model::rope_heads_first(x, cos, sin);
  ASSERT_TRUE(got.requires_grad());
  torch::Tensor xt = x.transpose(1, 2);
  EXPECT_LT(max_abs_diff(got, xt * cos + rotate_half(xt) * sin), 1e-6);
}

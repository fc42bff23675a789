// bench/linear: the decode step's linear layers (small preset: hidden 512, intermediate 1408,
// vocab 32000) at the batch sizes of bench/generate, through model::project (the hand-written
// AVX-512 kernel up to kLinearKernelRows rows) against torch::linear (the BLAS), same run, same
// threads. Each weight is larger than the caches when all layers are counted, so every timing
// cycles through enough copies of the weight to leave the caches cold, as in a real step.
//
//   build/bench_linear
#include <chrono>
#include <cstdio>

#include "arlt/base/runtime.h"
#include "arlt/kernels/linear.h"
#include "arlt/model/cpu_kernels.h"
#include "bench_util.h"

using namespace arlt;
using Clock = std::chrono::steady_clock;

int main() {
  const auto& rt = init_runtime();
  torch::NoGradGuard ng;
  std::printf("## bench/linear\n\nmachine: %s, %d threads, BLAS: %s; kernel available: %s\n\n", bench::cpu_name().c_str(), rt.threads,
              rt.blas.c_str(), kernels::linear_available() ? "yes" : "no");
  std::printf("| M x K x N | BLAS ms | GFLOP/s | kernel ms | GFLOP/s | speed-up | max abs diff | dot form GFLOP/s | broadcast form GFLOP/s |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  const int64_t shapes[][3] = {{64, 512, 32000}, {64, 512, 1408}, {64, 1408, 512},  {64, 512, 512},  {64, 512, 128},
                               {48, 512, 1408},  {32, 512, 1408}, {32, 1408, 512},  {16, 512, 1408}, {8, 512, 1408},
                               {1, 512, 1408},   {8, 512, 32000}, {16, 512, 32000}, {128, 512, 1408}, {256, 512, 1408}};
  torch::manual_seed(0);
  for (const auto& s : shapes) {
    const int64_t M = s[0], K = s[1], N = s[2];
    const int64_t copies = std::max<int64_t>(1, (256LL << 20) / (N * K * 4));  // 256 MB of weights in all
    std::vector<torch::Tensor> ws;
    for (int64_t c = 0; c < copies; ++c) ws.push_back(torch::randn({N, K}) / 20);
    torch::Tensor x = torch::randn({M, K});
    auto timed = [&](auto&& f) {
      for (int64_t c = 0; c < copies; ++c) f(ws[c]);
      const int64_t reps = std::max<int64_t>(copies, static_cast<int64_t>(3e9 / (2.0 * M * N * K)));
      auto t0 = Clock::now();
      for (int64_t r = 0; r < reps; ++r) f(ws[r % copies]);
      return std::chrono::duration<double>(Clock::now() - t0).count() / reps;
    };
    model::set_linear_kernel_rows(0);
    const double tb = timed([&](const torch::Tensor& w) { return model::project(x, w); });
    torch::Tensor yb = model::project(x, ws[0]);
    model::set_linear_kernel_rows(1 << 20);
    const double tk = timed([&](const torch::Tensor& w) { return model::project(x, w); });
    torch::Tensor yk = model::project(x, ws[0]);
    // The kernel's two forms, alternated three times (best of each), so drifts in this VM's
    // speed touch both alike.
    double td = 1e9, tq = 1e9;
    for (int round = 0; round < 3; ++round) {
      model::set_linear_broadcast_rows(1 << 20);
      td = std::min(td, timed([&](const torch::Tensor& w) { return model::project(x, w); }));
      model::set_linear_broadcast_rows(0);
      tq = std::min(tq, timed([&](const torch::Tensor& w) { return model::project(x, w); }));
    }
    model::set_linear_broadcast_rows(-1);
    model::set_linear_kernel_rows(model::kLinearKernelRows);
    const double fl = 2.0 * M * N * K;
    std::printf("| %lld x %lld x %lld | %.3f | %.0f | %.3f | %.0f | %.2fx | %.1e | %.0f | %.0f |\n", (long long)M, (long long)K, (long long)N,
                tb * 1e3, fl / tb / 1e9, tk * 1e3, fl / tk / 1e9, tb / tk, (yb - yk).abs().max().item<double>(), fl / td / 1e9,
                fl / tq / 1e9);
    std::fflush(stdout);
  }
}

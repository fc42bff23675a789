#include "arlt/model/linear.h"

#include <atomic>

#include "arlt/kernels/linear.h"
#include "arlt/kernels/parallel.h"

namespace arlt::model {

namespace {
std::atomic<int64_t> g_kernel_rows{kLinearKernelRows};
}  // namespace

void set_linear_kernel_rows(int64_t rows) { g_kernel_rows = rows; }
int64_t linear_kernel_rows() { return g_kernel_rows; }

torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  // Only what the kernel handles exactly as torch::linear does; anything else (autograd, another
  // device, dtype or layout, a bias that broadcasts, a bad shape torch should report) goes to it.
  const bool strided = x.layout() == torch::kStrided && weight.layout() == torch::kStrided && weight.dim() == 2 && x.dim() >= 1;
  const int64_t K = strided ? weight.size(1) : 0, N = strided ? weight.size(0) : 0;
  const int64_t M = K > 0 && x.size(-1) == K ? x.numel() / K : -1;
  const bool bias_ok = !bias.defined() || (bias.layout() == torch::kStrided && bias.dim() == 1 && bias.size(0) == N &&
                                           bias.device().is_cpu() && bias.scalar_type() == torch::kFloat32 && bias.is_contiguous());
  const bool kernel = M > 0 && M <= g_kernel_rows && !at::GradMode::is_enabled() && x.device().is_cpu() && weight.device().is_cpu() &&
                      x.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kFloat32 && weight.is_contiguous() && bias_ok &&
                      kernels::linear_available();
  if (!kernel) return torch::nn::functional::linear(x, weight, bias);
  const torch::Tensor x2 = x.reshape({M, K}).contiguous();
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = N;
  torch::Tensor y = torch::empty({M, N}, x.options());
  kernels::LinearArgs a;
  a.x = x2.data_ptr<float>();
  a.w = weight.data_ptr<float>();
  a.bias = bias.defined() ? bias.data_ptr<float>() : nullptr;
  a.y = y.data_ptr<float>();
  a.M = M, a.K = K, a.N = N, a.ldx = K, a.ldy = N;
  const int64_t grain = kernels::linear_column_grain(), tiles = (N + grain - 1) / grain;
  kernels::parallel_for(0, tiles, 1, [&](int64_t b, int64_t e) { kernels::linear(a, b * grain, std::min(N, e * grain)); });
  return y.view(shape);
}

}  // namespace arlt::model

// The model's linear layers. Inference with few rows on an AVX-512 CPU (the engine's decode
// step, one row per running sequence) runs the hand-written kernels::linear straight on the
// weights; everything else (training, autograd, large batches, GPU, bf16) runs torch::linear.
#pragma once
#include <torch/torch.h>

namespace arlt::model {

// y = x W^T (+ b), x [..., K], weight [N, K], bias [N] or undefined.
torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});
inline torch::Tensor project(const torch::nn::Linear& l, const torch::Tensor& x) { return project(x, l->weight, l->bias); }

// Rows up to which project() uses the kernel (above it the BLAS is faster); 0 turns the kernel
// off, for tests and benches that compare the two. Default kLinearKernelRows.
constexpr int64_t kLinearKernelRows = 128;
void set_linear_kernel_rows(int64_t rows);
int64_t linear_kernel_rows();

}  // namespace arlt::model

// The model's operations for inference (no autograd) on the CPU in fp32, through the hand-written
// kernels of src/arlt/kernels/: the linear layers (up to kLinearKernelRows rows, on AVX-512 CPUs;
// the BLAS is faster above) and one-pass RMSNorm, SiLU-mul, RoPE and per-token log-prob +
// entropy. Anything else (autograd, GPU, bf16, more rows, other shapes) runs torch ops, so
// callers use these everywhere; tests/model/test_cpu_kernels.cpp holds each to torch.
#pragma once
#include <torch/torch.h>

namespace arlt::model {

// y = x W^T (+ b), x [..., K], weight [N, K], bias [N] or undefined.
torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});
inline torch::Tensor project(const torch::nn::Linear& l, const torch::Tensor& x) { return project(x, l->weight, l->bias); }

// project(layer, x) for several layers on the same x (q, k and v): one parallel region over all
// their columns where the kernel takes them all (each layer in the form project() would give
// it, so the outputs are the same), else project() for each.
std::vector<torch::Tensor> project_many(const torch::Tensor& x, const std::vector<const torch::nn::Linear*>& layers);

// silu(gate(x)) * up(x), the input of a gated MLP's down projection. Where project() would take
// the kernel for both, one kernel pass computes both products of each column block and combines
// them (no [rows, intermediate] temporaries, one parallel region); otherwise project() twice and
// silu_mul.
torch::Tensor gated_mlp_input(const torch::Tensor& x, const torch::nn::Linear& gate, const torch::nn::Linear& up);

// The whole MLP, down(silu(gate(x)) * up(x)). Where the kernel takes the broadcast form for both
// passes, the gated product is written transposed, as the down projection reads its input, so
// neither transposes it; otherwise project(down, gated_mlp_input(x, gate, up)).
torch::Tensor gated_mlp(const torch::Tensor& x, const torch::nn::Linear& gate, const torch::nn::Linear& up,
                        const torch::nn::Linear& down);
// How many gated_mlp calls took the fused path so far (its result equals the two-step one bit
// for bit, so tests tell the paths apart by this).
int64_t gated_mlp_fused_calls();

// An uninitialised CPU tensor in memory the kernel may back with 2 MB pages (MADV_HUGEPAGE; THP
// in "madvise" mode, Debian's default, does nothing without it). The decode step streams the
// weights and the KV cache from memory every step; with 4 KB pages the TLB misses and the
// hardware prefetchers stop at every page boundary. Below 2 MB, or on another device, torch::empty.
torch::Tensor empty_on_huge_pages(at::IntArrayRef sizes, const torch::TensorOptions& opts);

// Moves every CPU parameter of 2 MB or more into such memory: same values, same parameter
// objects (set_data), so call it before anything holds the old storage (a view, an optimizer
// holding a copy). The Transformer does it at construction (a one-time copy of each such weight;
// a model later moved to a GPU leaves it behind). torch::load and Module::clone allocate anew,
// on 4 KB pages: slower decode, same results.
void place_parameters_on_huge_pages(torch::nn::Module& module);

// Rows up to which project() uses the kernel; 0 turns the kernel off, for tests and benches that
// compare the two. Default kLinearKernelRows.
constexpr int64_t kLinearKernelRows = 128;
void set_linear_kernel_rows(int64_t rows);
// Forces the kernel's broadcast form (x transposed) from this many rows on, whatever the shape;
// -1 restores the kernel's own choice (kernels::linear_prefers_broadcast). For tests and benches.
void set_linear_broadcast_rows(int64_t rows);

// x * rsqrt(mean(x^2, -1) + eps) * weight, x [..., D] fp32.
torch::Tensor rms_norm_fp32(const torch::Tensor& x, const torch::Tensor& weight, double eps);
// silu(gate) * up.
torch::Tensor silu_mul(const torch::Tensor& gate, const torch::Tensor& up);
// Rotary embedding (Hugging Face's rotate-half form) of x [B, T, H, D] with cos, sin
// [Bc, 1, T, D] (Bc = B or 1), returned as [B, H, T, D].
torch::Tensor rope_heads_first(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

// log softmax(logits / temperature) at `target` (temperature <= 0: no scaling, as score_tokens
// always did) and, when `entropy` is asked, the entropy of that distribution: logits [..., V],
// target [...] int64 with the leading shape of logits; {logp, entropy} shaped like target
// (entropy undefined unless asked). The one exception to falling back inside: returns {} (both
// undefined) where the kernel does not apply (autograd on, not CPU fp32 logits and CPU int64
// target, V = 0, other shapes), because the caller's torch path differs with autograd.
std::pair<torch::Tensor, torch::Tensor> token_logp_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                                           double temperature, bool entropy);

}  // namespace arlt::model

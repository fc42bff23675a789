// The model's operations for inference (no autograd) on the CPU in fp32, through the hand-written
// kernels of src/arlt/kernels/ (this file and token_logp.h are the only way from engine/ and
// train/ to kernels/): the linear layers (up to kLinearKernelRows rows, on AVX-512 CPUs;
// the BLAS is faster above) and one-pass RMSNorm, SiLU-mul, RoPE and per-token log-prob +
// entropy. Anything else (autograd, GPU, bf16, more rows, other shapes) runs torch ops, so
// callers use these everywhere; tests/model/test_cpu_kernels.cpp holds each to torch.
#pragma once
#include <torch/torch.h>

#include <functional>

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

// ---- sampling and attention helpers for the engine ---------------------------------------

// lse = x.logsumexp(1) and argmax = x.argmax(1) (each when its pointer is given) of x [n, V]: one
// fused pass per row on CPU fp32, torch's ops for other tensors and for the rows the kernel
// declines (a non-finite max or a NaN).
void row_argmax_logsumexp(const torch::Tensor& x, torch::Tensor* lse, torch::Tensor* argmax);

// f(b, e) over chunks of [begin, end) on the threads torch uses (kernels/parallel.h).
void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& f);

// Decode attention over a slot KV cache, fp32 CPU: for query tokens [lo, hi) of q [N, H, D],
// out[i] = softmax(scale q[i] . k[slot[i], :, 0..pos[i]]) v[...] with keys and values
// [slots, KV, L, D] (grouped queries: head h reads KV head h / (H / KV)). slot and pos are CPU
// int64 [N]. Split across the threads by (token, KV head).
void slot_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& slot,
                    const torch::Tensor& pos, float scale, torch::Tensor& out, int64_t lo, int64_t hi);

}  // namespace arlt::model

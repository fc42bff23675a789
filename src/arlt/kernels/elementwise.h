// Fused row-wise operations of the decode step, each one pass over memory instead of the five or
// six torch ops (and parallel regions) it replaces. Plain pointers, no torch; rows are
// independent, so callers split [0, rows) across threads.
#pragma once
#include <cstdint>

namespace arlt::kernels {

// out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w, rows [begin, end) of length D, contiguous.
void rms_norm(const float* x, const float* w, float eps, int64_t D, float* out, int64_t begin, int64_t end);

// out[i] = silu(gate[i]) * up[i] = gate[i] / (1 + exp(-gate[i])) * up[i], for i in [begin, end).
void silu_mul(const float* gate, const float* up, float* out, int64_t begin, int64_t end);

// Rotary embedding, Hugging Face's rotate-half form, on x [B, T, H, D] (contiguous) with cos and
// sin [Bc, T, D] (Bc = B, or 1 for all rows): out[b,t,h,d] = x[d] cos[d] - x[d + D/2] sin[d] for
// d < D/2, x[d] cos[d] + x[d - D/2] sin[d] above. Items are the (b, t) in [begin, end).
void rope(const float* x, const float* cos, const float* sin, int64_t B, int64_t T, int64_t H, int64_t D, bool cos_batched,
          float* out, int64_t begin, int64_t end);

// For the rows [begin, end) of logits [R, V] (contiguous), with q = softmax(logits[r] * inv_t):
// logp[r] = log q[target[r]] and, when `entropy` is not null, entropy[r] = -sum q log q. Two
// passes over each row, nothing allocated; a -inf logit counts as probability e^-87 relative to
// the largest (about 1.6e-38, nothing in a sum). Throws
// std::out_of_range for a target outside [0, V).
void token_logp_entropy(const float* logits, int64_t V, float inv_t, const int64_t* target, float* logp, float* entropy,
                        int64_t begin, int64_t end);

// For one row x[0, V): *argmax = the first index of its largest value and *lse = log sum exp(x),
// in two vectorised passes. Returns false, leaving *lse unset (*argmax may be written), when the
// row's max is not finite or a value is NaN (the caller then takes torch's ops, which define
// those cases).
bool row_argmax_logsumexp(const float* x, int64_t V, int64_t* argmax, float* lse);

}  // namespace arlt::kernels

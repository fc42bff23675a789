// Masked reductions over the response tokens, shared by the estimators and the losses.
// A mask is 1 on tokens the policy generated and 0 on prompt, observation and padding tokens;
// entries under a 0 never reach the result, even when they are inf or nan.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace arlt::algo {

// sum_i x_i * m_i over the entries where m_i != 0 (a scalar tensor). x and mask have one shape.
torch::Tensor masked_sum(const torch::Tensor& x, const torch::Tensor& mask);

// masked_sum(x, m) / sum(m); 0 when the mask is empty, so an all-padding batch gives no nan.
torch::Tensor masked_mean(const torch::Tensor& x, const torch::Tensor& mask);

// (x - mean) / sqrt(var + 1e-8) over the masked entries, var Bessel-corrected (n / (n-1)) as in
// verl; shift_mean = false adds the mean back (only the scale changes). Result * mask.
// With fewer than 2 masked entries the variance is taken as 0 (verl raises instead).
torch::Tensor masked_whiten(const torch::Tensor& x, const torch::Tensor& mask, bool shift_mean = true);

namespace detail {
// Throws arlt::Error "unknown <what> 'name' (valid: a, b, c)".
[[noreturn]] void throw_unknown(const std::string& what, const std::string& name, const std::vector<std::string>& valid);
// Throws arlt::Error naming `what` unless t is defined and has exactly `shape` (-1 = any size).
void expect_shape(const torch::Tensor& t, const std::string& what, const std::vector<int64_t>& shape);
std::string shape_str(const torch::Tensor& t);
}  // namespace detail

}  // namespace arlt::algo

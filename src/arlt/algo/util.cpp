#include "arlt/algo/util.h"

#include <sstream>

#include "arlt/base/error.h"

namespace arlt::algo {

namespace {

void expect_same_shape(const torch::Tensor& x, const torch::Tensor& mask, const char* fn) {
  if (!x.defined() || !mask.defined()) throw Error(std::string(fn) + ": x and mask must be defined tensors");
  if (x.sizes() != mask.sizes())
    throw Error(std::string(fn) + ": mask has shape " + detail::shape_str(mask) + ", expected the shape of x " +
                detail::shape_str(x));
}

// where() rather than a plain product: 0 * inf and 0 * nan on padding would poison the sum.
torch::Tensor masked_values(const torch::Tensor& x, const torch::Tensor& mask) {
  torch::Tensor m = mask.to(x.scalar_type());
  return torch::where(m != 0, x * m, torch::zeros_like(x));
}

// The denominator of a masked mean: the mask's total, or 1 when it is 0 (the sum is 0 then too).
torch::Tensor safe_count(const torch::Tensor& m) {
  torch::Tensor n = m.sum();
  return torch::where(n != 0, n, torch::ones_like(n));
}

}  // namespace

torch::Tensor masked_sum(const torch::Tensor& x, const torch::Tensor& mask) {
  expect_same_shape(x, mask, "masked_sum");
  return masked_values(x, mask).sum();
}

torch::Tensor masked_mean(const torch::Tensor& x, const torch::Tensor& mask) {
  expect_same_shape(x, mask, "masked_mean");
  return masked_values(x, mask).sum() / safe_count(mask.to(x.scalar_type()));
}

torch::Tensor masked_whiten(const torch::Tensor& x, const torch::Tensor& mask, bool shift_mean) {
  expect_same_shape(x, mask, "masked_whiten");
  torch::Tensor m = mask.to(x.scalar_type());
  torch::Tensor n = m.sum();
  torch::Tensor mean = masked_mean(x, m);
  torch::Tensor var = masked_mean((x - mean).square(), m);
  // Bessel's n / (n-1); undefined for n <= 1, where the deviation is 0 anyway.
  var = var * torch::where(n > 1, n / (n - 1), torch::ones_like(n));
  torch::Tensor w = (x - mean) * torch::rsqrt(var + 1e-8);
  if (!shift_mean) w = w + mean;
  return masked_values(w, m);
}

namespace detail {

void throw_unknown(const std::string& what, const std::string& name, const std::vector<std::string>& valid) {
  std::string list;
  for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
  throw Error("unknown " + what + " '" + name + "' (valid: " + list + ")");
}

std::string shape_str(const torch::Tensor& t) {
  if (!t.defined()) return "(undefined)";
  std::ostringstream s;
  s << "[";
  for (int64_t i = 0; i < t.dim(); ++i) s << (i ? ", " : "") << t.size(i);
  s << "]";
  return s.str();
}

void expect_shape(const torch::Tensor& t, const std::string& what, const std::vector<int64_t>& shape) {
  bool ok = t.defined() && t.dim() == static_cast<int64_t>(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || t.size(static_cast<int64_t>(i)) == shape[i];
  if (ok) return;
  std::string want = "[";
  for (size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + (shape[i] < 0 ? std::string("*") : std::to_string(shape[i]));
  throw Error(what + " has shape " + shape_str(t) + ", expected " + want + "]");
}

}  // namespace detail

}  // namespace arlt::algo

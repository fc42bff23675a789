// Outcome estimators (grpo, rloo) turn one number per response into one advantage broadcast
// over its tokens; token estimators (reinforce_plus_plus(_baseline), gae) place the score on the
// last generated token and run a backward recursion. The recursions and the group statistics
// run on the CPU in double: B*T is small next to a forward pass, the loops read top to bottom,
// and the result does not depend on the device.
#include "arlt/algo/advantages.h"

#include <cmath>
#include <map>

#include "arlt/algo/util.h"
#include "arlt/base/error.h"
#include "arlt/base/registry.h"

namespace arlt::algo {

namespace {

torch::Tensor cpu_double(const torch::Tensor& t) { return t.detach().to(torch::kCPU, torch::kDouble).contiguous(); }

// Inputs as [B] / [B,T] CPU doubles; padding entries of token_rewards and values are zeroed so
// that nothing under a 0 mask (even nan) reaches a sum.
struct Batch {
  int64_t B = 0, T = 0;
  torch::Tensor scores, mask, token_rewards, values;
  torch::ScalarType dtype = torch::kFloat32;
  torch::Device device = torch::kCPU;
};

Batch load(const AdvantageInput& in) {
  Batch b;
  b.scores = cpu_double(in.scores);
  b.mask = (cpu_double(in.mask) != 0).to(torch::kDouble);
  b.B = b.mask.size(0), b.T = b.mask.size(1);
  auto zero_padding = [&](const torch::Tensor& t) {
    return torch::where(b.mask != 0, cpu_double(t), torch::zeros_like(b.mask));
  };
  b.token_rewards = in.token_rewards.defined() ? zero_padding(in.token_rewards) : torch::zeros_like(b.mask);
  if (in.values.defined()) b.values = zero_padding(in.values);
  b.dtype = at::isFloatingType(in.scores.scalar_type()) ? in.scores.scalar_type() : torch::kFloat32;
  b.device = in.mask.device();
  return b;
}

// Back to the caller's device and dtype, 0 where the mask is 0.
torch::Tensor finish(const Batch& b, const torch::Tensor& x) {
  return torch::where(b.mask != 0, x, torch::zeros_like(x)).to(b.device, b.dtype);
}

// One number per row, broadcast over the row's generated tokens.
torch::Tensor broadcast(const Batch& b, const std::vector<double>& per_row) {
  return torch::tensor(per_row, torch::kDouble).view({b.B, 1}) * b.mask;
}

// Per row: the size, sum, mean and Bessel-corrected std of the row's group (ids are arbitrary).
struct GroupStats {
  std::vector<int64_t> size;
  std::vector<double> sum, mean, std;
};

GroupStats group_stats(const std::vector<double>& s, const torch::Tensor& group) {
  const int64_t B = static_cast<int64_t>(s.size());
  torch::Tensor g = group.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t* gid = g.data_ptr<int64_t>();
  std::map<int64_t, std::vector<int64_t>> members;
  for (int64_t i = 0; i < B; ++i) members[gid[i]].push_back(i);
  GroupStats st{std::vector<int64_t>(B), std::vector<double>(B), std::vector<double>(B), std::vector<double>(B)};
  for (const auto& [id, rows] : members) {
    const auto n = static_cast<int64_t>(rows.size());
    double sum = 0, sq = 0;
    for (int64_t i : rows) sum += s[i];
    const double mean = sum / static_cast<double>(n);
    for (int64_t i : rows) sq += (s[i] - mean) * (s[i] - mean);
    const double sd = n > 1 ? std::sqrt(sq / static_cast<double>(n - 1)) : 0.0;
    for (int64_t i : rows) st.size[i] = n, st.sum[i] = sum, st.mean[i] = mean, st.std[i] = sd;
  }
  return st;
}

std::vector<double> to_vector(const torch::Tensor& t /*[B] cpu double contiguous*/) {
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

// Score plus the masked sum of the token terms: verl's outcome estimators sum
// token_level_rewards (score and -beta*KL) over the response, so a KL-in-reward counts here too.
std::vector<double> total_scores(const Batch& b) { return to_vector(b.scores + b.token_rewards.sum(1)); }

// r_t = token_rewards_t + [t is the row's last generated token] * score_i.
torch::Tensor token_level_rewards(const Batch& b, const torch::Tensor& scores /*[B]*/) {
  torch::Tensor r = b.token_rewards.clone();
  auto ra = r.accessor<double, 2>();
  auto ma = b.mask.accessor<double, 2>();
  auto sa = scores.accessor<double, 1>();
  for (int64_t i = 0; i < b.B; ++i)
    for (int64_t t = b.T - 1; t >= 0; --t)
      if (ma[i][t] != 0) {
        ra[i][t] += sa[i];
        break;
      }
  return r;
}

// G_t = r_t + gamma * G_next, where next is the following generated token: tokens under a 0 mask
// (tool observations) neither add a reward nor count as a step, and do not cut the sum.
torch::Tensor discounted_returns(const Batch& b, const torch::Tensor& r, double gamma) {
  torch::Tensor out = torch::zeros_like(r);
  auto oa = out.accessor<double, 2>();
  auto ra = r.accessor<double, 2>();
  auto ma = b.mask.accessor<double, 2>();
  for (int64_t i = 0; i < b.B; ++i) {
    double running = 0;
    for (int64_t t = b.T - 1; t >= 0; --t)
      if (ma[i][t] != 0) oa[i][t] = running = ra[i][t] + gamma * running;
  }
  return out;
}

// grpo: A_i = (s_i - mean_g) / (std_g + eps), or s_i - mean_g without std (Dr.GRPO); a group of
// one has mean 0 and std 1 (verl). std is Bessel-corrected (torch.std).
AdvantageOutput grpo(const Batch& b, const AdvantageInput& in, const AdvantageOptions& opt) {
  std::vector<double> s = total_scores(b);
  GroupStats g = group_stats(s, in.group);
  std::vector<double> a(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const double mean = g.size[i] > 1 ? g.mean[i] : 0.0, sd = g.size[i] > 1 ? g.std[i] : 1.0;
    a[i] = opt.norm_by_std ? (s[i] - mean) / (sd + opt.eps) : s[i] - mean;
  }
  torch::Tensor adv = finish(b, broadcast(b, a));
  return {adv, adv};
}

// rloo: A_i = s_i - (sum_g - s_i) / (n_g - 1), the mean of the other members; n_g = 1: A_i = s_i.
AdvantageOutput rloo(const Batch& b, const AdvantageInput& in, const AdvantageOptions&) {
  std::vector<double> s = total_scores(b);
  GroupStats g = group_stats(s, in.group);
  std::vector<double> a(s.size());
  for (size_t i = 0; i < s.size(); ++i)
    a[i] = g.size[i] > 1 ? s[i] - (g.sum[i] - s[i]) / static_cast<double>(g.size[i] - 1) : s[i];
  torch::Tensor adv = finish(b, broadcast(b, a));
  return {adv, adv};
}

// reinforce_plus_plus: G = discounted return of the token rewards (score on the last token);
// A = whiten(G) over the whole batch, the batch being REINFORCE++'s baseline.
AdvantageOutput reinforce_plus_plus(const Batch& b, const AdvantageInput&, const AdvantageOptions& opt) {
  torch::Tensor G = discounted_returns(b, token_level_rewards(b, b.scores), opt.gamma);
  return {finish(b, masked_whiten(G, b.mask)), finish(b, G)};
}

// reinforce_plus_plus_baseline: as reinforce_plus_plus with s_i - mean_g (mean 0 for a group of
// one, verl) as the score. With gamma = 1 and no token terms, G is s_i - mean_g on every token.
AdvantageOutput reinforce_plus_plus_baseline(const Batch& b, const AdvantageInput& in, const AdvantageOptions& opt) {
  std::vector<double> s = to_vector(b.scores);
  GroupStats g = group_stats(s, in.group);
  for (size_t i = 0; i < s.size(); ++i) s[i] -= g.size[i] > 1 ? g.mean[i] : 0.0;
  torch::Tensor G = discounted_returns(b, token_level_rewards(b, torch::tensor(s, torch::kDouble)), opt.gamma);
  return {finish(b, masked_whiten(G, b.mask)), finish(b, G)};
}

// gae: delta_t = r_t + gamma * V_next - V_t, A_t = delta_t + gamma * lam * A_next, where next is
// the following generated token (V = 0, A = 0 after the last one; observation tokens skipped, as
// verl). returns = A + V; advantages = whiten(A).
AdvantageOutput gae(const Batch& b, const AdvantageInput& in, const AdvantageOptions& opt) {
  torch::Tensor r = token_level_rewards(b, b.scores);
  torch::Tensor A = torch::zeros_like(r);
  auto aa = A.accessor<double, 2>();
  auto ra = r.accessor<double, 2>();
  auto va = b.values.accessor<double, 2>();
  auto ma = b.mask.accessor<double, 2>();
  for (int64_t i = 0; i < b.B; ++i) {
    double next_value = 0, next_adv = 0;
    for (int64_t t = b.T - 1; t >= 0; --t) {
      if (ma[i][t] == 0) continue;
      const double delta = ra[i][t] + opt.gamma * next_value - va[i][t];
      aa[i][t] = next_adv = delta + opt.gamma * opt.lam * next_adv;
      next_value = va[i][t];
    }
  }
  return {finish(b, masked_whiten(A, b.mask)), finish(b, A + b.values)};
}

// A built-in: the Batch form wrapped in the public signature.
template <AdvantageOutput (*F)(const Batch&, const AdvantageInput&, const AdvantageOptions&)>
AdvantageOutput builtin(const AdvantageInput& in, const AdvantageOptions& opt) {
  return F(load(in), in, opt);
}

Registry<AdvantageEstimator>& registry() {
  static Registry<AdvantageEstimator> r("advantage estimator",
                                        {
                                            {"gae", {builtin<gae>, {"gamma", "lam"}, false, true}},
                                            {"grpo", {builtin<grpo>, {"norm_by_std", "eps"}, true, false}},
                                            {"reinforce_plus_plus", {builtin<reinforce_plus_plus>, {"gamma"}, false, false}},
                                            {"reinforce_plus_plus_baseline", {builtin<reinforce_plus_plus_baseline>, {"gamma"}, true, false}},
                                            {"rloo", {builtin<rloo>, {}, true, false}},
                                        });
  return r;
}

void validate(const AdvantageEstimator& est, const std::string& name, const AdvantageInput& in, const AdvantageOptions& opt) {
  using detail::expect_shape;
  if (!in.mask.defined() || in.mask.dim() != 2)
    throw Error("advantage input: mask has shape " + detail::shape_str(in.mask) + ", expected [B, T]");
  const int64_t B = in.mask.size(0), T = in.mask.size(1);
  expect_shape(in.scores, "advantage input: scores", {B});
  expect_shape(in.group, "advantage input: group", {B});
  if (at::isFloatingType(in.group.scalar_type()) || at::isComplexType(in.group.scalar_type()))
    throw Error("advantage input: group must hold integer ids (int64), got dtype " +
                std::string(c10::toString(in.group.scalar_type())));
  if (in.token_rewards.defined()) expect_shape(in.token_rewards, "advantage input: token_rewards", {B, T});
  if (est.needs_values) expect_shape(in.values, "advantage input: values (needed by '" + name + "')", {B, T});
  if (!(opt.gamma >= 0 && opt.gamma <= 1)) throw Error("advantage option gamma must be in [0, 1], got " + std::to_string(opt.gamma));
  if (!(opt.lam >= 0 && opt.lam <= 1)) throw Error("advantage option lam must be in [0, 1], got " + std::to_string(opt.lam));
  if (!(opt.eps >= 0) || !std::isfinite(opt.eps)) throw Error("advantage option eps must be >= 0, got " + std::to_string(opt.eps));
}

}  // namespace

void register_advantage_estimator(const std::string& name, AdvantageEstimator estimator) {
  if (!estimator.fn) throw Error("register advantage estimator: \"" + name + "\" has an empty function");
  registry().add(name, std::move(estimator));
}

AdvantageEstimator advantage_estimator(const std::string& name) { return registry().get(name); }

AdvantageOutput compute_advantages(const std::string& name, const AdvantageInput& in, const AdvantageOptions& opt) {
  const AdvantageEstimator est = registry().get(name);
  validate(est, name, in, opt);
  torch::NoGradGuard no_grad;
  return est.fn(in, opt);
}

std::vector<std::string> advantage_estimators() { return registry().names(); }

}  // namespace arlt::algo

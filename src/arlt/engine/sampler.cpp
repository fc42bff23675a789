#include "arlt/engine/sampler.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "arlt/base/error.h"
#include "arlt/model/cpu_kernels.h"
#include "arlt/model/token_logp.h"

namespace arlt::engine {

void SamplingParams::validate() const {
  if (!(temperature >= 0) || !std::isfinite(temperature)) throw Error("temperature must be >= 0, got " + std::to_string(temperature));
  if (top_k < 0) throw Error("top_k must be >= 0 (0 = off), got " + std::to_string(top_k));
  if (!(top_p > 0 && top_p <= 1)) throw Error("top_p must be in (0, 1], got " + std::to_string(top_p));
  if (!(min_p >= 0 && min_p < 1)) throw Error("min_p must be in [0, 1), got " + std::to_string(min_p));
  if (!(repetition_penalty > 0) || !std::isfinite(repetition_penalty))
    throw Error("repetition_penalty must be > 0, got " + std::to_string(repetition_penalty));
  if (!std::isfinite(presence_penalty)) throw Error("presence_penalty must be finite");
  if (max_tokens <= 0) throw Error("max_tokens must be > 0, got " + std::to_string(max_tokens));
  if (n < 1) throw Error("n must be >= 1, got " + std::to_string(n));
  if (logprobs < 0 || logprobs > 20) throw Error("logprobs must be in [0, 20], got " + std::to_string(logprobs));
  for (const auto& s : stop)
    if (s.empty()) throw Error("stop strings must not be empty");
}

torch::Tensor process_logits(const torch::Tensor& logits, const SamplingParams& p, const std::vector<int64_t>& history) {
  torch::Tensor x = logits.to(torch::kFloat32).clone();
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (!history.empty() && (p.repetition_penalty != 1.0 || p.presence_penalty != 0.0)) {
    std::unordered_map<int64_t, int> seen;
    for (int64_t t : history) ++seen[t];
    auto acc = x.accessor<float, 1>();
    for (const auto& [t, count] : seen) {
      if (t < 0 || t >= x.size(0)) continue;
      float v = acc[t];
      if (p.repetition_penalty != 1.0) v = v > 0 ? v / static_cast<float>(p.repetition_penalty) : v * static_cast<float>(p.repetition_penalty);
      v -= static_cast<float>(p.presence_penalty);
      acc[t] = v;
    }
  }
  x = model::temperature_scaled(x, p.temperature);
  const int64_t V = x.size(0);
  if (p.top_k > 0 && p.top_k < V) {
    const float kth = std::get<0>(x.topk(p.top_k)).min().item<float>();
    x.masked_fill_(x < kth, neg_inf);
  }
  if (p.top_p < 1.0) {
    auto [sorted, idx] = x.sort(/*dim=*/0, /*descending=*/true);
    torch::Tensor probs = sorted.softmax(0);
    // Keep the smallest prefix whose mass reaches top_p (the first token always stays).
    torch::Tensor remove = (probs.cumsum(0) - probs) >= p.top_p;
    x.index_put_({idx.masked_select(remove)}, neg_inf);
  }
  if (p.min_p > 0.0) {
    torch::Tensor probs = x.softmax(0);
    x.masked_fill_(probs < probs.max() * p.min_p, neg_inf);
  }
  return x;
}

static int64_t draw_from(const float* probs, int64_t V, at::Generator& gen) {
  double u;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    u = static_cast<double>(gen.get<at::CPUGeneratorImpl>()->random64() >> 11) * 0x1.0p-53;  // [0, 1)
  }
  double total = 0;
  for (int64_t i = 0; i < V; ++i) total += probs[i];
  if (!(total > 0) || !std::isfinite(total)) throw Error("sampling: the distribution has no finite positive mass");
  // The first token whose cumulative mass passes u * total: never a zero-probability one.
  const double target = u * total;
  double acc = 0;
  int64_t last = -1;
  for (int64_t i = 0; i < V; ++i) {
    if (probs[i] <= 0) continue;
    acc += probs[i];
    last = i;
    if (acc > target) return i;
  }
  return last;  // rounding: u * total at the very top
}

SampleResult sample(const torch::Tensor& logits, const SamplingParams& p, const std::vector<int64_t>& history,
                    at::Generator& gen) {
  SampleResult r;
  torch::Tensor raw_lp = logits.to(torch::kFloat32).log_softmax(0);
  torch::Tensor processed = process_logits(logits, p, history);
  if (p.temperature == 0.0) {
    r.token = processed.argmax().item<int64_t>();
  } else {
    torch::Tensor lp = processed.log_softmax(0);
    torch::Tensor probs = lp.exp().contiguous();
    r.token = draw_from(probs.data_ptr<float>(), probs.size(0), gen);
    r.processed_logprob = lp[r.token].item<double>();
  }
  r.logprob = raw_lp[r.token].item<double>();
  if (p.logprobs > 0) {
    auto [vals, idx] = raw_lp.topk(std::min<int64_t>(p.logprobs, raw_lp.size(0)));
    for (int64_t i = 0; i < vals.size(0); ++i) r.top.emplace_back(idx[i].item<int64_t>(), vals[i].item<double>());
  }
  return r;
}

namespace {
bool temperature_only(const SamplingParams& p, int64_t V) {
  return (p.top_k == 0 || p.top_k >= V) && p.top_p >= 1.0 && p.min_p <= 0.0 && p.repetition_penalty == 1.0 &&
         p.presence_penalty == 0.0;
}
}  // namespace

std::vector<SampleResult> sample_rows(const torch::Tensor& logits_in, const std::vector<RowSampling>& rows) {
  const int64_t B = static_cast<int64_t>(rows.size()), V = logits_in.size(1);
  std::vector<SampleResult> out(B);
  torch::Tensor logits = logits_in.to(torch::kFloat32);
  std::vector<int64_t> simple;  // rows sampled together
  std::vector<double> temps;    // their temperatures (1 for greedy rows, which take the argmax)
  bool any_sampled = false;
  for (int64_t i = 0; i < B; ++i) {
    const SamplingParams& p = *rows[i].params;
    if (!temperature_only(p, V)) {
      out[i] = sample(logits[i], p, *rows[i].history, *rows[i].gen);
      continue;
    }
    simple.push_back(i);
    temps.push_back(p.temperature > 0 ? p.temperature : 1.0);
    any_sampled |= p.temperature > 0;
  }
  if (simple.empty()) return out;
  const int64_t n = static_cast<int64_t>(simple.size());
  torch::Tensor x = n == B ? logits : logits.index_select(0, torch::tensor(simple, torch::kInt64));
  const bool all_t1 = std::all_of(temps.begin(), temps.end(), [](double t) { return static_cast<float>(t) == 1.f; });
  const bool any_greedy = std::any_of(simple.begin(), simple.end(), [&](int64_t i) { return rows[i].params->temperature == 0; });
  // x / T as sample() computes it (not x * (1/T), which can differ in the last bit); at T = 1
  // that is the raw log-softmax itself. Otherwise the raw log-probs need only the row's
  // log-sum-exp (a full raw log-softmax row only for rows that report top log-probs).
  torch::Tensor lp = any_sampled ? model::temperature_log_softmax(x, temps) : torch::Tensor();
  const bool need_lse = !(all_t1 && any_sampled);
  torch::Tensor lse, argmax;
  if (need_lse || any_greedy) model::row_argmax_logsumexp(x, need_lse ? &lse : nullptr, any_greedy ? &argmax : nullptr);
  torch::Tensor probs = any_sampled ? lp.exp().contiguous() : torch::Tensor();
  std::vector<int64_t> tokens(n);
  // One uniform draw per row from the row's own stream and an inverse-CDF scan (rows in parallel).
  model::parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) {
      const SamplingParams& p = *rows[simple[j]].params;
      tokens[j] = p.temperature > 0 ? draw_from(probs.data_ptr<float>() + j * V, V, *rows[simple[j]].gen)
                                    : argmax.data_ptr<int64_t>()[j];
    }
  });
  torch::Tensor tok = torch::tensor(tokens, torch::kInt64).unsqueeze(1);
  torch::Tensor raw_at = (lse.defined() ? x.gather(1, tok).squeeze(1) - lse : lp.gather(1, tok).squeeze(1)).contiguous();
  torch::Tensor lp_at = any_sampled ? lp.gather(1, tok).squeeze(1).contiguous() : torch::Tensor();
  for (int64_t j = 0; j < n; ++j) {
    const SamplingParams& p = *rows[simple[j]].params;
    SampleResult& sr = out[simple[j]];
    sr.token = tokens[j];
    sr.logprob = raw_at.data_ptr<float>()[j];
    sr.processed_logprob = p.temperature > 0 ? lp_at.data_ptr<float>()[j] : 0.0;  // greedy: 0, as in sample()
    if (p.logprobs > 0) {
      auto [vals, ids] = x[j].log_softmax(0).topk(std::min<int64_t>(p.logprobs, V));
      for (int64_t t = 0; t < vals.size(0); ++t) sr.top.emplace_back(ids[t].item<int64_t>(), vals[t].item<double>());
    }
  }
  return out;
}

}  // namespace arlt::engine

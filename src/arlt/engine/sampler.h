// Sampling: from a row of logits to the next token, with the log-probabilities RL needs.
// Pure functions on tensors plus a per-sequence seeded random stream, so a request with the
// same seed gives the same tokens whatever else shares its batch.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace arlt::engine {

struct SamplingParams {
  double temperature = 1.0;         // 0 = greedy
  int64_t top_k = 0;                // 0 = off
  double top_p = 1.0;               // (0, 1]
  double min_p = 0.0;               // [0, 1)
  double repetition_penalty = 1.0;  // > 0; 1 = off (HF/vLLM: divide positive logits, multiply negative)
  double presence_penalty = 0.0;    // subtracted once from every token already generated
  int64_t max_tokens = 16;
  std::vector<int64_t> stop_token_ids;
  std::vector<std::string> stop;    // stop strings, matched on decoded text
  int64_t n = 1;
  uint64_t seed = 0;
  int64_t logprobs = 0;             // top-k log-probs per token to report (0 = none)
  bool ignore_eos = false;          // the model's eos tokens do not end the sequence (benchmarks)

  // Throws arlt::Error naming the field for an impossible value.
  void validate() const;
};

struct SampleResult {
  int64_t token = -1;
  double logprob = 0.0;            // log p(token) under the model (raw logits, before any processing)
  double processed_logprob = 0.0;  // log p(token) under the distribution sampled from
  std::vector<std::pair<int64_t, double>> top;  // top `logprobs` raw log-probs, best first
};

// Applies the penalties, temperature, top-k, top-p and min-p to one row of logits [V]
// (float32) and returns the processed logits (masked entries -inf). `history` holds the tokens
// the penalties count (the generated ones).
torch::Tensor process_logits(const torch::Tensor& logits, const SamplingParams& p, const std::vector<int64_t>& history);

// Draws the next token of one sequence from its own generator.
SampleResult sample(const torch::Tensor& logits, const SamplingParams& p, const std::vector<int64_t>& history,
                    at::Generator& gen);

// One row of a batched draw.
struct RowSampling {
  const SamplingParams* params;
  const std::vector<int64_t>* history;
  at::Generator* gen;
};
// Draws the next token of every row of logits [B,V]. Rows that need only a temperature (no
// top-k/p, min-p or penalties: the RL case) share one batched log-softmax; the others go
// through sample(). Each row still draws from its own generator, so its tokens do not depend on
// what else is in the batch.
std::vector<SampleResult> sample_rows(const torch::Tensor& logits, const std::vector<RowSampling>& rows);

}  // namespace arlt::engine

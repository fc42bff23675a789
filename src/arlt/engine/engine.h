// Engine: generates completions for many requests at once with continuous batching. Every
// sequence owns a row ("slot") of a preallocated KV cache. Each step runs one forward over a
// ragged batch: one token for every running sequence (decode) plus chunks of the prompts being
// prefilled, up to a token budget; the n samples of a prompt share its prefill (its cache row is
// copied to their slots). Finished sequences are retired and their slots reused at once. The
// model is the one the trainer updates: no copy of the weights.
#pragma once
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "arlt/engine/sampler.h"
#include "arlt/model/transformer.h"

namespace arlt::tokenizer {
class Tokenizer;
}

namespace arlt::engine {

class SlotCache;  // engine/slot_cache.h

struct EngineOptions {
  int64_t max_seqs = 64;        // slots in the KV cache (sequences decoding at once)
  int64_t max_seq_len = 0;      // positions per slot (0 = the model's max_position_embeddings)
  int64_t kv_budget_bytes = 0;  // caps max_seqs * max_seq_len by memory (0 = no cap)
  // Tokens one forward step may run: a decode token per running sequence first, then prompt
  // chunks (a long prompt is prefilled over several steps). 0 = max(2048, max_seqs); otherwise
  // at least max_seqs.
  int64_t max_batch_tokens = 0;
};

struct Request {
  std::vector<int64_t> prompt;
  SamplingParams params;
  std::string id;
  // Keep each sample's KV cache when it finishes, so that extend() can append tokens (a tool's
  // observation) and resume generation without recomputing what is cached.
  bool keep = false;
};

struct Completion {
  std::string request_id;
  int64_t index = 0;                  // which of the request's n samples
  std::vector<int64_t> tokens;        // generated ids (the stop token included when one ended it)
  std::vector<double> logprobs;       // log p(token) under the model, per generated token
  std::vector<double> processed_logprobs;  // under the sampled (temperature, top-k/p) distribution
  std::vector<std::vector<std::pair<int64_t, double>>> top_logprobs;
  std::string finish_reason;          // "stop" (stop token or string), "length", "paused", "cancelled"
  std::string stop_string;            // the stop string that ended it, if any
  std::string text;                   // decoded text when the engine has a tokenizer
};

class Engine {
 public:
  Engine(std::shared_ptr<model::Transformer> model, std::shared_ptr<const tokenizer::Tokenizer> tokenizer = nullptr,
         EngineOptions options = {});
  ~Engine();

  // Queues a request (validated: an impossible parameter or a prompt that cannot fit is an
  // arlt::Error naming it). Returns the request id (given or generated).
  std::string submit(Request request);
  // Runs until every queued request is done; returns the completions in submission order
  // (a request's n samples in index order). `on_step` is called after each step.
  std::vector<Completion> run(const std::function<void(const Engine&)>& on_step = nullptr);
  // One scheduler step: admit, one forward, retire. Returns the completions that finished. If
  // the forward or the sampling throws, every sequence of the step ends with finish_reason
  // "error: <what>" (returned by the next step) and the exception is rethrown.
  std::vector<Completion> step();
  // Resumes a finished sample of a `keep` request: its last sampled token and `tokens` are run
  // through the model on top of its cached positions, then generation goes on with `params`
  // (its own seeded stream continues). The next completion for (request_id, index) holds the
  // tokens generated after the extension. Errors name what is wrong (unknown or unfinished
  // sample, token outside the vocabulary, context full).
  void extend(const std::string& request_id, int64_t index, const std::vector<int64_t>& tokens,
              const SamplingParams& params);
  // Drops a kept sample's cache (the agent loop is done with it).
  void release(const std::string& request_id, int64_t index);
  // Pauses sample `index` of a request at the next step (for a tool call): it finishes with
  // finish_reason "paused" and the tokens so far, and its cache is kept as for `keep`, so that
  // extend() (with the observation, or nothing) resumes it. A sample not yet started is paused
  // as soon as it has its first token. Unknown request or index: arlt::Error.
  void pause(const std::string& request_id, int64_t index);
  // Stops a request wherever it is (waiting, running, parked); its running and prefilling samples
  // finish with finish_reason "cancelled" at the next step. Safe to call from on_token.
  void cancel(const std::string& request_id);
  // Called for every sampled token (streaming).
  std::function<void(const std::string& request_id, int64_t index, int64_t token, double logprob)> on_token;
  int64_t parked() const;
  // Tests: false runs the decode attention through torch ops instead of the CPU kernel.
  void set_kernel_attention(bool on);

  bool idle() const;
  int64_t running() const;
  int64_t waiting() const { return static_cast<int64_t>(waiting_.size()); }
  int64_t generated_tokens() const { return generated_tokens_; }
  // Tokens the last step ran through the model, and how many of them were decode tokens.
  int64_t last_step_tokens() const { return last_step_tokens_; }
  int64_t last_step_decode_tokens() const { return last_step_decode_; }
  int64_t kv_bytes_per_token() const;
  // Tokens decoded so far to match stop strings (tests: linear in the output, not quadratic).
  int64_t stop_decoded_tokens() const { return stop_decoded_tokens_; }
  const EngineOptions& options() const { return options_; }

 private:
  struct Sequence;
  struct Prefill;
  void admit();
  void forward_step();
  void apply_pauses();
  void fail_step(const std::string& why);
  void end_prefill(Prefill& pf, const std::string& reason);
  std::vector<Completion> retire();
  bool check_stop(Sequence& s);
  void record(Sequence& s, const SampleResult& sr);
  int64_t take_slot();

  std::shared_ptr<model::Transformer> model_;
  std::shared_ptr<const tokenizer::Tokenizer> tokenizer_;
  EngineOptions options_;
  std::unique_ptr<SlotCache> cache_;
  std::deque<Request> waiting_;
  struct Parked;
  std::map<std::pair<std::string, int64_t>, std::unique_ptr<Parked>> parked_;
  std::deque<std::pair<std::unique_ptr<Parked>, std::vector<int64_t>>> resuming_;
  std::deque<std::unique_ptr<Prefill>> prefilling_;  // admitted, prompt (or extension) being run
  std::vector<std::unique_ptr<Sequence>> running_;   // decoding, each in its own slot
  std::vector<int64_t> free_slots_;
  std::set<std::pair<std::string, int64_t>> pause_requests_;
  std::vector<Prefill*> step_prefills_;          // the prefills the current step runs
  std::vector<Completion> orphans_;              // ended without a sequence (cancelled or failed prefills)
  std::vector<std::string> deferred_cancels_;    // cancel() called from on_token during a step
  bool in_step_ = false;
  int64_t next_id_ = 0, generated_tokens_ = 0, last_step_tokens_ = 0, last_step_decode_ = 0, stop_decoded_tokens_ = 0;
};

}  // namespace arlt::engine

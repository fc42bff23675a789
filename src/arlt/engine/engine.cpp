#include "arlt/engine/engine.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <map>
#include <utility>

#include "arlt/base/error.h"
#include "arlt/engine/slot_cache.h"
#include "arlt/engine/stop_strings.h"
#include "arlt/model/cpu_kernels.h"
#include "arlt/tokenizer/tokenizer.h"

namespace arlt::engine {

struct Engine::Sequence {
  std::string request_id;
  int64_t index = 0;
  SamplingParams params;
  int64_t slot = -1;
  int64_t length = 0;   // positions in the cache
  int64_t pending = -1;  // sampled token not yet run through the model
  at::Generator gen;
  Completion out;
  bool finished = false;
  bool keep = false;
};

struct Engine::Parked {
  std::unique_ptr<Sequence> seq;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> kv;
};

// Tokens being run into a slot: a new request's prompt (its n samples are made when it is
// done; `slots` holds the n slots reserved for them, slots[0] the one prefilled) or a resumed
// sequence's pending token and extension.
struct Engine::Prefill {
  std::vector<int64_t> ids;
  int64_t start = 0, done = 0;
  std::vector<int64_t> slots;
  std::optional<Request> request;
  std::unique_ptr<Sequence> seq;
  const std::string& request_id() const { return request ? request->id : seq->out.request_id; }
};

namespace {
int64_t kv_bytes_per_token_of(const model::ModelConfig& c, torch::Dtype dtype) {
  return 2 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim * static_cast<int64_t>(c10::elementSize(dtype));
}
}  // namespace

Engine::Engine(std::shared_ptr<model::Transformer> model, std::shared_ptr<const tokenizer::Tokenizer> tokenizer,
               EngineOptions options)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), options_(options) {
  const auto& c = model_->config();
  if (options_.max_seq_len <= 0) options_.max_seq_len = c.max_position_embeddings;
  if (options_.max_seqs <= 0) throw Error("engine: max_seqs must be positive");
  const int64_t per_seq = kv_bytes_per_token_of(c, model_->dtype()) * options_.max_seq_len;
  if (options_.kv_budget_bytes > 0) {
    options_.max_seqs = std::min(options_.max_seqs, options_.kv_budget_bytes / per_seq);
    if (options_.max_seqs < 1)
      throw Error("engine: a KV budget of " + std::to_string(options_.kv_budget_bytes) + " bytes does not hold one sequence of " +
                  std::to_string(options_.max_seq_len) + " positions (" + std::to_string(per_seq) + " bytes)");
  }
  if (options_.max_batch_tokens == 0) options_.max_batch_tokens = std::max<int64_t>(2048, options_.max_seqs);
  if (options_.max_batch_tokens < options_.max_seqs)
    throw Error("engine: max_batch_tokens (" + std::to_string(options_.max_batch_tokens) +
                ") must be at least max_seqs (" + std::to_string(options_.max_seqs) + "): every running sequence decodes a token each step");
  cache_ = std::make_unique<SlotCache>(c, options_.max_seqs, options_.max_seq_len, model_->dtype(), model_->device());
  for (int64_t i = options_.max_seqs - 1; i >= 0; --i) free_slots_.push_back(i);
}

Engine::~Engine() = default;

int64_t Engine::kv_bytes_per_token() const { return kv_bytes_per_token_of(model_->config(), model_->dtype()); }
bool Engine::idle() const { return waiting_.empty() && running_.empty() && resuming_.empty() && prefilling_.empty(); }
int64_t Engine::parked() const { return static_cast<int64_t>(parked_.size()); }
int64_t Engine::running() const { return static_cast<int64_t>(running_.size()); }
void Engine::set_kernel_attention(bool on) { cache_->force_torch_path = !on; }

int64_t Engine::take_slot() {
  const int64_t slot = free_slots_.back();
  free_slots_.pop_back();
  return slot;
}

void Engine::extend(const std::string& request_id, int64_t index, const std::vector<int64_t>& tokens,
                    const SamplingParams& params) {
  params.validate();
  auto it = parked_.find({request_id, index});
  if (it == parked_.end())
    throw Error("extend: no finished, kept sample " + std::to_string(index) + " of request '" + request_id +
                "' (submit with keep = true, or pause it, and wait for it to finish)");
  const int64_t V = model_->config().vocab_size;
  for (int64_t t : tokens)
    if (t < 0 || t >= V) throw Error("extend: token " + std::to_string(t) + " is outside the vocabulary [0, " + std::to_string(V) + ")");
  Sequence& s = *it->second->seq;
  if (s.length + 1 + static_cast<int64_t>(tokens.size()) >= options_.max_seq_len)
    throw Error("extend: " + std::to_string(s.length + 1 + tokens.size()) + " positions do not fit the context of " +
                std::to_string(options_.max_seq_len));
  s.params = params;
  s.params.n = 1;
  resuming_.emplace_back(std::move(it->second), tokens);
  parked_.erase(it);
}

void Engine::release(const std::string& request_id, int64_t index) { parked_.erase({request_id, index}); }

void Engine::pause(const std::string& request_id, int64_t index) {
  auto live = [&](const std::unique_ptr<Sequence>& s) { return s && s->out.request_id == request_id && s->index == index; };
  bool known = std::any_of(running_.begin(), running_.end(), live);
  for (const auto& r : waiting_) known |= r.id == request_id && index >= 0 && index < r.params.n;
  for (const auto& p : prefilling_)
    known |= p->request ? p->request->id == request_id && index >= 0 && index < p->request->params.n : live(p->seq);
  for (const auto& r : resuming_) known |= live(r.first->seq);
  if (!known)
    throw Error("pause: request '" + request_id + "' has no sample " + std::to_string(index) + " waiting or generating");
  pause_requests_.insert({request_id, index});
}

std::string Engine::submit(Request r) {
  r.params.validate();
  if (r.prompt.empty()) throw Error("request " + r.id + ": the prompt is empty");
  const int64_t V = model_->config().vocab_size;
  for (int64_t t : r.prompt)
    if (t < 0 || t >= V) throw Error("request " + r.id + ": prompt token " + std::to_string(t) + " is outside the vocabulary [0, " + std::to_string(V) + ")");
  if (static_cast<int64_t>(r.prompt.size()) >= options_.max_seq_len)
    throw Error("request " + r.id + ": the prompt has " + std::to_string(r.prompt.size()) + " tokens; the context holds " +
                std::to_string(options_.max_seq_len));
  if (r.params.n > options_.max_seqs)
    throw Error("request " + r.id + ": n = " + std::to_string(r.params.n) + " exceeds the engine's " +
                std::to_string(options_.max_seqs) + " slots");
  if (r.id.empty()) r.id = "req-" + std::to_string(next_id_);
  ++next_id_;
  const std::string id = r.id;
  waiting_.push_back(std::move(r));
  return id;
}

// Moves resumed sequences and waiting requests (in order) to the prefill queue while slots are
// free: a request takes the slots of all its n samples at once.
void Engine::admit() {
  while (!resuming_.empty() && !free_slots_.empty()) {
    auto [parked, tokens] = std::move(resuming_.front());
    resuming_.pop_front();
    auto pf = std::make_unique<Prefill>();
    pf->seq = std::move(parked->seq);
    pf->seq->slot = take_slot();
    cache_->load_row(pf->seq->slot, parked->kv);
    pf->slots = {pf->seq->slot};
    pf->ids = {pf->seq->pending};
    pf->ids.insert(pf->ids.end(), tokens.begin(), tokens.end());
    pf->start = pf->seq->length;
    prefilling_.push_back(std::move(pf));
  }
  while (!waiting_.empty() && static_cast<int64_t>(free_slots_.size()) >= waiting_.front().params.n) {
    auto pf = std::make_unique<Prefill>();
    pf->request = std::move(waiting_.front());
    waiting_.pop_front();
    pf->ids = pf->request->prompt;
    for (int64_t i = 0; i < pf->request->params.n; ++i) pf->slots.push_back(take_slot());
    prefilling_.push_back(std::move(pf));
  }
}

// A sampled token: becomes the sequence's pending input, is recorded with its log-probs and
// streamed, and may end the sequence.
void Engine::record(Sequence& s, const SampleResult& sr) {
  s.pending = sr.token;
  s.out.tokens.push_back(sr.token);
  s.out.logprobs.push_back(sr.logprob);
  s.out.processed_logprobs.push_back(sr.processed_logprob);
  if (s.params.logprobs > 0) s.out.top_logprobs.push_back(sr.top);
  ++generated_tokens_;
  if (on_token) on_token(s.out.request_id, s.out.index, sr.token, sr.logprob);
  s.finished = check_stop(s);
}

bool Engine::check_stop(Sequence& s) {
  const int64_t t = s.out.tokens.back();
  const auto& eos = model_->config().eos_token_ids;
  const auto& stop_ids = s.params.stop_token_ids;
  if ((!s.params.ignore_eos && std::find(eos.begin(), eos.end(), t) != eos.end()) ||
      std::find(stop_ids.begin(), stop_ids.end(), t) != stop_ids.end()) {
    s.out.finish_reason = "stop";
    return true;
  }
  if (!s.params.stop.empty() && tokenizer_) {
    // Matched on the decoded text, across token boundaries; the output keeps the stop string
    // and reports which one it was.
    if (auto m = find_stop_string(*tokenizer_, s.out.tokens, s.params.stop, &stop_decoded_tokens_)) {
      s.out.finish_reason = "stop";
      s.out.stop_string = m->stop;
      s.out.text = std::move(m->text);
      return true;
    }
  }
  if (static_cast<int64_t>(s.out.tokens.size()) >= s.params.max_tokens || s.length + 1 >= cache_->max_len()) {
    s.out.finish_reason = "length";
    return true;
  }
  return false;
}

// One forward over a ragged batch: the pending token of every running sequence, then chunks of
// the queued prefills (oldest first) up to the token budget. The LM head runs only on the rows
// that sample: every decode token and the last token of each prefill that completes.
void Engine::forward_step() {
  torch::NoGradGuard ng;
  std::vector<SlotCache::Segment> segs;
  std::vector<int64_t> ids, pos;
  for (const auto& s : running_) {
    segs.push_back({s->slot, s->length, 1});
    ids.push_back(s->pending);
    pos.push_back(s->length);
  }
  const int64_t n_decode = static_cast<int64_t>(ids.size());
  int64_t budget = options_.max_batch_tokens - n_decode;
  std::vector<std::pair<Prefill*, int64_t>> completing;  // and the row of its last token
  step_prefills_.clear();
  for (auto& pf : prefilling_) {
    if (budget <= 0) break;
    step_prefills_.push_back(pf.get());
    const int64_t left = static_cast<int64_t>(pf->ids.size()) - pf->done;
    const int64_t take = std::min(budget, left);
    segs.push_back({pf->slots[0], pf->start + pf->done, take});
    for (int64_t t = 0; t < take; ++t) {
      ids.push_back(pf->ids[pf->done + t]);
      pos.push_back(pf->start + pf->done + t);
    }
    pf->done += take;
    budget -= take;
    if (take == left) completing.emplace_back(pf.get(), static_cast<int64_t>(ids.size()) - 1);
  }
  last_step_tokens_ = static_cast<int64_t>(ids.size());
  last_step_decode_ = n_decode;
  if (ids.empty()) return;
  cache_->configure(std::move(segs));
  model::ForwardArgs a;
  a.input_ids = torch::tensor(ids, torch::kInt64).unsqueeze(0);
  a.position_ids = torch::tensor(pos, torch::kInt64).unsqueeze(0);
  a.cache = cache_.get();
  torch::Tensor hidden = model_->forward_hidden(a)[0];  // [N,H]
  // The rows to sample: decode rows, then each completing prefill's last row once per sample.
  std::vector<int64_t> rows(static_cast<size_t>(n_decode));
  for (int64_t i = 0; i < n_decode; ++i) rows[i] = i;
  std::vector<Sequence*> seqs;
  for (auto& s : running_) seqs.push_back(s.get());
  std::vector<std::unique_ptr<Sequence>> born;
  for (auto& [pf, row] : completing) {
    if (pf->seq) {  // a resumed sequence: its extension is cached
      pf->seq->length += static_cast<int64_t>(pf->ids.size());
      rows.push_back(row);
      seqs.push_back(pf->seq.get());
      continue;
    }
    const Request& r = *pf->request;
    const int64_t P = static_cast<int64_t>(r.prompt.size());
    for (int64_t i = 0; i < r.params.n; ++i) {
      if (i > 0) cache_->copy_row(pf->slots[0], pf->slots[i], P);  // the n samples share the prefill
      auto s = std::make_unique<Sequence>();
      s->request_id = r.id;
      s->index = i;
      s->params = r.params;
      s->keep = r.keep;
      s->slot = pf->slots[i];
      s->length = P;
      // Each sample draws from its own stream: same seed, same tokens, whatever shares the batch.
      s->gen = at::detail::createCPUGenerator(r.params.seed * 1000003ULL + static_cast<uint64_t>(i) * 7919ULL + 17ULL);
      s->out.request_id = r.id;
      s->out.index = i;
      rows.push_back(row);
      seqs.push_back(s.get());
      born.push_back(std::move(s));
    }
  }
  for (auto& s : running_) s->length += 1;  // the pending token is now cached
  if (seqs.empty()) return;
  torch::Tensor h = static_cast<int64_t>(ids.size()) == n_decode  // a decode-only step samples every row
                        ? hidden
                        : hidden.index_select(0, torch::tensor(rows, torch::kInt64).to(hidden.device()));
  torch::Tensor logits = model_->lm_logits(h).to(torch::kCPU, torch::kFloat32);
  std::vector<RowSampling> rs;
  for (Sequence* s : seqs) rs.push_back({&s->params, &s->out.tokens, &s->gen});
  auto drawn = sample_rows(logits, rs);
  for (size_t i = 0; i < seqs.size(); ++i) record(*seqs[i], drawn[i]);
  // Completed prefills are a prefix of the queue (the budget goes oldest first).
  for (size_t i = 0; i < completing.size(); ++i) {
    if (prefilling_.front()->seq) running_.push_back(std::move(prefilling_.front()->seq));
    prefilling_.pop_front();
  }
  for (auto& s : born) running_.push_back(std::move(s));
}

void Engine::apply_pauses() {
  if (pause_requests_.empty()) return;
  for (auto& s : running_) {
    auto it = pause_requests_.find({s->out.request_id, s->index});
    if (it == pause_requests_.end()) continue;
    pause_requests_.erase(it);
    if (s->finished) continue;
    s->finished = true;
    s->keep = true;
    s->out.finish_reason = "paused";
  }
}

// The step threw (out of memory, a non-finite distribution, ...): every sequence and prefill it
// held ends with finish_reason "error: ..." (delivered by the next retire()), their slots are
// freed, and nothing is left half-done for later steps.
void Engine::fail_step(const std::string& why) {
  const std::string reason = "error: " + why;
  for (auto& s : running_)
    if (!s->finished) {
      s->finished = true;
      s->keep = false;
      s->out.finish_reason = reason;
    }
  for (Prefill* pf : step_prefills_) {
    auto it = std::find_if(prefilling_.begin(), prefilling_.end(), [&](const auto& p) { return p.get() == pf; });
    if (it == prefilling_.end()) continue;
    end_prefill(**it, reason);
    prefilling_.erase(it);
  }
  step_prefills_.clear();
}

// A prefill that will not complete: a completion per sample with `reason`, slots freed.
void Engine::end_prefill(Prefill& pf, const std::string& reason) {
  if (pf.seq) {
    Completion c = std::move(pf.seq->out);
    c.finish_reason = reason;
    orphans_.push_back(std::move(c));
  } else {
    for (int64_t i = 0; i < pf.request->params.n; ++i) {
      Completion c;
      c.request_id = pf.request->id;
      c.index = i;
      c.finish_reason = reason;
      orphans_.push_back(std::move(c));
    }
  }
  for (int64_t slot : pf.slots) free_slots_.push_back(slot);
}

void Engine::cancel(const std::string& request_id) {
  if (in_step_) {  // from on_token: applied when the step is done
    deferred_cancels_.push_back(request_id);
    return;
  }
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(), [&](const Request& r) { return r.id == request_id; }),
                 waiting_.end());
  for (auto& s : running_)
    if (s && s->out.request_id == request_id && !s->finished) {
      s->finished = true;
      s->keep = false;
      s->out.finish_reason = "cancelled";
    }
  for (auto it = prefilling_.begin(); it != prefilling_.end();) {
    if ((*it)->request_id() != request_id) {
      ++it;
      continue;
    }
    end_prefill(**it, "cancelled");
    it = prefilling_.erase(it);
  }
  for (auto it = parked_.begin(); it != parked_.end();)
    it = it->first.first == request_id ? parked_.erase(it) : std::next(it);
  resuming_.erase(std::remove_if(resuming_.begin(), resuming_.end(),
                                 [&](const auto& r) { return r.first->seq->out.request_id == request_id; }),
                  resuming_.end());
  for (auto it = pause_requests_.begin(); it != pause_requests_.end();)
    it = it->first == request_id ? pause_requests_.erase(it) : std::next(it);
}

std::vector<Completion> Engine::retire() {
  std::vector<Completion> done = std::move(orphans_);
  orphans_.clear();
  for (size_t i = 0; i < running_.size();) {
    if (!running_[i]->finished) {
      ++i;
      continue;
    }
    std::unique_ptr<Sequence> s = std::move(running_[i]);
    running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
    pause_requests_.erase({s->out.request_id, s->index});
    Completion c = std::move(s->out);
    if (tokenizer_ && c.text.empty()) c.text = tokenizer_->decode(c.tokens, true, false, /*strict=*/false);
    if (s->keep) {
      auto p = std::make_unique<Parked>();
      p->kv = cache_->save_row(s->slot, s->length);
      free_slots_.push_back(s->slot);
      s->slot = -1;
      s->out = Completion{};
      s->out.request_id = c.request_id;
      s->out.index = c.index;
      s->finished = false;
      p->seq = std::move(s);
      parked_[{c.request_id, c.index}] = std::move(p);
    } else {
      free_slots_.push_back(s->slot);
    }
    done.push_back(std::move(c));
  }
  return done;
}

std::vector<Completion> Engine::step() {
  apply_pauses();
  std::vector<Completion> done = retire();
  admit();
  in_step_ = true;
  try {
    forward_step();
  } catch (const std::exception& e) {
    in_step_ = false;
    fail_step(e.what());
    for (const auto& id : std::exchange(deferred_cancels_, {})) cancel(id);
    throw;
  }
  in_step_ = false;
  for (const auto& id : std::exchange(deferred_cancels_, {})) cancel(id);
  apply_pauses();  // a sample paused before it started stops after its first token
  auto late = retire();
  done.insert(done.end(), std::make_move_iterator(late.begin()), std::make_move_iterator(late.end()));
  return done;
}

std::vector<Completion> Engine::run(const std::function<void(const Engine&)>& on_step) {
  std::map<std::string, size_t> rank;
  {
    size_t k = 0;
    for (const auto& r : waiting_) rank[r.id] = k++;
  }
  std::vector<Completion> all;
  while (!idle()) {
    auto done = step();
    all.insert(all.end(), std::make_move_iterator(done.begin()), std::make_move_iterator(done.end()));
    if (on_step) on_step(*this);
  }
  std::stable_sort(all.begin(), all.end(), [&](const Completion& a, const Completion& b) {
    const size_t ra = rank.count(a.request_id) ? rank[a.request_id] : SIZE_MAX;
    const size_t rb = rank.count(b.request_id) ? rank[b.request_id] : SIZE_MAX;
    return ra != rb ? ra < rb : a.index < b.index;
  });
  return all;
}

}  // namespace arlt::engine

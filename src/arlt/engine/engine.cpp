#include "arlt/engine/engine.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <map>

#include "arlt/base/error.h"
#include "arlt/tokenizer/tokenizer.h"

namespace arlt::engine {

// ---- the slot cache -----------------------------------------------------------------------
// K/V per layer [slots, kv_heads, max_len, head_dim]. A step works on rows [row0, row0 + B) with
// their own lengths: a prefill of T tokens into one row, or a decode of one token in each row.
class Engine::SlotCache : public model::KVCacheBase {
 public:
  SlotCache(const model::ModelConfig& c, int64_t slots, int64_t max_len, torch::Dtype dtype, torch::Device device)
      : max_len_(max_len) {
    auto opts = torch::TensorOptions().dtype(dtype).device(device);
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      k_.push_back(torch::zeros({slots, c.num_key_value_heads, max_len, c.head_dim}, opts));
      v_.push_back(torch::zeros({slots, c.num_key_value_heads, max_len, c.head_dim}, opts));
    }
    kv_idx_ = torch::arange(c.num_key_value_heads, torch::TensorOptions().dtype(torch::kInt64).device(device)).unsqueeze(0);
  }
  void configure(int64_t row0, std::vector<int64_t> lengths) {
    row0_ = row0;
    lengths_ = std::move(lengths);
    max_ = *std::max_element(lengths_.begin(), lengths_.end());
    auto opts = torch::TensorOptions().dtype(torch::kInt64).device(k_[0].device());
    rows_t_ = torch::arange(row0_, row0_ + batch(), opts).unsqueeze(1);
    pos_t_ = torch::tensor(lengths_, torch::kInt64).to(k_[0].device()).unsqueeze(1);
  }
  int64_t batch() const override { return static_cast<int64_t>(lengths_.size()); }
  int64_t length() const override { return max_; }
  std::pair<torch::Tensor, torch::Tensor> append(int64_t layer, const torch::Tensor& k, const torch::Tensor& v) override {
    const int64_t B = k.size(0), T = k.size(2);
    if (B == 1) {
      k_[layer][row0_].narrow(1, lengths_[0], T).copy_(k[0]);
      v_[layer][row0_].narrow(1, lengths_[0], T).copy_(v[0]);
      return {k_[layer].narrow(0, row0_, 1).narrow(2, 0, lengths_[0] + T),
              v_[layer].narrow(0, row0_, 1).narrow(2, 0, lengths_[0] + T)};
    }
    // One new token per row, each at its own position.
    k_[layer].index_put_({rows_t_, kv_idx_, pos_t_}, k.squeeze(2));
    v_[layer].index_put_({rows_t_, kv_idx_, pos_t_}, v.squeeze(2));
    return {k_[layer].narrow(0, row0_, B).narrow(2, 0, max_ + 1), v_[layer].narrow(0, row0_, B).narrow(2, 0, max_ + 1)};
  }
  void advance(int64_t) override {}
  // A row's filled positions, copied out (to park a sequence) and back in (to resume it).
  std::vector<std::pair<torch::Tensor, torch::Tensor>> save_row(int64_t row, int64_t len) const {
    std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
    for (size_t l = 0; l < k_.size(); ++l)
      out.emplace_back(k_[l][row].narrow(1, 0, len).clone(), v_[l][row].narrow(1, 0, len).clone());
    return out;
  }
  void load_row(int64_t row, const std::vector<std::pair<torch::Tensor, torch::Tensor>>& saved) {
    for (size_t l = 0; l < k_.size(); ++l) {
      k_[l][row].narrow(1, 0, saved[l].first.size(1)).copy_(saved[l].first);
      v_[l][row].narrow(1, 0, saved[l].second.size(1)).copy_(saved[l].second);
    }
  }
  void copy_row(int64_t from, int64_t to, int64_t len) {
    for (size_t l = 0; l < k_.size(); ++l) {
      k_[l][to].narrow(1, 0, len).copy_(k_[l][from].narrow(1, 0, len));
      v_[l][to].narrow(1, 0, len).copy_(v_[l][from].narrow(1, 0, len));
    }
  }
  int64_t max_len() const { return max_len_; }

 private:
  int64_t max_len_, row0_ = 0, max_ = 0;
  std::vector<int64_t> lengths_;
  std::vector<torch::Tensor> k_, v_;
  torch::Tensor kv_idx_, rows_t_, pos_t_;
};

struct Engine::Sequence {
  std::string request_id;
  int64_t index = 0;
  SamplingParams params;
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
  cache_ = std::make_unique<SlotCache>(c, options_.max_seqs, options_.max_seq_len, model_->dtype(), model_->device());
}

Engine::~Engine() = default;

int64_t Engine::kv_bytes_per_token() const { return kv_bytes_per_token_of(model_->config(), model_->dtype()); }
bool Engine::idle() const { return waiting_.empty() && running_.empty() && resuming_.empty(); }
int64_t Engine::parked() const { return static_cast<int64_t>(parked_.size()); }

void Engine::extend(const std::string& request_id, int64_t index, const std::vector<int64_t>& tokens,
                    const SamplingParams& params) {
  params.validate();
  auto it = parked_.find({request_id, index});
  if (it == parked_.end())
    throw Error("extend: no finished, kept sample " + std::to_string(index) + " of request '" + request_id +
                "' (submit with keep = true and wait for it to finish)");
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
int64_t Engine::running() const { return static_cast<int64_t>(running_.size()); }

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

void Engine::admit() {
  torch::NoGradGuard ng;
  // Resumed sequences first: their caches come back and the new tokens are prefilled on top.
  while (!resuming_.empty() && running() < options_.max_seqs) {
    auto [parked, tokens] = std::move(resuming_.front());
    resuming_.pop_front();
    const int64_t row = running();
    Sequence& s = *parked->seq;
    cache_->load_row(row, parked->kv);
    std::vector<int64_t> ids{s.pending};
    ids.insert(ids.end(), tokens.begin(), tokens.end());
    cache_->configure(row, {s.length});
    model::ForwardArgs a;
    a.input_ids = torch::tensor(ids, torch::kInt64).unsqueeze(0);
    a.cache = cache_.get();
    torch::Tensor last = model_->forward(a)[0][static_cast<int64_t>(ids.size()) - 1].to(torch::kCPU, torch::kFloat32);
    s.length += static_cast<int64_t>(ids.size());
    record(s, sample(last, s.params, {}, s.gen));
    running_.push_back(std::move(parked->seq));
  }
  while (!waiting_.empty() && running() + waiting_.front().params.n <= options_.max_seqs) {
    Request r = std::move(waiting_.front());
    waiting_.pop_front();
    const int64_t row = running(), P = static_cast<int64_t>(r.prompt.size());
    cache_->configure(row, {0});
    model::ForwardArgs a;
    a.input_ids = torch::tensor(r.prompt, torch::kInt64).unsqueeze(0);
    a.cache = cache_.get();
    torch::Tensor last = model_->forward(a)[0][P - 1].to(torch::kCPU, torch::kFloat32);
    for (int64_t i = 0; i < r.params.n; ++i) {
      if (i > 0) cache_->copy_row(row, row + i, P);  // the n samples share the prompt's prefill
      auto s = std::make_unique<Sequence>();
      s->request_id = r.id;
      s->index = i;
      s->params = r.params;
      s->keep = r.keep;
      s->length = P;
      // Each sample draws from its own stream: same seed, same tokens, whatever shares the batch.
      s->gen = at::detail::createCPUGenerator(r.params.seed * 1000003ULL + static_cast<uint64_t>(i) * 7919ULL + 17ULL);
      s->out.request_id = r.id;
      s->out.index = i;
      record(*s, sample(last, s->params, {}, s->gen));
      running_.push_back(std::move(s));
    }
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
    // Stop strings are matched on the decoded text, across token boundaries; the output keeps
    // the stop string and reports which one it was.
    const std::string text = tokenizer_->decode(s.out.tokens, true, false, /*strict=*/false);
    size_t best = std::string::npos;
    for (const auto& stop : s.params.stop) {
      size_t p = text.find(stop);
      if (p != std::string::npos && (best == std::string::npos || p < best)) {
        best = p;
        s.out.stop_string = stop;
      }
    }
    if (best != std::string::npos) {
      s.out.finish_reason = "stop";
      s.out.text = text.substr(0, best + s.out.stop_string.size());
      return true;
    }
  }
  if (static_cast<int64_t>(s.out.tokens.size()) >= s.params.max_tokens || s.length + 1 >= cache_->max_len()) {
    s.out.finish_reason = "length";
    return true;
  }
  return false;
}

void Engine::decode() {
  // Finished sequences were retired before this step, so the running rows are 0..B-1.
  if (running_.empty()) return;
  torch::NoGradGuard ng;
  const int64_t B = running();
  std::vector<int64_t> lengths(B), ids(B);
  int64_t max_len = 0;
  for (int64_t i = 0; i < B; ++i) {
    lengths[i] = running_[i]->length;
    ids[i] = running_[i]->pending;
    max_len = std::max(max_len, lengths[i]);
  }
  cache_->configure(0, lengths);
  torch::Tensor len_t = torch::tensor(lengths, torch::kInt64);
  model::ForwardArgs a;
  a.input_ids = torch::tensor(ids, torch::kInt64).unsqueeze(1);
  a.position_ids = len_t.unsqueeze(1);
  // Row i sees its own positions 0..length_i (the new token included) and nothing beyond.
  a.attention_mask = (torch::arange(max_len + 1, torch::kInt64).unsqueeze(0) <= len_t.unsqueeze(1)).to(torch::kInt64);
  a.cache = cache_.get();
  torch::Tensor logits = model_->forward(a).select(1, 0).to(torch::kCPU, torch::kFloat32);
  std::vector<RowSampling> rows(B);
  for (int64_t i = 0; i < B; ++i) rows[i] = {&running_[i]->params, &running_[i]->out.tokens, &running_[i]->gen};
  auto drawn = sample_rows(logits, rows);
  for (int64_t i = 0; i < B; ++i) {
    Sequence& s = *running_[i];
    s.length += 1;
    record(s, drawn[i]);
  }
}

void Engine::cancel(const std::string& request_id) {
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(), [&](const Request& r) { return r.id == request_id; }),
                 waiting_.end());
  for (auto& s : running_)
    if (s && s->out.request_id == request_id && !s->finished) {
      s->finished = true;
      s->keep = false;
      s->out.finish_reason = "cancelled";
    }
  for (auto it = parked_.begin(); it != parked_.end();)
    it = it->first.first == request_id ? parked_.erase(it) : std::next(it);
  resuming_.erase(std::remove_if(resuming_.begin(), resuming_.end(),
                                 [&](const auto& r) { return r.first->seq->out.request_id == request_id; }),
                  resuming_.end());
}

void Engine::move_slot(int64_t from, int64_t to) {
  cache_->copy_row(from, to, running_[from]->length);
  running_[to] = std::move(running_[from]);
}

std::vector<Completion> Engine::retire() {
  std::vector<Completion> done;
  for (int64_t i = running() - 1; i >= 0; --i) {
    if (!running_[i]->finished) continue;
    Completion c = std::move(running_[i]->out);
    if (tokenizer_ && c.text.empty()) c.text = tokenizer_->decode(c.tokens, true, false, /*strict=*/false);
    if (running_[i]->keep) {
      auto p = std::make_unique<Parked>();
      p->kv = cache_->save_row(i, running_[i]->length);
      p->seq = std::move(running_[i]);
      p->seq->out = Completion{};
      p->seq->out.request_id = c.request_id;
      p->seq->out.index = c.index;
      p->seq->finished = false;
      parked_[{c.request_id, c.index}] = std::move(p);
      running_[i] = nullptr;
    }
    done.push_back(std::move(c));
    const int64_t last = running() - 1;
    if (i != last) move_slot(last, i);  // keep the running rows contiguous
    running_.pop_back();
  }
  return done;
}

std::vector<Completion> Engine::step() {
  std::vector<Completion> done = retire();
  admit();
  auto early = retire();  // a first token may already end a sequence
  done.insert(done.end(), early.begin(), early.end());
  decode();
  auto late = retire();
  done.insert(done.end(), late.begin(), late.end());
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

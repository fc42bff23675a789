#include "arlt/train/sft.h"

#include <torch/torch.h>

#include <filesystem>
#include <random>
#include <sstream>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/base/log.h"
#include "arlt/config/config.h"
#include "arlt/model/hf_folder.h"
#include "arlt/tokenizer/chat_template.h"
#include "arlt/train/checkpoint.h"
#include "arlt/train/metrics.h"
#include "arlt/train/optim.h"
#include "arlt/train/setup.h"

namespace arlt::train {
namespace fs = std::filesystem;

namespace {

struct Sequence {
  std::vector<int64_t> ids;
  std::vector<uint8_t> train;  // 1 where the token is a target (response tokens and the end token)
};

std::string str_field(const nlohmann::json& j, const std::string& key, const std::string& where) {
  if (!j.contains(key)) throw Error(where + ": missing \"" + key + "\"");
  if (!j[key].is_string()) throw Error(where + ": \"" + key + "\" must be a string");
  return j[key].get<std::string>();
}

// prompt tokens (not trained) + response tokens + end-of-text (trained).
Sequence make_sequence(const tokenizer::Tokenizer& tok, const std::vector<int64_t>& prompt, const std::string& response) {
  Sequence s;
  s.ids = prompt;
  s.train.assign(prompt.size(), 0);
  for (int64_t id : tok.encode(response, false)) s.ids.push_back(id), s.train.push_back(1);
  if (tok.eos_id() >= 0) s.ids.push_back(tok.eos_id()), s.train.push_back(1);
  return s;
}

// A tool-use trace: the response is a list of {"assistant": text} and {"tool": text} segments,
// each tokenised on its own as the agent loop does (an observation's ids are the tokenisation of
// its text alone); the assistant's are trained, the tools' are not; the end token is trained.
Sequence trace_sequence(const tokenizer::Tokenizer& tok, const std::vector<int64_t>& prompt, const nlohmann::json& segments,
                        const std::string& where) {
  Sequence s;
  s.ids = prompt;
  s.train.assign(prompt.size(), 0);
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto& seg = segments[i];
    const bool assistant = seg.is_object() && seg.size() == 1 && seg.contains("assistant") && seg["assistant"].is_string();
    const bool tool = seg.is_object() && seg.size() == 1 && seg.contains("tool") && seg["tool"].is_string();
    if (!assistant && !tool)
      throw Error(where + ": response segment " + std::to_string(i) + " must be {\"assistant\": text} or {\"tool\": text}");
    for (int64_t id : tok.encode(seg.begin().value().get<std::string>(), false)) s.ids.push_back(id), s.train.push_back(assistant ? 1 : 0);
  }
  if (tok.eos_id() >= 0) s.ids.push_back(tok.eos_id()), s.train.push_back(1);
  return s;
}

// A chat conversation: every assistant turn is trained. Each turn's tokens are the difference
// between the rendering up to it and the rendering with the generation prompt before it.
Sequence chat_sequence(const tokenizer::Tokenizer& tok, const nlohmann::json& messages, const std::string& where) {
  if (!messages.is_array() || messages.empty()) throw Error(where + ": \"messages\" must be a non-empty array");
  if (tok.chat_template().empty()) throw Error(where + ": the dataset has chat messages but the tokenizer has no chat template");
  tokenizer::ChatOptions co;
  co.bos_token = tok.bos_token();
  co.eos_token = tok.eos_token();
  nlohmann::ordered_json msgs = nlohmann::ordered_json::parse(messages.dump());
  Sequence s;
  std::string done;
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (!msgs[i].is_object() || !msgs[i].contains("role") || !msgs[i].contains("content"))
      throw Error(where + ": message " + std::to_string(i) + " needs \"role\" and \"content\"");
    if (msgs[i]["role"] != "assistant") continue;
    nlohmann::ordered_json before(msgs.begin(), msgs.begin() + static_cast<long>(i));
    nlohmann::ordered_json upto(msgs.begin(), msgs.begin() + static_cast<long>(i) + 1);
    co.add_generation_prompt = true;
    const std::string prefix = tokenizer::render_chat_template(tok.chat_template(), before, nullptr, co);
    co.add_generation_prompt = false;
    const std::string full = tokenizer::render_chat_template(tok.chat_template(), upto, nullptr, co);
    if (prefix.compare(0, done.size(), done) != 0 || full.compare(0, prefix.size(), prefix) != 0)
      throw Error(where + ": the chat template does not render turns as prefixes of each other; cannot mask turn " +
                  std::to_string(i));
    for (int64_t id : tok.encode(prefix.substr(done.size()), false)) s.ids.push_back(id), s.train.push_back(0);
    for (int64_t id : tok.encode(full.substr(prefix.size()), false)) s.ids.push_back(id), s.train.push_back(1);
    done = full;
  }
  if (s.ids.empty()) throw Error(where + ": no assistant message to train on");
  return s;
}

std::vector<Sequence> load_sequences(const SFTDataSection& d, const tokenizer::Tokenizer& tok, const std::string& split,
                                     uint64_t seed) {
  const std::string& file = split == "train" ? d.train : d.val;
  const bool chat = d.chat_template;
  std::vector<Sequence> out;
  if (!file.empty()) {
    if (!fs::exists(file)) throw Error("data." + split + ": file not found: " + file);
    std::istringstream in(read_file(file));
    std::string line;
    for (int64_t n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = file + ":" + std::to_string(n);
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) throw Error(where + ": not valid JSON");
      if (!j.is_object()) throw Error(where + ": expected a JSON object");
      if (j.contains("messages")) {
        out.push_back(chat_sequence(tok, j["messages"], where));
        continue;
      }
      data::Example ex;
      ex.prompt = str_field(j, d.prompt_key, where);
      if (j.contains(d.response_key) && j[d.response_key].is_array())
        out.push_back(trace_sequence(tok, encode_prompt(tok, ex, chat), j[d.response_key], where));
      else
        out.push_back(make_sequence(tok, encode_prompt(tok, ex, chat), str_field(j, d.response_key, where)));
    }
    if (out.empty()) throw Error("data." + split + ": " + file + " holds no examples");
    return out;
  }
  if (d.task.empty()) {
    if (split == "val") return out;
    throw Error("data: give data.train (a JSONL file) or data.task (a built-in task)");
  }
  // A built-in task's worked examples: its train split, and its test split for validation.
  DataSection task;
  task.task = d.task, task.task_params = d.task_params, task.train_size = d.train_size, task.test_size = d.val_size;
  for (const auto& ex : load_examples(task, split == "val" ? "test" : "train", seed))
    out.push_back(make_sequence(tok, encode_prompt(tok, ex, chat), ex.ground_truth));
  return out;
}

// Rows of at most max_len tokens: packed first-fit in order (each sequence its own segment),
// or one sequence a row. Returns rows of (ids, targets, segment ids).
struct Row {
  std::vector<int64_t> ids, labels, seg;
};

std::vector<Row> pack(const std::vector<Sequence>& seqs, int64_t max_len, bool packing, int64_t* truncated) {
  std::vector<Row> rows;
  for (const auto& s : seqs) {
    const int64_t n = std::min<int64_t>(max_len, static_cast<int64_t>(s.ids.size()));
    if (n < static_cast<int64_t>(s.ids.size())) ++*truncated;
    if (!packing || rows.empty() || static_cast<int64_t>(rows.back().ids.size()) + n > max_len) rows.emplace_back();
    Row& r = rows.back();
    const int64_t seg = r.seg.empty() ? 1 : r.seg.back() + 1;
    for (int64_t t = 0; t < n; ++t) {
      r.ids.push_back(s.ids[t]);
      r.seg.push_back(seg);
      // label at t is the token at t+1 when that one is trained and in the same sequence
      r.labels.push_back(t + 1 < n && s.train[t + 1] ? s.ids[t + 1] : -100);
    }
  }
  return rows;
}

struct Batch {
  torch::Tensor ids, labels, seg;
  double tokens = 0;
};

Batch make_batch(const std::vector<Row>& rows, const std::vector<int64_t>& pick) {
  int64_t L = 1;
  for (int64_t i : pick) L = std::max<int64_t>(L, rows[i].ids.size());
  const int64_t B = static_cast<int64_t>(pick.size());
  std::vector<int64_t> ids(B * L, 0), lab(B * L, -100), seg(B * L, 0);
  Batch b;
  for (int64_t k = 0; k < B; ++k) {
    const Row& r = rows[pick[k]];
    for (size_t t = 0; t < r.ids.size(); ++t) {
      ids[k * L + t] = r.ids[t], lab[k * L + t] = r.labels[t], seg[k * L + t] = r.seg[t];
      b.tokens += r.labels[t] >= 0;
    }
  }
  b.ids = torch::tensor(ids).view({B, L});
  b.labels = torch::tensor(lab).view({B, L});
  b.seg = torch::tensor(seg).view({B, L});
  return b;
}

// Sum of the token losses of a batch (divide by the token count for the mean).
torch::Tensor loss_sum(model::Transformer& m, const Batch& b) {
  model::ForwardArgs a;
  a.input_ids = b.ids;
  a.segment_ids = b.seg;
  torch::Tensor logits = m.forward(a).to(torch::kFloat32);
  return torch::nn::functional::cross_entropy(
      logits.view({-1, logits.size(-1)}), b.labels.view({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum));
}

}  // namespace

SFTSummary run_sft(const Json& cfg, const RunOptions& opt) {
  const SFTConfig c = SFTConfig::parse(cfg);
  SFTSummary sum;
  const std::string run_dir = c.run.out;
  sum.run_dir = run_dir;
  fs::create_directories(run_dir);
  const int64_t steps = c.run.steps, eval_every = c.run.eval_every, save_every = c.run.save_every, keep = c.run.keep;
  const uint64_t seed = c.run.seed;
  const int64_t batch_size = c.trainer.batch_size;
  const int64_t micro = c.trainer.micro_batch_size == 0 ? batch_size : c.trainer.micro_batch_size;
  const int64_t max_len = c.data.max_len;

  std::string resume_from;
  if (opt.resume) {
    resume_from = latest_checkpoint(run_dir);
    if (resume_from.empty()) throw Error("--resume: no checkpoint in " + run_dir + "/checkpoints");
  } else if (!latest_checkpoint(run_dir).empty()) {
    throw Error("run.out: " + run_dir + " already holds checkpoints of an earlier run; continue it with --resume or "
                "choose another run.out");
  }
  Policy policy = load_policy(c.model, c.tokenizer, run_dir, false, resume_from.empty() ? "" : resume_from + "/model");
  auto& model = *policy.model;
  if (max_len > model.config().max_position_embeddings)
    throw Error("data.max_len: " + std::to_string(max_len) + " exceeds the model's context of " +
                std::to_string(model.config().max_position_embeddings));
  const bool packing = c.data.packing;
  auto train_seqs = load_sequences(c.data, *policy.tokenizer, "train", seed);
  auto val_seqs = load_sequences(c.data, *policy.tokenizer, "val", seed);
  sum.train_sequences = static_cast<int64_t>(train_seqs.size());
  // Packing after a seeded shuffle, so that packed neighbours differ between runs with other seeds.
  Rng shuf(mix_seed(seed, 0x9ac));
  shuffle(train_seqs, shuf);
  auto rows = pack(train_seqs, max_len, packing, &sum.truncated);
  int64_t val_trunc = 0;
  auto val_rows = pack(val_seqs, max_len, packing, &val_trunc);
  if (sum.truncated) log_warn("sft: ", sum.truncated, " training sequences longer than data.max_len = ", max_len, " were truncated");

  OptimSettings os = c.trainer.optim;
  os.total_steps = steps;
  const std::vector<torch::Tensor> params = model.parameters();
  auto optim = make_adamw(params, os);
  UpdateGuard guard(c.trainer.spike_factor);
  DataOrder order(static_cast<int64_t>(rows.size()), seed);
  int64_t start = 0;
  if (!resume_from.empty()) {
    auto st = load_checkpoint_state(resume_from, *optim);
    start = st.at("step").get<int64_t>();
    order.load(st.at("data"));
    guard.load(st.at("guard"));
    sum.skipped_updates = st.at("skipped").get<int64_t>();
  }
  write_file_atomic(run_dir + "/config.yaml", config::to_yaml(cfg));
  MetricsLog metrics(run_dir + "/metrics.jsonl", opt.resume ? start : -1);

  auto val_loss = [&]() -> double {
    if (val_rows.empty()) return -1;
    torch::NoGradGuard ng;
    model.eval();
    double total = 0, tokens = 0;
    for (size_t i = 0; i < val_rows.size(); i += static_cast<size_t>(micro)) {
      std::vector<int64_t> pick;
      for (size_t k = i; k < std::min(val_rows.size(), i + static_cast<size_t>(micro)); ++k) pick.push_back(static_cast<int64_t>(k));
      Batch b = make_batch(val_rows, pick);
      total += loss_sum(model, b).item<double>();
      tokens += b.tokens;
    }
    model.train();
    return tokens > 0 ? total / tokens : 0.0;
  };

  log_info("sft: ", policy.source, "; ", train_seqs.size(), " sequences in ", rows.size(), " rows of <= ", max_len,
           " tokens", packing ? " (packed)" : "", "; ", val_seqs.size(), " validation sequences");
  if (start == 0 && eval_every > 0 && !val_rows.empty()) {
    sum.first_val_loss = val_loss();
    metrics.write({{"step", 0}, {"val_loss", sum.first_val_loss}});
  }
  const double peak = measured_peak_flops();
  Progress progress(steps);
  model.train();
  const int64_t last = opt.stop_after > 0 ? std::min(opt.stop_after, steps) : steps;
  sum.steps_done = start;
  for (int64_t step = start + 1; step <= last; ++step) {
    Stopwatch sw;
    const double lr = lr_at(os, step);
    set_lr(*optim, lr);
    std::vector<int64_t> pick;
    for (int64_t i = 0; i < batch_size; ++i) pick.push_back(order.next());
    double tokens = 0, all_tokens = 0;
    std::vector<Batch> micros;
    for (int64_t i = 0; i < batch_size; i += micro) {
      micros.push_back(make_batch(rows, std::vector<int64_t>(pick.begin() + i, pick.begin() + i + micro)));
      tokens += micros.back().tokens;
      all_tokens += static_cast<double>((micros.back().seg > 0).sum().item<int64_t>());  // real tokens, not padding
    }
    optim->zero_grad();
    double loss = 0;
    for (const auto& b : micros) {
      torch::Tensor l = loss_sum(model, b) / std::max(1.0, tokens);  // token mean over the whole batch
      l.backward();
      loss += l.item<double>();
    }
    const double gnorm = clip_grad_norm(params, os.grad_clip);
    const std::string why = guard.check(loss, gnorm);
    Json m = {{"step", step}, {"loss", loss}, {"grad_norm", gnorm}, {"lr", lr}};
    if (why.empty()) {
      optim->step();
      guard.accept(gnorm);
      m["skipped"] = 0;
    } else {
      ++sum.skipped_updates;
      guard.reject();
      m["skipped"] = 1;
      log_warn("sft step ", step, ": update skipped (", why, ")");
    }
    const double secs = sw.seconds();
    m["tokens_per_s"] = all_tokens / secs;
    m["mfu"] = 3.0 * model.config().flops_per_token() * all_tokens / secs / peak;
    m["time/step"] = secs;
    if (eval_every > 0 && !val_rows.empty() && (step % eval_every == 0 || step == steps)) {
      sum.last_val_loss = val_loss();
      m["val_loss"] = sum.last_val_loss;
    }
    metrics.write(m);
    sum.last_loss = loss;
    if (!opt.quiet) {
      char line[160];
      std::snprintf(line, sizeof line, "loss %.4f  val %.4f  lr %.2e  %.0f tok/s", loss, sum.last_val_loss, lr, all_tokens / secs);
      progress.update(step, line);
    }
    if (save_every > 0 && step % save_every == 0) {
      nlohmann::json st = {{"data", nlohmann::json::parse(order.state().dump())}, {"guard", guard.state()},
                           {"skipped", sum.skipped_updates}};
      save_checkpoint(run_dir, step, model, *optim, st, policy.tokenizer_dir, keep);
    }
    sum.steps_done = step;
  }
  if (!opt.quiet) progress.finish();
  if (sum.steps_done == steps) {
    model::SaveOptions so;
    so.tokenizer_from = policy.tokenizer_dir;
    model::save_model(model, run_dir + "/model", so);
  }
  return sum;
}

}  // namespace arlt::train

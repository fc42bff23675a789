// The rollout engine: continuous batching gives the same tokens as a plain loop, log-probs equal
// the trainer's full forward, seeded sampling does not depend on the batch, and bad requests are
// clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "arlt/base/error.h"
#include "arlt/engine/engine.h"
#include "../test_util.h"

using namespace arlt;
using engine::Engine;
using engine::Request;

namespace {

std::shared_ptr<model::Transformer> tiny_model(uint64_t seed = 3) {
  nlohmann::json j = {{"architectures", {"Qwen2ForCausalLM"}}, {"vocab_size", 97}, {"hidden_size", 48},
                      {"intermediate_size", 80}, {"num_hidden_layers", 2}, {"num_attention_heads", 6},
                      {"num_key_value_heads", 2}, {"max_position_embeddings", 64}, {"torch_dtype", "float32"}};
  auto m = std::make_shared<model::Transformer>(model::ModelConfig::from_json(j, "test"));
  test::randomize(*m, seed, 0.15);
  return m;
}

std::vector<int64_t> random_prompt(int64_t len, int64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor t = torch::randint(0, 97, {len}, torch::kInt64);
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + len);
}

// Greedy decoding by recomputing the full forward for every token: the reference.
std::vector<int64_t> greedy_reference(model::Transformer& m, std::vector<int64_t> ids, int64_t n) {
  torch::NoGradGuard ng;
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i) {
    torch::Tensor logits = m.forward(torch::tensor(ids, torch::kInt64).unsqueeze(0))[0];
    const int64_t t = logits[static_cast<int64_t>(ids.size()) - 1].argmax().item<int64_t>();
    out.push_back(t);
    ids.push_back(t);
  }
  return out;
}

Request make(const std::vector<int64_t>& prompt, int64_t max_tokens, double temperature = 0.0, uint64_t seed = 0, int64_t n = 1) {
  Request r;
  r.prompt = prompt;
  r.params.max_tokens = max_tokens;
  r.params.temperature = temperature;
  r.params.seed = seed;
  r.params.n = n;
  return r;
}

engine::EngineOptions options(int64_t max_seqs, int64_t max_batch_tokens = 0) {
  engine::EngineOptions o;
  o.max_seqs = max_seqs;
  o.max_batch_tokens = max_batch_tokens;
  return o;
}

// One greedy request per (prompt length, new tokens), prompt i drawn from seed + i.
std::vector<std::vector<int64_t>> submit_greedy(Engine& eng, const std::vector<int64_t>& lens,
                                                const std::vector<int64_t>& max_new, int64_t seed) {
  std::vector<std::vector<int64_t>> prompts;
  for (size_t i = 0; i < lens.size(); ++i) {
    prompts.push_back(random_prompt(lens[i], seed + static_cast<int64_t>(i)));
    eng.submit(make(prompts.back(), max_new[i]));
  }
  return prompts;
}

// Every completion (any order; the engine names request k "req-<k>") equals the plain loop.
void expect_plain_greedy(model::Transformer& m, const std::vector<engine::Completion>& out,
                         const std::vector<std::vector<int64_t>>& prompts, const std::vector<int64_t>& max_new) {
  ASSERT_EQ(out.size(), prompts.size());
  for (const auto& c : out) {
    const size_t i = std::stoul(c.request_id.substr(4));
    EXPECT_EQ(c.tokens, greedy_reference(m, prompts[i], max_new[i])) << "request " << i;
  }
}

}  // namespace

TEST(Engine, ContinuousBatchingEqualsPlainGreedyLoop) {
  auto m = tiny_model();
  Engine eng(m, nullptr, options(3));  // 6 requests through 3 slots: admission happens as slots free up
  const std::vector<int64_t> max_new = {7, 3, 10, 1, 5, 12};
  const auto prompts = submit_greedy(eng, {5, 1, 9, 3, 12, 2}, max_new, 40);
  auto out = eng.run();
  expect_plain_greedy(*m, out, prompts, max_new);
  for (const auto& c : out) EXPECT_EQ(c.finish_reason, "length");
  EXPECT_TRUE(eng.idle());
}

TEST(Engine, LogProbsEqualTheTrainersFullForward) {
  auto m = tiny_model(5);
  Engine eng(m);
  std::vector<std::vector<int64_t>> prompts = {random_prompt(6, 1), random_prompt(2, 2), random_prompt(11, 3)};
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto r = make(prompts[i], 9, /*temperature=*/0.8, /*seed=*/100 + i, /*n=*/2);
    r.params.top_k = 40;
    eng.submit(r);
  }
  auto out = eng.run();
  ASSERT_EQ(out.size(), 6u);
  torch::NoGradGuard ng;
  double worst = 0;
  for (const auto& c : out) {
    const auto& prompt = prompts[c.request_id == "req-0" ? 0 : c.request_id == "req-1" ? 1 : 2];
    std::vector<int64_t> seq = prompt;
    seq.insert(seq.end(), c.tokens.begin(), c.tokens.end());
    torch::Tensor lp = m->forward(torch::tensor(seq, torch::kInt64).unsqueeze(0))[0].log_softmax(-1);
    for (size_t k = 0; k < c.tokens.size(); ++k) {
      const double full = lp[static_cast<int64_t>(prompt.size() + k) - 1][c.tokens[k]].item<double>();
      worst = std::max(worst, std::abs(full - c.logprobs[k]));
      EXPECT_LE(c.processed_logprobs[k], 0.0);
    }
  }
  EXPECT_LT(worst, 1e-4);
  std::printf("[engine] max |engine logprob - full forward logprob| = %.3g\n", worst);
}

TEST(Engine, SeededSamplingDoesNotDependOnTheBatch) {
  auto m = tiny_model(7);
  const auto prompt = random_prompt(4, 9);
  Engine alone(m);
  alone.submit(make(prompt, 12, 1.0, 1234, 3));
  auto a = alone.run();
  Engine crowded(m);
  crowded.submit(make(random_prompt(8, 10), 20, 1.0, 1));
  crowded.submit(make(prompt, 12, 1.0, 1234, 3));
  crowded.submit(make(random_prompt(3, 11), 5, 1.0, 2));
  auto b = crowded.run();
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 5u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(a[i].tokens, b[1 + i].tokens) << "sample " << i;
  // The n samples of one prompt differ from each other (they are not copies of one stream).
  EXPECT_TRUE(a[0].tokens != a[1].tokens || a[1].tokens != a[2].tokens);
}

TEST(Engine, StopTokensEndSequences) {
  auto m = tiny_model();
  const auto prompt = random_prompt(5, 21);
  const auto ref = greedy_reference(*m, prompt, 6);
  Engine eng(m);
  auto r = make(prompt, 50);
  r.params.stop_token_ids = {ref[3]};
  eng.submit(r);
  auto out = eng.run();
  ASSERT_EQ(out.size(), 1u);
  const auto first = std::find(ref.begin(), ref.end(), ref[3]) - ref.begin();
  EXPECT_EQ(out[0].tokens, std::vector<int64_t>(ref.begin(), ref.begin() + first + 1));
  EXPECT_EQ(out[0].finish_reason, "stop");
}

TEST(Engine, BadRequestsAreClearErrors) {
  auto m = tiny_model();
  Engine eng(m);
  auto expect_error = [&](Request r, const std::string& needle) {
    try {
      eng.submit(r);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto r = make({1, 2, 3}, 0);
  expect_error(r, "max_tokens");
  r = make({1, 2, 3}, 4);
  r.params.top_p = 0.0;
  expect_error(r, "top_p");
  r.params.top_p = 1.5;
  expect_error(r, "top_p");
  r = make({1, 2, 3}, 4, -1.0);
  expect_error(r, "temperature");
  expect_error(make(std::vector<int64_t>(64, 1), 4), "context");
  expect_error(make({1, 200}, 4), "vocabulary");
  expect_error(make({}, 4), "empty");
  EXPECT_TRUE(eng.idle());  // nothing bad was queued
}

TEST(Sampler, FiltersOnHandMadeLogits) {
  torch::Tensor logits = torch::tensor({2.0f, 1.0f, 0.5f, 0.0f, -1.0f});
  engine::SamplingParams p;
  p.top_k = 2;
  auto x = engine::process_logits(logits, p, {});
  EXPECT_TRUE(std::isinf(x[2].item<float>()) && std::isinf(x[4].item<float>()));
  EXPECT_FALSE(std::isinf(x[1].item<float>()));
  // top_p 0.6: softmax = .53 .20 .12 .07 .03 -> keeps the first two (0.53 < 0.6).
  p = {};
  p.top_p = 0.6;
  x = engine::process_logits(logits, p, {});
  EXPECT_FALSE(std::isinf(x[1].item<float>()));
  EXPECT_TRUE(std::isinf(x[2].item<float>()));
  // min_p 0.3: keeps tokens with p >= 0.3 * 0.53.
  p = {};
  p.min_p = 0.3;
  x = engine::process_logits(logits, p, {});
  EXPECT_FALSE(std::isinf(x[1].item<float>()));
  EXPECT_TRUE(std::isinf(x[2].item<float>()));
  // Repetition penalty 2: positive logits halve, negative double; presence subtracts once.
  p = {};
  p.repetition_penalty = 2.0;
  p.presence_penalty = 0.5;
  x = engine::process_logits(logits, p, {0, 0, 4});
  EXPECT_FLOAT_EQ(x[0].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(x[4].item<float>(), -2.5f);
  EXPECT_FLOAT_EQ(x[1].item<float>(), 1.0f);
  // Temperature divides.
  p = {};
  p.temperature = 0.5;
  EXPECT_FLOAT_EQ(engine::process_logits(logits, p, {})[0].item<float>(), 4.0f);
}

TEST(Engine, ExtendAndResumeEqualsOneLongSequence) {
  auto m = tiny_model(9);
  const auto prompt = random_prompt(5, 31);
  Engine eng(m);
  auto r = make(prompt, 4);
  r.keep = true;
  eng.submit(r);
  auto first = eng.run();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(eng.parked(), 1);
  const std::vector<int64_t> obs = {7, 8, 9};  // a tool's observation, tokenised on its own
  engine::SamplingParams p;
  p.temperature = 0;
  p.max_tokens = 6;
  eng.extend(first[0].request_id, 0, obs, p);
  eng.submit(make(random_prompt(9, 32), 8));  // someone else shares the batch meanwhile
  auto second = eng.run();
  ASSERT_EQ(second.size(), 2u);
  const auto& resumed = second[0].request_id == first[0].request_id ? second[0] : second[1];
  std::vector<int64_t> ctx = prompt;
  ctx.insert(ctx.end(), first[0].tokens.begin(), first[0].tokens.end());
  ctx.insert(ctx.end(), obs.begin(), obs.end());
  EXPECT_EQ(resumed.tokens, greedy_reference(*m, ctx, 6));
  // The log-probs of the resumed turn still equal the full forward's.
  torch::NoGradGuard ng;
  std::vector<int64_t> all = ctx;
  all.insert(all.end(), resumed.tokens.begin(), resumed.tokens.end());
  torch::Tensor lp = m->forward(torch::tensor(all, torch::kInt64).unsqueeze(0))[0].log_softmax(-1);
  for (size_t k = 0; k < resumed.tokens.size(); ++k)
    EXPECT_NEAR(lp[static_cast<int64_t>(ctx.size() + k) - 1][resumed.tokens[k]].item<double>(), resumed.logprobs[k], 1e-4);
  EXPECT_EQ(eng.parked(), 1);  // kept again for the next turn
  eng.release(first[0].request_id, 0);
  EXPECT_EQ(eng.parked(), 0);
  EXPECT_THROW(eng.extend(first[0].request_id, 0, obs, p), Error);
  EXPECT_THROW(eng.extend("nope", 0, obs, p), Error);
}

TEST(Sampler, BatchedRowsDrawWhatEachRowDrawsAlone) {
  // sample_rows batches temperature-only rows; a row with top-k goes through sample(). Each row,
  // with a generator seeded the same, must get the token and log-probs sample() gives it alone.
  torch::manual_seed(0);
  torch::Tensor logits = torch::randn({4, 300}) * 3;
  std::vector<engine::SamplingParams> ps(4);
  ps[0].temperature = 1.0;
  ps[1].temperature = 0.7;
  ps[1].logprobs = 3;
  ps[2].temperature = 1.3;
  ps[2].top_k = 5;
  ps[3].temperature = 0.0;
  std::vector<int64_t> hist;
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<at::Generator> g1, g2;
    for (int i = 0; i < 4; ++i) {
      g1.push_back(at::detail::createCPUGenerator(100 * trial + i));
      g2.push_back(at::detail::createCPUGenerator(100 * trial + i));
    }
    std::vector<engine::RowSampling> rows;
    for (int i = 0; i < 4; ++i) rows.push_back({&ps[i], &hist, &g1[i]});
    auto batched = engine::sample_rows(logits, rows);
    for (int i = 0; i < 4; ++i) {
      auto alone = engine::sample(logits[i], ps[i], hist, g2[i]);
      EXPECT_EQ(batched[i].token, alone.token) << i;
      EXPECT_NEAR(batched[i].logprob, alone.logprob, 1e-5) << i;
      EXPECT_NEAR(batched[i].processed_logprob, alone.processed_logprob, 1e-5) << i;
      ASSERT_EQ(batched[i].top.size(), alone.top.size());
      for (size_t k = 0; k < alone.top.size(); ++k) EXPECT_EQ(batched[i].top[k].first, alone.top[k].first);
    }
  }
}

TEST(Sampler, GreedyRowsEqualTorchIncludingTiesAndBadRows) {
  // A batch of greedy rows takes the fused argmax + log-sum-exp; rows it declines (all -inf, NaN)
  // take torch's ops. Each row's token and log-prob must be what sample() gives it alone.
  torch::manual_seed(3);
  const float inf = std::numeric_limits<float>::infinity();
  torch::Tensor logits = torch::randn({5, 1003}) * 4;
  logits.index_put_({1, 7}, 30.f), logits.index_put_({1, 500}, 30.f), logits.index_put_({1, 1002}, 30.f);  // a tie
  logits.index_put_({2}, -inf);
  logits.index_put_({3, 11}, std::numeric_limits<float>::quiet_NaN());
  logits.index_put_({4, torch::indexing::Slice(0, 900)}, -inf);
  engine::SamplingParams greedy;
  greedy.temperature = 0.0;
  std::vector<int64_t> hist;
  std::vector<at::Generator> gens;
  for (int i = 0; i < 5; ++i) gens.push_back(at::detail::createCPUGenerator(i));
  std::vector<engine::RowSampling> rows;
  for (int i = 0; i < 5; ++i) rows.push_back({&greedy, &hist, &gens[i]});
  auto batched = engine::sample_rows(logits, rows);
  EXPECT_EQ(batched[1].token, 7);
  for (int i = 0; i < 5; ++i) {
    auto alone = engine::sample(logits[i], greedy, hist, gens[i]);
    EXPECT_EQ(batched[i].token, alone.token) << i;
    if (std::isnan(alone.logprob)) {
      EXPECT_TRUE(std::isnan(batched[i].logprob)) << i;
    } else {
      EXPECT_NEAR(batched[i].logprob, alone.logprob, 1e-5) << i;
    }
  }
  EXPECT_NEAR(batched[1].logprob, -std::log(3.0), 1e-5);
}

TEST(Sampler, DrawsFollowTheDistribution) {
  // 40000 draws from softmax(x / T) over 6 tokens (one batched row with T = 0.8 and one top-k row
  // through sample()): empirical frequencies within 4 standard errors of the probabilities, and a
  // token top-k removed is never drawn.
  torch::Tensor x = torch::tensor({2.0f, 1.0f, 0.5f, 0.0f, -1.0f, -3.0f});
  engine::SamplingParams t08, topk;
  t08.temperature = 0.8;
  topk.temperature = 1.0;
  topk.top_k = 3;
  at::Generator g = at::detail::createCPUGenerator(7);
  std::vector<int64_t> hist;
  const int N = 40000;
  std::vector<int> c1(6), c2(6);
  torch::Tensor two = torch::stack({x, x});
  for (int i = 0; i < N; ++i) {
    std::vector<engine::RowSampling> rows = {{&t08, &hist, &g}, {&topk, &hist, &g}};
    auto r = engine::sample_rows(two, rows);
    ++c1[r[0].token];
    ++c2[r[1].token];
  }
  torch::Tensor p1 = (x / 0.8).softmax(0), p2 = x.narrow(0, 0, 3).softmax(0);
  for (int k = 0; k < 6; ++k) {
    const double p = p1[k].item<double>(), se = std::sqrt(p * (1 - p) / N);
    EXPECT_NEAR(c1[k] / double(N), p, 4 * se + 1e-4) << "T=0.8 token " << k;
    const double q = k < 3 ? p2[k].item<double>() : 0.0, se2 = std::sqrt(q * (1 - q) / N);
    if (k < 3) EXPECT_NEAR(c2[k] / double(N), q, 4 * se2) << "top-k token " << k;
    else EXPECT_EQ(c2[k], 0) << "top-k removed token " << k;
  }
}

TEST(Engine, ChunkedPrefillMixedWithDecodeUnderATokenBudget) {
  // A budget of 4 tokens a step with 4 slots: prompts of up to 30 tokens are prefilled in
  // chunks, in the same forward as the decode tokens of running sequences. Same tokens as the
  // plain loop, and no step runs more than the budget.
  auto m = tiny_model(5);
  Engine eng(m, nullptr, options(4, 4));
  const std::vector<int64_t> max_new = {9, 6, 8, 12, 5, 7};
  const auto prompts = submit_greedy(eng, {3, 30, 7, 1, 22, 11}, max_new, 60);
  std::vector<engine::Completion> out;
  int64_t max_step = 0, mixed_steps = 0;
  while (!eng.idle()) {
    auto done = eng.step();
    out.insert(out.end(), done.begin(), done.end());
    max_step = std::max(max_step, eng.last_step_tokens());
    mixed_steps += eng.last_step_decode_tokens() > 0 && eng.last_step_tokens() > eng.last_step_decode_tokens();
  }
  EXPECT_LE(max_step, 4);
  EXPECT_GT(mixed_steps, 5);  // prefill chunks rode along with decode tokens
  expect_plain_greedy(*m, out, prompts, max_new);
  EXPECT_THROW(Engine(m, nullptr, options(8, 4)), Error);
}

TEST(Engine, AttentionKernelEqualsTorchOps) {
  // The CPU decode kernel against the torch path (gathered keys, masked softmax) on the same
  // mixed batch with sampling and n > 1: same tokens, log-probs within 1e-5.
  auto m = tiny_model(6);
  std::vector<std::vector<engine::Completion>> runs;
  for (bool kernel : {true, false}) {
    Engine eng(m, nullptr, options(6, 24));
    eng.set_kernel_attention(kernel);
    for (int i = 0; i < 4; ++i) eng.submit(make(random_prompt(3 + 9 * i, 80 + i), 10 + 3 * i, 0.9, 11 + i, 2));
    runs.push_back(eng.run());
  }
  ASSERT_EQ(runs[0].size(), 8u);
  ASSERT_EQ(runs[1].size(), 8u);
  for (size_t i = 0; i < runs[0].size(); ++i) {
    EXPECT_EQ(runs[0][i].tokens, runs[1][i].tokens) << i;
    for (size_t k = 0; k < runs[0][i].logprobs.size() && k < runs[1][i].logprobs.size(); ++k)
      EXPECT_NEAR(runs[0][i].logprobs[k], runs[1][i].logprobs[k], 1e-5) << i << " " << k;
  }
}

TEST(Engine, PauseMidGenerationThenResume) {
  // A sample paused after 3 steps finishes with "paused" and its tokens so far; extend() with
  // no tokens resumes it from its cache, and the two parts equal one uninterrupted greedy run.
  // A sample paused before it starts stops after its first token. Unknown samples: errors.
  auto m = tiny_model(7);
  const auto prompt = random_prompt(6, 90);
  Engine eng(m);
  const std::string id = eng.submit(make(prompt, 12));
  const std::string other = eng.submit(make(random_prompt(4, 91), 12, 0.0, 0, 2));
  std::vector<engine::Completion> done;
  for (int i = 0; i < 3; ++i) {
    auto d = eng.step();
    done.insert(done.end(), d.begin(), d.end());
  }
  eng.pause(id, 0);
  auto d = eng.step();
  done.insert(done.end(), d.begin(), d.end());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].finish_reason, "paused");
  const auto first = done[0].tokens;
  EXPECT_GE(first.size(), 3u);
  EXPECT_LT(first.size(), 12u);
  EXPECT_EQ(eng.parked(), 1);
  engine::SamplingParams p;
  p.temperature = 0;
  p.max_tokens = 12 - static_cast<int64_t>(first.size());
  eng.extend(id, 0, {}, p);
  auto rest = eng.run();
  const engine::Completion* resumed = nullptr;
  for (const auto& c : rest)
    if (c.request_id == id) resumed = &c;
  ASSERT_NE(resumed, nullptr);
  std::vector<int64_t> all = first;
  all.insert(all.end(), resumed->tokens.begin(), resumed->tokens.end());
  EXPECT_EQ(all, greedy_reference(*m, prompt, 12));
  EXPECT_EQ(resumed->finish_reason, "length");

  const std::string late = eng.submit(make(prompt, 12));
  eng.pause(late, 0);
  auto paused = eng.run();
  ASSERT_EQ(paused.size(), 1u);
  EXPECT_EQ(paused[0].finish_reason, "paused");
  EXPECT_EQ(paused[0].tokens.size(), 1u);
  EXPECT_THROW(eng.pause("nope", 0), Error);
  EXPECT_THROW(eng.pause(other, 0), Error);  // finished: nothing to pause
  const std::string two = eng.submit(make(prompt, 5, 0.0, 0, 2));
  EXPECT_THROW(eng.pause(two, 2), Error);     // it has samples 0 and 1
  eng.run();
}

TEST(Engine, FailedStepEndsItsSequencesCancelDuringPrefillAndFromOnToken) {
  // A step that throws (NaN weights: no distribution to sample from) ends every sequence it held
  // with an "error: ..." completion and frees their slots; the engine then serves new requests.
  auto m = tiny_model(8);
  Engine eng(m, nullptr, options(2, 2));
  torch::Tensor w = m->named_parameters()["model.norm.weight"];
  torch::Tensor saved = w.detach().clone();
  {
    torch::NoGradGuard ng;
    w.fill_(std::numeric_limits<float>::quiet_NaN());
  }
  eng.submit(make(random_prompt(1, 70), 5, 1.0, 3));
  EXPECT_THROW(eng.step(), Error);
  auto failed = eng.step();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].finish_reason.rfind("error: ", 0), 0u) << failed[0].finish_reason;
  EXPECT_TRUE(eng.idle());
  {
    torch::NoGradGuard ng;
    w.copy_(saved);
  }
  // Cancelled while its 30-token prompt is still being prefilled (2 tokens a step): both samples
  // come back "cancelled" and the slots serve the next request.
  const std::string id = eng.submit(make(random_prompt(30, 71), 4, 0.0, 0, 2));
  eng.step();
  eng.step();
  eng.cancel(id);
  auto cancelled = eng.step();
  ASSERT_EQ(cancelled.size(), 2u);
  for (const auto& c : cancelled) EXPECT_EQ(c.finish_reason, "cancelled");
  const auto prompt = random_prompt(5, 72);
  eng.submit(make(prompt, 6));
  auto out = eng.run();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tokens, greedy_reference(*m, prompt, 6));
  // cancel() from the streaming callback takes effect after the step.
  std::string streaming;
  eng.on_token = [&](const std::string& rid, int64_t, int64_t, double) {
    if (rid == streaming) eng.cancel(rid);
  };
  streaming = eng.submit(make(prompt, 6));
  auto stopped = eng.run();
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0].finish_reason, "cancelled");
  EXPECT_EQ(stopped[0].tokens.size(), 1u);
  EXPECT_TRUE(eng.idle());
}

TEST(Engine, KVBudgetCapsTheSlots) {
  // 2 layers x 2 KV heads x 8 dims x 2 (K and V) x 4 bytes = 256 bytes a position; 64 positions a
  // slot = 16 KiB. A 40 KiB budget holds 2 slots of the 8 asked for; 5 requests still all finish.
  auto m = tiny_model(10);
  engine::EngineOptions opt = options(8);
  opt.max_seq_len = 64;
  opt.kv_budget_bytes = 40 * 1024;
  Engine eng(m, nullptr, opt);
  EXPECT_EQ(eng.kv_bytes_per_token(), 256);
  EXPECT_EQ(eng.options().max_seqs, 2);
  const std::vector<int64_t> max_new(5, 5);
  const auto prompts = submit_greedy(eng, {4, 5, 6, 7, 8}, max_new, 120);
  expect_plain_greedy(*m, eng.run(), prompts, max_new);
  EXPECT_THROW(eng.submit(make(prompts[0], 5, 0.0, 0, 3)), Error);  // n = 3 > 2 slots
  opt.kv_budget_bytes = 10 * 1024;  // not one slot
  try {
    Engine too_small(m, nullptr, opt);
    ADD_FAILURE() << "a budget below one sequence must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("KV budget"), std::string::npos) << e.what();
  }
}

// Token scoring for the trainers: rows that share a prompt, packed into one row (the prompt once,
// then each response attending to the prompt and itself), score exactly as the rows run alone.
#include <gtest/gtest.h>

#include "arlt/base/error.h"
#include "arlt/train/batch.h"
#include "../test_util.h"

using namespace arlt;

namespace {
std::vector<int64_t> ids(int64_t len, int64_t seed, int64_t vocab = 97) {
  torch::manual_seed(seed);
  torch::Tensor t = torch::randint(0, vocab, {len}, torch::kInt64);
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + len);
}
}  // namespace

TEST(TrainBatch, SharedPromptPackingEqualsRowsAlone) {
  nlohmann::json j = {{"architectures", {"Qwen2ForCausalLM"}}, {"vocab_size", 97}, {"hidden_size", 48},
                      {"intermediate_size", 80}, {"num_hidden_layers", 2}, {"num_attention_heads", 6},
                      {"num_key_value_heads", 2}, {"max_position_embeddings", 128}, {"torch_dtype", "float32"}};
  model::Transformer m(model::ModelConfig::from_json(j, "test"), /*with_scalar_head=*/true);
  test::randomize(m, 4, 0.15);
  // Three prompts (lengths 5, 9, 5): 3 samples, 1 sample, 2 samples; responses of 1 to 11 tokens
  // (one empty), so rows are padded differently and one group is a single row.
  std::vector<std::vector<int64_t>> prompts, responses;
  const std::vector<std::pair<int64_t, std::vector<int64_t>>> plan = {{5, {7, 1, 11}}, {9, {4}}, {5, {0, 6}}};
  int64_t seed = 100;
  for (const auto& [plen, lens] : plan) {
    auto p = ids(plen, seed++);
    for (int64_t L : lens) {
      prompts.push_back(p);
      responses.push_back(ids(L, seed++));
    }
  }
  auto batch = train::make_token_batch(prompts, responses);
  std::vector<std::vector<torch::Tensor>> grads;
  std::vector<train::TokenScores> scores;
  for (bool share : {false, true}) {
    m.zero_grad();
    train::ScoreOptions so;
    so.temperature = 0.8, so.entropy = true, so.values = true, so.entropy_grad = true, so.share_prompts = share;
    auto sc = train::score_tokens(m, batch, so);
    // A loss over the response tokens that touches log-probs, entropy and values.
    torch::Tensor loss = ((sc.logp * 1.3 + sc.entropy * 0.2 + sc.values * 0.5) * batch.mask.narrow(1, 0, sc.logp.size(1))).sum();
    loss.backward();
    std::vector<torch::Tensor> g;
    for (const auto& p : m.parameters()) g.push_back(p.grad().clone());
    grads.push_back(g);
    scores.push_back(sc);
  }
  torch::Tensor mask = batch.mask.narrow(1, 0, scores[0].logp.size(1));
  ASSERT_EQ(scores[0].logp.sizes(), scores[1].logp.sizes());
  EXPECT_LT(((scores[0].logp - scores[1].logp) * mask).abs().max().item<double>(), 1e-5);
  EXPECT_LT(((scores[0].entropy - scores[1].entropy) * mask).abs().max().item<double>(), 1e-5);
  EXPECT_LT(((scores[0].values - scores[1].values) * mask).abs().max().item<double>(), 1e-5);
  for (size_t i = 0; i < grads[0].size(); ++i)
    EXPECT_LT((grads[0][i] - grads[1][i]).abs().max().item<double>(), 1e-5 * (1 + grads[0][i].abs().max().item<double>())) << i;
  EXPECT_GT(mask.sum().item<double>(), 20);  // enough response tokens compared

  // A wrong attention pattern is a clear error, not a silent broadcast.
  model::ForwardArgs a;
  a.input_ids = torch::zeros({1, 4}, torch::kInt64);
  a.position_ids = torch::arange(4).unsqueeze(0);
  a.attention_allowed = torch::ones({1, 4, 3}, torch::kBool);
  EXPECT_THROW(m.forward_hidden(a), Error);
  a.attention_allowed = torch::ones({1, 4, 4}, torch::kBool);
  a.position_ids = torch::Tensor();
  EXPECT_THROW(m.forward_hidden(a), Error);
}

TEST(TrainBatch, ResponseMasksKeepObservationsOutOfTheLoss) {
  // Row 0: prompt 3 tokens, response 5 with tokens 2 and 3 an observation; row 1: no mask given.
  auto b = train::make_token_batch({{1, 2, 3}, {4, 5}}, {{10, 11, 12, 13, 14}, {20, 21}}, 0, {{1, 1, 0, 0, 1}, {1, 1}});
  // mask[t] = 1 where position t predicts a trained token (t + 1 a response token with mask 1).
  EXPECT_TRUE(torch::equal(b.mask[0], torch::tensor({0.f, 0.f, 1.f, 1.f, 0.f, 0.f, 1.f})));
  EXPECT_TRUE(torch::equal(b.mask[1], torch::tensor({0.f, 1.f, 1.f, 0.f, 0.f, 0.f, 0.f})));
  EXPECT_EQ(b.trained_len, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(b.response_len, (std::vector<int64_t>{5, 2}));
  EXPECT_EQ(b.select({1}).trained_len, (std::vector<int64_t>{2}));
  EXPECT_THROW(train::make_token_batch({{1}}, {{2, 3}}, 0, {{1}}), Error);
}

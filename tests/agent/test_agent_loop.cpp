// The agent loop, token in and token out: a random model on a byte tokenizer, "actions" ended by
// stop strings it writes by chance, a deterministic tool. Each trajectory's ids are exactly what
// the engine generated and what the observations tokenise to, the mask marks the generated ones,
// and every generated token's log-prob equals a full forward over the whole trajectory (so the
// KV cache carried across turns is right). Limits, truncation, invalid actions, tool failures.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "arlt/agent/agent_loop.h"
#include "arlt/tokenizer/tokenizer.h"
#include "../test_util.h"

using namespace arlt;
using tools::Json;

namespace {

std::shared_ptr<model::Transformer> byte_model(uint64_t seed) {
  nlohmann::json j = {{"architectures", {"LlamaForCausalLM"}}, {"vocab_size", 260}, {"hidden_size", 48},
                      {"intermediate_size", 80}, {"num_hidden_layers", 2}, {"num_attention_heads", 6},
                      {"num_key_value_heads", 2}, {"max_position_embeddings", 512}, {"torch_dtype", "float32"}};
  auto m = std::make_shared<model::Transformer>(model::ModelConfig::from_json(j, "test"));
  test::randomize(*m, seed, 0.15);
  return m;
}

// Takes every action; answers with a fixed text that names the call, after a delay that varies
// by trajectory (so that turns interleave); "<fail>" in the action makes it throw.
class EchoTool : public tools::Tool {
 public:
  std::string name() const override { return "echo"; }
  std::string description() const override { return "echoes"; }
  bool accepts(const std::string& action) const override { return action.find("!") == std::string::npos; }
  tools::Observation execute(const std::string& action, const tools::ToolContext& ctx) override {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(ctx.trajectory_id.back() == '0' ? 30 : 1));
    tools::Observation o;
    o.value = "<obs " + std::to_string(action.size()) + ">";
    return o;
  }
  std::atomic<int> calls{0};
};

// Stop strings the random model writes often: a turn ends after a few tokens.
const std::vector<std::string> kStops = {"a", "e", "o", "t", "n", "s", "r", "l", "d", "m", "p", "c"};

}  // namespace

TEST(AgentLoop, TokensMasksAndLogprobsAreTheEnginesAcrossTurns) {
  auto m = byte_model(5);
  auto tok = tokenizer::Tokenizer::from_json(tokenizer::byte_tokenizer_json({"<|end|>"}));
  engine::Engine eng(m, tok);
  tools::ToolSet set;
  auto* echo = new EchoTool;
  set.add(std::unique_ptr<tools::Tool>(echo));
  agent::AgentOptions opt;
  opt.action_stops = kStops;
  opt.max_turns = 3;
  opt.max_response_tokens = 120;
  opt.max_action_tokens = 40;
  agent::AgentLoop loop(eng, *tok, set, opt);
  std::vector<agent::AgentTask> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back({"task" + std::to_string(i), tok->encode("Q" + std::to_string(i) + ": ", false), {}});
  engine::SamplingParams sp;
  sp.temperature = 1.0;
  sp.n = 2;
  sp.seed = 11;
  const auto trajs = loop.run(tasks, sp);
  ASSERT_EQ(trajs.size(), 8u);
  int64_t with_tools = 0;
  torch::NoGradGuard ng;
  for (const auto& t : trajs) {
    ASSERT_EQ(t.tokens.size(), t.loss_mask.size()) << t.id;
    ASSERT_EQ(t.tokens.size(), t.logprobs.size()) << t.id;
    EXPECT_LE(static_cast<int64_t>(t.tokens.size()), opt.max_response_tokens) << t.id;
    EXPECT_LE(t.tool_calls, opt.max_turns) << t.id;
    EXPECT_TRUE(t.stop_reason == "finished" || t.stop_reason == "max_turns" || t.stop_reason == "length") << t.id << " " << t.stop_reason;
    with_tools += t.tool_calls > 0;
    // Every observation span is the tokenisation of "<obs N>" on its own.
    for (size_t i = 0; i < t.tokens.size();) {
      if (t.loss_mask[i]) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < t.tokens.size() && !t.loss_mask[j]) ++j;
      const std::string obs = tok->decode(std::vector<int64_t>(t.tokens.begin() + i, t.tokens.begin() + j));
      EXPECT_EQ(obs.rfind("<obs ", 0), 0u) << t.id << ": " << obs;
      EXPECT_EQ(tok->encode(obs, false), std::vector<int64_t>(t.tokens.begin() + i, t.tokens.begin() + j));
      for (size_t k = i; k < j; ++k) EXPECT_EQ(t.logprobs[k], 0.0);
      i = j;
    }
    // A full forward over prompt + trajectory gives the engine's log-probs on the generated tokens.
    std::vector<int64_t> all = t.prompt;
    all.insert(all.end(), t.tokens.begin(), t.tokens.end());
    torch::Tensor lp = m->forward(torch::tensor(all, torch::kInt64).unsqueeze(0))[0].log_softmax(-1);
    const int64_t P = static_cast<int64_t>(t.prompt.size());
    double worst = 0;
    for (size_t k = 0; k < t.tokens.size(); ++k)
      if (t.loss_mask[k]) worst = std::max(worst, std::abs(lp[P + static_cast<int64_t>(k) - 1][t.tokens[k]].item<double>() - t.logprobs[k]));
    EXPECT_LT(worst, 1e-4) << t.id;
  }
  EXPECT_GT(with_tools, 4) << "the stops should make most trajectories call the tool";
  EXPECT_EQ(eng.parked(), 0) << "every kept cache released";
}

TEST(AgentLoop, InvalidActionsToolFailuresAndTruncation) {
  auto m = byte_model(6);
  auto tok = tokenizer::Tokenizer::from_json(tokenizer::byte_tokenizer_json({"<|end|>"}));
  engine::Engine eng(m, tok);
  // A tool that takes nothing: every action is invalid and ends its trajectory.
  tools::ToolSet none;
  agent::AgentOptions opt;
  opt.action_stops = kStops;
  opt.max_response_tokens = 100;
  agent::AgentLoop loop(eng, *tok, none, opt);
  engine::SamplingParams sp;
  sp.n = 4;
  sp.seed = 3;
  for (const auto& t : loop.run({{"q", tok->encode("hi ", false), {}}}, sp)) {
    if (t.stop_reason == "invalid_action") EXPECT_EQ(t.invalid_actions, 1);
    EXPECT_EQ(t.tool_calls, t.invalid_actions) << t.id;
  }
  // Observation truncation.
  const std::vector<int64_t> ids = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, mk = {0};
  EXPECT_EQ(agent::truncate_observation(ids, 20, agent::Truncation::Middle, mk), ids);
  EXPECT_EQ(agent::truncate_observation(ids, 5, agent::Truncation::Left, mk), (std::vector<int64_t>{1, 2, 3, 4, 0}));
  EXPECT_EQ(agent::truncate_observation(ids, 5, agent::Truncation::Right, mk), (std::vector<int64_t>{0, 7, 8, 9, 10}));
  EXPECT_EQ(agent::truncate_observation(ids, 5, agent::Truncation::Middle, mk), (std::vector<int64_t>{1, 2, 0, 9, 10}));
  EXPECT_EQ(agent::truncate_observation(ids, 0, agent::Truncation::Middle, mk), std::vector<int64_t>{});
  EXPECT_THROW(agent::parse_truncation("center", "agent.truncation"), Error);
  EXPECT_EQ(agent::parse_truncation("left", "k"), agent::Truncation::Left);
}

// The agent loop: each trajectory generates until an action stop string (a tool call such as
// </python>) or its end; the action goes to the tools; the observation is tokenised on its own and
// appended; the engine continues the same sequence from its kept KV cache (Engine::extend).
// Asynchronous per trajectory: tools run on their own threads while the engine keeps decoding the
// others; there is no barrier between turns. docs/agent.md.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "arlt/agent/observation.h"
#include "arlt/agent/trajectory.h"
#include "arlt/engine/engine.h"
#include "arlt/tools/tool_set.h"

namespace arlt::agent {

struct AgentOptions {
  std::vector<std::string> action_stops = {"</python>", "</sql>", "</tool_call>", "```output"};
  int64_t max_turns = 4;              // tool calls per trajectory; the action of the turn past them is not run
  int64_t max_response_tokens = 512;  // generated + observation tokens after the prompt
  int64_t max_action_tokens = 256;    // tokens one turn may generate
  int64_t max_obs_tokens = 256;       // an observation longer than this is cut
  Truncation truncation = Truncation::Middle;
  std::string truncation_marker = "\n...\n";
  bool end_on_invalid = true;         // an action no tool takes ends the trajectory (else it continues)
};

struct AgentTask {
  std::string id;                     // the trajectory ids are id#0, id#1, ...
  std::vector<int64_t> prompt;
  tools::Json extra_fields = tools::Json::object();
};

class AgentLoop {
 public:
  AgentLoop(engine::Engine& engine, const tokenizer::Tokenizer& tokenizer, tools::ToolSet& tools, AgentOptions options);
  // sampling.n trajectories per task; sampling.stop gets the action stops added, max_tokens is the
  // per-turn budget (max_action_tokens and what is left of max_response_tokens); the seed of
  // task i is mix_seed(sampling.seed, i). Trajectories come back in task order, samples in order.
  std::vector<Trajectory> run(const std::vector<AgentTask>& tasks, const engine::SamplingParams& sampling);

 private:
  engine::Engine& engine_;
  const tokenizer::Tokenizer& tok_;
  tools::ToolSet& tools_;
  AgentOptions opt_;
  std::vector<int64_t> marker_ids_;
};

}  // namespace arlt::agent

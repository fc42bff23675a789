#include "arlt/agent/agent_loop.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <map>

#include "arlt/base/error.h"
#include "arlt/base/rng.h"
#include "arlt/tokenizer/tokenizer.h"

namespace arlt::agent {
namespace {

// A tool's answer to one action, computed on a tool thread.
struct ToolAnswer {
  tools::Observation obs;
  bool accepted = false, failed = false;
  double seconds = 0;
};

ToolAnswer call_tool(tools::ToolSet& set, const std::string& action, const tools::ToolContext& ctx) {
  ToolAnswer a;
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& t : set.tools()) {
    if (!t->accepts(action)) continue;
    a.accepted = true;
    try {
      a.obs = t->execute(action, ctx);
      a.accepted = a.obs.valid;  // a remote server's tools may refuse an action the client sent
    } catch (const std::exception& e) {
      a.failed = true;
      a.obs.value = std::string("\nTool error: ") + e.what() + "\n";
    }
    break;
  }
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return a;
}

std::string observation_text(const tools::Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("obs") && v["obs"].is_string()) return v["obs"].get<std::string>();
  return "";
}

}  // namespace

int64_t Trajectory::generated_tokens() const {
  int64_t n = 0;
  for (uint8_t m : loss_mask) n += m;
  return n;
}

AgentLoop::AgentLoop(engine::Engine& engine, const tokenizer::Tokenizer& tokenizer, tools::ToolSet& tools, AgentOptions options)
    : engine_(engine), tok_(tokenizer), tools_(tools), opt_(std::move(options)) {
  if (opt_.max_turns < 0) throw Error("agent.max_turns: must be >= 0");
  if (opt_.max_response_tokens <= 0) throw Error("agent.max_response_tokens: must be > 0");
  if (opt_.max_action_tokens <= 0) throw Error("agent.max_action_tokens: must be > 0");
  if (opt_.max_obs_tokens < 0) throw Error("agent.max_obs_tokens: must be >= 0");
  marker_ids_ = tok_.encode(opt_.truncation_marker, false);
}

std::vector<Trajectory> AgentLoop::run(const std::vector<AgentTask>& tasks, const engine::SamplingParams& sampling) {
  const int64_t n = sampling.n;
  std::vector<Trajectory> out(tasks.size() * static_cast<size_t>(n));
  std::map<std::pair<std::string, int64_t>, size_t> of;  // (request id, sample) -> trajectory
  engine::SamplingParams base = sampling;
  for (const auto& s : opt_.action_stops)
    if (std::find(base.stop.begin(), base.stop.end(), s) == base.stop.end()) base.stop.push_back(s);
  for (size_t i = 0; i < tasks.size(); ++i) {
    engine::Request r;
    r.id = "agent-" + std::to_string(i);
    r.prompt = tasks[i].prompt;
    r.params = base;
    r.params.max_tokens = std::min(opt_.max_action_tokens, opt_.max_response_tokens);
    r.params.seed = mix_seed(sampling.seed, i);
    r.keep = true;
    engine_.submit(r);
    for (int64_t k = 0; k < n; ++k) {
      Trajectory& t = out[i * n + k];
      t.id = (tasks[i].id.empty() ? std::to_string(i) : tasks[i].id) + "#" + std::to_string(k);
      t.task = static_cast<int64_t>(i), t.sample = k, t.prompt = tasks[i].prompt;
      of[{r.id, k}] = i * n + k;
    }
  }
  struct Pending {
    size_t traj;
    std::string request_id;
    int64_t index;
    std::future<ToolAnswer> answer;
  };
  std::vector<Pending> pending;

  const auto end = [&](Trajectory& t, const std::string& request_id, int64_t index, const std::string& why) {
    t.stop_reason = why;
    engine_.release(request_id, index);
    for (const auto& tool : tools_.tools()) tool->finish(t.id);
  };
  const auto is_action_stop = [&](const std::string& s) {
    return std::find(opt_.action_stops.begin(), opt_.action_stops.end(), s) != opt_.action_stops.end();
  };
  // A turn the engine finished: its tokens join the trajectory; an action goes to the tools.
  const auto on_completion = [&](const engine::Completion& c) {
    auto it = of.find({c.request_id, c.index});
    if (it == of.end()) return;  // not ours
    Trajectory& t = out[it->second];
    ++t.turns;
    t.tokens.insert(t.tokens.end(), c.tokens.begin(), c.tokens.end());
    t.loss_mask.insert(t.loss_mask.end(), c.tokens.size(), 1);
    t.logprobs.insert(t.logprobs.end(), c.processed_logprobs.begin(), c.processed_logprobs.end());
    t.text += c.text;
    if (c.finish_reason.rfind("error", 0) == 0) return end(t, c.request_id, c.index, "error");
    if (c.finish_reason == "stop" && is_action_stop(c.stop_string)) {
      if (t.tool_calls >= opt_.max_turns) return end(t, c.request_id, c.index, "max_turns");
      ++t.tool_calls;
      tools::ToolContext ctx;
      ctx.trajectory_id = t.id;
      ctx.extra_fields = tasks[static_cast<size_t>(t.task)].extra_fields;
      pending.push_back({it->second, c.request_id, c.index,
                         std::async(std::launch::async, call_tool, std::ref(tools_), c.text, ctx)});
      return;
    }
    end(t, c.request_id, c.index, c.finish_reason == "length" ? "length" : "finished");
  };
  // A tool answered: the observation's ids join the trajectory and the engine resumes it.
  const auto on_answer = [&](Pending& p) {
    Trajectory& t = out[p.traj];
    ToolAnswer a = p.answer.get();
    t.tool_seconds += a.seconds;
    if (a.failed) ++t.tool_errors;
    if (!a.accepted) {
      ++t.invalid_actions;
      if (opt_.end_on_invalid) return end(t, p.request_id, p.index, "invalid_action");
    }
    if (a.obs.done) return end(t, p.request_id, p.index, "tool_done");
    const std::string text = observation_text(a.obs.value);
    std::vector<int64_t> ids = truncate_observation(tok_.encode(text, false), opt_.max_obs_tokens, opt_.truncation, marker_ids_);
    const int64_t left = opt_.max_response_tokens - static_cast<int64_t>(t.tokens.size()) - static_cast<int64_t>(ids.size());
    if (left <= 0) return end(t, p.request_id, p.index, "length");
    t.tokens.insert(t.tokens.end(), ids.begin(), ids.end());
    t.loss_mask.insert(t.loss_mask.end(), ids.size(), 0);
    t.logprobs.insert(t.logprobs.end(), ids.size(), 0.0);
    t.text += tok_.decode(ids, false, false, false);
    engine::SamplingParams next = base;
    next.n = 1;
    next.max_tokens = std::min(opt_.max_action_tokens, left);
    try {
      engine_.extend(p.request_id, p.index, ids, next);
    } catch (const Error&) {  // the model's context is full
      t.tokens.resize(t.tokens.size() - ids.size());
      t.loss_mask.resize(t.tokens.size());
      t.logprobs.resize(t.tokens.size());
      end(t, p.request_id, p.index, "length");
    }
  };

  while (!engine_.idle() || !pending.empty()) {
    if (!engine_.idle()) {
      for (const auto& c : engine_.step()) on_completion(c);
    } else {
      pending.front().answer.wait();  // nothing to decode: wait for a tool
    }
    for (size_t i = 0; i < pending.size();) {
      if (pending[i].answer.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        Pending p = std::move(pending[i]);
        pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
        on_answer(p);
      } else {
        ++i;
      }
    }
  }
  return out;
}

}  // namespace arlt::agent

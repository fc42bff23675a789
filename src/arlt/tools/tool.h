// A tool the agent loop (and the tool server) can call: it decides whether an action (the text a
// model wrote, up to its stop string) is meant for it, runs it for one trajectory, and forgets the
// trajectory when it ends. Tools are torch-free and live in the core library; each one reproduces
// the observable behaviour of the VerlTool tool of the same name where one exists (formats,
// errors), checked by replaying requests recorded from a VerlTool server (tests/tools).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace arlt::tools {

using Json = nlohmann::ordered_json;

// What a tool sees of the trajectory an action comes from.
struct ToolContext {
  std::string trajectory_id;
  Json extra_fields = Json::object();  // the dataset row's extra fields (db_path, stdin, turns_left, ...)
};

struct Observation {
  Json value = "";     // the observation: a string, or an object with "obs" and the tool's own fields
  bool done = false;   // the trajectory ends here
  bool valid = true;   // the action was a well-formed call of this tool
};

class Tool {
 public:
  virtual ~Tool() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;  // one line, shown to a model that called no tool
  // Whether the action is a call of this tool (the first tool that accepts an action takes it).
  virtual bool accepts(const std::string& action) const = 0;
  // Runs an accepted action. A failure of the code or query the model wrote is an observation
  // (the model reads it), never an exception; an exception is the tool's own failure.
  virtual Observation execute(const std::string& action, const ToolContext& context) = 0;
  // The trajectory has ended: drop what the tool keeps for it.
  virtual void finish(const std::string& trajectory_id) { (void)trajectory_id; }
};

}  // namespace arlt::tools

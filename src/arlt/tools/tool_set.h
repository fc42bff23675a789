// The tools of a run and VerlTool's request protocol over them: get_observation() takes the body
// of a POST /get_observation ({"trajectory_ids", "actions", optional "extra_fields", "finish",
// "is_last_step"}) and answers {"observations", "dones", "valids"} as VerlTool's server does;
// the tool server (HTTP) and the in-process agent loop both call it.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "arlt/tools/tool.h"

namespace arlt::tools {

// A request VerlTool's server would refuse: `status` 422 and pydantic's `detail` list.
struct RequestError {
  int status = 422;
  Json detail;
};

class ToolSet {
 public:
  void add(std::unique_ptr<Tool> tool);
  const std::vector<std::unique_ptr<Tool>>& tools() const { return tools_; }

  // Runs each action with the first tool that accepts it (in parallel across the batch). A
  // trajectory marked finish (at the top level or in its extra_fields) ends: observation "",
  // done, and its tools drop its state. An action no tool accepts is invalid and answered with
  // the list of tools. Throws RequestError for a malformed body.
  Json get_observation(const Json& request);

  // The "Available tools:\n• name: description" text an invalid action gets.
  std::string available_tools() const;

 private:
  std::vector<std::unique_ptr<Tool>> tools_;
};

// Tools by name, for configs and `arlt tools serve --tools python_code,sql`. A factory takes the
// tool's options (a JSON object; unknown keys are errors); built in: python_code (alias python;
// options timeout, memory_mb), sql (options db_root, timeout, max_rows), calculator, search
// (options corpus, top_k, index), remote
// (options url, timeout: every action to a server of this protocol). Any file may add one.
using ToolFactory = std::function<std::unique_ptr<Tool>(const Json& options)>;
void register_tool(const std::string& name, ToolFactory factory);
std::unique_ptr<Tool> make_tool(const std::string& name, const Json& options = Json::object());
std::vector<std::string> tool_names();

}  // namespace arlt::tools

// The python tool (VerlTool's python_code): the code in <python>...</python> (observation in
// <result> tags) or in ```python fences (observation fenced as ```result), several blocks of one
// action joined, run by the machine's /usr/bin/python3 in the sandbox (sandbox.h) as main.py,
// stateless (a later action does not see earlier variables). The observation is what the code
// printed, then what it wrote to stderr (a traceback), trimmed; a run past the wall limit adds
// "Execution timed out after N seconds.".
#pragma once
#include <string>
#include <vector>

#include "arlt/tools/sandbox.h"
#include "arlt/tools/tool.h"

namespace arlt::tools {

struct PythonCall {
  std::string code;    // the blocks joined by newlines
  bool fenced = false;  // ```python (observation ```result) rather than <python> (<result>)
};

// The code of an action, if it holds any: <python> blocks first, else ```python blocks.
bool parse_python_action(const std::string& action, PythonCall* call);

class PythonTool : public Tool {
 public:
  explicit PythonTool(SandboxLimits limits = {}) : limits_(limits) {}
  std::string name() const override { return "python_code"; }
  std::string description() const override;
  bool accepts(const std::string& action) const override;
  Observation execute(const std::string& action, const ToolContext& context) override;
  // The lines run before the model's code: imports of the names VerlTool's tool pre-imports
  // (sqrt, pi, Counter, ...), as many lines as VerlTool's, so tracebacks carry the same line numbers.
  static const std::string& prelude();

 private:
  SandboxLimits limits_;
};

}  // namespace arlt::tools

// Tools served by another process: any server that speaks VerlTool's API (`arlt tools serve`,
// VerlTool's own) answers the agent loop's actions. Every action is sent (the server decides what
// its tools take: an action none takes comes back invalid); a trajectory's end is sent as finish.
#pragma once
#include <string>

#include "arlt/tools/tool.h"

namespace arlt::tools {

class RemoteTool : public Tool {
 public:
  // url: "http://host:port" (no path); timeout for one request.
  explicit RemoteTool(std::string url, double timeout_seconds = 60);
  std::string name() const override { return "remote"; }
  std::string description() const override { return "tools served at " + url_; }
  bool accepts(const std::string&) const override { return true; }
  // A server that cannot be reached, or answers other than 200 with the protocol's lists, is the
  // tool's own failure: arlt::Error (exit code 1) naming the url and what came back.
  Observation execute(const std::string& action, const ToolContext& context) override;
  void finish(const std::string& trajectory_id) override;

 private:
  Json post(const Json& body) const;
  std::string url_, host_;
  int port_ = 80;
  double timeout_;
};

}  // namespace arlt::tools

#include "arlt/tools/remote_tool.h"

#include <httplib.h>

#include "arlt/base/error.h"

namespace arlt::tools {

RemoteTool::RemoteTool(std::string url, double timeout_seconds) : url_(std::move(url)), timeout_(timeout_seconds) {
  const std::string prefix = "http://";
  if (url_.rfind(prefix, 0) != 0) throw Error("tools.url: '" + url_ + "': expected http://host:port");
  std::string rest = url_.substr(prefix.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t colon = rest.rfind(':');
  host_ = colon == std::string::npos ? rest : rest.substr(0, colon);
  if (colon != std::string::npos) {
    const std::string p = rest.substr(colon + 1);
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos || std::stoi(p) > 65535)
      throw Error("tools.url: '" + url_ + "': the port must be a number up to 65535");
    port_ = std::stoi(p);
  }
  if (host_.empty()) throw Error("tools.url: '" + url_ + "': no host");
}

Json RemoteTool::post(const Json& body) const {
  httplib::Client c(host_, port_);
  const auto secs = static_cast<time_t>(timeout_);
  c.set_read_timeout(secs, 0);
  c.set_write_timeout(secs, 0);
  c.set_connection_timeout(5, 0);
  auto r = c.Post("/get_observation", body.dump(), "application/json");
  if (!r) throw runtime_failure("tool server " + url_ + ": no answer (" + httplib::to_string(r.error()) + ")");
  if (r->status != 200) throw runtime_failure("tool server " + url_ + ": status " + std::to_string(r->status) + ": " + r->body.substr(0, 300));
  Json j = Json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("observations") || !j["observations"].is_array() || j["observations"].empty())
    throw runtime_failure("tool server " + url_ + ": not an answer of the tool protocol: " + r->body.substr(0, 300));
  return j;
}

Observation RemoteTool::execute(const std::string& action, const ToolContext& ctx) {
  const Json j = post({{"trajectory_ids", {ctx.trajectory_id}}, {"actions", {action}}, {"extra_fields", {ctx.extra_fields}}});
  Observation o;
  o.value = j["observations"][0];
  if (j.contains("dones") && j["dones"].is_array() && !j["dones"].empty()) o.done = j["dones"][0] == true;
  if (j.contains("valids") && j["valids"].is_array() && !j["valids"].empty()) o.valid = j["valids"][0] != false;
  return o;
}

void RemoteTool::finish(const std::string& trajectory_id) {
  try {
    post({{"trajectory_ids", {trajectory_id}}, {"actions", {""}}, {"finish", {true}}});
  } catch (const Error&) {
    // The server dropping a finished trajectory's state is its own housekeeping: not a reason to stop.
  }
}

}  // namespace arlt::tools

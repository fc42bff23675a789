// `arlt tools serve`: a ToolSet behind HTTP with VerlTool's API, so that arlt's agent loop and
// VerlTool's (or any client of its server) can call the same tools. POST /get_observation (the
// protocol of tool_set.h), GET /health, GET /metrics (Prometheus text). Loopback by default; a
// request body over the size limit is 413, a body that is not JSON 400, a malformed request 422
// with pydantic's detail, more than max_concurrent requests at once 503; the port is bound
// without SO_REUSEPORT, so a second server on a taken port fails instead of sharing it.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "arlt/tools/tool_set.h"

namespace httplib {
class Server;
}

namespace arlt::tools {

struct ToolServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  int max_concurrent = 64;
  size_t max_body_bytes = size_t{16} << 20;
};

class ToolServer {
 public:
  ToolServer(std::unique_ptr<ToolSet> tools, ToolServerOptions options);
  ~ToolServer();
  int start();  // binds (Error with exit code 1 when it cannot) and serves in a background thread; returns the port
  void wait();  // until stop()
  void stop();

 private:
  std::unique_ptr<ToolSet> tools_;
  ToolServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::atomic<int> in_flight_{0};
  std::atomic<int64_t> requests_{0}, actions_{0}, invalid_{0}, refused_{0};
  double started_ = 0;
};

}  // namespace arlt::tools

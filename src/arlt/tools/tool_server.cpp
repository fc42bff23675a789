#include "arlt/tools/tool_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>

#include "arlt/base/error.h"
#include "arlt/base/log.h"

namespace arlt::tools {
namespace {

double now_seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

void reply(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

}  // namespace

ToolServer::ToolServer(std::unique_ptr<ToolSet> tools, ToolServerOptions options)
    : tools_(std::move(tools)), options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {}

ToolServer::~ToolServer() { stop(); }

int ToolServer::start() {
  started_ = now_seconds();
  http_->set_payload_max_length(options_.max_body_bytes);
  // A worker per concurrent client (httplib's default pool of 8 left connections waiting past
  // their read timeout under 64 clients: "Read" errors on the client side), and long keep-alives.
  const size_t workers = static_cast<size_t>(std::max(8, std::min(options_.max_concurrent + 8, 264)));
  http_->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  http_->set_keep_alive_max_count(1000);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second server on the
  // same port starts and the kernel splits the clients between the two.
  http_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http_->Post("/get_observation", [this](const httplib::Request& req, httplib::Response& res) {
    ++requests_;
    if (in_flight_.fetch_add(1) >= options_.max_concurrent) {
      --in_flight_;
      ++refused_;
      return reply(res, 503, {{"detail", "too many concurrent requests (max_concurrent " + std::to_string(options_.max_concurrent) + ")"}});
    }
    struct Leave {
      std::atomic<int>& n;
      ~Leave() { --n; }
    } leave{in_flight_};
    Json body;
    try {
      body = Json::parse(req.body);
    } catch (const Json::exception& e) {
      return reply(res, 400, {{"detail", std::string("the body is not valid JSON: ") + e.what()}});
    }
    try {
      Json out = tools_->get_observation(body);
      actions_ += static_cast<int64_t>(out["valids"].size());
      for (const auto& v : out["valids"]) invalid_ += v == false;
      reply(res, 200, out);
    } catch (const RequestError& e) {
      reply(res, e.status, {{"detail", e.detail}});
    }
  });
  http_->Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    Json names = Json::array();
    for (const auto& t : tools_->tools()) names.push_back(t->name());
    reply(res, 200, {{"status", "healthy"}, {"concurrent_requests", in_flight_.load()}, {"max_concurrent", options_.max_concurrent},
                     {"tools", names}, {"uptime_seconds", now_seconds() - started_}});
  });
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::string m;
    m += "# TYPE arlt_tool_requests_total counter\narlt_tool_requests_total " + std::to_string(requests_.load()) + "\n";
    m += "# TYPE arlt_tool_actions_total counter\narlt_tool_actions_total " + std::to_string(actions_.load()) + "\n";
    m += "# TYPE arlt_tool_invalid_actions_total counter\narlt_tool_invalid_actions_total " + std::to_string(invalid_.load()) + "\n";
    m += "# TYPE arlt_tool_refused_requests_total counter\narlt_tool_refused_requests_total " + std::to_string(refused_.load()) + "\n";
    m += "# TYPE arlt_tool_requests_in_flight gauge\narlt_tool_requests_in_flight " + std::to_string(in_flight_.load()) + "\n";
    res.set_content(m, "text/plain; version=0.0.4");
  });
  http_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      const std::string what = res.status == 413 ? "the request body is over the size limit" : res.status == 404 ? "no such endpoint" : "bad request";
      reply(res, res.status, {{"detail", what}});
    }
  });
  http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    reply(res, 500, {{"detail", what}});
  });
  const int port = options_.port == 0 ? http_->bind_to_any_port(options_.host.c_str())
                                      : (http_->bind_to_port(options_.host.c_str(), options_.port) ? options_.port : -1);
  if (port < 0) throw runtime_failure("tools serve: cannot listen on " + options_.host + ":" + std::to_string(options_.port) + " (taken?)");
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return port;
}

void ToolServer::wait() {
  if (thread_.joinable()) thread_.join();
}

void ToolServer::stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace arlt::tools

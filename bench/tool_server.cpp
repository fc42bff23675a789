// bench/tool_server: requests/s and latency (p50, p99) of `POST /get_observation` on arlt's tool
// server over loopback HTTP, for the python tool (each action a fresh bubblewrap sandbox and
// python3) and for the calculator (no code to run: the server's own overhead), with 1, 16 and 64
// concurrent clients each sending single actions. Every answer is checked (no lost or wrong
// observation). VerlTool's figures on this kind of machine, for comparison, are in the issue:
// about 6 python actions/s and 230-450 requests/s with no code to run.
//
//   build/bench_tool_server [--seconds 5]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "arlt/tools/sandbox.h"
#include "arlt/tools/tool_server.h"

using namespace arlt;
using Clock = std::chrono::steady_clock;

namespace {

struct Result {
  double per_second = 0, p50_ms = 0, p99_ms = 0;
  int64_t done = 0, wrong = 0;
};

Result load(int port, int clients, double seconds, const std::string& tag) {
  std::vector<std::vector<double>> lat(clients);
  std::atomic<int64_t> wrong{0};
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> ts;
  for (int c = 0; c < clients; ++c)
    ts.emplace_back([&, c] {
      httplib::Client cl("127.0.0.1", port);
      cl.set_read_timeout(60, 0);
      for (int i = 0; Clock::now() < until; ++i) {
        const int a = c * 1000 + i;
        const std::string action = tag == "python" ? "<python>print(" + std::to_string(a) + "*3)</python>"
                                                   : "<calculator>" + std::to_string(a) + "*3</calculator>";
        tools::Json body = {{"trajectory_ids", {"t" + std::to_string(a)}}, {"actions", {action}}};
        const auto t0 = Clock::now();
        auto r = cl.Post("/get_observation", body.dump(), "application/json");
        lat[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        const std::string want = "\n<result>\n" + std::to_string(3 * a) + "\n</result>\n";
        if (!r || r->status != 200 || tools::Json::parse(r->body)["observations"][0] != want) {
          if (++wrong <= 3)
            std::fprintf(stderr, "wrong: %s\n", !r ? httplib::to_string(r.error()).c_str() : (std::to_string(r->status) + " " + r->body.substr(0, 120)).c_str());
        }
      }
    });
  const auto t0 = Clock::now();
  for (auto& t : ts) t.join();
  const double el = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  Result r;
  r.done = static_cast<int64_t>(all.size());
  r.wrong = wrong;
  r.per_second = static_cast<double>(all.size()) / el;
  if (!all.empty()) r.p50_ms = all[all.size() / 2], r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
  std::printf("## bench/tool_server: POST /get_observation over loopback, single actions, %.0f s per row\n\n", seconds);
  std::printf("| tool | clients | requests/s | p50 ms | p99 ms | answered | wrong or lost |\n|---|---|---|---|---|---|---|\n");
  for (const std::string tool : {"calculator", "python"}) {
    if (tool == "python" && !tools::sandbox_available()) {
      std::printf("| python | - | bubblewrap unavailable | | | | |\n");
      continue;
    }
    auto set = std::make_unique<tools::ToolSet>();
    set->add(tools::make_tool(tool == "python" ? "python_code" : "calculator"));
    tools::ToolServerOptions o;
    o.max_concurrent = 1024;
    tools::ToolServer server(std::move(set), o);
    const int port = server.start();
    for (int clients : {1, 16, 64}) {
      const Result r = load(port, clients, seconds, tool);
      std::printf("| %s | %d | %.1f | %.1f | %.1f | %lld | %lld |\n", tool.c_str(), clients, r.per_second, r.p50_ms, r.p99_ms,
                  (long long)r.done, (long long)r.wrong);
      std::fflush(stdout);
    }
  }
  return 0;
}

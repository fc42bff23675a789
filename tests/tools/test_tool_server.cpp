// The tool server over real HTTP: VerlTool's recorded requests answered as over ToolSet, health
// and metrics, refusals (400 not JSON, 413 too large, 422 malformed, 503 over the concurrency
// cap), a taken port, and concurrent clients each getting their own observations.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "arlt/base/error.h"
#include "arlt/tools/python_tool.h"
#include "arlt/tools/remote_tool.h"
#include "arlt/tools/tool_server.h"

using namespace arlt;
using tools::Json;

namespace {

std::unique_ptr<tools::ToolSet> python_set() {
  auto set = std::make_unique<tools::ToolSet>();
  set->add(tools::make_tool("python_code"));
  return set;
}

Json post(httplib::Client& c, const Json& body, int* status) {
  auto r = c.Post("/get_observation", body.dump(), "application/json");
  *status = r ? r->status : -1;
  return r ? Json::parse(r->body) : Json();
}

}  // namespace

TEST(ToolServer, AnswersOverHttpAsVerlTool) {
  if (!tools::sandbox_available()) GTEST_SKIP() << "bubblewrap cannot create namespaces here";
  tools::ToolServer server(python_set(), {});
  const int port = server.start();
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  std::ifstream in(std::string(ARLT_SOURCE_DIR) + "/tests/data/verltool/api_examples.json");
  const Json all = Json::parse(in);
  int replayed = 0;
  for (const auto& ex : all["python_server"]) {
    const std::string name = ex["name"];
    if (name != "python_tag" && name != "batch_mixed" && name != "error_missing_actions" && name != "finish_top_level") continue;
    int status = 0;
    Json got = post(c, ex["request"]["json"], &status);
    EXPECT_EQ(status, ex["response"]["status"].get<int>()) << name;
    if (status == 200) {
      EXPECT_EQ(got["dones"], ex["response"]["json"]["dones"]) << name;
      EXPECT_EQ(got["valids"], ex["response"]["json"]["valids"]) << name;
      EXPECT_EQ(got["observations"][0], ex["response"]["json"]["observations"][0]) << name;
    } else {
      EXPECT_EQ(got["detail"], ex["response"]["json"]["detail"]) << name;
    }
    ++replayed;
  }
  EXPECT_EQ(replayed, 4);
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  const Json health = Json::parse(h->body);
  EXPECT_EQ(health["status"], "healthy");
  EXPECT_EQ(health["tools"], Json::array({"python_code"}));
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("arlt_tool_requests_total 4"), std::string::npos) << m->body;
  // Not JSON: 400 with a reason. An unknown path: 404.
  auto bad = c.Post("/get_observation", "{not json", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(Json::parse(bad->body)["detail"].get<std::string>().find("not valid JSON"), std::string::npos);
  auto missing = c.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(ToolServer, RefusesLargeBodiesAndTakenPorts) {
  tools::ToolServerOptions o;
  o.max_body_bytes = 1000;
  tools::ToolServer server(std::make_unique<tools::ToolSet>(), o);
  const int port = server.start();
  httplib::Client c("127.0.0.1", port);
  Json big = {{"trajectory_ids", {"a"}}, {"actions", {std::string(5000, 'x')}}};
  auto r = c.Post("/get_observation", big.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  // A second server on the same port does not start (no SO_REUSEPORT sharing).
  tools::ToolServerOptions same;
  same.port = port;
  tools::ToolServer second(std::make_unique<tools::ToolSet>(), same);
  EXPECT_THROW(second.start(), Error);
}

TEST(ToolServer, OverTheConcurrencyCapIs503) {
  if (!tools::sandbox_available()) GTEST_SKIP() << "bubblewrap cannot create namespaces here";
  tools::ToolServerOptions o;
  o.max_concurrent = 1;
  tools::ToolServer server(python_set(), o);
  const int port = server.start();
  std::thread slow([&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    int status = 0;
    post(c, {{"trajectory_ids", {"slow"}}, {"actions", {"<python>import time; time.sleep(1.5)</python>"}}}, &status);
    EXPECT_EQ(status, 200);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  httplib::Client c("127.0.0.1", port);
  int status = 0;
  Json got = post(c, {{"trajectory_ids", {"fast"}}, {"actions", {"<python>print(1)</python>"}}}, &status);
  EXPECT_EQ(status, 503) << got.dump();
  slow.join();
  post(c, {{"trajectory_ids", {"after"}}, {"actions", {"<python>print(1)</python>"}}}, &status);
  EXPECT_EQ(status, 200) << "the slot is free again";
}

TEST(ToolServer, ConcurrentClientsGetTheirOwnObservations) {
  if (!tools::sandbox_available()) GTEST_SKIP() << "bubblewrap cannot create namespaces here";
  tools::ToolServer server(python_set(), {});
  const int port = server.start();
  std::vector<std::thread> clients;
  std::vector<int> wrong(8, 0);
  for (int k = 0; k < 8; ++k)
    clients.emplace_back([&, k] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(60, 0);
      for (int i = 0; i < 3; ++i) {
        const int v = k * 100 + i;
        int status = 0;
        Json got = post(c, {{"trajectory_ids", {"t" + std::to_string(v)}}, {"actions", {"<python>print(" + std::to_string(v) + ")</python>"}}},
                        &status);
        if (status != 200 || got["observations"][0] != "\n<result>\n" + std::to_string(v) + "\n</result>\n") ++wrong[k];
      }
    });
  for (auto& t : clients) t.join();
  for (int k = 0; k < 8; ++k) EXPECT_EQ(wrong[k], 0) << "client " << k;
}

TEST(ToolRegistry, ToolsByNameWithCheckedOptions) {
  EXPECT_EQ(tools::make_tool("python")->name(), "python_code");
  EXPECT_EQ(tools::make_tool("sql", {{"db_root", "/tmp"}, {"max_rows", 5}})->name(), "sql");
  try {
    tools::make_tool("pyhton");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean \"python\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(tools::make_tool("sql", {{"db_rot", "/tmp"}}), Error);
  EXPECT_THROW(tools::make_tool("python_code", {{"timeout", -1}}), Error);
}

TEST(RemoteTool, ServedToolsAnswerAsInProcessOnes) {
  // The calculator served by arlt's tool server and reached through RemoteTool gives what the
  // calculator in-process gives: values, errors, invalid actions, finish.
  auto served = std::make_unique<tools::ToolSet>();
  served->add(tools::make_tool("calculator"));
  tools::ToolServer server(std::move(served), {});
  const int port = server.start();
  tools::ToolSet local, remote;
  local.add(tools::make_tool("calculator"));
  remote.add(tools::make_tool("remote", {{"url", "http://127.0.0.1:" + std::to_string(port)}}));
  const Json req = {{"trajectory_ids", {"a", "b", "c", "d"}},
                    {"actions", {"<calculator>123*456</calculator>", "<calculator>1/0</calculator>", "no call", "x"}},
                    {"finish", {false, false, false, true}}};
  const Json want = local.get_observation(req), got = remote.get_observation(req);
  EXPECT_EQ(got["observations"][0], want["observations"][0]);
  EXPECT_EQ(got["observations"][1], want["observations"][1]);
  EXPECT_EQ(got["valids"], want["valids"]) << got.dump();
  EXPECT_EQ(got["dones"], want["dones"]);
  EXPECT_EQ(got["observations"][2]["invalid_reason"], "No valid tool found for action");
  // Bad urls are configuration errors; a server that is not there is the tool's failure.
  EXPECT_THROW(tools::make_tool("remote", {{"url", "127.0.0.1:80"}}), Error);
  EXPECT_THROW(tools::make_tool("remote", {{"url", "http://127.0.0.1:99999"}}), Error);
  EXPECT_THROW(tools::make_tool("remote", Json::object()), Error);
  server.stop();
  tools::RemoteTool gone("http://127.0.0.1:" + std::to_string(port), 2);
  EXPECT_THROW(gone.execute("<calculator>1</calculator>", {}), Error);
}

// Requests recorded from a running VerlTool tool server (../shared/fixtures/verltool, copied to
// tests/data/verltool/api_examples.json), replayed against arlt's tools through ToolSet: the
// observations, dones and valids must be the recorded ones, and a request VerlTool refuses is
// refused with the same 422 detail. Not compared: timings (the server's own) and the name of the
// sandbox in the python tool's description (VerlTool's says Firejail, ours bubblewrap).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "../test_fs.h"
#include "arlt/tools/python_tool.h"
#include "arlt/tools/sql_tool.h"
#include "arlt/tools/tool_set.h"

using namespace arlt;
using tools::Json;

namespace {

Json examples(const std::string& server) {
  std::ifstream in(std::string(ARLT_SOURCE_DIR) + "/tests/data/verltool/api_examples.json");
  const Json all = Json::parse(in);
  const Json& s = all.at(server);
  return s.is_array() ? s : s.at("examples");
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

// Replays every POST example named in `names` (all when empty) and compares.
void replay(tools::ToolSet& set, const Json& list, const std::set<std::string>& only, const std::set<std::string>& skip) {
  int replayed = 0;
  for (const auto& ex : list) {
    const std::string name = ex.at("name");
    if (ex["request"]["method"] != "POST" || skip.count(name) || (!only.empty() && !only.count(name))) continue;
    ++replayed;
    const Json& want = ex["response"];
    Json got;
    int status = 200;
    try {
      got = set.get_observation(ex["request"]["json"]);
    } catch (const tools::RequestError& e) {
      status = e.status;
      got = {{"detail", e.detail}};
    }
    ASSERT_EQ(status, want["status"].get<int>()) << name << ": " << got.dump();
    if (status != 200) {
      EXPECT_EQ(got["detail"], want["json"]["detail"]) << name;
      continue;
    }
    EXPECT_EQ(got["dones"], want["json"]["dones"]) << name;
    EXPECT_EQ(got["valids"], want["json"]["valids"]) << name;
    Json expect_obs = want["json"]["observations"];
    for (auto& o : expect_obs)
      if (o.is_object() && o.contains("available_tools"))
        o["available_tools"] = replace_all(o["available_tools"], "inside a Firejail sandbox", "inside a bubblewrap sandbox");
    EXPECT_EQ(got["observations"], expect_obs) << name;
  }
  EXPECT_GT(replayed, 0);
}

}  // namespace

TEST(VerlToolReplay, PythonServerRequests) {
  if (!tools::sandbox_available()) GTEST_SKIP() << "bubblewrap cannot create namespaces here";
  tools::ToolSet set;
  set.add(std::make_unique<tools::PythonTool>());
  // The timeout example waits the full 10 s: its own test below.
  replay(set, examples("python_server"), {}, {"timeout"});
}

TEST(VerlToolReplay, PythonTimeoutAfterTenSeconds) {
  if (!tools::sandbox_available()) GTEST_SKIP() << "bubblewrap cannot create namespaces here";
  tools::ToolSet set;
  set.add(std::make_unique<tools::PythonTool>());
  replay(set, examples("python_server"), {"timeout"}, {});
}

TEST(VerlToolReplay, SqlServerRequests) {
  // demo.sqlite as the fixture's README describes it: singer(name, age) with Cid 27, Ann 31, Bob 45.
  test::TempDir dir;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "demo.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE singer(name TEXT, age INTEGER); INSERT INTO singer VALUES ('Cid', 27), ('Ann', 31), ('Bob', 45);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  tools::ToolSet set;
  set.add(std::make_unique<tools::SqlTool>(dir.str()));
  replay(set, examples("sql_server"), {}, {});
}

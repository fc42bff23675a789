// The tools one by one: the python sandbox contains what a model's code may try (network, the
// host's files, writes outside /tmp, runaway loops, output and memory), the sql tool refuses
// writes, ATTACH and runaway queries, and the request protocol's edges.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>

#include "../test_fs.h"
#include "arlt/tools/calculator_tool.h"
#include "arlt/tools/python_tool.h"
#include "arlt/tools/search_tool.h"
#include "arlt/base/fs.h"
#include "arlt/tools/sql_tool.h"
#include "arlt/tools/tool_set.h"

using namespace arlt;
using tools::Json;

namespace {

std::string run_python(const std::string& code, tools::SandboxLimits limits = {}) {
  tools::PythonTool py(limits);
  return py.execute("<python>" + code + "</python>", {}).value.get<std::string>();
}

#define EXPECT_HAS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

}  // namespace

TEST(PythonTool, ParsesTagsFencesAndSeveralBlocks) {
  tools::PythonCall c;
  ASSERT_TRUE(tools::parse_python_action("x <python>a=1</python> y <python>print(a)</python>", &c));
  EXPECT_EQ(c.code, "a=1\nprint(a)");
  EXPECT_FALSE(c.fenced);
  ASSERT_TRUE(tools::parse_python_action("```python\nprint(1)\n```\ntext\n```python\nprint(2)\n```", &c));
  EXPECT_EQ(c.code, "\nprint(1)\n\n\nprint(2)\n");
  EXPECT_TRUE(c.fenced);
  EXPECT_FALSE(tools::parse_python_action("<python>print(1)", &c)) << "an unclosed block is not code";
  EXPECT_FALSE(tools::parse_python_action("no code", &c));
  EXPECT_EQ(std::count(tools::PythonTool::prelude().begin(), tools::PythonTool::prelude().end(), '\n'), 81);
}

TEST(PythonTool, SandboxContainsTheCode) {
  if (!tools::sandbox_available()) GTEST_SKIP() << "bubblewrap cannot create namespaces here";
  // Pre-imported names work; stdin comes from extra_fields.
  EXPECT_HAS(run_python("print(sqrt(16), pi > 3, Counter('aab')['a'])"), "4.0 True 2");
  tools::PythonTool py;
  tools::ToolContext ctx;
  ctx.extra_fields = {{"stdin", "5 7\n"}};
  EXPECT_HAS(py.execute("<python>a, b = map(int, input().split()); print(a * b)</python>", ctx).value.get<std::string>(), "35");
  // No network.
  EXPECT_HAS(run_python("import socket\ntry:\n  socket.create_connection(('1.1.1.1', 80), timeout=2)\n  print('CONNECTED')\n"
                        "except OSError as e:\n  print('blocked', e)"),
             "blocked");
  // None of the host's files: the project, /root, /etc/shadow, /home.
  for (const std::string path : {std::string(ARLT_SOURCE_DIR) + "/README.md", std::string("/root"), std::string("/etc/shadow"),
                                 std::string("/home"), std::string("/work")}) {
    const std::string out = run_python("import os\nprint('exists' if os.path.exists('" + path + "') else 'absent')");
    EXPECT_HAS(out, "absent");
  }
  // No writes outside /tmp; /tmp is private and writable.
  EXPECT_HAS(run_python("try:\n  open('/usr/evil', 'w')\nexcept OSError as e:\n  print('refused', e.errno)"), "refused");
  EXPECT_HAS(run_python("open('/tmp/x', 'w').write('ok'); print(open('/tmp/x').read())"), "ok");
  // Killing its parent kills only the sandbox's own namespace.
  run_python("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)");
  EXPECT_HAS(run_python("print('next call', 6 * 7)"), "next call 42") << "the sandbox runs on after its code killed its parent";
}

TEST(PythonTool, LimitsEndRunawayCode) {
  if (!tools::sandbox_available()) GTEST_SKIP() << "bubblewrap cannot create namespaces here";
  tools::SandboxLimits lim;
  lim.wall_seconds = 2;
  lim.cpu_seconds = 3;  // past the wall limit, which decides
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_HAS(run_python("while True: pass", lim), "Execution timed out after 2 seconds.");
  EXPECT_HAS(run_python("import time\ntime.sleep(60)", lim), "Execution timed out after 2 seconds.");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  // 10 GiB: refused by the address-space limit.
  EXPECT_HAS(run_python("try:\n  x = bytearray(10 * 2**30)\nexcept MemoryError:\n  print('no memory')", lim), "no memory");
  // 1 GiB of output: cut at the limit, in bounded time.
  lim.output_bytes = 1 << 16;
  const std::string out = run_python("import sys\nfor _ in range(1024): sys.stdout.write('x' * 2**20)", lim);
  EXPECT_LT(out.size(), 70000u);
  EXPECT_HAS(out, "[output cut at the sandbox's limit]");
}

TEST(SqlTool, ReadOnlyNoAttachTimeLimit) {
  test::TempDir dir;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "t.sqlite").c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "CREATE TABLE t(a INTEGER, b REAL, c TEXT); INSERT INTO t VALUES (1, 2.5, 'x'), (10, NULL, 'yy');", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  tools::SqlLimits lim;
  lim.seconds = 1;
  tools::SqlTool sql(dir.str(), lim);
  tools::ToolContext ctx;
  ctx.extra_fields = {{"db_path", "t.sqlite"}};
  auto obs = [&](const std::string& q) { return sql.execute("<sql>" + q + "</sql>", ctx).value["obs"].get<std::string>(); };
  EXPECT_EQ(obs("SELECT a, b, c FROM t"), "\n\n<observation> 0    1  2\n 1  2.5  x\n10 None yy</observation>\n\n");
  EXPECT_HAS(obs("SELECT * FROM t WHERE a > 100"), "Empty DataFrame");
  EXPECT_HAS(obs("DELETE FROM t"), "Error executing SQL: attempt to write a readonly database");
  EXPECT_HAS(obs("ATTACH DATABASE '" + (dir / "other.sqlite") + "' AS o"), "Error executing SQL");
  EXPECT_FALSE(std::filesystem::exists(dir / "other.sqlite")) << "ATTACH created a file";
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_HAS(obs("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r"), "time limit");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  ctx.extra_fields = {{"db_path", "missing.sqlite"}};
  EXPECT_HAS(obs("SELECT 1"), "Error executing SQL: no database at missing.sqlite");
  EXPECT_FALSE(sql.accepts("SELECT 1"));
}

TEST(ToolSet, RequestsVerlToolWouldRefuse) {
  tools::ToolSet set;
  auto status_of = [&](const Json& r) {
    try {
      set.get_observation(r);
    } catch (const tools::RequestError& e) {
      return e.status;
    }
    return 200;
  };
  EXPECT_EQ(status_of(Json::array()), 422);
  EXPECT_EQ(status_of({{"trajectory_ids", "x"}, {"actions", {"a"}}}), 422);
  EXPECT_EQ(status_of({{"trajectory_ids", {"x"}}, {"actions", {1}}}), 422);
  EXPECT_EQ(status_of({{"trajectory_ids", {"x"}}, {"actions", {"a"}}, {"finish", {true, false}}}), 422);
  // Numeric ids are accepted; an action no tool takes is invalid, not an error.
  Json r = set.get_observation({{"trajectory_ids", {7}}, {"actions", {"hello"}}});
  EXPECT_EQ(r["valids"], Json::array({false}));
  EXPECT_EQ(r["observations"][0]["invalid_reason"], "No valid tool found for action");
}

TEST(CalculatorTool, ExactArithmeticAndErrors) {
  std::string err;
  EXPECT_EQ(tools::evaluate_exactly("123*456", &err), "56088");
  EXPECT_EQ(tools::evaluate_exactly(" 7 / 2 ", &err), "7/2");
  EXPECT_EQ(tools::evaluate_exactly("-(3 - 10) * -2 + 1/3", &err), "-41/3");
  EXPECT_EQ(tools::evaluate_exactly("4/6*3", &err), "2");
  EXPECT_EQ(tools::evaluate_exactly("9999999999*9999999999", &err), "99999999980000000001");
  EXPECT_EQ(tools::evaluate_exactly("1/0", &err), "");
  EXPECT_EQ(err, "division by zero");
  EXPECT_EQ(tools::evaluate_exactly("2*", &err), "");
  EXPECT_EQ(tools::evaluate_exactly("(1+2", &err), "");
  EXPECT_EQ(err, "missing ')'");
  EXPECT_EQ(tools::evaluate_exactly(std::string(5000, '(') + "1" + std::string(5000, ')'), &err), "");
  EXPECT_EQ(err, "nested too deeply");
  EXPECT_EQ(tools::evaluate_exactly("99999999999999999999999999999999999999 * 99999999999", &err), "");
  tools::CalculatorTool calc;
  EXPECT_TRUE(calc.accepts("I'll compute <calculator>12*3</calculator>"));
  EXPECT_FALSE(calc.accepts("<calculator>12*3"));
  EXPECT_EQ(calc.execute("<calculator>12*3</calculator>", {}).value, "\n<result>\n36\n</result>\n");
  EXPECT_EQ(calc.execute("<calculator>x</calculator>", {}).value, "\n<result>\nError: malformed expression\n</result>\n");
}

TEST(SearchTool, Bm25OverAnIndexedCorpus) {
  test::TempDir dir;
  const std::string corpus = dir / "corpus.jsonl";
  write_file_atomic(corpus,
             "{\"id\": \"p1\", \"title\": \"Paris\", \"text\": \"Paris is the capital of France.\"}\n"
             "{\"id\": \"p2\", \"title\": \"Berlin\", \"text\": \"Berlin is the capital of Germany. Germany borders France.\"}\n"
             "\n"
             "{\"id\": 3, \"title\": \"Rivers\", \"text\": \"The Seine flows through Paris; the Spree through Berlin.\"}\n"
             "{\"id\": \"p4\", \"text\": \"Tokyo is large.\"}\n");
  EXPECT_EQ(tools::build_search_index(corpus, dir / "idx.sqlite"), 4);
  tools::SearchTool search(corpus, 2, dir / "idx.sqlite");
  // "capital France": p1 holds both terms in a short passage; p2 both in a longer one.
  EXPECT_EQ(search.search("capital France"), (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(search.search("Seine"), (std::vector<std::string>{"3"}));
  EXPECT_TRUE(search.search("").empty());
  EXPECT_NO_THROW(search.search("\"unbalanced OR (NEAR x*")) << "the model's text never reaches FTS5 as syntax";
  EXPECT_EQ(search.execute("<search>Tokyo</search>", {}).value, "\n<result>\n[1] Tokyo is large.\n</result>\n");
  EXPECT_EQ(search.execute("<search>zebra</search>", {}).value, "\n<result>\nNo results.\n</result>\n");
  EXPECT_FALSE(search.accepts("<search>open"));
  // A bad corpus line is an error naming it.
  write_file_atomic(dir / "bad.jsonl", "{\"id\": 1, \"text\": \"ok\"}\n{\"id\": 2}\n");
  try {
    tools::build_search_index(dir / "bad.jsonl", dir / "bad.idx");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2"), std::string::npos) << e.what();
  }
}

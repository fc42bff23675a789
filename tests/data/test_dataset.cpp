// JSONL datasets: the accepted layouts, and for each malformed line an error naming file:line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <vector>
#include <string>

#include "../test_fs.h"
#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/data/dataset.h"

namespace arlt::data {
namespace {

// A JSONL file in a fresh folder under /tmp, removed with the object.
class TempJsonl {
 public:
  explicit TempJsonl(const std::string& contents) : path_(dir_ / "data.jsonl") { write_file_atomic(path_, contents); }
  const std::string& path() const { return path_; }

 private:
  arlt::test::TempDir dir_;
  std::string path_;
};

std::string load_error(const std::string& contents, const std::string& prompt_key = "prompt") {
  TempJsonl f(contents);
  try {
    load_jsonl_dataset(f.path(), prompt_key);
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(f.path(), 0), 0u) << msg;  // starts with the file name
    return msg.substr(f.path().size());
  }
  ADD_FAILURE() << "did not throw for: " << contents;
  return "";
}

TEST(DataDataset, LoadsPromptsMessagesAndNumbers) {
  TempJsonl f(
      "{\"prompt\": \"2+2=\", \"ground_truth\": \"4\", \"task\": \"addition\"}\n"
      "\n"
      "   \n"
      "{\"prompt\": \"half?\", \"ground_truth\": 0.5}\r\n"
      "{\"messages\": [{\"role\": \"user\", \"content\": \"6*7?\"}], \"ground_truth\": 42}\n"
      "{\"prompt\": [{\"role\": \"system\", \"content\": \"be brief\"}, {\"role\": \"user\", \"content\": \"x\"}],"
      " \"ground_truth\": 42.0, \"extra\": [1, 2]}\n"
      "{\"prompt\": \"big\", \"ground_truth\": 1e20}");
  auto xs = load_jsonl_dataset(f.path());
  ASSERT_EQ(xs.size(), 5u);
  EXPECT_EQ(xs[0].prompt, "2+2=");
  EXPECT_EQ(xs[0].ground_truth, "4");
  EXPECT_EQ(xs[0].task, "addition");
  EXPECT_TRUE(xs[0].messages.is_null());
  EXPECT_EQ(xs[1].ground_truth, "0.5");
  EXPECT_EQ(xs[1].task, "");
  EXPECT_EQ(xs[2].prompt, "");
  EXPECT_EQ(xs[2].ground_truth, "42");
  ASSERT_TRUE(xs[2].messages.is_array());
  EXPECT_EQ(xs[2].messages[0]["content"], "6*7?");
  EXPECT_EQ(xs[3].messages.size(), 2u);  // verl's layout: the prompt is the messages
  EXPECT_EQ(xs[3].ground_truth, "42");
  EXPECT_EQ(xs[4].ground_truth, "1e+20");
}

TEST(DataDataset, CustomAndDottedKeys) {
  TempJsonl f("{\"question\": \"q\", \"reward_model\": {\"ground_truth\": \"a\"}}\n");
  auto xs = load_jsonl_dataset(f.path(), "question", "reward_model.ground_truth");
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(xs[0].prompt, "q");
  EXPECT_EQ(xs[0].ground_truth, "a");
  TempJsonl g("{\"problem\": \"p\", \"answer\": 3}\n");
  xs = load_jsonl_dataset(g.path(), "problem", "answer");
  EXPECT_EQ(xs[0].ground_truth, "3");
}

TEST(DataDataset, VerlRowsCarryDataSourceAndExtraFieldsForTheTools) {
  TempJsonl verl(
      "{\"prompt\": [{\"role\": \"user\", \"content\": \"q\"}], \"reward_model\": {\"ground_truth\": \"a\"}, "
      "\"data_source\": \"spider\", \"extra_info\": {\"db_path\": \"x.sqlite\"}}\n");
  auto xs = load_jsonl_dataset(verl.path(), "prompt", "reward_model.ground_truth");
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(xs[0].data_source, "spider");
  EXPECT_EQ(xs[0].extra_fields, nlohmann::json({{"db_path", "x.sqlite"}}));
  TempJsonl both(
      "{\"prompt\": \"p\", \"ground_truth\": \"b\", \"extra_info\": {\"a\": 1}, \"extra_fields\": {\"stdin\": \"5\"}}\n"
      "{\"prompt\": \"p\", \"ground_truth\": \"c\"}\n");
  xs = load_jsonl_dataset(both.path());
  ASSERT_EQ(xs.size(), 2u);
  EXPECT_EQ(xs[0].extra_fields, nlohmann::json({{"stdin", "5"}})) << "extra_fields wins over extra_info";
  EXPECT_EQ(xs[1].extra_fields, nlohmann::json::object());
  EXPECT_EQ(xs[1].data_source, "");
  TempJsonl bad("{\"prompt\": \"p\", \"ground_truth\": \"b\", \"extra_fields\": [1]}\n");
  EXPECT_THROW(load_jsonl_dataset(bad.path()), Error);
}

TEST(DataDataset, EachMalformedLineNamesFileLineKeyAndExpectation) {
  const std::string good = "{\"prompt\": \"p\", \"ground_truth\": \"g\"}\n";
  struct Case {
    std::string line;
    std::vector<std::string> want;  // all in the message (after the file name)
  };
  const std::vector<Case> cases = {
      {"{\"prompt\": \"p\", ", {":2: ", "not JSON", "expected one JSON object per line"}},
      {"[1, 2]", {":2: ", "found a JSON array", "expected a JSON object"}},
      {"\"text\"", {":2: ", "found a JSON string"}},
      {"{\"ground_truth\": \"g\"}", {":2: ", "missing \"prompt\"", "\"messages\""}},
      {"{\"prompt\": \"p\"}", {":2: ", "missing \"ground_truth\"", "expected a string or a number"}},
      {"{\"prompt\": 5, \"ground_truth\": \"g\"}", {":2: ", "\"prompt\" is 5", "expected a string"}},
      {"{\"prompt\": \"p\", \"ground_truth\": true}", {":2: ", "\"ground_truth\" is true"}},
      {"{\"prompt\": \"p\", \"ground_truth\": null}", {":2: ", "\"ground_truth\" is null"}},
      {"{\"prompt\": \"p\", \"ground_truth\": \"g\", \"task\": 3}", {":2: ", "\"task\" is 3", "expected a string"}},
      {"{\"messages\": {\"role\": \"user\"}, \"ground_truth\": \"g\"}", {":2: ", "\"messages\" is", "expected an array"}},
      {"{\"messages\": [], \"ground_truth\": \"g\"}", {":2: ", "empty array"}},
      {"{\"messages\": [{\"content\": \"x\"}], \"ground_truth\": \"g\"}",
       {":2: ", "\"messages\"[0].role is missing", "expected a string"}},
      {"{\"messages\": [{\"role\": \"user\", \"content\": 7}], \"ground_truth\": \"g\"}",
       {":2: ", "\"messages\"[0].content is 7"}},
      {"{\"messages\": [\"hi\"], \"ground_truth\": \"g\"}", {":2: ", "\"messages\"[0] is \"hi\""}},
      {"{\"prompt\": \"p\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"ground_truth\": \"g\"}",
       {":2: ", "both \"prompt\" and \"messages\""}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    std::string msg = load_error(good + c.line + "\n" + good);
    for (const auto& w : c.want) EXPECT_NE(msg.find(w), std::string::npos) << "missing \"" << w << "\" in: " << msg;
  }
  // Blank lines count: the error is on line 4.
  EXPECT_EQ(load_error(good + "\n\n{\"prompt\": \"p\"}\n").rfind(":4: ", 0), 0u);
}

TEST(DataDataset, EmptyAndMissingFiles) {
  EXPECT_NE(load_error("").find("no examples"), std::string::npos);
  EXPECT_NE(load_error("\n  \n\n").find("no examples"), std::string::npos);
  try {
    load_jsonl_dataset("/tmp/arlt_no_such_dataset_here.jsonl");
    ADD_FAILURE() << "did not throw";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("/tmp/arlt_no_such_dataset_here.jsonl"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cannot open"), std::string::npos) << msg;
  }
}

TEST(DataDataset, PreTokenisedPrompts) {
  TempJsonl f("{\"prompt_ids\": [5, 0, 31999], \"ground_truth\": 1}\n");
  auto ex = load_jsonl_dataset(f.path());
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].prompt_ids, (std::vector<int64_t>{5, 0, 31999}));
  EXPECT_EQ(ex[0].prompt, "");
  EXPECT_NE(load_error("{\"prompt_ids\": [1, -2], \"ground_truth\": 1}\n").find(":1: \"prompt_ids\" holds -2"), std::string::npos);
  EXPECT_NE(load_error("{\"prompt_ids\": [], \"ground_truth\": 1}\n").find("non-empty array"), std::string::npos);
  EXPECT_NE(load_error("{\"prompt_ids\": [1], \"prompt\": \"x\", \"ground_truth\": 1}\n").find("both"), std::string::npos);
}

}  // namespace
}  // namespace arlt::data

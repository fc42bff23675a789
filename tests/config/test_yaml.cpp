// YAML -> JSON typing, errors with positions, and to_yaml round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "../test_fs.h"
#include "arlt/base/error.h"
#include "arlt/config/yaml.h"

namespace arlt::config {
namespace {

using arlt::test::error_of;

Json parse(const std::string& text) { return parse_yaml(text, "t.yaml"); }

TEST(ConfigYaml, PlainScalarsFollowTheCoreSchema) {
  const Json v = parse(
      "int: 10\nneg: -3\nplus: +7\nhex: 0x1f\noct: 0o17\n"
      "d1: 1e-6\nd2: .5\nd3: 3.0\nd4: -2.5E+3\nd5: 1.\n"
      "t: true\nf: False\nn1: ~\nn2: null\nn3:\n"
      "yes: yes\noff: off\nunderscored: 1_000\ninf_word: inf\nversion: 1.2.3\ntext: hello world\n");
  EXPECT_TRUE(v["int"].is_number_integer());
  EXPECT_EQ(v["int"].get<int64_t>(), 10);
  EXPECT_EQ(v["neg"].get<int64_t>(), -3);
  EXPECT_EQ(v["plus"].get<int64_t>(), 7);
  EXPECT_EQ(v["hex"].get<int64_t>(), 31);
  EXPECT_EQ(v["oct"].get<int64_t>(), 15);
  EXPECT_TRUE(v["d1"].is_number_float());
  EXPECT_EQ(v["d1"].get<double>(), 1e-6);
  EXPECT_EQ(v["d2"].get<double>(), 0.5);
  EXPECT_TRUE(v["d3"].is_number_float());
  EXPECT_EQ(v["d3"].get<double>(), 3.0);
  EXPECT_EQ(v["d4"].get<double>(), -2500.0);
  EXPECT_EQ(v["d5"].get<double>(), 1.0);
  EXPECT_EQ(v["t"], true);
  EXPECT_EQ(v["f"], false);
  EXPECT_TRUE(v["n1"].is_null());
  EXPECT_TRUE(v["n2"].is_null());
  EXPECT_TRUE(v["n3"].is_null());
  // YAML 1.1 booleans and digit separators are strings in 1.2.
  EXPECT_EQ(v["yes"], "yes");
  EXPECT_EQ(v["off"], "off");
  EXPECT_EQ(v["underscored"], "1_000");
  EXPECT_EQ(v["inf_word"], "inf");
  EXPECT_EQ(v["version"], "1.2.3");
  EXPECT_EQ(v["text"], "hello world");
}

TEST(ConfigYaml, QuotedAndBlockScalarsAreStrings) {
  const Json v = parse("a: \"3\"\nb: '1e-6'\nc: \"true\"\nd: ''\ne: !!str 10\nf: |\n  line\ng: \"~\"\n");
  EXPECT_EQ(v["a"], "3");
  EXPECT_EQ(v["b"], "1e-6");
  EXPECT_EQ(v["c"], "true");
  EXPECT_EQ(v["d"], "");
  EXPECT_EQ(v["e"], "10");
  EXPECT_EQ(v["f"], "line\n");
  EXPECT_EQ(v["g"], "~");
}

TEST(ConfigYaml, InfinityAndNanAreDoubles) {
  const Json v = parse("a: .inf\nb: -.Inf\nc: .nan\n");
  EXPECT_EQ(v["a"].get<double>(), HUGE_VAL);
  EXPECT_EQ(v["b"].get<double>(), -HUGE_VAL);
  EXPECT_TRUE(std::isnan(v["c"].get<double>()));
}

TEST(ConfigYaml, KeyOrderIsKept) {
  const Json v = parse("z: 1\na: 2\nm: {y: 1, b: 2}\n");
  EXPECT_EQ(v.dump(), R"({"z":1,"a":2,"m":{"y":1,"b":2}})");
}

TEST(ConfigYaml, EmptyTextIsAnEmptyObject) {
  EXPECT_EQ(parse(""), Json::object());
  EXPECT_EQ(parse("# only a comment\n\n"), Json::object());
}

TEST(ConfigYaml, AliasesAreExpanded) {
  const Json v = parse("base: &b {lr: 0.1}\nother: *b\n");
  EXPECT_EQ(v["other"]["lr"].get<double>(), 0.1);
}

TEST(ConfigYaml, MalformedYamlErrorsCarryLineAndColumn) {
  EXPECT_EQ(error_of([] { parse("a:\n  b: 1\n c: 2\n"); }), "t.yaml:3:2: invalid YAML: end of map not found");
  EXPECT_EQ(error_of([] { parse("a: [1, 2\nb: 3\n"); }), "t.yaml:2:2: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(error_of([] { parse("a: b: c\n"); }), "t.yaml:1:5: invalid YAML: illegal map value");
}

TEST(ConfigYaml, DuplicateKeysAreErrors) {
  EXPECT_EQ(error_of([] { parse("a: 1\nb: 2\na: 3\n"); }), "t.yaml:3:1: duplicate key 'a' (first at line 1)");
  EXPECT_EQ(error_of([] { parse("x:\n  y: {k: 1, k: 2}\n"); }), "t.yaml:2:13: duplicate key 'k' (first at line 2)");
}

TEST(ConfigYaml, UnsupportedConstructsAreErrors) {
  EXPECT_EQ(error_of([] { parse("a: &a {x: 1}\nb:\n  <<: *a\n"); }),
            "t.yaml:3:3: merge keys (<<) are not supported; write the keys out");
  EXPECT_EQ(error_of([] { parse("a: !custom 3\n"); }),
            "t.yaml:1:4: tag '!custom' is not supported (quote the value for a string)");
  EXPECT_EQ(error_of([] { parse("a: 1\n---\nb: 2\n"); }),
            "t.yaml:3:1: a second YAML document; a config is one document");
  EXPECT_EQ(error_of([] { parse("big: 9223372036854775808\n"); }),
            "t.yaml:1:6: integer 9223372036854775808 does not fit in 64 bits");
  EXPECT_EQ(error_of([] { parse("? [a]\n: 1\n"); }), "t.yaml:1:3: a key must be a string, found a list");
  EXPECT_NE(error_of([] { parse("a: &x [1, *x]\n"); }).find("nesting deeper than 100 levels"), std::string::npos);
}

TEST(ConfigYaml, IntegerLimitsReadExactly) {
  const Json v = parse("lo: -9223372036854775808\nhi: 9223372036854775807\n");
  EXPECT_EQ(v["lo"].get<int64_t>(), INT64_MIN);
  EXPECT_EQ(v["hi"].get<int64_t>(), INT64_MAX);
}

TEST(ConfigYaml, LineTableHasEveryKeyAndElement) {
  LineTable lines;
  parse_yaml_with_lines("trainer:\n  lr: 1\n  stop:\n    - a\n    - b\nrows:\n  - {x: 1}\n", "t.yaml", &lines);
  EXPECT_EQ(lines.at(""), 1);
  EXPECT_EQ(lines.at("trainer"), 1);
  EXPECT_EQ(lines.at("trainer.lr"), 2);
  EXPECT_EQ(lines.at("trainer.stop"), 3);
  EXPECT_EQ(lines.at("trainer.stop[1]"), 5);
  EXPECT_EQ(lines.at("rows[0].x"), 7);
}

TEST(ConfigYaml, MissingFileIsAnErrorNamingIt) {
  const std::string msg = error_of([] { load_yaml_file("/nonexistent/arlt/run.yaml"); });
  EXPECT_NE(msg.find("/nonexistent/arlt/run.yaml"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { load_yaml_file("/tmp"); }).find("/tmp: is a directory"), std::string::npos);
}

TEST(ConfigYaml, ToYamlLayout) {
  const Json v = Json::parse(R"({"model": {"name": "Qwen/Qwen3-0.6B", "layers": 2},
    "lr": 1e-6, "steps": 100, "stop": ["</tool_call>", "x"], "empty": {}, "none": [],
    "rows": [{"a": 1, "b": [1, 2]}, [3, 4]], "prompt": "Be brief.\n\nAnswer:", "list": ["a\nb\n"]})");
  EXPECT_EQ(to_yaml(v),
            "model:\n"
            "  name: Qwen/Qwen3-0.6B\n"
            "  layers: 2\n"
            "lr: 1.0e-6\n"
            "steps: 100\n"
            "stop:\n"
            "  - \"</tool_call>\"\n"
            "  - x\n"
            "empty: {}\n"
            "none: []\n"
            "rows:\n"
            "  - a: 1\n"
            "    b:\n"
            "      - 1\n"
            "      - 2\n"
            "  - - 3\n"
            "    - 4\n"
            "prompt: |-\n"
            "  Be brief.\n"
            "\n"
            "  Answer:\n"
            "list:\n"
            "  - |\n"
            "    a\n"
            "    b\n");
}

TEST(ConfigYaml, ToYamlRoundTripsARichDocument) {
  Json v = Json::object();
  v["strings"] = Json::array({"true", "false", "True", "null", "~", "", " ", "1e3", "10", "-5", "0x10", "0o7", ".5",
                              ".inf", ".nan", "a: b", "a #b", "#x", "- item", "-", "---", "...", "[x]", "{y}", "*ref",
                              "&anchor", "!tag", "%dir", "@at", "`tick`", "'single'", "\"double\"", "back\\slash",
                              "multi\nline\n", "tab\there", " lead", "trail ", "ctrl\x01\x7f", "naïve", "日本語",
                              "emoji 😀", "nel\xc2\x85ls\xe2\x80\xa8ps\xe2\x80\xa9", "\xef\xbb\xbf" "bom", "yes",
                              "Qwen/Qwen3-0.6B", "say \"hi\"", "it's", "a  b", "C:\\path", "http://x.org/a?b=c",
                              "<<", "?", "|", ">", "1.2.3", "1_000", "On", "n", "NO", "snake_case"});
  // Multi-line text: literal blocks where they keep every byte, quoted otherwise.
  v["texts"] = Json::array({"line\n", "no final newline\nsecond", "blank\n\nlines\n", "a\n  b\n#c\n- d\n---\n...\nk: v\n",
                            "{{ bos_token }}{% for m in messages %}\n  {{ m['content'] }}\n{% endfor %}",
                            "  indented first\nline", "trailing \nspace", "ends\n\n", "\nleading newline",
                            "tab\tin\nblock", "\xc3\xa9\n\xe6\x97\xa5\n", "ls\xe2\x80\xa8\nx"});
  v["prompt"] = "You are a helpful assistant.\nThink step by step.\n";
  v["numbers"] = Json::array({0, -1, 42, INT64_MIN, INT64_MAX, 0.0, -0.0, 1.0, -2.5, 0.1, 1e-6, 1e-300, 1.7976931348623157e308,
                              1e21, 123456789.125, 3.14159265358979, HUGE_VAL, -HUGE_VAL});
  v["flags"] = Json::array({true, false, nullptr});
  v["nested"] = Json::parse(R"({"list_of_objects": [{"name": "a", "args": [1, "2", [3]]}, {"name": "b", "args": []}],
                                "deep": {"x": {"y": {"z": "w"}}}, "empty_obj": {}, "empty_list": [],
                                "list_of_lists": [[], [[1]], [{}]], "true": "key named true", "": "empty key",
                                "key: colon": 1, "7": "numeric key"})");
  const std::string text = to_yaml(v);
  const Json back = parse_yaml(text, "round-trip");
  EXPECT_EQ(back, v) << text;
  EXPECT_EQ(back.dump(), v.dump()) << text;  // same order and same types (ints stay ints)
  EXPECT_TRUE(std::signbit(back["numbers"][6].get<double>()));
}

TEST(ConfigYaml, ToYamlQuotesOnlyWhatNeedsIt) {
  for (const char* plain : {"v1", "gpt2", "Qwen/Qwen3-0.6B", "snake_case", "hello world", "-x", "a.b", "it's", "x=1"})
    EXPECT_EQ(to_yaml(Json(plain)), std::string(plain) + "\n");
  // Read as another type by YAML 1.2 (arlt) or by YAML 1.1 (PyYAML), or not plain at all.
  for (const char* quoted : {"true", "10", "1e3", "~", "yes", "off", "1_000", "2001-12-14", "1.2.3", "-1x", "a: b",
                             "#x", "- x", "", " x", "[x]", "*x", "http://h"})
    EXPECT_EQ(to_yaml(Json(quoted)), "\"" + std::string(quoted) + "\"\n");
}

TEST(ConfigYaml, ToYamlPrintsShortestDoubles) {
  EXPECT_EQ(to_yaml(Json(0.1)), "0.1\n");
  EXPECT_EQ(to_yaml(Json(3.0)), "3.0\n");
  EXPECT_EQ(to_yaml(Json(1e-6)), "1.0e-6\n");
  EXPECT_EQ(to_yaml(Json(2.5e-7)), "2.5e-7\n");
  EXPECT_EQ(to_yaml(Json(1e21)), "1.0e+21\n");
  EXPECT_EQ(to_yaml(Json(HUGE_VAL)), ".inf\n");
}

TEST(ConfigYaml, ToYamlTopLevelScalarsRoundTrip) {
  for (const Json& v : {Json(nullptr), Json(3), Json(2.5), Json("x"), Json("true"), Json::object(), Json::array()}) {
    EXPECT_EQ(parse_yaml(to_yaml(v), "t"), v) << to_yaml(v);
  }
}

}  // namespace
}  // namespace arlt::config

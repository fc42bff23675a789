// Defaults -> YAML file -> overrides: type rules, unknown keys, error messages.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "../test_fs.h"
#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/config/config.h"

namespace arlt::config {
namespace {

std::string error_of(const std::function<void()>& f, int exit_code = 2) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), exit_code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected an arlt::Error";
  return "";
}

// The shape of a trainer's schema: numbers, ints, bools, strings, lists, a free map, an opaque value.
Json defaults() {
  return Json::parse(R"({
    "model": {"path": "", "dtype": "float32"},
    "trainer": {"lr": 1e-5, "steps": 100, "batch_size": 8, "bf16": false,
                "stop": ["</answer>"], "betas": [0.9, 0.999], "tags": []},
    "rewards": {"*": {"weight": 1.0, "kind": "exact"}},
    "reward_weights": {"format": 0.5, "*": 1.0},
    "tools": [{"name": "python", "timeout_s": 10}],
    "extra": null
  })");
}

// A YAML file in a fresh folder under /tmp, removed with the object.
class YamlFile {
 public:
  explicit YamlFile(const std::string& text) : path_(dir_ / "run.yaml") { write_file_atomic(path_, text); }
  const std::string& path() const { return path_; }

 private:
  arlt::test::TempDir dir_;
  std::string path_;
};

Json merge_text(const std::string& text) {
  LineTable lines;
  const Json user = parse_yaml_with_lines(text, "run.yaml", &lines);
  return merge_config(defaults(), user, "run.yaml", lines);
}

TEST(ConfigDidYouMean, ClosestWithinAThirdOfTheLength) {
  const std::vector<std::string> keys = {"lr", "steps", "batch_size", "max_new_tokens"};
  EXPECT_EQ(did_you_mean("lrr", keys), "lr");
  EXPECT_EQ(did_you_mean("rl", keys), "lr");  // a swap counts one
  EXPECT_EQ(did_you_mean("LR", keys), "lr");
  EXPECT_EQ(did_you_mean("batchsize", keys), "batch_size");
  EXPECT_EQ(did_you_mean("max-new-tokens", keys), "max_new_tokens");
  EXPECT_EQ(did_you_mean("stpes", keys), "steps");
  EXPECT_EQ(did_you_mean("epochs", keys), "");
  EXPECT_EQ(did_you_mean("x", keys), "");
  EXPECT_EQ(did_you_mean("lr", {}), "");
}

TEST(ConfigMerge, DefaultsAloneResolveWithoutTemplates) {
  const Json c = merge_config(defaults(), Json::object(), "run.yaml");
  EXPECT_EQ(c["trainer"]["lr"].get<double>(), 1e-5);
  EXPECT_EQ(c["rewards"], Json::object());
  EXPECT_EQ(c["reward_weights"].dump(), R"({"format":0.5})");
  EXPECT_FALSE(c.dump().find("\"*\"") != std::string::npos);
}

TEST(ConfigMerge, NestedMergeKeepsOtherDefaults) {
  const Json c = merge_text("trainer:\n  lr: 3e-6\nmodel:\n  path: /models/qwen\n");
  EXPECT_EQ(c["trainer"]["lr"].get<double>(), 3e-6);
  EXPECT_EQ(c["trainer"]["steps"], 100);
  EXPECT_EQ(c["trainer"]["stop"], Json::array({"</answer>"}));
  EXPECT_EQ(c["model"]["path"], "/models/qwen");
  EXPECT_EQ(c["model"]["dtype"], "float32");
  // The file's order does not reorder the defaults.
  EXPECT_EQ(c.begin().key(), "model");
}

TEST(ConfigMerge, UnknownKeyNamesLineAndSuggests) {
  EXPECT_EQ(error_of([] { merge_text("model:\n  path: x\ntrainer:\n  lrr: 1e-6\n"); }),
            "run.yaml: unknown key 'trainer.lrr' (line 4); did you mean 'trainer.lr'?");
  EXPECT_EQ(error_of([] { merge_text("trainr:\n  lr: 1\n"); }),
            "run.yaml: unknown key 'trainr' (line 1); did you mean 'trainer'?");
  // A key at the wrong level is found where it lives.
  EXPECT_EQ(error_of([] { merge_text("steps: 10\n"); }),
            "run.yaml: unknown key 'steps' (line 1); did you mean 'trainer.steps'?");
  // Nothing close: the section's keys are listed.
  EXPECT_EQ(error_of([] { merge_text("model:\n  epochs: 3\n"); }),
            "run.yaml: unknown key 'model.epochs' (line 2); keys under 'model': path, dtype");
}

TEST(ConfigMerge, UnknownKeyInsideAListElement) {
  EXPECT_EQ(error_of([] { merge_text("tools:\n  - name: sql\n    timeout: 3\n"); }),
            "run.yaml: unknown key 'tools[0].timeout' (line 3); did you mean 'tools[0].timeout_s'?");
}

TEST(ConfigMerge, WrongTypesEachWay) {
  EXPECT_EQ(error_of([] { merge_text("\n\ntrainer:\n  lr: abc\n"); }),
            "run.yaml: trainer.lr: expected a number, found string 'abc' (line 4)");
  EXPECT_EQ(error_of([] { merge_text("trainer:\n  steps: 2.5\n"); }),
            "run.yaml: trainer.steps: expected an integer, found number 2.5 (line 2)");
  EXPECT_EQ(error_of([] { merge_text("trainer:\n  steps: '10'\n"); }),
            "run.yaml: trainer.steps: expected an integer, found string '10' (line 2)");
  EXPECT_EQ(error_of([] { merge_text("trainer:\n  bf16: 1\n"); }),
            "run.yaml: trainer.bf16: expected a bool, found integer 1 (line 2)");
  EXPECT_EQ(error_of([] { merge_text("trainer:\n  bf16: yes\n"); }),
            "run.yaml: trainer.bf16: expected a bool, found string 'yes' (line 2); YAML 1.2 booleans are true and false");
  EXPECT_EQ(error_of([] { merge_text("model:\n  dtype: 16\n"); }),
            "run.yaml: model.dtype: expected a string, found integer 16 (line 2); quote it to make it a string");
  EXPECT_EQ(error_of([] { merge_text("model:\n  path:\n"); }),
            "run.yaml: model.path: expected a string, found null (line 2); write '' for an empty string");
  EXPECT_EQ(error_of([] { merge_text("model: qwen\n"); }),
            "run.yaml: model: expected a mapping, found string 'qwen' (line 1)");
  EXPECT_EQ(error_of([] { merge_text("trainer:\n  stop: </answer>\n"); }),
            "run.yaml: trainer.stop: expected a list, found string '</answer>' (line 2)");
  EXPECT_EQ(error_of([] { merge_text("trainer:\n  lr: {x: 1}\n"); }),
            "run.yaml: trainer.lr: expected a number, found a mapping (line 2)");
}

TEST(ConfigMerge, IntWhereNumberIsExpectedIsConverted) {
  const Json c = merge_text("trainer:\n  lr: 1\n");
  EXPECT_TRUE(c["trainer"]["lr"].is_number_float());
  EXPECT_EQ(c["trainer"]["lr"].get<double>(), 1.0);
}

TEST(ConfigMerge, IntegralDoubleWhereIntIsExpectedIsConverted) {
  const Json c = merge_text("trainer:\n  steps: 2e3\n");
  EXPECT_TRUE(c["trainer"]["steps"].is_number_integer());
  EXPECT_EQ(c["trainer"]["steps"].get<int64_t>(), 2000);
  EXPECT_NE(error_of([] { merge_text("trainer:\n  steps: 1e30\n"); }).find("expected an integer"), std::string::npos);
  EXPECT_NE(error_of([] { merge_text("trainer:\n  steps: .inf\n"); }).find("expected an integer"), std::string::npos);
}

TEST(ConfigMerge, ListsReplaceWhollyWithElementTypesChecked) {
  const Json c = merge_text("trainer:\n  stop: [a, b, c]\n  betas: [1, 0.5]\n  tags: [x, 1, {y: 2}]\n");
  EXPECT_EQ(c["trainer"]["stop"], Json::array({"a", "b", "c"}));
  EXPECT_TRUE(c["trainer"]["betas"][0].is_number_float());  // converted like any number
  EXPECT_EQ(c["trainer"]["tags"].dump(), R"(["x",1,{"y":2}])");  // an empty default list takes anything
  EXPECT_EQ(merge_text("trainer:\n  stop: []\n")["trainer"]["stop"], Json::array());
  EXPECT_EQ(error_of([] { merge_text("trainer:\n  stop:\n    - a\n    - 3\n"); }),
            "run.yaml: trainer.stop[1]: expected a string, found integer 3 (line 4); quote it to make it a string");
  EXPECT_EQ(error_of([] { merge_text("trainer:\n  betas: [0.9, high]\n"); }),
            "run.yaml: trainer.betas[1]: expected a number, found string 'high' (line 2)");
}

TEST(ConfigMerge, ObjectElementsAreFilledFromTheFirstDefault) {
  const Json c = merge_text("tools:\n  - name: sql\n  - name: search\n    timeout_s: 30\n");
  EXPECT_EQ(c["tools"].dump(), R"([{"name":"sql","timeout_s":10},{"name":"search","timeout_s":30}])");
}

TEST(ConfigMerge, StarMapTakesFreeKeys) {
  const Json c = merge_text(
      "rewards:\n  math: {weight: 2}\n  format: {kind: regex}\n"
      "reward_weights:\n  accuracy: 2\n  format: 0.25\n");
  EXPECT_EQ(c["rewards"].dump(), R"({"math":{"weight":2.0,"kind":"exact"},"format":{"weight":1.0,"kind":"regex"}})");
  EXPECT_EQ(c["reward_weights"].dump(), R"({"format":0.25,"accuracy":2.0})");
  EXPECT_EQ(error_of([] { merge_text("rewards:\n  math: {wieght: 2}\n"); }),
            "run.yaml: unknown key 'rewards.math.wieght' (line 2); did you mean 'rewards.math.weight'?");
  EXPECT_EQ(error_of([] { merge_text("reward_weights:\n  accuracy: high\n"); }),
            "run.yaml: reward_weights.accuracy: expected a number, found string 'high' (line 2)");
}

TEST(ConfigMerge, NullDefaultTakesAnything) {
  EXPECT_EQ(merge_text("extra: 3\n")["extra"], 3);
  EXPECT_EQ(merge_text("extra: {a: [1, x]}\n")["extra"].dump(), R"({"a":[1,"x"]})");
}

TEST(ConfigMerge, TopLevelMustBeAMapping) {
  EXPECT_EQ(error_of([] { merge_text("- a\n- b\n"); }), "run.yaml: top level: expected a mapping, found a list (line 1)");
  EXPECT_EQ(error_of([] { merge_text("just text\n"); }),
            "run.yaml: top level: expected a mapping, found string 'just text' (line 1)");
}

TEST(ConfigMerge, WithoutLinesMessagesOmitThem) {
  EXPECT_EQ(error_of([] { merge_config(defaults(), Json::parse(R"({"trainer": {"lrr": 1}})"), "api"); }),
            "api: unknown key 'trainer.lrr'; did you mean 'trainer.lr'?");
}

TEST(ConfigOverride, NumberStringListAndNestedPath) {
  Json c = merge_config(defaults(), Json::object(), "defaults");
  apply_override(c, "trainer.lr=1e-6");
  apply_override(c, "trainer.steps=20");
  apply_override(c, "model.path=/m/q");
  apply_override(c, "model.dtype='16'");
  apply_override(c, "trainer.stop=[a, '</b>']");
  apply_override(c, "trainer.lr=2");  // int where a number is expected
  apply_override(c, " trainer.bf16 = true");
  EXPECT_EQ(c["trainer"]["lr"].get<double>(), 2.0);
  EXPECT_TRUE(c["trainer"]["lr"].is_number_float());
  EXPECT_EQ(c["trainer"]["steps"], 20);
  EXPECT_EQ(c["model"]["path"], "/m/q");
  EXPECT_EQ(c["model"]["dtype"], "16");
  EXPECT_EQ(c["trainer"]["stop"], Json::array({"a", "</b>"}));
  EXPECT_EQ(c["trainer"]["bf16"], true);
  apply_override(c, "model.path=a=b");  // only the first '=' splits
  EXPECT_EQ(c["model"]["path"], "a=b");
}

TEST(ConfigOverride, Errors) {
  Json c = merge_config(defaults(), Json::object(), "defaults");
  EXPECT_EQ(error_of([&] { apply_override(c, "trainer.lrr=1e-6"); }),
            "override 'trainer.lrr=1e-6': unknown key 'trainer.lrr'; did you mean 'trainer.lr'?");
  EXPECT_EQ(error_of([&] { apply_override(c, "trainer.lr"); }),
            "override 'trainer.lr': expected key=value, e.g. trainer.lr=1e-6");
  EXPECT_EQ(error_of([&] { apply_override(c, "trainer.optim.beta1=0.8"); }),
            "override 'trainer.optim.beta1=0.8': unknown key 'trainer.optim'; keys under 'trainer': lr, steps, "
            "batch_size, bf16, stop, betas, tags");
  EXPECT_EQ(error_of([&] { apply_override(c, "trainr.lr=1"); }),
            "override 'trainr.lr=1': unknown key 'trainr'; did you mean 'trainer'?");
  EXPECT_EQ(error_of([&] { apply_override(c, "trainer.steps=many"); }),
            "override 'trainer.steps=many': trainer.steps: expected an integer, found string 'many'");
  EXPECT_EQ(error_of([&] { apply_override(c, "trainer..lr=1"); }),
            "override 'trainer..lr=1': key path 'trainer..lr' has an empty part; expected a.b.c=value");
  EXPECT_EQ(error_of([&] { apply_override(c, "model.path="); }),
            "override 'model.path=': model.path: expected a string, found null; write '' for an empty string");
  EXPECT_EQ(error_of([&] { apply_override(c, "trainer.stop=[a, b"); }),
            "override 'trainer.stop=[a, b':1:1: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(error_of([&] { apply_override(c, "trainer.lr.x=1"); }),
            "override 'trainer.lr.x=1': trainer.lr: expected a number, found a mapping");
  EXPECT_EQ(c, merge_config(defaults(), Json::object(), "defaults"));  // failed overrides left no trace
}

TEST(ConfigLoad, DefaultsThenFileThenOverridesInOrder) {
  YamlFile file("# run config\ntrainer:\n  lr: 3e-6\n  steps: 50\nrewards:\n  math: {weight: 2}\n");
  const Json c = load_config(defaults(), file.path(),
                             {"trainer.steps=60", "trainer.steps=70", "rewards.code.weight=0.5", "rewards.math.kind=regex",
                              "extra.a=1", "extra.b=2"});
  EXPECT_EQ(c["trainer"]["lr"].get<double>(), 3e-6);
  EXPECT_EQ(c["trainer"]["steps"], 70);
  EXPECT_EQ(c["trainer"]["batch_size"], 8);
  EXPECT_EQ(c["rewards"].dump(), R"({"math":{"weight":2.0,"kind":"regex"},"code":{"weight":0.5,"kind":"exact"}})");
  EXPECT_EQ(c["extra"].dump(), R"({"a":1,"b":2})");
}

TEST(ConfigLoad, NoFileMeansDefaultsAndOverrides) {
  const Json c = load_config(defaults(), "", {"trainer.lr=0.5"});
  EXPECT_EQ(c["trainer"]["lr"].get<double>(), 0.5);
  EXPECT_EQ(c["model"]["dtype"], "float32");
}

TEST(ConfigLoad, EmptyFileIsAnEmptyConfig) {
  YamlFile file("");
  EXPECT_EQ(load_config(defaults(), file.path(), {}), merge_config(defaults(), Json::object(), "x"));
}

TEST(ConfigLoad, FileErrorsNameFileAndLine) {
  YamlFile file("model:\n  path: /m\n\ntrainer:\n  lr: 1e-6\n  bacth_size: 4\n");
  EXPECT_EQ(error_of([&] { load_config(defaults(), file.path(), {}); }),
            file.path() + ": unknown key 'trainer.bacth_size' (line 6); did you mean 'trainer.batch_size'?");
  YamlFile bad("trainer:\n  lr: [1\n");
  EXPECT_NE(error_of([&] { load_config(defaults(), bad.path(), {}); }).find(bad.path() + ":3:1: invalid YAML"),
            std::string::npos);
  YamlFile list("- 1\n");
  EXPECT_EQ(error_of([&] { load_config(defaults(), list.path(), {}); }),
            list.path() + ": top level: expected a mapping, found a list (line 1)");
  EXPECT_NE(error_of([&] { load_config(defaults(), "/nonexistent/run.yaml", {}); }).find("/nonexistent/run.yaml"),
            std::string::npos);
}

TEST(ConfigLoad, ResolvedConfigWrittenAsYamlLoadsBackTheSame) {
  const Json c = load_config(defaults(), "", {"rewards.math.weight=2", "trainer.stop=['true', '1e3', 'a: b']"});
  YamlFile file(to_yaml(c));
  EXPECT_EQ(load_config(defaults(), file.path(), {}).dump(), c.dump());
}

TEST(ConfigLoad, DefaultsMustBeAnObject) {
  EXPECT_EQ(error_of([] { load_config(Json::array(), "", {}); }, 1),
            "config defaults must be a JSON object, found a list");
}

TEST(ConfigAtPath, ReadsDottedPaths) {
  const Json c = load_config(defaults(), "", {});
  EXPECT_EQ(at_path(c, "trainer.lr").get<double>(), 1e-5);
  EXPECT_EQ(at_path(c, "tools.0.name"), "python");
  EXPECT_EQ(&at_path(c, ""), &c);
  EXPECT_EQ(error_of([&] { at_path(c, "trainer.lrx"); }, 1), "config has no key 'trainer.lrx'; did you mean 'trainer.lr'?");
  EXPECT_EQ(error_of([&] { at_path(c, "trainer.lr.x"); }, 1), "config has no key 'trainer.lr.x'");
  EXPECT_EQ(error_of([&] { at_path(c, "tools.5"); }, 1), "config has no key 'tools.5'");
}

}  // namespace
}  // namespace arlt::config

// `arlt sft`, `arlt train`, `arlt report` and `arlt export` through the real binary: the example
// configs document every key and load, bad configs exit 2 naming file, line and key, a tiny run
// writes its run folder, and --resume continues it.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>

#include "arlt/base/fs.h"
#include "arlt/config/config.h"
#include "arlt/train/rl.h"
#include "arlt/train/sft.h"
#include "../test_util.h"

using namespace arlt;
namespace fs = std::filesystem;

namespace {
const std::string kArlt = ARLT_BINARY;
const std::string kSrc = ARLT_SOURCE_DIR;

void key_paths(const config::Json& j, const std::string& prefix, std::set<std::string>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "*") continue;
    const std::string p = prefix.empty() ? it.key() : prefix + "." + it.key();
    out.insert(p);
    if (it.value().is_object()) key_paths(it.value(), p, out);
  }
}
}  // namespace

TEST(CliTrain, ExamplesDocumentEveryKeyAndLoad) {
  for (auto [file, defaults] : {std::pair{"grpo.yaml", train::rl_defaults()}, std::pair{"sft.yaml", train::sft_defaults()}}) {
    std::set<std::string> want, have;
    key_paths(defaults, "", want);
    key_paths(config::load_yaml_file(kSrc + "/examples/" + file), "", have);
    for (const auto& k : want) EXPECT_TRUE(have.count(k)) << file << " does not document " << k;
  }
  for (const char* f : {"grpo.yaml", "dapo.yaml", "ppo.yaml"})
    EXPECT_NO_THROW(config::load_config(train::rl_defaults(), kSrc + "/examples/" + f, {})) << f;
  EXPECT_NO_THROW(config::load_config(train::sft_defaults(), kSrc + "/examples/sft.yaml", {}));
}

TEST(CliTrain, BadConfigsExit2NamingTheKey) {
  test::TempDir dir;
  const std::string cfg = dir / "c.yaml";
  write_file_atomic(cfg, "run:\n  steps: 3\ntrainer:\n  lrr: 0.1\n");
  auto r = test::run_command(kArlt + " train " + cfg);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("trainer.lrr"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("line 4"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("did you mean 'trainer.lr'"), std::string::npos) << r.output;
  write_file_atomic(cfg, "trainer:\n  lr: fast\n");
  r = test::run_command(kArlt + " train " + cfg);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("trainer.lr"), std::string::npos) << r.output;
  r = test::run_command(kArlt + " train trainer.prompts_per_step=3 trainer.mini_batch_size=5 run.out=" + (dir / "r"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("trainer.mini_batch_size"), std::string::npos) << r.output;
  r = test::run_command(kArlt + " sft data.train=" + (dir / "nope.jsonl") + " run.out=" + (dir / "r"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("nope.jsonl"), std::string::npos) << r.output;
  r = test::run_command(kArlt + " train --resume run.out=" + (dir / "empty"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no checkpoint"), std::string::npos) << r.output;
}

TEST(CliTrain, TinyRunWritesItsFolderResumesAndReports) {
  test::TempDir dir;
  const std::string run = dir / "run";
  const std::string args = " run.out=" + run +
                           " run.steps=3 run.save_every=1 run.eval_every=3 data.train_size=32 data.test_size=8"
                           " rollout.n=2 rollout.max_tokens=3 trainer.prompts_per_step=2 --quiet";
  auto r = test::run_command(kArlt + " train" + args + " --stop-after 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_command(kArlt + " train" + args + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"config.yaml", "metrics.jsonl", "model/config.json", "model/tokenizer.json",
                        "checkpoints/step_3/optimizer.pt", "checkpoints/step_3/state.json"})
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  // The resolved config holds the overrides and loads back as a config of its own.
  const auto resolved = config::load_config(train::rl_defaults(), run + "/config.yaml", {});
  EXPECT_EQ(config::at_path(resolved, "run.steps").get<int>(), 3);
  EXPECT_EQ(config::at_path(resolved, "rollout.max_tokens").get<int>(), 3);
  EXPECT_EQ(config::at_path(resolved, "trainer.lr").get<double>(), 1e-5);
  r = test::run_command(kArlt + " report " + run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(run + "/report.html"));
  EXPECT_TRUE(fs::exists(run + "/reward.png"));
  r = test::run_command(kArlt + " export " + run + "/checkpoints/step_2 --out " + (dir / "hf"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "hf/model.safetensors"));
  r = test::run_command(kArlt + " export " + (dir / "nothing") + " --out " + (dir / "hf2"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

// End-to-end tests of the arlt command-line program: init-model + inspect work, and bad input
// (corrupt weights, unsupported or incomplete config.json, bad flags) exits 2 with "error: ..."
// naming what was wrong.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#ifndef ARLT_BINARY
#error "ARLT_BINARY (path of the built arlt program) must be defined by the build"
#endif

#include "../test_util.h"

namespace {
namespace fs = std::filesystem;

struct RunResult {
  int code = -1;  // exit status, or -1 when the program did not exit normally
  std::string output;  // stdout and stderr together
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

// Runs `arlt <args>` with stderr merged into stdout.
RunResult run_arlt(const std::string& args) {
  const auto r = arlt::test::run_command(quote(ARLT_BINARY) + " " + args);
  return {r.exit_code, r.output};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A small valid Llama config.json; `drop` removes one key, `arch` replaces the architecture.
std::string config_json(const std::string& arch = "LlamaForCausalLM", const std::string& drop = "") {
  const std::pair<const char*, const char*> keys[] = {
      {"vocab_size", "32"},          {"hidden_size", "16"},        {"intermediate_size", "32"},
      {"num_hidden_layers", "1"},    {"num_attention_heads", "2"}, {"num_key_value_heads", "1"},
      {"torch_dtype", "\"float32\""}};
  std::string j = "{\"architectures\": [\"" + arch + "\"]";
  for (const auto& [k, v] : keys)
    if (drop != k) j += std::string(", \"") + k + "\": " + v;
  return j + "}\n";
}

class CliE2e : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs::exists(ARLT_BINARY)) << "the arlt program is not built: " << ARLT_BINARY; }
  std::string path(const std::string& name) const { return dir_ / name; }
  arlt::test::TempDir dir_;
};

// ---- working commands --------------------------------------------------------------------

TEST_F(CliE2e, InitModelThenInspectLlama) {
  const std::string out = path("llama");
  const RunResult init = run_arlt("init-model --out " + quote(out));
  ASSERT_EQ(init.code, 0) << init.output;
  EXPECT_TRUE(contains(init.output, "LlamaForCausalLM")) << init.output;
  EXPECT_TRUE(fs::exists(fs::path(out) / "config.json"));
  EXPECT_TRUE(fs::exists(fs::path(out) / "model.safetensors"));

  const RunResult insp = run_arlt("inspect " + quote(out));
  EXPECT_EQ(insp.code, 0) << insp.output;
  EXPECT_TRUE(contains(insp.output, "LlamaForCausalLM")) << insp.output;
  EXPECT_TRUE(contains(insp.output, "model.embed_tokens.weight")) << insp.output;
  EXPECT_FALSE(contains(insp.output, "error:")) << insp.output;

  const RunResult brief = run_arlt("inspect --no-tensors " + quote(out));
  EXPECT_EQ(brief.code, 0) << brief.output;
  EXPECT_TRUE(contains(brief.output, "LlamaForCausalLM")) << brief.output;
  EXPECT_FALSE(contains(brief.output, "model.embed_tokens.weight")) << brief.output;
}

TEST_F(CliE2e, InitModelQwen3HasQkNorm) {
  const std::string out = path("qwen3");
  const RunResult init = run_arlt("init-model --arch qwen3 --out " + quote(out));
  ASSERT_EQ(init.code, 0) << init.output;
  const RunResult insp = run_arlt("inspect " + quote(out));
  EXPECT_EQ(insp.code, 0) << insp.output;
  EXPECT_TRUE(contains(insp.output, "Qwen3ForCausalLM")) << insp.output;
  EXPECT_TRUE(contains(insp.output, "q_norm")) << insp.output;
}

TEST_F(CliE2e, InitModelShardedIsInspectable) {
  const std::string out = path("sharded");
  const RunResult init = run_arlt("init-model --shard-mb 4 --out " + quote(out));
  ASSERT_EQ(init.code, 0) << init.output;
  EXPECT_TRUE(fs::exists(fs::path(out) / "model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(fs::path(out) / "model.safetensors"));
  const RunResult insp = run_arlt("inspect --no-tensors " + quote(out));
  EXPECT_EQ(insp.code, 0) << insp.output;
  EXPECT_TRUE(contains(insp.output, "model-00001-of-")) << insp.output;
}

// ---- bad model folders -------------------------------------------------------------------

TEST_F(CliE2e, InspectCorruptSafetensorsExits2NamingTheFile) {
  spit(dir_ / "config.json", config_json());
  // Header length 1000000, but the file is 10 bytes long.
  std::string bytes(8, '\0');
  const uint64_t len = 1000000;
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  spit(dir_ / "model.safetensors", bytes + "{}");
  const RunResult r = run_arlt("inspect " + quote(dir_.string()));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "error:")) << r.output;
  EXPECT_TRUE(contains(r.output, path("model.safetensors"))) << r.output;
  EXPECT_TRUE(contains(r.output, "header length")) << r.output;
}

TEST_F(CliE2e, InspectFolderWithoutWeightsExits2) {
  spit(dir_ / "config.json", config_json());
  const RunResult r = run_arlt("inspect " + quote(dir_.string()));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "error:")) << r.output;
  EXPECT_TRUE(contains(r.output, "no model.safetensors")) << r.output;
}

TEST_F(CliE2e, InspectUnsupportedArchitectureExits2) {
  spit(dir_ / "config.json", config_json("GPT2LMHeadModel"));
  const RunResult r = run_arlt("inspect " + quote(dir_.string()));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "error:")) << r.output;
  EXPECT_TRUE(contains(r.output, "GPT2LMHeadModel")) << r.output;
}

TEST_F(CliE2e, InspectConfigMissingHiddenSizeExits2) {
  spit(dir_ / "config.json", config_json("LlamaForCausalLM", "hidden_size"));
  const RunResult r = run_arlt("inspect " + quote(dir_.string()));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "error:")) << r.output;
  EXPECT_TRUE(contains(r.output, "hidden_size")) << r.output;
  EXPECT_TRUE(contains(r.output, "config.json")) << r.output;
}

TEST_F(CliE2e, InspectConfigNotJsonExits2) {
  spit(dir_ / "config.json", "{ not json");
  const RunResult r = run_arlt("inspect " + quote(dir_.string()));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "error:")) << r.output;
  EXPECT_TRUE(contains(r.output, "config.json")) << r.output;
}

TEST_F(CliE2e, InspectNonexistentFolderExits2) {
  const std::string missing = path("does-not-exist");
  const RunResult r = run_arlt("inspect " + quote(missing));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "error:")) << r.output;
  EXPECT_TRUE(contains(r.output, missing)) << r.output;
}

// ---- bad command lines -------------------------------------------------------------------

TEST_F(CliE2e, UnknownSubcommandExits2) {
  const RunResult r = run_arlt("frobnicate");
  EXPECT_EQ(r.code, 2) << r.output;
}

TEST_F(CliE2e, NoSubcommandExitsNonzero) {
  const RunResult r = run_arlt("");
  EXPECT_NE(r.code, 0) << r.output;
}

TEST_F(CliE2e, InitModelWithoutOutExits2) {
  const RunResult r = run_arlt("init-model");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--out")) << r.output;
}

TEST_F(CliE2e, InitModelUnknownConfigExits2) {
  const std::string out = path("never");
  const RunResult r = run_arlt("init-model --config nosuch --out " + quote(out));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "error:")) << r.output;
  EXPECT_TRUE(contains(r.output, "nosuch")) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CliE2e, InitModelUnknownArchExits2) {
  const RunResult r = run_arlt("init-model --arch gpt2 --out " + quote(path("never")));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "gpt2")) << r.output;
}

TEST_F(CliE2e, InitModelBadDtypeExits2) {
  const RunResult r = run_arlt("init-model --dtype int3 --out " + quote(path("never")));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "int3")) << r.output;
}

TEST_F(CliE2e, InitModelFromUnsupportedConfigFileExits2) {
  spit(dir_ / "gpt2.json", config_json("GPT2LMHeadModel"));
  const RunResult r = run_arlt("init-model --config " + quote(path("gpt2.json")) + " --out " + quote(path("never")));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "GPT2LMHeadModel")) << r.output;
}

}  // namespace

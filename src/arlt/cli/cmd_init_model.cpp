// arlt init-model: a model folder with random weights from a built-in configuration or a config.json.
#include <filesystem>
#include <iostream>

#include "arlt/base/error.h"
#include "arlt/cli/commands.h"
#include "arlt/model/hf_folder.h"

namespace arlt::cli {

void add_init_model(CLI::App& app) {
  struct Opts {
    std::string config = "tiny", arch = "llama", dtype, out;
    uint64_t seed = 0;
    double shard_mb = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("init-model", "write a model folder with random weights");
  sub->add_option("--config", o->config, "built-in configuration (tiny, small) or a config.json path")->capture_default_str();
  sub->add_option("--arch", o->arch, "architecture for a built-in configuration: llama, qwen2, qwen3")->capture_default_str();
  sub->add_option("--dtype", o->dtype, "float32, bfloat16 or float16 (default: the config's)");
  sub->add_option("--seed", o->seed, "random seed")->capture_default_str();
  sub->add_option("--shard-mb", o->shard_mb, "split the weights into shards of at most this many MB (0 = one file)");
  sub->add_option("--out", o->out, "output folder")->required();
  sub->callback([o] {
    model::ModelConfig config;
    if (std::filesystem::is_directory(o->config)) {
      config = model::ModelConfig::load((std::filesystem::path(o->config) / "config.json").string());
    } else if (std::filesystem::exists(o->config)) {
      config = model::ModelConfig::load(o->config);
    } else {
      std::string arch;
      if (o->arch == "llama") arch = "LlamaForCausalLM";
      else if (o->arch == "qwen2") arch = "Qwen2ForCausalLM";
      else if (o->arch == "qwen3") arch = "Qwen3ForCausalLM";
      else throw Error("--arch '" + o->arch + "' is not one of llama, qwen2, qwen3");
      config = model::ModelConfig::preset(o->config, arch);
    }
    if (!o->dtype.empty()) config.dtype = model::parse_dtype(o->dtype, "--dtype");
    if (!(o->shard_mb >= 0) || o->shard_mb > 1e9) throw Error("--shard-mb must be a number in [0, 1e9]");
    model::Transformer m(config);
    m.init_random(o->seed);
    model::SaveOptions so;
    so.max_shard_bytes = static_cast<uint64_t>(o->shard_mb * 1024 * 1024);
    model::save_model(m, o->out, so);
    std::cout << "wrote " << config.architecture << " (" << config.num_parameters() << " parameters, "
              << model::dtype_name(config.dtype) << ") to " << o->out << "\n";
  });
}

}  // namespace arlt::cli

// arlt inspect: architecture, parameter count, dtypes and tensors of a model folder.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "arlt/base/error.h"
#include "arlt/cli/commands.h"
#include "arlt/io/safetensors.h"
#include "arlt/model/config.h"
#include "arlt/model/hf_folder.h"

namespace arlt::cli {
namespace fs = std::filesystem;

void add_inspect(CLI::App& app) {
  struct Opts {
    std::string dir;
    bool no_tensors = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("inspect", "print a model folder's architecture, parameters, dtypes and tensors");
  sub->add_option("dir", o->dir, "Hugging Face model folder")->required();
  sub->add_flag("--no-tensors", o->no_tensors, "omit the tensor list");
  sub->callback([o] {
    if (!fs::is_directory(o->dir)) throw Error(o->dir + ": not a folder");
    const auto config = model::ModelConfig::load((fs::path(o->dir) / "config.json").string());
    const auto store = io::TensorStore::open_folder(o->dir);
    std::map<std::string, int64_t> by_dtype;
    int64_t total = 0;
    for (const auto& n : store.names()) {
      const auto& t = store.info(n);
      by_dtype[t.dtype] += t.numel();
      total += t.numel();
    }
    std::printf("folder:        %s\n", o->dir.c_str());
    std::printf("architecture:  %s (%s)\n", config.architecture.c_str(), config.model_type.c_str());
    std::printf("layers:        %lld, hidden %lld, intermediate %lld\n", (long long)config.num_hidden_layers,
                (long long)config.hidden_size, (long long)config.intermediate_size);
    std::printf("attention:     %lld heads, %lld kv heads, head_dim %lld, rope_theta %g, rope_scaling %s\n",
                (long long)config.num_attention_heads, (long long)config.num_key_value_heads,
                (long long)config.head_dim, config.rope_theta, config.rope_scaling.type.c_str());
    std::printf("vocab:         %lld, tied embeddings: %s\n", (long long)config.vocab_size,
                config.tie_word_embeddings ? "yes" : "no");
    std::printf("config dtype:  %s\n", model::dtype_name(config.dtype).c_str());
    std::printf("parameters:    %lld stored (%lld expected from config)\n", (long long)total,
                (long long)config.num_parameters());
    std::printf("dtypes:       ");
    for (const auto& [d, n] : by_dtype) std::printf(" %s: %lld", d.c_str(), (long long)n);
    std::printf("\nfiles:        ");
    for (const auto& f : store.files()) std::printf(" %s", fs::path(f->path()).filename().c_str());
    std::printf("\ntokenizer:    ");
    bool any = false;
    for (const auto& n : model::tokenizer_file_names())
      if (fs::exists(fs::path(o->dir) / n)) std::printf(" %s", n.c_str()), any = true;
    std::printf("%s\n", any ? "" : " (none)");
    if (o->no_tensors) return;
    std::printf("\n%-60s %-6s %s\n", "tensor", "dtype", "shape");
    for (const auto& n : store.names()) {
      const auto& t = store.info(n);
      std::string shape = "[";
      for (size_t i = 0; i < t.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(t.shape[i]);
      std::printf("%-60s %-6s %s]\n", n.c_str(), t.dtype.c_str(), shape.c_str());
    }
  });
}

}  // namespace arlt::cli

// arlt export CHECKPOINT --out DIR: a checkpoint (or a run folder's newest) as a Hugging Face folder.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "arlt/base/error.h"
#include "arlt/cli/commands.h"
#include "arlt/model/hf_folder.h"
#include "arlt/train/checkpoint.h"

namespace arlt::cli {

void add_export(CLI::App& app) {
  struct ExportOpts {
    std::string checkpoint, out, dtype;
  };
  auto eo = std::make_shared<ExportOpts>();
  CLI::App* ex = app.add_subcommand("export", "write a checkpoint (or a run folder's newest) as a Hugging Face model folder");
  ex->add_option("checkpoint", eo->checkpoint, "RUN/checkpoints/step_N, or RUN for its newest checkpoint")->required();
  ex->add_option("--out", eo->out, "output folder")->required();
  ex->add_option("--dtype", eo->dtype, "float32, bfloat16 or float16 (default: as trained)");
  ex->callback([eo] {
    namespace fs = std::filesystem;
    std::string dir = eo->checkpoint;
    if (fs::exists(fs::path(dir) / "checkpoints")) {
      dir = train::latest_checkpoint(dir);
      if (dir.empty()) throw Error("export: " + eo->checkpoint + " has no checkpoint");
    }
    const fs::path model_dir = fs::path(dir) / "model";
    if (!fs::exists(model_dir / "config.json"))
      throw Error("export: " + dir + " is not a checkpoint (no model/config.json)");
    auto m = model::load_model(model_dir.string());
    model::SaveOptions s;
    s.tokenizer_from = model_dir.string();
    if (!eo->dtype.empty()) s.dtype = model::parse_dtype(eo->dtype, "--dtype");
    model::save_model(*m, eo->out, s);
    std::printf("exported %s to %s\n", dir.c_str(), eo->out.c_str());
  });
}

}  // namespace arlt::cli

// arlt serve: the OpenAI-compatible server (loopback by default).
#include <csignal>
#include <filesystem>
#include <iostream>

#include "arlt/base/error.h"
#include "arlt/cli/commands.h"
#include "arlt/serve/server.h"
#include "arlt/model/hf_folder.h"
#include "arlt/tokenizer/tokenizer.h"

namespace arlt::cli {

void add_serve(CLI::App& app) {
  struct Opts {
    std::string model, host = "127.0.0.1", name, dtype;
    int port = 8000;
    int64_t max_seqs = 64, max_seq_len = 0, max_batch_tokens = 0;
    double kv_budget_mb = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("serve", "serve /v1/completions and /v1/chat/completions over HTTP");
  sub->add_option("--model", o->model, "Hugging Face model folder")->required();
  sub->add_option("--port", o->port, "port (0 = any free one)")->capture_default_str()->check(CLI::Range(0, 65535));
  sub->add_option("--host", o->host, "address to listen on (default loopback)")->capture_default_str();
  sub->add_option("--name", o->name, "model name clients use (default: the folder's name)");
  sub->add_option("--max-seqs", o->max_seqs, "sequences decoding at once")->capture_default_str();
  sub->add_option("--max-seq-len", o->max_seq_len, "context per sequence (default: the model's)");
  sub->add_option("--kv-budget-mb", o->kv_budget_mb, "memory for the KV cache: caps --max-seqs (0 = no cap)")
      ->check(CLI::Range(0.0, 1e9));
  sub->add_option("--max-batch-tokens", o->max_batch_tokens,
                  "tokens per engine step: decode first, then prompt chunks (0 = max(2048, max-seqs))");
  sub->add_option("--dtype", o->dtype, "float32 or bfloat16");
  sub->callback([o] {
    model::LoadOptions lo;
    if (!o->dtype.empty()) lo.dtype = model::parse_dtype(o->dtype, "--dtype");
    auto m = model::load_model(o->model, lo);
    std::shared_ptr<tokenizer::Tokenizer> tok;
    if (std::filesystem::exists(std::filesystem::path(o->model) / "tokenizer.json")) tok = tokenizer::Tokenizer::from_folder(o->model);
    engine::EngineOptions eo;
    eo.max_seqs = o->max_seqs;
    eo.max_seq_len = o->max_seq_len;
    eo.max_batch_tokens = o->max_batch_tokens;
    eo.kv_budget_bytes = static_cast<int64_t>(o->kv_budget_mb * 1024 * 1024);
    serve::ServerOptions so;
    so.host = o->host;
    so.port = o->port;
    so.model_name = o->name.empty() ? std::filesystem::path(o->model).filename().string() : o->name;
    if (so.model_name.empty()) so.model_name = "arlt";
    serve::Server server(m, tok, eo, so);
    std::cerr << "arlt serve: model '" << so.model_name << "' on http://" << so.host << ":" << o->port << "\n";
    server.serve_forever();
  });
}

}  // namespace arlt::cli

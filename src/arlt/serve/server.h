// An OpenAI-compatible HTTP server over the engine (its own module: it needs the chat
// template, which the engine must not): /v1/completions, /v1/chat/completions
// (chat template applied; streaming with server-sent events), /v1/models, /health. One thread
// owns the engine and runs the continuous-batching loop; HTTP handlers hand it requests and
// wait for (or stream) their tokens. A client that goes away mid-stream cancels its request.
#pragma once
#include <memory>
#include <string>

#include "arlt/engine/engine.h"

namespace arlt::tokenizer {
class Tokenizer;
}

namespace arlt::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8000;                 // 0 = any free port
  std::string model_name = "arlt";
};

class Server {
 public:
  Server(std::shared_ptr<model::Transformer> model, std::shared_ptr<const tokenizer::Tokenizer> tokenizer,
         engine::EngineOptions engine_options, ServerOptions options);
  ~Server();
  // Binds and starts serving in background threads; returns the port.
  int start();
  // Serves in the calling thread until stop() (the CLI's `arlt serve`).
  void serve_forever();
  void stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arlt::serve

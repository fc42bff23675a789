// The OpenAI-compatible server, driven over real HTTP (cpp-httplib's client on loopback).
#include <gtest/gtest.h>
#include <httplib.h>

#include "arlt/serve/server.h"
#include "arlt/tokenizer/chat_template.h"
#include "arlt/tokenizer/tokenizer.h"
#include "../test_util.h"

using namespace arlt;
using nlohmann::json;

namespace {

struct Fixture {
  std::shared_ptr<model::Transformer> model;
  std::shared_ptr<tokenizer::Tokenizer> tok;
  std::unique_ptr<serve::Server> server;
  int port = 0;
  Fixture() {
    tok = tokenizer::Tokenizer::from_json(tokenizer::byte_tokenizer_json({"<|im_start|>", "<|im_end|>"}),
                                          {{"chat_template", tokenizer::builtin_chat_template("chatml")}, {"eos_token", "<|im_end|>"}});
    json cfg = {{"architectures", {"LlamaForCausalLM"}}, {"vocab_size", 258}, {"hidden_size", 48}, {"intermediate_size", 80},
                {"num_hidden_layers", 2}, {"num_attention_heads", 6}, {"num_key_value_heads", 2},
                {"max_position_embeddings", 256}, {"eos_token_id", 257}};
    model = std::make_shared<model::Transformer>(model::ModelConfig::from_json(cfg, "test"));
    test::randomize(*model, 4, 0.15);
    engine::EngineOptions eo;
    eo.max_seqs = 8;
    serve::ServerOptions so;
    so.port = 0;
    so.model_name = "tiny";
    server = std::make_unique<serve::Server>(model, tok, eo, so);
    port = server->start();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    return c;
  }
};

}  // namespace

TEST(Server, HealthModelsAndCompletions) {
  Fixture f;
  auto c = f.client();
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto m = c.Get("/v1/models");
  ASSERT_TRUE(m);
  EXPECT_EQ(json::parse(m->body)["data"][0]["id"], "tiny");

  auto r = c.Post("/v1/completions", R"({"model": "tiny", "prompt": "hello", "max_tokens": 6, "temperature": 0, "logprobs": 1})",
                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"].size(), 1u);
  EXPECT_LE(j["usage"]["completion_tokens"].get<int>(), 6);
  EXPECT_EQ(j["usage"]["prompt_tokens"], 5);
  // The same request through the engine directly gives the same tokens.
  engine::Engine eng(f.model, f.tok);
  engine::Request req;
  req.prompt = f.tok->encode("hello");
  req.params.max_tokens = 6;
  req.params.temperature = 0;
  eng.submit(req);
  auto direct = eng.run();
  EXPECT_EQ(j["choices"][0]["text"], direct[0].text);
  EXPECT_EQ(j["choices"][0]["logprobs"]["token_logprobs"].size(), direct[0].tokens.size());

  // n samples, seeded: reproducible.
  const std::string body = R"({"prompt": [104, 105], "max_tokens": 5, "n": 3, "seed": 11})";
  auto a = c.Post("/v1/completions", body, "application/json"), b = c.Post("/v1/completions", body, "application/json");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(json::parse(a->body)["choices"], json::parse(b->body)["choices"]);
  EXPECT_EQ(json::parse(a->body)["choices"].size(), 3u);
}

TEST(Server, ChatStreamingMatchesNonStreaming) {
  Fixture f;
  auto c = f.client();
  const std::string msgs = R"("messages": [{"role": "user", "content": "2+2?"}], "max_tokens": 12, "temperature": 0)";
  auto whole = c.Post("/v1/chat/completions", "{" + msgs + "}", "application/json");
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->status, 200) << whole->body;
  const std::string content = json::parse(whole->body)["choices"][0]["message"]["content"];
  auto s = c.Post("/v1/chat/completions", "{" + msgs + R"(, "stream": true})", "application/json");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->status, 200);
  std::string streamed, finish;
  std::istringstream in(s->body);
  bool done = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("data: ", 0) != 0) continue;
    if (line == "data: [DONE]") {
      done = true;
      continue;
    }
    auto j = json::parse(line.substr(6));
    EXPECT_EQ(j["object"], "chat.completion.chunk");
    const auto& ch = j["choices"][0];
    if (ch["delta"].contains("content")) streamed += ch["delta"]["content"].get<std::string>();
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(streamed, content);
  EXPECT_FALSE(finish.empty());
}

TEST(Server, BadRequestsGet4xxAndTheServerKeepsServing) {
  Fixture f;
  auto c = f.client();
  auto post = [&](const std::string& path, const std::string& body) {
    auto r = c.Post(path.c_str(), body, "application/json");
    EXPECT_TRUE(r);
    return r ? std::make_pair(r->status, r->body) : std::make_pair(-1, std::string());
  };
  auto [s1, b1] = post("/v1/completions", "{not json");
  EXPECT_EQ(s1, 400);
  EXPECT_NE(b1.find("JSON"), std::string::npos);
  auto [s2, b2] = post("/v1/completions", R"({"prompt": "x", "max_tokens": 0})");
  EXPECT_EQ(s2, 400);
  EXPECT_NE(b2.find("max_tokens"), std::string::npos);
  auto [s3, b3] = post("/v1/completions", R"({"prompt": "x", "top_p": 1.5})");
  EXPECT_EQ(s3, 400);
  EXPECT_NE(b3.find("top_p"), std::string::npos);
  auto [s4, b4] = post("/v1/completions", R"({"model": "gpt-4", "prompt": "x"})");
  EXPECT_EQ(s4, 404);
  EXPECT_NE(b4.find("gpt-4"), std::string::npos);
  auto [s5, b5] = post("/v1/completions", "{\"prompt\": \"" + std::string(300, 'y') + "\"}");
  EXPECT_EQ(s5, 400);
  EXPECT_NE(b5.find("context"), std::string::npos);
  auto [s6, b6] = post("/v1/chat/completions", R"({"messages": "hi"})");
  EXPECT_EQ(s6, 400);
  auto [s7, b7] = post("/v1/completions", R"({"prompt": "x", "temperature": "hot"})");
  EXPECT_EQ(s7, 400);
  EXPECT_NE(b7.find("temperature"), std::string::npos);
  auto [s8, b8] = post("/v1/nothing", "{}");
  EXPECT_EQ(s8, 404);
  // Still serving.
  auto [ok, body] = post("/v1/completions", R"({"prompt": "x", "max_tokens": 2})");
  EXPECT_EQ(ok, 200) << body;
}

TEST(Server, ClientDisconnectMidStreamCancelsCleanly) {
  Fixture f;
  {
    auto c = f.client();
    int chunks = 0;
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = R"({"prompt": "hello", "max_tokens": 200, "stream": true, "temperature": 1, "seed": 3})";
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 2; };  // hang up early
    auto r = c.send(req);
    EXPECT_GE(chunks, 1);
  }
  // Others are still served after the hang-up. (That the cancelled request also frees its slot at
  // once is Engine::cancel's job; this test cannot see it from outside.)
  auto c = f.client();
  for (int i = 0; i < 3; ++i) {
    auto r = c.Post("/v1/completions", R"({"prompt": "ok", "max_tokens": 3})", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

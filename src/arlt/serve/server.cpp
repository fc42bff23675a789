#include "arlt/serve/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "arlt/base/error.h"
#include "arlt/base/log.h"
#include "arlt/tokenizer/chat_template.h"
#include "arlt/tokenizer/stream_decoder.h"
#include "arlt/tokenizer/tokenizer.h"

namespace arlt::serve {
using namespace arlt::engine;  // the server is the engine's client
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

// What the engine thread tells one HTTP request.
struct Event {
  int64_t index = 0;
  int64_t token = -1;  // a new token, or -1 when `done`
  double logprob = 0;
  bool done = false;
  Completion completion;
};

struct Channel {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Event> events;
  std::atomic<bool> cancelled{false};
  void push(Event e) {
    {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back(std::move(e));
    }
    cv.notify_all();
  }
  // Waits up to `ms` for events; returns what arrived.
  std::deque<Event> take(int ms) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return !events.empty(); });
    std::deque<Event> out;
    out.swap(events);
    return out;
  }
};

struct BadRequest {
  int status;
  std::string message;
};

json error_body(const std::string& message, const char* type = "invalid_request_error") {
  return {{"error", {{"message", message}, {"type", type}}}};
}

}  // namespace

struct Server::Impl {
  std::shared_ptr<model::Transformer> model;
  std::shared_ptr<const tokenizer::Tokenizer> tok;
  EngineOptions engine_options;
  ServerOptions options;
  std::unique_ptr<Engine> engine;
  httplib::Server http;
  int bound_port = -1;
  std::thread engine_thread, http_thread;
  std::atomic<bool> stopping{false};

  // Hand-off between HTTP handlers and the engine thread.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<Request, std::shared_ptr<Channel>>> inbox;
  // Engine thread only: each live request's channel and how many samples are still to finish.
  std::unordered_map<std::string, std::pair<std::shared_ptr<Channel>, int64_t>> channels;
  std::atomic<int64_t> next_id{0};

  void engine_loop() {
    engine->on_token = [this](const std::string& id, int64_t index, int64_t token, double lp) {
      auto it = channels.find(id);
      if (it != channels.end()) it->second.first->push({index, token, lp, false, {}});
    };
    while (!stopping) {
      std::deque<std::pair<Request, std::shared_ptr<Channel>>> incoming;
      {
        std::unique_lock<std::mutex> lock(mu);
        if (inbox.empty() && engine->idle()) cv.wait_for(lock, std::chrono::milliseconds(50));
        incoming.swap(inbox);
      }
      for (auto& [req, ch] : incoming) {
        try {
          const int64_t n = req.params.n;
          const std::string id = engine->submit(req);
          channels[id] = {ch, n};
        } catch (const Error& e) {  // validated already; kept so nothing is ever lost
          Event ev;
          ev.done = true;
          ev.index = -1;
          ev.completion.finish_reason = std::string("error: ") + e.what();
          ch->push(ev);
        }
      }
      for (auto it = channels.begin(); it != channels.end();) {
        if (it->second.first->cancelled) {
          engine->cancel(it->first);
          it = channels.erase(it);
        } else {
          ++it;
        }
      }
      if (engine->idle()) continue;
      std::vector<Completion> done;
      try {
        done = engine->step();
      } catch (const std::exception& e) {
        log_error("engine step failed: ", e.what());
        continue;
      }
      for (auto& c : done) {
        auto it = channels.find(c.request_id);
        if (it == channels.end()) continue;
        Event ev;
        ev.index = c.index;
        ev.done = true;
        ev.completion = std::move(c);
        it->second.first->push(std::move(ev));
        if (--it->second.second == 0) channels.erase(it);
      }
    }
  }

  // ---- request parsing ------------------------------------------------------------------

  template <typename T>
  static T field(const ordered_json& j, const char* key, T def) {
    if (!j.contains(key) || j[key].is_null()) return def;
    try {
      return j[key].get<T>();
    } catch (const ordered_json::exception&) {
      throw BadRequest{400, std::string("'") + key + "' has the wrong type: " + j[key].dump()};
    }
  }

  Request parse_common(const ordered_json& body, int64_t default_max_tokens) {
    if (body.contains("model") && !body["model"].is_null()) {
      if (!body["model"].is_string()) throw BadRequest{400, "'model' must be a string"};
      if (body["model"].get<std::string>() != options.model_name)
        throw BadRequest{404, "model '" + body["model"].get<std::string>() + "' does not exist (this server has '" +
                                  options.model_name + "')"};
    }
    Request r;
    auto& p = r.params;
    p.max_tokens = field<int64_t>(body, "max_tokens", field<int64_t>(body, "max_completion_tokens", default_max_tokens));
    p.temperature = field<double>(body, "temperature", 1.0);
    p.top_p = field<double>(body, "top_p", 1.0);
    p.top_k = field<int64_t>(body, "top_k", 0);
    p.min_p = field<double>(body, "min_p", 0.0);
    p.presence_penalty = field<double>(body, "presence_penalty", 0.0);
    p.repetition_penalty = field<double>(body, "repetition_penalty", 1.0);
    p.n = field<int64_t>(body, "n", 1);
    p.seed = field<uint64_t>(body, "seed", static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
    if (body.contains("stop") && !body["stop"].is_null())
      p.stop = body["stop"].is_string() ? std::vector<std::string>{body["stop"].get<std::string>()}
                                        : field<std::vector<std::string>>(body, "stop", {});
    if (body.contains("logprobs")) {
      if (body["logprobs"].is_boolean()) p.logprobs = body["logprobs"].get<bool>() ? field<int64_t>(body, "top_logprobs", 1) : 0;
      else p.logprobs = field<int64_t>(body, "logprobs", 0);
    }
    return r;
  }

  void validate(Request& r) {
    try {
      r.params.validate();
    } catch (const Error& e) {
      throw BadRequest{400, e.what()};
    }
    if (r.prompt.empty()) throw BadRequest{400, "the prompt is empty"};
    if (static_cast<int64_t>(r.prompt.size()) >= engine->options().max_seq_len)
      throw BadRequest{400, "the prompt has " + std::to_string(r.prompt.size()) + " tokens; the context holds " +
                                std::to_string(engine->options().max_seq_len)};
    for (int64_t t : r.prompt)
      if (t < 0 || t >= model->config().vocab_size) throw BadRequest{400, "prompt token " + std::to_string(t) + " is outside the vocabulary"};
    if (r.params.n > engine->options().max_seqs)
      throw BadRequest{400, "n = " + std::to_string(r.params.n) + " exceeds the server's " + std::to_string(engine->options().max_seqs) + " slots"};
  }

  // ---- handlers -------------------------------------------------------------------------

  void handle(const httplib::Request& hreq, httplib::Response& res, bool chat) {
    ordered_json body;
    try {
      body = ordered_json::parse(hreq.body);
    } catch (const ordered_json::parse_error& e) {
      res.status = 400;
      res.set_content(error_body(std::string("the body is not valid JSON: ") + e.what()).dump(), "application/json");
      return;
    }
    Request r;
    std::string prompt_text;
    try {
      if (!body.is_object()) throw BadRequest{400, "the body must be a JSON object"};
      if (chat) {
        r = parse_common(body, 0);
        if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
          throw BadRequest{400, "'messages' must be a non-empty list"};
        if (!tok) throw BadRequest{400, "this model folder has no tokenizer: use /v1/completions with token ids"};
        std::string tmpl = tok->chat_template().empty() ? tokenizer::builtin_chat_template("chatml") : tok->chat_template();
        tokenizer::ChatOptions co;
        co.add_generation_prompt = true;
        co.bos_token = tok->bos_token();
        co.eos_token = tok->eos_token();
        try {
          prompt_text = tokenizer::render_chat_template(tmpl, body["messages"], body.value("tools", ordered_json()), co);
        } catch (const Error& e) {
          throw BadRequest{400, std::string("the chat template failed on these messages: ") + e.what()};
        }
        r.prompt = tok->encode(prompt_text, false);
      } else {
        r = parse_common(body, 16);
        if (!body.contains("prompt")) throw BadRequest{400, "'prompt' is missing"};
        const auto& pr = body["prompt"];
        if (pr.is_string()) {
          if (!tok) throw BadRequest{400, "this model folder has no tokenizer: send the prompt as token ids"};
          prompt_text = pr.get<std::string>();
          r.prompt = tok->encode(prompt_text, true);
        } else if (pr.is_array() && !pr.empty() && pr[0].is_number_integer()) {
          r.prompt = field<std::vector<int64_t>>(body, "prompt", {});
        } else {
          throw BadRequest{400, "'prompt' must be a string or a list of token ids"};
        }
      }
      if (chat && r.params.max_tokens == 0)  // chat default: the rest of the context
        r.params.max_tokens = std::max<int64_t>(1, engine->options().max_seq_len - 1 - static_cast<int64_t>(r.prompt.size()));
      validate(r);
    } catch (const BadRequest& b) {
      res.status = b.status;
      res.set_content(error_body(b.message, b.status == 404 ? "not_found_error" : "invalid_request_error").dump(),
                      "application/json");
      return;
    }
    r.id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(next_id++);
    const bool stream = body.value("stream", false);
    const int64_t n = r.params.n, prompt_tokens = static_cast<int64_t>(r.prompt.size());
    const std::string id = r.id;
    auto ch = std::make_shared<Channel>();
    {
      std::lock_guard<std::mutex> lock(mu);
      inbox.emplace_back(std::move(r), ch);
    }
    cv.notify_all();
    const int64_t created = static_cast<int64_t>(std::time(nullptr));

    if (!stream) {
      std::vector<Completion> done(n);
      int64_t finished = 0;
      while (finished < n) {
        for (auto& ev : ch->take(1000)) {
          if (!ev.done) continue;
          if (ev.index < 0) {
            res.status = 400;
            res.set_content(error_body(ev.completion.finish_reason).dump(), "application/json");
            return;
          }
          done[ev.index] = std::move(ev.completion);
          ++finished;
        }
        if (stopping) return;
      }
      ordered_json choices = ordered_json::array();
      int64_t completion_tokens = 0;
      for (int64_t i = 0; i < n; ++i) {
        const Completion& c = done[i];
        completion_tokens += static_cast<int64_t>(c.tokens.size());
        std::string text = visible_text(c);
        ordered_json choice = {{"index", i}};
        if (chat) choice["message"] = {{"role", "assistant"}, {"content", text}};
        else choice["text"] = text;
        choice["logprobs"] = !body.contains("logprobs") ? ordered_json(nullptr)
                             : chat ? ordered_json{{"content", token_logprobs(c, true)}}
                                    : token_logprobs(c, false);
        choice["finish_reason"] = c.finish_reason;
        choices.push_back(choice);
      }
      ordered_json out = {{"id", id}, {"object", chat ? "chat.completion" : "text_completion"}, {"created", created},
                          {"model", options.model_name}, {"choices", choices},
                          {"usage", {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens},
                                     {"total_tokens", prompt_tokens + completion_tokens}}}};
      res.set_content(out.dump(), "application/json");
      return;
    }

    // Streaming: one server-sent event per token, per sample; a final chunk with the finish
    // reason; then [DONE]. A client that goes away cancels the request.
    struct StreamState {
      std::vector<tokenizer::StreamDecoder> text;  // one per sample: each token decodes a small window
      int64_t finished = 0;
    };
    auto st = std::make_shared<StreamState>();
    if (tok)
      for (int64_t i = 0; i < n; ++i) st->text.emplace_back(*tok);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [this, ch, st, n, chat, id, created](size_t, httplib::DataSink& sink) {
      auto chunk = [&](int64_t index, const std::string& delta, const ordered_json& finish) {
        ordered_json c = {{"index", index}};
        if (chat) c["delta"] = delta.empty() && !finish.is_null() ? ordered_json::object() : ordered_json{{"content", delta}};
        else c["text"] = delta;
        c["finish_reason"] = finish;
        ordered_json j = {{"id", id}, {"object", chat ? "chat.completion.chunk" : "text_completion"}, {"created", created},
                          {"model", options.model_name}, {"choices", {c}}};
        const std::string line = "data: " + j.dump() + "\n\n";
        return sink.write(line.data(), line.size());
      };
      while (st->finished < n) {
        if (stopping) return false;
        for (auto& ev : ch->take(200)) {
          if (ev.index < 0) {
            sink.done();
            return true;
          }
          std::string delta;
          if (!ev.done) {
            // An incomplete UTF-8 character is held back until it completes.
            if (tok) delta = st->text[ev.index].push(ev.token);
            if (!delta.empty() && !chunk(ev.index, delta, nullptr)) {
              ch->cancelled = true;
              cv.notify_all();
              return false;
            }
          } else {
            ++st->finished;
            if (!chunk(ev.index, "", ev.completion.finish_reason)) {
              ch->cancelled = true;
              cv.notify_all();
              return false;
            }
          }
        }
        if (!sink.is_writable()) {
          ch->cancelled = true;
          cv.notify_all();
          return false;
        }
      }
      const std::string end = "data: [DONE]\n\n";
      sink.write(end.data(), end.size());
      sink.done();
      return true;
    });
  }

  // The text a client sees: decoded, and (as OpenAI and vLLM do) without the stop string.
  std::string visible_text(const Completion& c) const {
    std::string text = c.text;
    if (!c.stop_string.empty() && text.size() >= c.stop_string.size() &&
        text.compare(text.size() - c.stop_string.size(), c.stop_string.size(), c.stop_string) == 0)
      text.resize(text.size() - c.stop_string.size());
    return text;
  }

  ordered_json token_logprobs(const Completion& c, bool chat) const {
    auto piece = [&](int64_t t) {
      if (!tok) return std::to_string(t);
      auto s = tok->id_to_token(t);
      return s ? tok->decode({t}, false, false, false) : std::string();
    };
    if (chat) {
      ordered_json arr = ordered_json::array();
      for (size_t k = 0; k < c.tokens.size(); ++k) arr.push_back({{"token", piece(c.tokens[k])}, {"logprob", c.logprobs[k]}});
      return arr;
    }
    ordered_json toks = ordered_json::array(), lps = ordered_json::array();
    for (size_t k = 0; k < c.tokens.size(); ++k) {
      toks.push_back(piece(c.tokens[k]));
      lps.push_back(c.logprobs[k]);
    }
    return {{"tokens", toks}, {"token_logprobs", lps}};
  }
};

Server::Server(std::shared_ptr<model::Transformer> model, std::shared_ptr<const tokenizer::Tokenizer> tok,
               EngineOptions engine_options, ServerOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->model = std::move(model);
  impl_->tok = std::move(tok);
  impl_->engine_options = engine_options;
  impl_->options = std::move(options);
  impl_->engine = std::make_unique<Engine>(impl_->model, impl_->tok, engine_options);
  auto* im = impl_.get();
  im->http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  im->http.Get("/v1/models", [im](const httplib::Request&, httplib::Response& res) {
    json j = {{"object", "list"},
              {"data", {{{"id", im->options.model_name}, {"object", "model"}, {"owned_by", "arlt"},
                         {"max_model_len", im->engine->options().max_seq_len}}}}};
    res.set_content(j.dump(), "application/json");
  });
  im->http.Post("/v1/completions", [im](const httplib::Request& q, httplib::Response& r) { im->handle(q, r, false); });
  im->http.Post("/v1/chat/completions", [im](const httplib::Request& q, httplib::Response& r) { im->handle(q, r, true); });
  im->http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) res.set_content(error_body("no such endpoint or method (status " + std::to_string(res.status) + ")", "not_found_error").dump(), "application/json");
  });
  im->http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    }
    res.status = 500;
    res.set_content(error_body(what, "server_error").dump(), "application/json");
  });
}

Server::~Server() { stop(); }

int Server::start() {
  auto* im = impl_.get();
  if (im->options.port == 0) {
    im->bound_port = im->http.bind_to_any_port(im->options.host.c_str());
  } else {
    im->bound_port = im->http.bind_to_port(im->options.host.c_str(), im->options.port) ? im->options.port : -1;
  }
  if (im->bound_port < 0)
    throw runtime_failure("serve: cannot listen on " + im->options.host + ":" + std::to_string(im->options.port));
  im->engine_thread = std::thread([im] { im->engine_loop(); });
  im->http_thread = std::thread([im] { im->http.listen_after_bind(); });
  return im->bound_port;
}

void Server::serve_forever() {
  start();
  impl_->http_thread.join();
}

void Server::stop() {
  auto* im = impl_.get();
  if (!im || im->stopping.exchange(true)) return;
  im->http.stop();
  im->cv.notify_all();
  if (im->http_thread.joinable()) im->http_thread.join();
  if (im->engine_thread.joinable()) im->engine_thread.join();
}

int Server::port() const { return impl_->bound_port; }

}  // namespace arlt::serve

// The transformer's own invariants: batching and padding, KV cache, save/load, HF names.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/io/safetensors.h"
#include "arlt/model/hf_folder.h"
#include "../test_util.h"

using namespace arlt;
using arlt::test::max_abs_diff;

namespace {

model::ModelConfig small_config(const std::string& arch, bool tied = false) {
  nlohmann::json j = {{"architectures", {arch}}, {"vocab_size", 97}, {"hidden_size", 48},
                      {"intermediate_size", 80}, {"num_hidden_layers", 2}, {"num_attention_heads", 6},
                      {"num_key_value_heads", 2}, {"max_position_embeddings", 128}, {"rms_norm_eps", 1e-6},
                      {"rope_theta", 10000.0}, {"tie_word_embeddings", tied}, {"torch_dtype", "float32"}};
  if (arch == "Qwen3ForCausalLM") j["head_dim"] = 12;  // not hidden/heads (=8), as in real Qwen3
  return model::ModelConfig::from_json(j, "test");
}

const char* kArchs[] = {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"};

}  // namespace

TEST(Transformer, ParameterNamesAreHuggingFaces) {
  for (const char* arch : kArchs) {
    model::Transformer m(small_config(arch));
    std::set<std::string> names;
    for (const auto& p : m.named_parameters(true)) names.insert(p.key());
    std::set<std::string> expected = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"};
    for (int l = 0; l < 2; ++l) {
      std::string p = "model.layers." + std::to_string(l) + ".";
      for (const char* w : {"input_layernorm.weight", "post_attention_layernorm.weight", "self_attn.q_proj.weight",
                            "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight",
                            "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"})
        expected.insert(p + w);
      if (std::string(arch) == "Qwen2ForCausalLM")
        for (const char* b : {"self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias"})
          expected.insert(p + b);
      if (std::string(arch) == "Qwen3ForCausalLM")
        for (const char* b : {"self_attn.q_norm.weight", "self_attn.k_norm.weight"}) expected.insert(p + b);
    }
    EXPECT_EQ(names, expected) << arch;
    int64_t count = 0;
    for (const auto& p : m.parameters()) count += p.numel();
    EXPECT_EQ(count, m.config().num_parameters()) << arch;
  }
  // Shapes: nn.Linear weights are [out, in]; Qwen3's head_dim changes q/k/v widths.
  model::Transformer q3(small_config("Qwen3ForCausalLM"));
  auto params = q3.named_parameters(true);
  EXPECT_EQ(params["model.layers.0.self_attn.q_proj.weight"].sizes(), (std::vector<int64_t>{72, 48}));
  EXPECT_EQ(params["model.layers.0.self_attn.k_proj.weight"].sizes(), (std::vector<int64_t>{24, 48}));
  EXPECT_EQ(params["model.layers.0.self_attn.o_proj.weight"].sizes(), (std::vector<int64_t>{48, 72}));
  EXPECT_EQ(params["model.layers.0.self_attn.q_norm.weight"].sizes(), (std::vector<int64_t>{12}));
}

TEST(Transformer, TiedEmbeddingsHaveNoLmHead) {
  model::Transformer m(small_config("Qwen2ForCausalLM", /*tied=*/true));
  for (const auto& p : m.named_parameters(true)) EXPECT_NE(p.key(), "lm_head.weight");
  test::randomize(m, 3);
  torch::NoGradGuard ng;
  torch::Tensor ids = torch::randint(0, 97, {1, 5}, torch::kInt64);
  torch::Tensor h = m.forward_hidden({ids});
  torch::Tensor expect = torch::matmul(h, m.model->embed_tokens->weight.t());
  EXPECT_LT(max_abs_diff(m.lm_logits(h), expect), 1e-6);
}

TEST(Transformer, PaddedBatchEqualsEachSequenceAlone) {
  for (const char* arch : kArchs) {
    model::Transformer m(small_config(arch));
    test::randomize(m, 11);
    torch::NoGradGuard ng;
    const std::vector<int64_t> lens = {7, 3, 5, 1};
    const int64_t L = 7;
    torch::Tensor ids = torch::zeros({4, L}, torch::kInt64), mask = torch::zeros({4, L}, torch::kInt64);
    std::vector<torch::Tensor> singles;
    for (int b = 0; b < 4; ++b) {
      torch::Tensor s = torch::randint(0, 97, {1, lens[b]}, torch::kInt64);
      singles.push_back(s);
      ids[b].narrow(0, L - lens[b], lens[b]).copy_(s[0]);  // left padding, pad id 0
      mask[b].narrow(0, L - lens[b], lens[b]).fill_(1);
    }
    torch::Tensor batched = m.forward(ids, mask);
    for (int b = 0; b < 4; ++b) {
      torch::Tensor alone = m.forward(singles[b]);
      torch::Tensor part = batched[b].narrow(0, L - lens[b], lens[b]);
      EXPECT_LT(max_abs_diff(part, alone[0]), 1e-5) << arch << " row " << b;
    }
    EXPECT_FALSE(torch::isnan(batched).any().item<bool>()) << "pad rows must stay finite";
  }
}

TEST(Transformer, RightPaddingDoesNotChangeRealTokens) {
  model::Transformer m(small_config("LlamaForCausalLM"));
  test::randomize(m, 5);
  torch::NoGradGuard ng;
  torch::Tensor s = torch::randint(0, 97, {1, 4}, torch::kInt64);
  torch::Tensor ids = torch::cat({s, torch::zeros({1, 3}, torch::kInt64)}, 1);
  torch::Tensor mask = torch::tensor({1, 1, 1, 1, 0, 0, 0}, torch::kInt64).unsqueeze(0);
  EXPECT_LT(max_abs_diff(m.forward(ids, mask).narrow(1, 0, 4), m.forward(s)), 1e-5);
}

TEST(Transformer, KVCacheIncrementalEqualsFullForward) {
  for (const char* arch : kArchs) {
    model::Transformer m(small_config(arch));
    test::randomize(m, 21);
    torch::NoGradGuard ng;
    // Two rows, the second left-padded by 2; prefill 6 positions, then 1, 3 and 1 at a time.
    const int64_t T = 11;
    torch::Tensor ids = torch::randint(0, 97, {2, T}, torch::kInt64);
    torch::Tensor mask = torch::ones({2, T}, torch::kInt64);
    mask[1].narrow(0, 0, 2).fill_(0);
    torch::Tensor full = m.forward(ids, mask);
    model::KVCache cache(m.config(), 2, 16, m.dtype());
    std::vector<torch::Tensor> parts;
    int64_t pos = 0;
    for (int64_t step : {6, 1, 3, 1}) {
      model::ForwardArgs a;
      a.input_ids = ids.narrow(1, pos, step);
      a.attention_mask = mask.narrow(1, 0, pos + step);
      a.cache = &cache;
      parts.push_back(m.forward(a));
      pos += step;
    }
    EXPECT_EQ(cache.length(), T);
    torch::Tensor inc = torch::cat(parts, 1);
    EXPECT_LT(max_abs_diff(inc[0], full[0]), 1e-5) << arch;
    EXPECT_LT(max_abs_diff(inc[1].narrow(0, 2, T - 2), full[1].narrow(0, 2, T - 2)), 1e-5) << arch;
  }
}

TEST(Transformer, KVCacheOverflowIsAnError) {
  model::Transformer m(small_config("LlamaForCausalLM"));
  torch::NoGradGuard ng;
  model::KVCache cache(m.config(), 1, 4, m.dtype());
  model::ForwardArgs a;
  a.input_ids = torch::zeros({1, 5}, torch::kInt64);
  a.cache = &cache;
  EXPECT_THROW(m.forward(a), Error);
}

TEST(Transformer, GradientsFlowToEveryParameter) {
  model::Transformer m(small_config("Qwen3ForCausalLM", true));
  test::randomize(m, 2);
  torch::Tensor ids = torch::randint(0, 97, {2, 6}, torch::kInt64);
  torch::Tensor logits = m.forward(ids);
  torch::nn::functional::cross_entropy(logits.view({-1, 97}), ids.view({-1})).backward();
  for (const auto& p : m.named_parameters(true)) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
  }
}

TEST(Transformer, ScalarHeadScoresLastRealToken) {
  model::Transformer m(small_config("LlamaForCausalLM"), /*with_scalar_head=*/true);
  test::randomize(m, 8);
  torch::NoGradGuard ng;
  EXPECT_TRUE(m.has_scalar_head());
  torch::Tensor s = torch::randint(0, 97, {1, 4}, torch::kInt64);
  torch::Tensor alone = m.score_last(m.forward_hidden({s}));
  // The same sequence left-padded and right-padded in one batch.
  torch::Tensor ids = torch::zeros({2, 6}, torch::kInt64), mask = torch::zeros({2, 6}, torch::kInt64);
  ids[0].narrow(0, 2, 4).copy_(s[0]);
  mask[0].narrow(0, 2, 4).fill_(1);
  ids[1].narrow(0, 0, 4).copy_(s[0]);
  mask[1].narrow(0, 0, 4).fill_(1);
  model::ForwardArgs a;
  a.input_ids = ids;
  a.attention_mask = mask;
  torch::Tensor scores = m.score_last(m.forward_hidden(a), mask);
  ASSERT_EQ(scores.sizes(), (std::vector<int64_t>{2}));
  EXPECT_NEAR(scores[0].item<double>(), alone[0].item<double>(), 1e-5);
  EXPECT_NEAR(scores[1].item<double>(), alone[0].item<double>(), 1e-5);
  EXPECT_EQ(m.score_all(m.forward_hidden({s})).sizes(), (std::vector<int64_t>{1, 4}));
}

TEST(ModelFolder, SaveLoadRoundTripIsBitIdentical) {
  for (const char* arch : kArchs) {
    for (bool tied : {false, true}) {
      test::TempDir dir;
      model::Transformer m(small_config(arch, tied));
      test::randomize(m, 4);
      model::save_model(m, dir.str());
      for (const char* f : {"config.json", "generation_config.json", "model.safetensors"})
        EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
      auto loaded = model::load_model(dir.str());
      auto a = m.named_parameters(true), b = loaded->named_parameters(true);
      ASSERT_EQ(a.size(), b.size());
      for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << arch << " " << p.key();
      // Config keys HF needs survive the trip.
      auto cfg = read_json_file(dir / "config.json");
      EXPECT_EQ(cfg["architectures"][0], arch);
      EXPECT_EQ(cfg["tie_word_embeddings"], tied);
      EXPECT_EQ(cfg["torch_dtype"], "float32");
      // Tied models store no lm_head, as transformers' save_pretrained does.
      auto f = io::SafeTensorsFile::open(dir / "model.safetensors");
      EXPECT_EQ(f->find("lm_head.weight") != nullptr, !tied);
      EXPECT_EQ(f->metadata().at("format"), "pt");
    }
  }
}

TEST(ModelFolder, Bf16AndFp16RoundTrip) {
  for (auto dt : {torch::kBFloat16, torch::kFloat16}) {
    test::TempDir dir;
    auto cfg = small_config("Qwen2ForCausalLM");
    cfg.dtype = dt;
    model::Transformer m(cfg);
    test::randomize(m, 6);
    EXPECT_EQ(m.dtype(), dt);
    model::save_model(m, dir.str());
    auto loaded = model::load_model(dir.str());
    EXPECT_EQ(loaded->dtype(), dt);
    auto b = loaded->named_parameters(true);
    for (const auto& p : m.named_parameters(true)) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
    torch::NoGradGuard ng;
    torch::Tensor ids = torch::randint(0, 97, {1, 5}, torch::kInt64);
    if (dt == torch::kFloat16) {  // libtorch has no fp16 matmul on CPU: a clear error, not a crash
      EXPECT_THROW(loaded->forward(ids), Error);
      continue;
    }
    torch::Tensor out = loaded->forward(ids);
    EXPECT_EQ(out.scalar_type(), dt);
    EXPECT_FALSE(torch::isnan(out).any().item<bool>());
    // A bf16/fp16 model loaded as fp32 agrees with itself closely.
    model::LoadOptions lo;
    lo.dtype = torch::kFloat32;
    auto f32 = model::load_model(dir.str(), lo);
    EXPECT_LT(max_abs_diff(f32->forward(ids), out), 0.1);
  }
}

TEST(ModelFolder, ShardedSaveLoadsIdentically) {
  test::TempDir dir;
  model::Transformer m(small_config("LlamaForCausalLM"));
  test::randomize(m, 9);
  model::SaveOptions so;
  so.max_shard_bytes = 20000;
  model::save_model(m, dir.str(), so);
  EXPECT_TRUE(std::filesystem::exists(dir / "model.safetensors.index.json"));
  EXPECT_FALSE(std::filesystem::exists(dir / "model.safetensors"));
  auto index = read_json_file(dir / "model.safetensors.index.json");
  std::set<std::string> shards;
  for (auto& [k, v] : index["weight_map"].items()) shards.insert(v.get<std::string>());
  EXPECT_GE(shards.size(), 3u);
  auto loaded = model::load_model(dir.str());
  torch::NoGradGuard ng;
  torch::Tensor ids = torch::randint(0, 97, {2, 6}, torch::kInt64);
  EXPECT_TRUE(torch::equal(loaded->forward(ids), m.forward(ids)));
}

TEST(ModelFolder, TokenizerFilesAreCopiedAlong) {
  test::TempDir src, dst;
  write_file_atomic(src / "tokenizer.json", "{\"model\": {}}");
  write_file_atomic(src / "tokenizer_config.json", "{\"chat_template\": \"x\"}");
  write_json_file(src / "generation_config.json", {{"eos_token_id", 7}, {"temperature", 0.6}});
  model::Transformer m(small_config("LlamaForCausalLM"));
  model::SaveOptions so;
  so.tokenizer_from = src.str();
  model::save_model(m, dst.str(), so);
  EXPECT_EQ(read_file(dst / "tokenizer.json"), "{\"model\": {}}");
  EXPECT_EQ(read_file(dst / "tokenizer_config.json"), "{\"chat_template\": \"x\"}");
  EXPECT_EQ(read_json_file(dst / "generation_config.json")["temperature"], 0.6);
}

namespace {
// Saves a model, lets `edit` damage the folder, and returns the load error's message.
template <typename Edit>
std::string load_error(Edit edit) {
  test::TempDir dir;
  model::Transformer m(small_config("Qwen2ForCausalLM"));
  model::save_model(m, dir.str());
  edit(dir.str());
  try {
    model::load_model(dir.str());
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    return e.what();
  }
  return "(no error)";
}

void rewrite_weights(const std::string& dir, const std::function<void(io::NamedTensors&)>& f) {
  auto file = io::SafeTensorsFile::open(dir + "/model.safetensors");
  io::NamedTensors t;
  for (const auto& info : file->tensors()) t.emplace_back(info.name, file->tensor(info.name).clone());
  file.reset();
  f(t);
  io::write_safetensors(dir + "/model.safetensors", t);
}
}  // namespace

TEST(ModelFolder, MissingWeightNamesTheTensor) {
  std::string msg = load_error([](const std::string& d) {
    rewrite_weights(d, [](io::NamedTensors& t) {
      t.erase(std::remove_if(t.begin(), t.end(), [](auto& p) { return p.first == "model.layers.1.self_attn.k_proj.bias"; }),
              t.end());
    });
  });
  EXPECT_NE(msg.find("model.layers.1.self_attn.k_proj.bias"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
}

TEST(ModelFolder, WrongShapeNamesTensorAndShapes) {
  std::string msg = load_error([](const std::string& d) {
    rewrite_weights(d, [](io::NamedTensors& t) {
      for (auto& p : t)
        if (p.first == "model.layers.0.mlp.up_proj.weight") p.second = torch::zeros({81, 48});
    });
  });
  EXPECT_NE(msg.find("model.layers.0.mlp.up_proj.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[81, 48]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[80, 48]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
}

TEST(ModelFolder, BadConfigIsAClearError) {
  auto edit_config = [](const std::function<void(nlohmann::json&)>& f) {
    return load_error([&](const std::string& d) {
      auto j = read_json_file(d + "/config.json");
      f(j);
      write_json_file(d + "/config.json", j);
    });
  };
  std::string msg = edit_config([](auto& j) { j.erase("num_attention_heads"); });
  EXPECT_NE(msg.find("num_attention_heads"), std::string::npos) << msg;
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  msg = edit_config([](auto& j) { j["architectures"] = {"MistralForCausalLM"}; });
  EXPECT_NE(msg.find("MistralForCausalLM"), std::string::npos) << msg;
  msg = edit_config([](auto& j) { j["hidden_size"] = "48"; });
  EXPECT_NE(msg.find("hidden_size"), std::string::npos) << msg;
  msg = edit_config([](auto& j) { j["num_key_value_heads"] = 4; });
  EXPECT_NE(msg.find("num_key_value_heads"), std::string::npos) << msg;
  msg = edit_config([](auto& j) { j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 2}}; });
  EXPECT_NE(msg.find("yarn"), std::string::npos) << msg;
  msg = edit_config([](auto& j) { j["torch_dtype"] = "float8"; });
  EXPECT_NE(msg.find("float8"), std::string::npos) << msg;
  msg = load_error([](const std::string& d) { write_file_atomic(d + "/config.json", "{\"architectures\": ["); });
  EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;
  msg = load_error([](const std::string& d) { std::filesystem::remove(d + "/model.safetensors"); });
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
}

TEST(ModelConfig, RopeScalingChangesFrequencies) {
  auto base = small_config("LlamaForCausalLM");
  auto lin = base;
  lin.rope_scaling.type = "linear";
  lin.rope_scaling.factor = 4.0;
  torch::Tensor f0 = model::rope_inv_freq(base), f1 = model::rope_inv_freq(lin);
  EXPECT_LT(max_abs_diff(f1 * 4.0, f0), 1e-7);
  // llama3 with original context 8 tokens: inv_freq = theta^(-2i/8) for head_dim 8.
  auto l3 = base;
  l3.rope_scaling = {"llama3", 8.0, 1.0, 4.0, 8};
  torch::Tensor f3 = model::rope_inv_freq(l3);
  const double pi = 3.14159265358979323846;
  for (int64_t i = 0; i < f0.size(0); ++i) {
    const double f = f0[i].item<double>(), wavelen = 2 * pi / f;
    double expect = f;
    if (wavelen > 8.0) expect = f / 8.0;                 // low frequency: divided by factor
    else if (wavelen >= 2.0) {                           // between high (8/4) and low (8/1) wavelengths
      const double smooth = (8.0 / wavelen - 1.0) / 3.0;
      expect = (1 - smooth) * f / 8.0 + smooth * f;
    }
    EXPECT_NEAR(f3[i].item<double>(), expect, 1e-6 * f) << i;
  }
}

TEST(ModelConfig, ReviewedEdgeCases) {
  nlohmann::json base = {{"architectures", {"Qwen2ForCausalLM"}}, {"vocab_size", 97}, {"hidden_size", 48},
                         {"intermediate_size", 80}, {"num_hidden_layers", 2}, {"num_attention_heads", 6},
                         {"num_key_value_heads", 2}};
  // transformers v5: rope_theta and scaling inside rope_parameters.
  auto j = base;
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1000000.0}};
  EXPECT_EQ(model::ModelConfig::from_json(j).rope_theta, 1000000.0);
  j["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 5e5}};
  auto c = model::ModelConfig::from_json(j);
  EXPECT_EQ(c.rope_scaling.type, "linear");
  EXPECT_EQ(c.rope_theta, 5e5);
  j = base;
  j["hidden_act"] = "gelu";
  EXPECT_THROW(model::ModelConfig::from_json(j), Error);
  j = base;
  j["hidden_size"] = 10000000;
  EXPECT_THROW(model::ModelConfig::from_json(j), Error);
  j = base;
  j["rope_scaling"] = {{"type", 1}};
  EXPECT_THROW(model::ModelConfig::from_json(j), Error);  // a type error becomes an arlt::Error
}

TEST(ModelFolder, ConfigImplyingAHugeModelIsAnError) {
  test::TempDir dir;
  model::Transformer m(small_config("LlamaForCausalLM"));
  model::save_model(m, dir.str());
  auto cfg = read_json_file(dir / "config.json");
  cfg["intermediate_size"] = 800000;
  write_json_file(dir / "config.json", cfg);
  try {
    model::load_model(dir.str());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("implies"), std::string::npos) << e.what();
  }
}

TEST(Transformer, TokenIdOutsideVocabularyIsAnError) {
  model::Transformer m(small_config("LlamaForCausalLM"));
  torch::NoGradGuard ng;
  EXPECT_THROW(m.forward(torch::tensor({{1, 97}}, torch::kInt64)), Error);
  EXPECT_THROW(m.forward(torch::tensor({{-1, 3}}, torch::kInt64)), Error);
}

TEST(Transformer, PackedSegmentsEqualEachSequenceAlone) {
  // Three sequences packed into one row (plus padding as a fourth segment) give the logits of
  // each run alone: no attention across segments, positions restart per segment.
  for (const char* arch : kArchs) {
    model::Transformer m(small_config(arch));
    test::randomize(m, 3);
    torch::NoGradGuard ng;
    const std::vector<std::vector<int64_t>> seqs = {{5, 9, 13, 2}, {7, 1}, {4, 4, 8, 30, 31}};
    std::vector<int64_t> ids, seg;
    for (size_t s = 0; s < seqs.size(); ++s)
      for (int64_t t : seqs[s]) ids.push_back(t), seg.push_back(static_cast<int64_t>(s) + 1);
    ids.push_back(0), seg.push_back(0);  // padding segment
    model::ForwardArgs a;
    a.input_ids = torch::tensor(ids).unsqueeze(0);
    a.segment_ids = torch::tensor(seg).unsqueeze(0);
    torch::Tensor packed = m.forward(a)[0];
    int64_t off = 0;
    for (const auto& s : seqs) {
      torch::Tensor alone = m.forward(torch::tensor(s).unsqueeze(0))[0];
      EXPECT_LT(max_abs_diff(packed.narrow(0, off, static_cast<int64_t>(s.size())), alone), 1e-5) << arch;
      off += static_cast<int64_t>(s.size());
    }
    // Without segments the later sequences see the earlier ones: the check above can fail.
    torch::Tensor unpacked = m.forward(a.input_ids)[0];
    EXPECT_GT(max_abs_diff(unpacked.narrow(0, 4, 2), m.forward(torch::tensor(seqs[1]).unsqueeze(0))[0]), 1e-3);
  }
}

TEST(Transformer, ScalarHeadLoadsOrIsAskedFor) {
  // A folder with a head loads it; a folder without one is an error naming the folder unless
  // init_head asks for a new head (zero bias, small weights).
  test::TempDir with, without;
  model::Transformer m(small_config("LlamaForCausalLM"), /*with_scalar_head=*/true);
  test::randomize(m, 9);
  model::save_model(m, with.str());
  model::Transformer plain(small_config("LlamaForCausalLM"));
  test::randomize(plain, 10);
  model::save_model(plain, without.str());
  model::LoadOptions lo;
  lo.scalar_head = true;
  auto loaded = model::load_model(with.str(), lo);
  auto want = m.named_parameters(true);
  for (auto& p : loaded->score_head->named_parameters(true))
    EXPECT_TRUE(torch::equal(p.value(), want["score_head." + p.key()])) << p.key();
  try {
    model::load_model(without.str(), lo);
    ADD_FAILURE() << "a folder without a head loaded as a reward model";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find(without.str()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("init_head"), std::string::npos) << e.what();
  }
  lo.init_head = true;
  auto fresh = model::load_model(without.str(), lo);
  ASSERT_TRUE(fresh->has_scalar_head());
  for (auto& p : fresh->score_head->named_parameters(true)) {
    if (p.key().find("bias") != std::string::npos) EXPECT_EQ(p.value().abs().max().item<float>(), 0.f);
    else EXPECT_LT(p.value().abs().max().item<float>(), 0.2f) << "normal(0, 0.02) weights";
  }
  // init_head keeps a head the folder has.
  auto kept = model::load_model(with.str(), lo);
  for (auto& p : kept->score_head->named_parameters(true))
    EXPECT_TRUE(torch::equal(p.value(), want["score_head." + p.key()])) << p.key();
}

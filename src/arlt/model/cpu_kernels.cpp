#include "arlt/model/cpu_kernels.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <stdexcept>

#include "arlt/kernels/attention.h"
#include "arlt/kernels/elementwise.h"
#include "arlt/kernels/linear.h"
#include "arlt/kernels/parallel.h"

namespace arlt::model {

namespace {
std::atomic<int64_t> g_kernel_rows{kLinearKernelRows};
std::atomic<int64_t> g_broadcast_rows{-1};  // -1: the kernel's own choice
std::atomic<int64_t> g_fused_mlp_calls{0};

// No autograd, every tensor on the CPU in fp32: where the kernels may stand in for torch ops.
bool inference_fp32(std::initializer_list<const torch::Tensor*> ts) {
  if (at::GradMode::is_enabled()) return false;
  for (const torch::Tensor* t : ts)
    if (!t->device().is_cpu() || t->scalar_type() != torch::kFloat32) return false;
  return true;
}
}  // namespace

void set_linear_kernel_rows(int64_t rows) { g_kernel_rows = rows; }
void set_linear_broadcast_rows(int64_t rows) { g_broadcast_rows = rows; }

torch::Tensor empty_on_huge_pages(at::IntArrayRef sizes, const torch::TensorOptions& opts) {
  constexpr size_t kHuge = size_t{2} << 20;
  int64_t numel = 1;
  for (int64_t s : sizes) numel *= s;
  const size_t bytes = static_cast<size_t>(numel) * opts.dtype().itemsize();
  if (!opts.device().is_cpu() || bytes < kHuge) return torch::empty(sizes, opts);
  const size_t len = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = nullptr;
  if (posix_memalign(&p, kHuge, len) != 0) return torch::empty(sizes, opts);
  madvise(p, len, MADV_HUGEPAGE);  // advice only: where it is refused, 4 KB pages
  return torch::from_blob(p, sizes, [](void* q) { std::free(q); }, opts.requires_grad(false));
}

void place_parameters_on_huge_pages(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : module.parameters(true)) {
    if (!p.device().is_cpu() || !p.is_contiguous() || p.layout() != torch::kStrided || p.nbytes() < (size_t{2} << 20)) continue;
    torch::Tensor t = empty_on_huge_pages(p.sizes(), p.options());
    t.copy_(p);
    p.set_data(t);
  }
}

namespace {
// The weight side of kernel_applies: W [N, K] and its bias as the kernel reads them.
bool weight_applies(const torch::Tensor& weight, const torch::Tensor& bias, int64_t K) {
  if (weight.layout() != torch::kStrided || weight.dim() != 2 || weight.size(1) != K || K <= 0) return false;
  const bool bias_ok = !bias.defined() || (bias.layout() == torch::kStrided && bias.dim() == 1 && bias.size(0) == weight.size(0) &&
                                           inference_fp32({&bias}) && bias.is_contiguous());
  return inference_fp32({&weight}) && weight.is_contiguous() && bias_ok && kernels::linear_available();
}

// Whether kernels::linear computes x W^T + b exactly as torch::linear would (else torch runs it:
// autograd, another device, dtype or layout, a bias that broadcasts, a bad shape torch should
// report); M is then x's row count.
bool kernel_applies(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, int64_t* M) {
  const bool ok = x.layout() == torch::kStrided && x.dim() >= 1 && weight_applies(weight, bias, x.size(-1));
  *M = ok ? x.numel() / x.size(-1) : -1;
  return ok && *M > 0 && *M <= g_kernel_rows && inference_fp32({&x});
}

// One output of run_kernel: y = x W^T + b, or with w2, y = silu(x W^T + b) * (x W2^T + b2).
struct KernelJob {
  const torch::Tensor* w;
  const torch::Tensor* b;
  const torch::Tensor* w2 = nullptr;
  const torch::Tensor* b2 = nullptr;
  bool transposed_out = false;  // y^T [N, M rounded up to 16], padding rows 0 (broadcast form only)
};

bool takes_broadcast(int64_t M, int64_t K, int64_t N) {
  const int64_t forced = g_broadcast_rows;
  return forced >= 0 ? M >= forced : kernels::linear_prefers_broadcast(M, K, N);
}

// The jobs on the same x (M rows, each job's weights passing kernel_applies) in one parallel
// region: their columns in chunks of kernels::linear_chunk for the form each takes (its balance
// reckons with one job at a time: q, k and v together are shared out only about as well), a
// chunk never straddling two jobs, shared out so a slower thread is helped. x is transposed
// once, in the region's prologue, for the jobs that take the broadcast form.
// With given_xt ([K, M rounded up to 16], as transpose_rows writes it) x is that, transposed
// already, and every job takes the broadcast form; x then only gives the output's leading shape.
std::vector<torch::Tensor> run_kernel(const torch::Tensor& x, int64_t M, const std::vector<KernelJob>& jobs,
                                      const torch::Tensor& given_xt = {}) {
  const int64_t K = given_xt.defined() ? given_xt.size(0) : x.size(-1);
  const torch::Tensor x2 = given_xt.defined() ? torch::Tensor() : x.reshape({M, K}).contiguous();
  torch::Tensor xt = given_xt;
  struct Chunk {
    size_t job;
    int64_t begin, end;
  };
  std::vector<Chunk> chunks;
  std::vector<kernels::LinearArgs> args(jobs.size());
  std::vector<torch::Tensor> out;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const KernelJob& j = jobs[i];
    const int64_t N = j.w->size(0);
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = N;
    const int64_t Mp = (M + 15) / 16 * 16;
    out.push_back(j.transposed_out ? torch::empty({N, Mp}, x.options()) : torch::empty(shape, x.options()));
    kernels::LinearArgs& a = args[i];
    a.x = x2.defined() ? x2.data_ptr<float>() : nullptr, a.w = j.w->data_ptr<float>();
    a.bias = j.b->defined() ? j.b->data_ptr<float>() : nullptr;
    if (j.w2) a.w2 = j.w2->data_ptr<float>(), a.bias2 = j.b2->defined() ? j.b2->data_ptr<float>() : nullptr;
    a.M = M, a.K = K, a.N = N, a.ldx = K, a.ldy = N;
    if (j.transposed_out) a.yt = out.back().data_ptr<float>(), a.ldyt = Mp;
    else a.y = out.back().data_ptr<float>();
    if (given_xt.defined() || j.transposed_out || takes_broadcast(M, K, N)) {
      a.ldxt = Mp;
      if (!xt.defined()) xt = torch::empty({K, a.ldxt}, x.options());
      a.xt = xt.data_ptr<float>();
    }
    const int64_t chunk = kernels::linear_chunk(a, at::get_num_threads());
    for (int64_t c = 0; c < N; c += chunk) chunks.push_back({i, c, std::min(N, c + chunk)});
  }
  // x is transposed by the threads of the same region, 16-column groups of x apiece, before any
  // chunk starts (serial, it left the other thread waiting 3-4% of the decode step).
  const std::function<void(int64_t, int64_t)> transpose = [&](int64_t t, int64_t T) {
    const int64_t groups = (K + 15) / 16, k0 = groups * t / T * 16, k1 = std::min(K, groups * (t + 1) / T * 16);
    const int64_t ldxt = xt.size(1);
    if (k0 < k1) kernels::transpose_rows(x2.data_ptr<float>() + k0, M, k1 - k0, K, xt.data_ptr<float>() + k0 * ldxt, ldxt);
  };
  kernels::parallel_for_chunks(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t b, int64_t e, int64_t own_end) {
    for (int64_t c = b; c < e; ++c) {
      const Chunk& ch = chunks[static_cast<size_t>(c)];
      // Prefetch into the next chunk when this thread takes it next and it is the same job's.
      const bool next_same = c + 1 < own_end && chunks[static_cast<size_t>(c + 1)].job == ch.job;
      kernels::linear(args[ch.job], ch.begin, ch.end, next_same ? chunks[static_cast<size_t>(c + 1)].end : ch.end);
    }
  }, xt.defined() && !given_xt.defined() ? transpose : nullptr);
  return out;
}
}  // namespace

torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  int64_t M = 0;
  if (!kernel_applies(x, weight, bias, &M)) return torch::nn::functional::linear(x, weight, bias);
  return run_kernel(x, M, {{&weight, &bias}})[0];
}

std::vector<torch::Tensor> project_many(const torch::Tensor& x, const std::vector<const torch::nn::Linear*>& layers) {
  int64_t M = 0;
  bool all = !layers.empty();
  for (const auto* l : layers) all = all && kernel_applies(x, (*l)->weight, (*l)->bias, &M);
  std::vector<torch::Tensor> out;
  if (!all) {
    for (const auto* l : layers) out.push_back(project(*l, x));
    return out;
  }
  std::vector<KernelJob> jobs;
  for (const auto* l : layers) jobs.push_back({&(*l)->weight, &(*l)->bias});
  return run_kernel(x, M, jobs);
}

namespace {
// Whether gate and up run in one kernel pass on x (M its row count).
bool gated_applies(const torch::Tensor& x, const torch::nn::Linear& gate, const torch::nn::Linear& up, int64_t* M) {
  return kernel_applies(x, gate->weight, gate->bias, M) && kernel_applies(x, up->weight, up->bias, M) &&
         gate->weight.sizes() == up->weight.sizes();
}
}  // namespace

torch::Tensor gated_mlp_input(const torch::Tensor& x, const torch::nn::Linear& gate, const torch::nn::Linear& up) {
  int64_t M = 0;
  if (!gated_applies(x, gate, up, &M)) return silu_mul(project(gate, x), project(up, x));
  return run_kernel(x, M, {{&gate->weight, &gate->bias, &up->weight, &up->bias}})[0];
}

int64_t gated_mlp_fused_calls() { return g_fused_mlp_calls.load(std::memory_order_relaxed); }

torch::Tensor gated_mlp(const torch::Tensor& x, const torch::nn::Linear& gate, const torch::nn::Linear& up,
                        const torch::nn::Linear& down) {
  int64_t M = 0;
  const torch::Tensor& wd = down->weight;
  const bool fused = gated_applies(x, gate, up, &M) && weight_applies(wd, down->bias, gate->weight.size(0)) &&
                     takes_broadcast(M, x.size(-1), wd.size(1)) && takes_broadcast(M, wd.size(1), wd.size(0));
  if (!fused) return project(down, gated_mlp_input(x, gate, up));
  g_fused_mlp_calls.fetch_add(1, std::memory_order_relaxed);
  KernelJob gated{&gate->weight, &gate->bias, &up->weight, &up->bias};
  gated.transposed_out = true;
  const torch::Tensor ht = run_kernel(x, M, {gated})[0];  // [N, M rounded up to 16]
  return run_kernel(x, M, {{&wd, &down->bias}}, ht)[0];
}

torch::Tensor rms_norm_fp32(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  const int64_t D = x.size(-1);
  if (!inference_fp32({&x, &weight}) || weight.numel() != D) return x * torch::rsqrt(x.pow(2).mean(-1, true) + eps) * weight;
  const torch::Tensor xc = x.contiguous(), wc = weight.contiguous();
  torch::Tensor out = torch::empty_like(xc);
  const float* xp = xc.data_ptr<float>();
  const float* wp = wc.data_ptr<float>();
  float* op = out.data_ptr<float>();
  kernels::parallel_for(0, D > 0 ? xc.numel() / D : 0, 16, [&](int64_t b, int64_t e) {
    kernels::rms_norm(xp, wp, static_cast<float>(eps), D, op, b, e);
  });
  return out;
}

torch::Tensor silu_mul(const torch::Tensor& gate, const torch::Tensor& up) {
  if (!inference_fp32({&gate, &up}) || gate.sizes() != up.sizes()) return torch::silu(gate) * up;
  const torch::Tensor g = gate.contiguous(), u = up.contiguous();
  torch::Tensor out = torch::empty_like(g);
  const float* gp = g.data_ptr<float>();
  const float* upp = u.data_ptr<float>();
  float* op = out.data_ptr<float>();
  kernels::parallel_for(0, g.numel(), 4096, [&](int64_t b, int64_t e) { kernels::silu_mul(gp, upp, op, b, e); });
  return out;
}

torch::Tensor rope_heads_first(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const bool fits = x.dim() == 4 && cos.dim() == 4 && cos.sizes() == sin.sizes() && x.size(3) % 2 == 0 && cos.size(1) == 1 &&
                    cos.size(2) == x.size(1) && cos.size(3) == x.size(3) && (cos.size(0) == x.size(0) || cos.size(0) == 1);
  if (!fits || !inference_fp32({&x, &cos, &sin})) {
    const torch::Tensor xt = x.transpose(1, 2);
    const int64_t half = xt.size(-1) / 2;
    return xt * cos + torch::cat({-xt.narrow(-1, half, half), xt.narrow(-1, 0, half)}, -1) * sin;
  }
  const int64_t B = x.size(0), T = x.size(1), H = x.size(2), D = x.size(3);
  const torch::Tensor xc = x.contiguous(), c = cos.contiguous(), s = sin.contiguous();
  torch::Tensor out = torch::empty_like(xc);
  const float* xp = xc.data_ptr<float>();
  const float* cp = c.data_ptr<float>();
  const float* sp = s.data_ptr<float>();
  float* op = out.data_ptr<float>();
  const bool batched = cos.size(0) == B && B > 1;
  kernels::parallel_for(0, B * T, 8, [&](int64_t b, int64_t e) { kernels::rope(xp, cp, sp, B, T, H, D, batched, op, b, e); });
  return out.transpose(1, 2);
}

void row_argmax_logsumexp(const torch::Tensor& x_in, torch::Tensor* lse, torch::Tensor* argmax) {
  if (!x_in.device().is_cpu() || x_in.scalar_type() != torch::kFloat32) {
    if (lse) *lse = x_in.logsumexp(1).contiguous();
    if (argmax) *argmax = x_in.argmax(1).contiguous();
    return;
  }
  const torch::Tensor x = x_in.contiguous();
  const int64_t n = x.size(0), V = x.size(1);
  torch::Tensor l = torch::empty({n}, torch::kFloat32), a = torch::empty({n}, torch::kInt64);
  std::vector<char> ok(static_cast<size_t>(n));
  const float* xp = x.data_ptr<float>();
  float* lp = l.data_ptr<float>();
  int64_t* ap = a.data_ptr<int64_t>();
  kernels::parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) ok[j] = kernels::row_argmax_logsumexp(xp + j * V, V, ap + j, lp + j);
  });
  for (int64_t j = 0; j < n; ++j)
    if (!ok[j]) {
      lp[j] = x[j].logsumexp(0).item<float>();
      ap[j] = x[j].argmax().item<int64_t>();
    }
  if (lse) *lse = l;
  if (argmax) *argmax = a;
}

void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& f) {
  kernels::parallel_for(begin, end, grain, f);
}

void slot_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& slot,
                    const torch::Tensor& pos, float scale, torch::Tensor& out, int64_t lo, int64_t hi) {
  kernels::SlotAttentionArgs a;
  a.q = q.data_ptr<float>();
  a.k = k.data_ptr<float>();
  a.v = v.data_ptr<float>();
  a.slot = slot.data_ptr<int64_t>();
  a.pos = pos.data_ptr<int64_t>();
  a.H = q.size(1);
  a.KV = k.size(1);
  a.L = k.size(2);
  a.D = q.size(2);
  a.scale = scale;
  a.out = out.data_ptr<float>();
  const int64_t kv = a.KV;
  kernels::parallel_for_chunks(lo * kv, hi * kv, 8, [&](int64_t b, int64_t e, int64_t own_end) {
    kernels::slot_attention(a, b, e, own_end);
  });
}

}  // namespace arlt::model

// CUDA kernels against their CPU twins in src/nn, on fresh random inputs, with the outputs poisoned
// before each run. Skipped (reported as such by ctest) where no CUDA device is visible.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <string>
#include <tuple>

#include "core/build_info.hpp"
#include "nn/activations.hpp"
#include "nn/attention.hpp"
#include "nn/rms_norm.hpp"
#include "nn/rope.hpp"
#include "test_util.hpp"

using namespace januskit;

namespace {
double tolerance(at::ScalarType t) { return t == at::kFloat ? 1e-5 : t == at::kHalf ? 2e-3 : 1e-2; }
}  // namespace

TEST(GpuKernels, KernelsAreCompiledIn) {
  JANUSKIT_REQUIRE_CUDA();
  EXPECT_TRUE(cuda_kernels_compiled()) << "a CUDA device is visible but this build has no kernels";
}

TEST(GpuKernels, RmsNormMatchesCpuTwin) {
  JANUSKIT_REQUIRE_CUDA();
  auto g = test::generator();
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    for (int64_t cols : {64, 1536, 4096, 5000}) {
      at::Tensor x = at::randn({9, cols}, g).to(dtype), w = (1 + 0.1 * at::randn({cols}, g)).to(dtype);
      at::Tensor expected = nn::rms_norm_torch(x, w, 1e-6);
      at::Tensor xc = x.cuda(), wc = w.cuda();
      at::Tensor y = at::full_like(xc, std::numeric_limits<float>::quiet_NaN());  // poison
      nn::rms_norm_out(y, xc, wc, 1e-6);
      EXPECT_LT(test::rel_error(y, expected), tolerance(dtype)) << c10::toString(dtype) << " cols " << cols;
    }
  }
}

// --- CUDA decoding core (issue 7) ------------------------------------------------------------------

namespace {

const c10::Device kGpu(c10::kCUDA, 0);

// Outputs that the code under test allocates itself cannot be poisoned directly: fill a block of the
// same size with NaN and free it, so that the caching allocator hands that memory out next.
void poison_next_allocation(at::IntArrayRef shape, at::ScalarType dtype) {
  at::full(shape, std::numeric_limits<float>::quiet_NaN(), at::TensorOptions().dtype(dtype).device(kGpu));
}

}  // namespace

TEST(GpuKernels, AddRmsNormMatchesCpuTwin) {
  JANUSKIT_REQUIRE_CUDA();
  auto g = test::generator();
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    for (int64_t cols : {64, 1536, 3584, 4096, 1001}) {  // 1001: not a whole number of 16-byte packs
      for (bool residual : {true, false}) {
        at::Tensor x = at::randn({9, cols}, g).to(dtype), r = at::randn({9, cols}, g).to(dtype);
        at::Tensor w = (1 + 0.1 * at::randn({cols}, g)).to(dtype);
        auto [sum, expected] = nn::add_rms_norm_torch(x, residual ? r : at::Tensor(), w, 1e-6);
        at::Tensor xc = x.to(kGpu), rc = residual ? r.to(kGpu) : at::Tensor(), wc = w.to(kGpu);
        at::Tensor y = at::full_like(xc, std::numeric_limits<float>::quiet_NaN());
        nn::add_rms_norm_(xc, rc, wc, 1e-6, y);
        const std::string what = c10::toString(dtype) + std::string(" cols ") + std::to_string(cols) +
                                 (residual ? " with residual" : " plain");
        EXPECT_LT(test::rel_error(y, expected), tolerance(dtype)) << what;
        EXPECT_LT(test::rel_error(xc, sum), tolerance(dtype)) << what;
      }
    }
  }
}

TEST(GpuKernels, SiluMulMatchesCpuTwin) {
  JANUSKIT_REQUIRE_CUDA();
  auto g = test::generator();
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    for (int64_t inter : {64, 18944, 1001}) {
      at::Tensor gu = (2 * at::randn({7, 2 * inter}, g)).to(dtype);
      poison_next_allocation({7, inter}, dtype);
      at::Tensor y = nn::silu_mul(gu.to(kGpu));
      EXPECT_LT(test::rel_error(y, nn::silu_mul_torch(gu)), tolerance(dtype)) << c10::toString(dtype) << " " << inter;
    }
  }
}

TEST(GpuKernels, RopeInPlaceMatchesCpuTwin) {
  JANUSKIT_REQUIRE_CUDA();
  auto g = test::generator();
  struct Shape {
    int64_t heads, kv_heads, head_dim, rotary_dim;
  };
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    for (bool interleaved : {false, true}) {
      for (Shape s : {Shape{4, 2, 16, 16}, Shape{28, 4, 128, 128}, Shape{8, 8, 64, 32}}) {
        nn::RopeConfig c;
        c.rotary_dim = s.rotary_dim;
        c.interleaved = interleaved;
        nn::RotaryEmbedding cpu_rope(c, c10::Device(c10::kCPU)), gpu_rope(c, kGpu);
        const int64_t B = 3, T = 5, width = (s.heads + 2 * s.kv_heads) * s.head_dim;
        at::Tensor qkv = at::randn({B, T, width}, g).to(dtype);
        at::Tensor positions = at::randint(0, 40000, {B, T}, g, at::kLong);
        at::Tensor expected = qkv.clone(), got = qkv.to(kGpu);
        auto views = [&](at::Tensor& t) {
          return std::pair{t.narrow(-1, 0, s.heads * s.head_dim).view({B, T, s.heads, s.head_dim}),
                           t.narrow(-1, s.heads * s.head_dim, s.kv_heads * s.head_dim).view({B, T, s.kv_heads, s.head_dim})};
        };
        auto [qe, ke] = views(expected);
        nn::apply_rope_(qe, ke, positions, cpu_rope);
        auto [qg, kg] = views(got);
        nn::apply_rope_(qg, kg, positions.to(kGpu), gpu_rope);
        // The whole buffer: v and the dims past rotary_dim must be untouched.
        EXPECT_LT(test::rel_error(got, expected), tolerance(dtype))
            << c10::toString(dtype) << (interleaved ? " interleaved" : " neox") << " H " << s.heads << " d " << s.head_dim;
      }
    }
  }
}

TEST(GpuKernels, RopeCacheWriteMatchesCpuTwin) {
  JANUSKIT_REQUIRE_CUDA();
  auto g = test::generator();
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    for (bool interleaved : {false, true}) {
      nn::RopeConfig c;
      c.rotary_dim = 96;  // with a tail of 32 unrotated dims
      c.interleaved = interleaved;
      nn::RotaryEmbedding cpu_rope(c, c10::Device(c10::kCPU)), gpu_rope(c, kGpu);
      const int64_t B = 4, H = 8, KVH = 2, d = 128, cap = 50;
      at::Tensor qkv = at::randn({B, (H + 2 * KVH) * d}, g).to(dtype);
      at::Tensor positions = at::randint(0, 5000, {B}, g, at::kLong), slot = at::tensor({37}, at::kLong);
      at::Tensor kc = at::randn({B, KVH, cap, d}, g).to(dtype), vc = at::randn({B, KVH, cap, d}, g).to(dtype);
      auto run = [&](at::Tensor buf, at::Tensor kcache, at::Tensor vcache, const nn::RotaryEmbedding& rope,
                     c10::Device dev) {
        at::Tensor q = buf.narrow(1, 0, H * d).view({B, H, d});
        at::Tensor k = buf.narrow(1, H * d, KVH * d).view({B, KVH, d});
        at::Tensor v = buf.narrow(1, (H + KVH) * d, KVH * d).view({B, KVH, d});
        nn::rope_cache_write(q, k, v, positions.to(dev), rope, kcache, vcache, slot.to(dev));
        return std::tuple{q, kcache, vcache};
      };
      auto [qe, ke, ve] = run(qkv.clone(), kc.clone(), vc.clone(), cpu_rope, c10::Device(c10::kCPU));
      auto [qg, kg, vg] = run(qkv.to(kGpu), kc.to(kGpu), vc.to(kGpu), gpu_rope, kGpu);
      const std::string what = c10::toString(dtype) + std::string(interleaved ? " interleaved" : " neox");
      EXPECT_LT(test::rel_error(qg, qe), tolerance(dtype)) << what;
      EXPECT_LT(test::rel_error(kg, ke), tolerance(dtype)) << what;  // whole caches: other slots untouched
      EXPECT_TRUE(at::equal(vg.cpu(), ve)) << what;
    }
  }
}

TEST(GpuKernels, DecodeAttentionMatchesCpuTwin) {
  JANUSKIT_REQUIRE_CUDA();
  auto g = test::generator();
  struct Case {
    const char* name;
    int64_t batch, heads, kv_heads, head_dim, capacity, slot;
  };
  const Case cases[] = {
      {"R1-7B batch 1, long context (split-K)", 1, 28, 4, 128, 4096, 3000},
      {"R1-7B batch 8", 8, 28, 4, 128, 1024, 700},
      {"Janus MHA 32 rows (one split)", 32, 32, 32, 128, 640, 600},
      {"group 6 (R1-1.5B)", 3, 12, 2, 128, 300, 250},
      {"group 16: two head blocks", 2, 16, 1, 64, 2000, 1999},
      {"head_dim 16", 4, 4, 4, 16, 50, 40},
      {"head_dim 32, group 3", 2, 6, 2, 32, 700, 555},
      {"single visible slot", 2, 8, 2, 128, 64, 10},
  };
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    for (const Case& c : cases) {
      const int64_t B = c.batch, H = c.heads, KVH = c.kv_heads, d = c.head_dim;
      // q as a view into a fused projection: rows (H + 2·KVH)·d apart.
      at::Tensor qkv = at::randn({B, (H + 2 * KVH) * d}, g).to(dtype);
      at::Tensor q = qkv.narrow(1, 0, H * d).view({B, H, d});
      at::Tensor kc = at::randn({B, KVH, c.capacity, d}, g).to(dtype), vc = at::randn({B, KVH, c.capacity, d}, g).to(dtype);
      at::Tensor starts = std::string(c.name) == "single visible slot" ? at::full({B}, c.slot, at::kLong)
                                                                     : at::randint(0, c.slot / 2 + 1, {B}, g, at::kLong);
      at::Tensor slot = at::tensor({c.slot}, at::kLong);
      // Reference in f32 from the same rounded inputs.
      at::Tensor expected = nn::decode_attention_torch(q.to(at::kFloat), kc.to(at::kFloat), vc.to(at::kFloat), starts,
                                                       slot, 1.0 / std::sqrt(static_cast<double>(d)));
      at::Tensor qkv_g = qkv.to(kGpu), kg = kc.to(kGpu), vg = vc.to(kGpu), sg = starts.to(kGpu), slot_g = slot.to(kGpu);
      at::Tensor qg = qkv_g.narrow(1, 0, H * d).view({B, H, d});
      at::Tensor workspace;
      for (int rep = 0; rep < 2; ++rep) {  // the second call reuses the workspace and its tickets
        poison_next_allocation({B, H, d}, dtype);
        at::Tensor out = nn::decode_attention(qg, kg, vg, sg, slot_g, 1.0 / std::sqrt(static_cast<double>(d)), workspace);
        EXPECT_LT(test::rel_error(out, expected), tolerance(dtype))
            << c10::toString(dtype) << " " << c.name << " call " << rep;
      }
    }
  }
}

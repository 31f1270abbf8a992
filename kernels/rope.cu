// Rotary position embedding in place on q and k, one thread block per token; in decode mode it also
// writes the rotated key and the value into the static KV cache.
//
// Design note: positions come from device memory, so a captured decode step stays valid as they
// advance. The block first computes the rotary_dim/2 angles' cos/sin once into shared memory (f32
// cosf/sinf of position · inv_freq, the product transformers computes), rounded to the element type as
// transformers casts them, and then every (head, pair) item rotates with those. Each rotated value is
// rounded where the LibTorch twin rounds (x·cos, x·sin, their sum), so bf16 results match it bit for
// bit whenever cos/sin agree. Fusing the cache write saves one launch per layer in decode, where the
// launches, not the bytes, are what these small ops cost.
#include "kernels/common.cuh"

namespace januskit::kernels {
namespace {

template <typename T>
__global__ void rope_kernel(RopeArgs a) {
  extern __shared__ float cos_sin[];  // [half] cos, then [half] sin
  const int64_t t = blockIdx.x;
  const int half = static_cast<int>(a.rotary_dim / 2);
  const float position = static_cast<float>(a.positions[t]);
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    float s, c;
    sincosf(mul_rn(position, a.inv_freq[i]), &s, &c);
    cos_sin[i] = round_to<T>(c);
    cos_sin[half + i] = round_to<T>(s);
  }
  __syncthreads();

  const int64_t hd = a.head_dim;
  T* q = static_cast<T*>(a.q) + t * a.q_stride;
  T* k = static_cast<T*>(a.k) + t * a.k_stride;
  const bool to_cache = a.k_cache != nullptr;
  const int64_t slot = to_cache ? *a.slot : 0;
  // Row t's slot in the cache: [rows, k_heads, capacity, hd].
  auto cache_at = [&](void* cache, int64_t head) {
    return static_cast<T*>(cache) + ((t * a.k_heads + head) * a.capacity + slot) * hd;
  };

  const int64_t items = (a.q_heads + a.k_heads) * half;
  for (int64_t it = threadIdx.x; it < items; it += blockDim.x) {
    const int64_t head = it / half;
    const int i = static_cast<int>(it % half);
    const bool is_q = head < a.q_heads;
    const T* src = is_q ? q + head * hd : k + (head - a.q_heads) * hd;
    const int i1 = a.interleaved ? 2 * i : i;
    const int i2 = a.interleaved ? 2 * i + 1 : i + half;
    const float x1 = to_float(src[i1]), x2 = to_float(src[i2]);
    const float c = cos_sin[i], s = cos_sin[half + i];
    // (x1, x2) -> (x1·c − x2·s, x2·c + x1·s), rounded like rot·cos + rotate(rot)·sin in T.
    const T o1 = from_float<T>(add_rn(round_to<T>(mul_rn(x1, c)), round_to<T>(mul_rn(-x2, s))));
    const T o2 = from_float<T>(add_rn(round_to<T>(mul_rn(x2, c)), round_to<T>(mul_rn(x1, s))));
    T* dst = is_q ? q + head * hd : to_cache ? cache_at(a.k_cache, head - a.q_heads) : k + (head - a.q_heads) * hd;
    dst[i1] = o1;
    dst[i2] = o2;
  }
  if (to_cache) {
    // The key dims past rotary_dim, and the whole value.
    const T* v = static_cast<const T*>(a.v) + t * a.v_stride;
    for (int64_t it = threadIdx.x; it < a.k_heads * hd; it += blockDim.x) {
      const int64_t head = it / hd, d = it % hd;
      if (d >= a.rotary_dim) cache_at(a.k_cache, head)[d] = k[head * hd + d];
      cache_at(a.v_cache, head)[d] = v[head * hd + d];
    }
  }
}

}  // namespace

void rope(const RopeArgs& args, DType dtype, cudaStream_t stream) {
  if (args.tokens == 0) return;
  if (args.rotary_dim % 2 != 0 || args.rotary_dim > args.head_dim) {
    throw std::invalid_argument("rope: rotary_dim must be even and at most head_dim");
  }
  const int64_t items = (args.q_heads + args.k_heads) * (args.rotary_dim / 2);
  const int threads = items >= 2048 ? 256 : 128;
  const size_t shared = static_cast<size_t>(args.rotary_dim) * sizeof(float);
  dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    rope_kernel<T><<<static_cast<unsigned>(args.tokens), threads, shared, stream>>>(args);
  });
  check_launch("rope");
}

}  // namespace januskit::kernels

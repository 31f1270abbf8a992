// Decode attention: one new query per row against the static KV cache, grouped-query heads, split-K.
//
// Design note. A decode step reads every visible key and value once; there is almost no arithmetic
// per byte, so the kernel is about keeping enough loads in flight on every SM:
//  - Grid: (row, kv head, block of ≤ 8 query heads of that kv head) × split. Each block streams one
//    chunk of the row's visible slots [row_start, slot]; the query heads sharing a kv head (GQA) are
//    processed together, so each key/value is read once for the whole group. Splitting the keys
//    ("flash decoding") is what lets batch 1 with 4 kv heads use all 132 SMs on long contexts; the
//    host picks the split count from the cache capacity, the kernel sizes chunks from the live length
//    it reads from device memory (the grid stays fixed, so a captured graph remains valid).
//  - Inside a block, a "key group" of KL lanes holds one key row (KL · 16 bytes = head_dim elements)
//    and works on U consecutive keys per iteration: it issues the U key and U value loads before using
//    any, reduces the U dot products with shuffles inside the group, and folds them into a running
//    (max, sum, accumulator) per query head — online softmax in base 2 with f32 accumulation.
//  - Key groups, then warps (through shared memory), merge their partial softmax states. With one
//    split the block writes the output directly. Otherwise it writes its unnormalised state to the
//    workspace, and the last block of its (row, kv head) to finish — counted with an atomic ticket
//    after a memory fence — merges all splits and resets the ticket to zero, which saves a second
//    kernel launch per layer.
#include <cmath>

#include "kernels/common.cuh"

namespace januskit::kernels {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kMaxGroup = 8;        // query heads per block
constexpr int64_t kMinChunk = 64;   // keys: smaller chunks cost more in merging than they gain

__device__ __forceinline__ float rescale(float m_old, float m_new) {
  return m_old == -INFINITY ? 0.0f : exp2f(m_old - m_new);
}

struct Workspace {
  float* acc;     // [batch · heads, splits, head_dim]
  float* ml;      // [batch · heads, splits, 2]: running max (base 2) and sum
  int* tickets;   // [batch · kv_heads · head_blocks]
};

__host__ __device__ inline Workspace workspace_of(void* base, int64_t batch, int64_t heads, int64_t head_dim,
                                                  int splits) {
  Workspace w;
  w.acc = static_cast<float*>(base);
  w.ml = w.acc + batch * heads * splits * head_dim;
  w.tickets = reinterpret_cast<int*>(w.ml + batch * heads * splits * 2);
  return w;
}

template <typename T, int D, int G>
__global__ void __launch_bounds__(kThreads) decode_attention_kernel(DecodeAttentionArgs a, int head_blocks) {
  constexpr int E = kPack<T>;          // elements per 16-byte pack
  constexpr int KL = D / E;            // lanes holding one key row
  static_assert(KL >= 1 && KL <= 32 && (KL & (KL - 1)) == 0, "head_dim must be 16 packs or fewer, a power of two");
  constexpr int KPW = 32 / KL;         // key groups per warp
  constexpr int NKG = kWarps * KPW;    // key groups per block
  constexpr int U = G >= 8 ? 2 : 4;    // keys per group per iteration (registers bound it for large G)
  using P = Pack<T, E>;

  __shared__ float sm_m[kWarps][G], sm_l[kWarps][G];
  __shared__ float sm_acc[kWarps][G][D];
  __shared__ int sm_last;

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int lik = lane % KL;                     // lane in key group: owns dims [lik·E, lik·E + E)
  const int kg = warp * KPW + lane / KL;         // key group in block
  const int64_t group = a.heads / a.kv_heads;
  const int64_t pair = blockIdx.x / head_blocks;  // b · kv_heads + kvh
  const int hb = blockIdx.x % head_blocks;
  const int64_t b = pair / a.kv_heads, kvh = pair % a.kv_heads;
  const int split = blockIdx.y, splits = gridDim.y;
  const int g0 = hb * G;
  const int gcount = static_cast<int>(std::min<int64_t>(G, group - g0));

  // Visible slots [start, end) and this split's chunk of them.
  const int64_t start = a.row_start[b], end = *a.slot + 1;
  const int64_t n = end - start;
  const int64_t even = (n + splits - 1) / splits;
  const int64_t chunk = even > kMinChunk ? even : kMinChunk;
  const int64_t lo = start + split * chunk, hi = std::min<int64_t>(lo + chunk, end);

  // This lane's slice of each query head, pre-scaled so that exp2 gives the softmax.
  const float qscale = a.scale * 1.4426950408889634f;
  float q[G][E];
  const T* qrow = static_cast<const T*>(a.q) + b * a.q_row_stride + (kvh * group + g0) * D;
#pragma unroll
  for (int g = 0; g < G; ++g) {
    if (g < gcount) {
      const P p = load_pack(qrow + g * D, lik);
#pragma unroll
      for (int e = 0; e < E; ++e) q[g][e] = to_float(p.v[e]) * qscale;
    } else {
#pragma unroll
      for (int e = 0; e < E; ++e) q[g][e] = 0.0f;
    }
  }

  float m[G], l[G], acc[G][E];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.0f;
#pragma unroll
    for (int e = 0; e < E; ++e) acc[g][e] = 0.0f;
  }

  const T* kbase = static_cast<const T*>(a.k_cache) + pair * a.capacity * D;
  const T* vbase = static_cast<const T*>(a.v_cache) + pair * a.capacity * D;
  // Block-uniform trip count: the shuffles below need every lane of a warp, so groups past the end
  // of the chunk run the iteration with all their keys masked.
  for (int64_t base = lo; base < hi; base += static_cast<int64_t>(NKG) * U) {
    const int64_t j0 = base + static_cast<int64_t>(kg) * U;
    P kv[U], vv[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int64_t j = j0 + u;
      if (j < hi) {
        kv[u] = load_pack(kbase + j * D, lik);
        vv[u] = load_pack(vbase + j * D, lik);
      }
    }
    float s[U][G];
#pragma unroll
    for (int u = 0; u < U; ++u) {
#pragma unroll
      for (int g = 0; g < G; ++g) {
        float dot = 0.0f;
        if (j0 + u < hi) {
#pragma unroll
          for (int e = 0; e < E; ++e) dot += q[g][e] * to_float(kv[u].v[e]);
        }
        s[u][g] = dot;
      }
    }
    // Sum the dot products over the KL lanes of the key group (xor offsets below KL stay inside it).
#pragma unroll
    for (int offset = KL / 2; offset > 0; offset >>= 1) {
#pragma unroll
      for (int u = 0; u < U; ++u) {
#pragma unroll
        for (int g = 0; g < G; ++g) s[u][g] += __shfl_xor_sync(0xffffffffu, s[u][g], offset);
      }
    }
#pragma unroll
    for (int g = 0; g < G; ++g) {
      float mx = m[g];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        if (j0 + u < hi) mx = fmaxf(mx, s[u][g]);
      }
      const float c = rescale(m[g], mx);
      l[g] *= c;
#pragma unroll
      for (int e = 0; e < E; ++e) acc[g][e] *= c;
#pragma unroll
      for (int u = 0; u < U; ++u) {
        if (j0 + u < hi) {
          const float p = exp2f(s[u][g] - mx);
          l[g] += p;
#pragma unroll
          for (int e = 0; e < E; ++e) acc[g][e] += p * to_float(vv[u].v[e]);
        }
      }
      m[g] = mx;
    }
  }

  // Merge the key groups of each warp (lanes lik, lik + KL, ... hold the same dims).
#pragma unroll
  for (int offset = KL; offset < 32; offset <<= 1) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
      const float mo = __shfl_xor_sync(0xffffffffu, m[g], offset);
      const float lo_ = __shfl_xor_sync(0xffffffffu, l[g], offset);
      const float mn = fmaxf(m[g], mo);
      const float c1 = rescale(m[g], mn), c2 = rescale(mo, mn);
      l[g] = l[g] * c1 + lo_ * c2;
#pragma unroll
      for (int e = 0; e < E; ++e) {
        const float ao = __shfl_xor_sync(0xffffffffu, acc[g][e], offset);
        acc[g][e] = acc[g][e] * c1 + ao * c2;
      }
      m[g] = mn;
    }
  }
  // ... then the warps, through shared memory; warp 0's first key group ends up with the block's state.
  if (lane < KL) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
      if (lane == 0) {
        sm_m[warp][g] = m[g];
        sm_l[warp][g] = l[g];
      }
#pragma unroll
      for (int e = 0; e < E; ++e) sm_acc[warp][g][lik * E + e] = acc[g][e];
    }
  }
  __syncthreads();

  Workspace ws{};
  if (splits > 1) ws = workspace_of(a.workspace, a.batch, a.heads, D, splits);
  if (warp == 0 && lane < KL) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
      float mm = -INFINITY;
#pragma unroll
      for (int w = 0; w < kWarps; ++w) mm = fmaxf(mm, sm_m[w][g]);
      float ll = 0.0f, aa[E];
#pragma unroll
      for (int e = 0; e < E; ++e) aa[e] = 0.0f;
#pragma unroll
      for (int w = 0; w < kWarps; ++w) {
        const float c = rescale(sm_m[w][g], mm);
        ll += sm_l[w][g] * c;
#pragma unroll
        for (int e = 0; e < E; ++e) aa[e] += sm_acc[w][g][lik * E + e] * c;
      }
      if (g >= gcount) continue;
      const int64_t bh = b * a.heads + kvh * group + g0 + g;
      if (splits == 1) {
        // Every row has at least its newest slot visible, so ll > 0.
        P o;
#pragma unroll
        for (int e = 0; e < E; ++e) o.v[e] = from_float<T>(aa[e] / ll);
        store_pack(static_cast<T*>(a.out) + bh * D, lik, o);
      } else {
        float* dst = ws.acc + (bh * splits + split) * D + lik * E;
#pragma unroll
        for (int e = 0; e < E; ++e) dst[e] = aa[e];
        if (lik == 0) {
          ws.ml[(bh * splits + split) * 2] = mm;
          ws.ml[(bh * splits + split) * 2 + 1] = ll;
        }
      }
    }
  }
  if (splits == 1) return;

  // Split-K: the last block of this (row, kv head, head block) to arrive merges the splits.
  __threadfence();  // this block's partial state is visible device-wide before its ticket is taken
  __syncthreads();
  int* ticket = ws.tickets + blockIdx.x;
  if (threadIdx.x == 0) sm_last = atomicAdd(ticket, 1) == splits - 1;
  __syncthreads();
  if (!sm_last) return;
  __threadfence();
  for (int idx = threadIdx.x; idx < gcount * D; idx += kThreads) {
    const int g = idx / D, d = idx % D;
    const int64_t bh = b * a.heads + kvh * group + g0 + g;
    const float* ml = ws.ml + bh * splits * 2;
    float mm = -INFINITY;
    for (int s2 = 0; s2 < splits; ++s2) mm = fmaxf(mm, __ldcg(ml + 2 * s2));
    float ll = 0.0f, aa = 0.0f;
    for (int s2 = 0; s2 < splits; ++s2) {
      const float c = rescale(__ldcg(ml + 2 * s2), mm);
      ll += __ldcg(ml + 2 * s2 + 1) * c;
      aa += __ldcg(ws.acc + (bh * splits + s2) * D + d) * c;
    }
    static_cast<T*>(a.out)[bh * D + d] = from_float<T>(aa / ll);
  }
  if (threadIdx.x == 0) *ticket = 0;  // ready for the next call (the next layer, the next step)
}

template <typename T, int D>
void launch_for_head_dim(const DecodeAttentionArgs& a, cudaStream_t stream) {
  const int64_t group = a.heads / a.kv_heads;
  const int g = group <= 1 ? 1 : group <= 2 ? 2 : group <= 4 ? 4 : kMaxGroup;
  const int head_blocks = static_cast<int>((group + g - 1) / g);
  const dim3 grid(static_cast<unsigned>(a.batch * a.kv_heads * head_blocks), static_cast<unsigned>(a.splits));
  switch (g) {
    case 1: decode_attention_kernel<T, D, 1><<<grid, kThreads, 0, stream>>>(a, head_blocks); break;
    case 2: decode_attention_kernel<T, D, 2><<<grid, kThreads, 0, stream>>>(a, head_blocks); break;
    case 4: decode_attention_kernel<T, D, 4><<<grid, kThreads, 0, stream>>>(a, head_blocks); break;
    default: decode_attention_kernel<T, D, kMaxGroup><<<grid, kThreads, 0, stream>>>(a, head_blocks); break;
  }
}

int head_blocks_of(int64_t group) { return group <= 4 ? 1 : static_cast<int>((group + kMaxGroup - 1) / kMaxGroup); }

}  // namespace

bool decode_attention_supports(int64_t head_dim, int64_t group_size) {
  return (head_dim == 16 || head_dim == 32 || head_dim == 64 || head_dim == 128) && group_size >= 1;
}

int decode_attention_splits(int64_t batch, int64_t kv_heads, int64_t group_size, int64_t capacity, int sm_count) {
  const int64_t blocks = batch * kv_heads * head_blocks_of(group_size);
  const int64_t want = (2 * static_cast<int64_t>(sm_count) + blocks - 1) / blocks;  // about two blocks per SM
  const int64_t most = std::max<int64_t>(1, capacity / (4 * kMinChunk));  // chunks of 256+ keys when full
  return static_cast<int>(std::clamp<int64_t>(want, 1, std::min<int64_t>(most, 256)));
}

int64_t decode_attention_workspace_bytes(int64_t batch, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                         int splits) {
  if (splits <= 1) return 0;
  const int64_t group = heads / kv_heads;
  const int64_t floats = batch * heads * splits * (head_dim + 2);
  return floats * static_cast<int64_t>(sizeof(float)) +
         batch * kv_heads * head_blocks_of(group) * static_cast<int64_t>(sizeof(int));
}

void decode_attention(const DecodeAttentionArgs& a, DType dtype, cudaStream_t stream) {
  if (a.batch == 0) return;
  if (!decode_attention_supports(a.head_dim, a.heads / a.kv_heads) || a.heads % a.kv_heads != 0) {
    throw std::invalid_argument("decode_attention: unsupported head_dim or head counts");
  }
  if (a.splits > 1 && a.workspace == nullptr) throw std::invalid_argument("decode_attention: splits need a workspace");
  dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    switch (a.head_dim) {
      case 16: launch_for_head_dim<T, 16>(a, stream); break;
      case 32: launch_for_head_dim<T, 32>(a, stream); break;
      case 64: launch_for_head_dim<T, 64>(a, stream); break;
      default: launch_for_head_dim<T, 128>(a, stream); break;
    }
  });
  check_launch("decode_attention");
}

}  // namespace januskit::kernels

#include "models/vq.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.hpp"

namespace januskit::models {
namespace {

constexpr int64_t kGroups = 32;
constexpr double kGroupNormEps = 1e-6;

at::Tensor conv(const Conv& c, const at::Tensor& x, int64_t stride = 1, int64_t padding = -1) {
  const int64_t k = c.weight.size(-1);
  return at::conv2d(x, c.weight, c.bias, stride, padding < 0 ? k / 2 : padding);
}

at::Tensor group_norm(const Norm& n, const at::Tensor& x) {
  return at::group_norm(x, kGroups, n.weight, n.bias, kGroupNormEps);
}

at::Tensor swish(const at::Tensor& x) { return x * at::sigmoid(x); }

at::Tensor res_block(const VqResBlock& b, const at::Tensor& x) {
  at::Tensor h = conv(b.conv1, swish(group_norm(b.norm1, x)));
  h = conv(b.conv2, swish(group_norm(b.norm2, h)));
  at::Tensor shortcut = b.nin_shortcut ? conv(*b.nin_shortcut, x) : x;
  return shortcut + h;
}

at::Tensor attn_block(const VqAttnBlock& a, const at::Tensor& x) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  at::Tensor h = group_norm(a.norm, x);
  // single-head attention over the H·W positions, scale C^-1/2
  at::Tensor q = conv(a.q, h).reshape({B, C, H * W}).transpose(1, 2);  // [B, HW, C]
  at::Tensor k = conv(a.k, h).reshape({B, C, H * W});                  // [B, C, HW]
  at::Tensor v = conv(a.v, h).reshape({B, C, H * W});                  // [B, C, HW]
  at::Tensor weights = at::softmax(at::bmm(q, k) * std::pow(static_cast<double>(C), -0.5), 2);  // [B, HW(q), HW(k)]
  at::Tensor out = at::bmm(v, weights.transpose(1, 2)).reshape({B, C, H, W});
  return x + conv(a.proj_out, out);
}

at::Tensor mid(const VqStack& s, at::Tensor x) {
  x = res_block(s.mid_block_1, x);
  x = attn_block(s.mid_attn, x);
  return res_block(s.mid_block_2, x);
}

// Loading ------------------------------------------------------------------------------------------

class StackLoader {
 public:
  StackLoader(WeightSource& src, std::string prefix) : src_(src), prefix_(std::move(prefix)) {}

  Conv conv(const std::string& name, int64_t out, int64_t in, int64_t k) {
    return {src_.take(prefix_ + name + ".weight", {out, in, k, k}), src_.take(prefix_ + name + ".bias", {out})};
  }
  Norm norm(const std::string& name, int64_t c) {
    return {src_.take(prefix_ + name + ".weight", {c}), src_.take(prefix_ + name + ".bias", {c})};
  }
  VqResBlock res(const std::string& name, int64_t in, int64_t out) {
    VqResBlock b{norm(name + ".norm1", in), conv(name + ".conv1", out, in, 3), norm(name + ".norm2", out),
                 conv(name + ".conv2", out, out, 3), std::nullopt};
    if (in != out) b.nin_shortcut = conv(name + ".nin_shortcut", out, in, 1);
    return b;
  }
  VqAttnBlock attn(const std::string& name, int64_t c) {
    return {norm(name + ".norm", c), conv(name + ".q", c, c, 1), conv(name + ".k", c, c, 1), conv(name + ".v", c, c, 1),
            conv(name + ".proj_out", c, c, 1)};
  }
  void load_mid(VqStack& s, const std::string& base, int64_t c) {
    s.mid_block_1 = res(base + ".mid.block_1", c, c);
    s.mid_attn = attn(base + ".mid.attn_1", c);
    s.mid_block_2 = res(base + ".mid.block_2", c, c);
  }

 private:
  WeightSource& src_;
  std::string prefix_;
};

VqStack load_decoder(const VqConfig& c, StackLoader& L) {
  const int64_t n = static_cast<int64_t>(c.channel_mult.size());
  int64_t block_in = c.base_channels * c.channel_mult.back();
  VqStack s;
  s.conv_in = L.conv("decoder.conv_in", block_in, c.latent_channels, 3);
  L.load_mid(s, "decoder", block_in);
  for (int64_t level = n - 1, up = 0; level >= 0; --level, ++up) {
    VqLevel lv;
    const int64_t block_out = c.base_channels * c.channel_mult[level];
    for (int64_t j = 0; j <= c.num_res_blocks; ++j) {
      lv.blocks.push_back(L.res(cat("decoder.up.", up, ".block.", j), block_in, block_out));
      block_in = block_out;
      if (level == n - 1) lv.attns.push_back(L.attn(cat("decoder.up.", up, ".attn.", j), block_in));
    }
    if (level != 0) lv.resample = L.conv(cat("decoder.up.", up, ".upsample.conv"), block_in, block_in, 3);
    s.levels.push_back(std::move(lv));
  }
  s.norm_out = L.norm("decoder.norm_out", block_in);
  s.conv_out = L.conv("decoder.conv_out", c.out_channels, block_in, 3);
  return s;
}

VqStack load_encoder(const VqConfig& c, StackLoader& L) {
  const int64_t n = static_cast<int64_t>(c.channel_mult.size());
  VqStack s;
  s.conv_in = L.conv("encoder.conv_in", c.base_channels, c.in_channels, 3);
  int64_t block_in = c.base_channels;
  for (int64_t level = 0; level < n; ++level) {
    VqLevel lv;
    block_in = c.base_channels * (level == 0 ? 1 : c.channel_mult[level - 1]);
    const int64_t block_out = c.base_channels * c.channel_mult[level];
    for (int64_t j = 0; j < c.num_res_blocks; ++j) {
      lv.blocks.push_back(L.res(cat("encoder.down.", level, ".block.", j), block_in, block_out));
      block_in = block_out;
      if (level == n - 1) lv.attns.push_back(L.attn(cat("encoder.down.", level, ".attn.", j), block_in));
    }
    if (level != n - 1) lv.resample = L.conv(cat("encoder.down.", level, ".downsample.conv"), block_in, block_in, 3);
    s.levels.push_back(std::move(lv));
  }
  L.load_mid(s, "encoder", block_in);
  s.norm_out = L.norm("encoder.norm_out", block_in);
  s.conv_out = L.conv("encoder.conv_out", c.latent_channels, block_in, 3);
  return s;
}

}  // namespace

VqModel::VqModel(VqConfig config, VqWeights weights) : config_(std::move(config)), weights_(std::move(weights)) {}

VqModel VqModel::load(const VqConfig& c, WeightSource& outer, const std::string& prefix, bool with_encoder) {
  RecordingSource source(outer);
  StackLoader L(source, prefix);
  VqWeights w;
  w.codebook = source.take(prefix + "quantize.embedding.weight", {c.codebook_size, c.codebook_dim});
  w.post_quant_conv = L.conv("post_quant_conv", c.latent_channels, c.codebook_dim, 1);
  w.decoder = load_decoder(c, L);
  if (with_encoder) {
    w.encoder = load_encoder(c, L);
    w.quant_conv = L.conv("quant_conv", c.codebook_dim, c.latent_channels, 1);
  }
  VqModel model(c, std::move(w));
  model.named_ = std::move(source.records());
  return model;
}

VqModel VqModel::random(const VqConfig& config, at::ScalarType dtype, c10::Device device, uint64_t seed) {
  RandomWeightSource source(dtype, device, seed);
  return load(config, source, "", /*with_encoder=*/true);
}

at::Tensor VqModel::codebook_lookup(const at::Tensor& ids) const {
  // L2-normalised rows (codebook_l2_norm): x / max(‖x‖, 1e-12), as F.normalize.
  at::Tensor rows = at::embedding(weights_.codebook, ids);
  return rows / rows.norm(2, -1, /*keepdim=*/true).clamp_min(1e-12);
}

at::Tensor VqModel::decode_tokens(const at::Tensor& ids) const {
  const int64_t g = config_.grid;
  if (ids.dim() != 2 || ids.size(1) != g * g) {
    throw Error(cat("VQ decode: expected [batch, ", g * g, "] image tokens, got ", ids.sizes()));
  }
  at::Tensor z = codebook_lookup(ids).view({ids.size(0), g, g, config_.codebook_dim}).permute({0, 3, 1, 2});
  return decode_latent(z.contiguous());
}

at::Tensor VqModel::decode_latent(const at::Tensor& z) const {
  const VqStack& s = weights_.decoder;
  at::Tensor x = conv(weights_.post_quant_conv, z.to(s.conv_in.weight.scalar_type()));
  x = conv(s.conv_in, x);
  x = mid(s, x);
  for (const VqLevel& level : s.levels) {
    for (size_t j = 0; j < level.blocks.size(); ++j) {
      x = res_block(level.blocks[j], x);
      if (!level.attns.empty()) x = attn_block(level.attns[j], x);
    }
    if (level.resample) x = conv(*level.resample, at::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2}));
  }
  return conv(s.conv_out, swish(group_norm(s.norm_out, x)));
}

at::Tensor VqModel::encode(const at::Tensor& pixels) const {
  if (!weights_.encoder) throw Error("this VQ model was loaded without its encoder");
  const VqStack& s = *weights_.encoder;
  at::Tensor x = conv(s.conv_in, pixels.to(s.conv_in.weight.scalar_type()));
  for (const VqLevel& level : s.levels) {
    for (size_t j = 0; j < level.blocks.size(); ++j) {
      x = res_block(level.blocks[j], x);
      if (!level.attns.empty()) x = attn_block(level.attns[j], x);
    }
    // Asymmetric zero padding (right and bottom), then a stride-2 convolution without padding.
    if (level.resample) x = conv(*level.resample, at::constant_pad_nd(x, {0, 1, 0, 1}, 0), 2, 0);
  }
  x = mid(s, x);
  x = conv(s.conv_out, swish(group_norm(s.norm_out, x)));
  return conv(*weights_.quant_conv, x);
}

at::Tensor VqModel::code_distances(const at::Tensor& z) const {
  // Both sides L2-normalised (VQ-16 uses codebook_l2_norm): nearest by squared distance.
  at::Tensor flat = z.permute({0, 2, 3, 1}).reshape({-1, config_.codebook_dim}).to(at::kFloat);
  flat = flat / flat.norm(2, -1, true).clamp_min(1e-12);
  at::Tensor book = weights_.codebook.to(at::kFloat);
  book = book / book.norm(2, -1, true).clamp_min(1e-12);
  return flat.pow(2).sum(1, true) + book.pow(2).sum(1) - 2 * at::matmul(flat, book.t());
}

at::Tensor VqModel::quantize(const at::Tensor& z) const {
  return code_distances(z).argmin(1).view({z.size(0), -1});
}

at::Tensor VqModel::nearest_codes(const at::Tensor& z, int64_t k) const {
  at::Tensor ids = std::get<1>(code_distances(z).topk(k, 1, /*largest=*/false, /*sorted=*/true));
  return ids.view({z.size(0), -1, k});
}

at::Tensor to_uint8_images(const at::Tensor& images) {
  // The reference: np.clip((x + 1) / 2 * 255, 0, 255) assigned into a uint8 array, which truncates.
  at::Tensor x = images.to(at::kFloat);
  x = ((x + 1) / 2 * 255).clamp(0, 255);
  return x.permute({0, 2, 3, 1}).to(at::kByte).contiguous();  // [B, H, W, 3]
}

}  // namespace januskit::models

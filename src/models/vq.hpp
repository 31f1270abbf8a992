// The VQ image tokenizer of Janus-Pro (LlamaGen's VQ-16): a convolutional encoder to a latent grid, an
// L2-normalised codebook, and a decoder back to pixels.
//
// Decoder: post_quant_conv -> conv_in -> mid (res, attn, res) -> one level per channel multiplier from
// the lowest resolution up (num_res_blocks + 1 residual blocks each, self-attention only at the lowest
// level, nearest x2 upsampling + conv between levels) -> GroupNorm -> swish -> conv_out.
// Encoder: the mirror image with strided convolutions. GroupNorm has 32 groups and eps 1e-6.
// Token k of an image sits at grid row k / grid, column k % grid.
#pragma once

#include <ATen/core/Tensor.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "models/weight_source.hpp"

namespace januskit::models {

struct VqConfig {
  int64_t codebook_size = 16384;
  int64_t codebook_dim = 8;
  int64_t latent_channels = 256;
  int64_t base_channels = 128;
  std::vector<int64_t> channel_mult = {1, 1, 2, 2, 4};
  int64_t num_res_blocks = 2;
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  int64_t grid = 24;  // latent grid side: grid² tokens per image

  int64_t image_size() const { return grid << (channel_mult.size() - 1); }
  int64_t tokens_per_image() const { return grid * grid; }
  // Activation memory of decoding one image, for memory planning: the full-resolution level holds
  // the most, about six tensors of its width (and the upsampled output of the level below) at
  // image_size() squared. An estimate meant to err high.
  int64_t decode_activation_bytes(int64_t element_size) const {
    int64_t widest = channel_mult.empty() ? 1 : channel_mult.front();
    if (channel_mult.size() > 1) widest = std::max(widest, channel_mult[1]);
    return 6 * base_channels * widest * image_size() * image_size() * element_size;
  }
};

struct Conv {
  at::Tensor weight;  // [out, in, k, k]
  at::Tensor bias;    // [out]
};
struct Norm {
  at::Tensor weight, bias;  // [C]
};
struct VqResBlock {
  Norm norm1;
  Conv conv1;
  Norm norm2;
  Conv conv2;
  std::optional<Conv> nin_shortcut;  // 1x1, when in != out channels
};
struct VqAttnBlock {
  Norm norm;
  Conv q, k, v, proj_out;  // 1x1 convolutions
};
struct VqLevel {
  std::vector<VqResBlock> blocks;
  std::vector<VqAttnBlock> attns;  // one per block at the lowest resolution, else none
  std::optional<Conv> resample;    // upsample (decoder) / downsample (encoder) conv
};
struct VqStack {  // the weights of an encoder or a decoder
  Conv conv_in;
  VqResBlock mid_block_1;
  VqAttnBlock mid_attn;
  VqResBlock mid_block_2;
  std::vector<VqLevel> levels;  // decoder: lowest resolution first; encoder: highest first
  Norm norm_out;
  Conv conv_out;
};
struct VqWeights {
  at::Tensor codebook;  // [K, dim] (normalised on use)
  Conv post_quant_conv;  // dim -> latent
  VqStack decoder;
  std::optional<VqStack> encoder;  // only for image -> tokens (training, reconstruction)
  std::optional<Conv> quant_conv;  // latent -> dim
};

class VqModel {
 public:
  VqModel() = default;
  VqModel(VqConfig config, VqWeights weights);

  // Builds from canonical (transformers JanusVQVAE) names under `prefix`; the encoder only when
  // with_encoder (generation and understanding do not need it).
  static VqModel load(const VqConfig& config, WeightSource& source, const std::string& prefix, bool with_encoder);
  static VqModel random(const VqConfig& config, at::ScalarType dtype, c10::Device device, uint64_t seed);

  // Token ids [B, grid²] -> images [B, 3, S, S], roughly in [-1, 1].
  at::Tensor decode_tokens(const at::Tensor& ids) const;
  // Codebook vectors [B, dim, grid, grid] -> images.
  at::Tensor decode_latent(const at::Tensor& z) const;
  // Images [B, 3, S, S] in [-1, 1] -> pre-quantisation latents [B, dim, grid, grid] (needs the encoder).
  at::Tensor encode(const at::Tensor& pixels) const;
  // Nearest L2-normalised codebook entry per latent position -> ids [B, grid²].
  at::Tensor quantize(const at::Tensor& z) const;
  // The `k` nearest entries per latent position, nearest first -> ids [B, grid², k]; column 0 is
  // quantize()'s choice.
  at::Tensor nearest_codes(const at::Tensor& z, int64_t k) const;
  // Normalised codebook rows for ids: [..., dim].
  at::Tensor codebook_lookup(const at::Tensor& ids) const;

  bool has_encoder() const { return weights_.encoder.has_value(); }
  // Every weight under its canonical name (as loaded; aliases the weights), for training and saving.
  const NamedTensors& named_tensors() const { return named_; }
  const VqConfig& config() const { return config_; }
  VqWeights& weights() { return weights_; }

 private:
  // Squared distances [B·grid², K] between the L2-normalised latents and codebook entries.
  at::Tensor code_distances(const at::Tensor& z) const;

  VqConfig config_;
  VqWeights weights_;
  NamedTensors named_;
};

// Model output in [-1, 1] -> uint8 HWC pixels exactly as the reference: floor(clip((x + 1) / 2 · 255)).
at::Tensor to_uint8_images(const at::Tensor& images);

}  // namespace januskit::models

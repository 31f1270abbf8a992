#include "engine/language_model.hpp"

#include "core/device.hpp"
#include "core/error.hpp"

namespace januskit::engine {

std::string LanguageModel::describe_weights() const { return dtype_name(dtype()); }

at::Tensor LanguageModel::decode_step(const at::Tensor&, const DecodeInputs&, KVCache&) {
  throw Error("this model has no device decode step (has_decode_step() is false); decode with forward()");
}

}  // namespace januskit::engine

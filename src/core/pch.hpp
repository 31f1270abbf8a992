// Precompiled header for libjanuskit and its tests: the LibTorch headers every layer above src/core
// uses. <ATen/ATen.h> rather than <torch/torch.h>: about a third of the compile time and memory.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

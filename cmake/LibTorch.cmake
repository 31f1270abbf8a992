# Imports LibTorch from the torch wheel as the target `januskit::torch`.
#
# Why not find_package(Torch)? TorchConfig.cmake of a CUDA wheel stops with a fatal error when no CUDA
# toolkit is installed, and it rewrites CMAKE_CUDA_FLAGS with its own architecture list. januskit must
# configure on machines without CUDA (CPU-only build) and choose its own CUDA targets, so it reads
# the wheel's layout directly: include/, lib/libc10.so, lib/libtorch_cpu.so, lib/libtorch.so and,
# for CUDA builds, lib/libc10_cuda.so + lib/libtorch_cuda.so.
#
# Input: CMAKE_PREFIX_PATH holding torch.utils.cmake_prefix_path (…/torch/share/cmake), or
# JANUSKIT_PYTHON pointing at a Python that can import torch.

set(_torch_root "")
foreach(_p IN LISTS CMAKE_PREFIX_PATH)
  if(EXISTS "${_p}/Torch/TorchConfig.cmake")
    get_filename_component(_torch_root "${_p}/../.." ABSOLUTE)
    break()
  endif()
endforeach()
if(NOT _torch_root AND JANUSKIT_PYTHON)
  execute_process(COMMAND "${JANUSKIT_PYTHON}" -c "import torch, os; print(os.path.dirname(torch.__file__))"
                  OUTPUT_VARIABLE _torch_root OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    set(_torch_root "")
  endif()
endif()
if(NOT _torch_root OR NOT EXISTS "${_torch_root}/include/ATen/ATen.h")
  message(FATAL_ERROR "LibTorch not found: pass -DCMAKE_PREFIX_PATH=$(python -c 'import torch; print(torch.utils.cmake_prefix_path)') "
                      "or run tools/setup.sh, which creates the venv with the torch wheel")
endif()
set(JANUSKIT_TORCH_ROOT "${_torch_root}" CACHE INTERNAL "")

function(_januskit_torch_lib var name)
  find_library(${var} ${name} PATHS "${JANUSKIT_TORCH_ROOT}/lib" NO_DEFAULT_PATH)
  if(NOT ${var})
    message(FATAL_ERROR "LibTorch: lib${name}.so missing in ${JANUSKIT_TORCH_ROOT}/lib")
  endif()
endfunction()

_januskit_torch_lib(JANUSKIT_LIB_C10 c10)
_januskit_torch_lib(JANUSKIT_LIB_TORCH_CPU torch_cpu)
_januskit_torch_lib(JANUSKIT_LIB_TORCH torch)

add_library(januskit_torch INTERFACE)
add_library(januskit::torch ALIAS januskit_torch)
target_include_directories(januskit_torch SYSTEM INTERFACE
  "${JANUSKIT_TORCH_ROOT}/include" "${JANUSKIT_TORCH_ROOT}/include/torch/csrc/api/include")
# The wheel is built with the new C++ ABI.
target_compile_definitions(januskit_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=1)
# --no-as-needed: these libraries register operators in static initialisers; nothing references
# them by symbol, so an as-needed link would drop them and the dispatcher would have no kernels.
# libstdc++ is named first: the wheel's libtorch.so and libtorch_cpu.so export their own copies of
# std::filesystem, and a program that loads them before libstdc++ binds its std::filesystem calls to
# those copies (std::filesystem::remove_all(path) crashed that way).
target_link_libraries(januskit_torch INTERFACE
  "-Wl,--no-as-needed" stdc++ "${JANUSKIT_LIB_TORCH}" "${JANUSKIT_LIB_TORCH_CPU}" "${JANUSKIT_LIB_C10}"
  "-Wl,--as-needed")

# at::parallel_for is a header template that runs on threads only where the calling translation unit
# is compiled with OpenMP (ATen/ParallelOpenMP.h is empty without _OPENMP, and parallel_for then runs
# serially on one thread): C++ files that include ATen get -fopenmp, linked against the wheel's own
# libgomp (the one libtorch_cpu.so already loads; a second OpenMP runtime would fight it for cores).
find_library(JANUSKIT_LIB_GOMP NAMES gomp libgomp.so.1 PATHS "${JANUSKIT_TORCH_ROOT}/lib" NO_DEFAULT_PATH)
if(NOT JANUSKIT_LIB_GOMP)
  file(GLOB JANUSKIT_LIB_GOMP "${JANUSKIT_TORCH_ROOT}/lib/libgomp*.so*" "${JANUSKIT_TORCH_ROOT}/../torch.libs/libgomp*.so*")
endif()
if(NOT JANUSKIT_LIB_GOMP)
  find_package(OpenMP REQUIRED COMPONENTS CXX)
  set(JANUSKIT_LIB_GOMP OpenMP::OpenMP_CXX)
endif()
list(GET JANUSKIT_LIB_GOMP 0 JANUSKIT_LIB_GOMP)
target_compile_options(januskit_torch INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fopenmp>)
target_link_libraries(januskit_torch INTERFACE "${JANUSKIT_LIB_GOMP}")

# Does this LibTorch carry CUDA?
set(JANUSKIT_TORCH_HAS_CUDA OFF CACHE INTERNAL "")
if(EXISTS "${JANUSKIT_TORCH_ROOT}/lib/libtorch_cuda.so" AND EXISTS "${JANUSKIT_TORCH_ROOT}/lib/libc10_cuda.so")
  set(JANUSKIT_TORCH_HAS_CUDA ON CACHE INTERNAL "")
endif()

# Called once CUDA is enabled: adds the CUDA halves of LibTorch.
function(januskit_torch_enable_cuda)
  _januskit_torch_lib(JANUSKIT_LIB_C10_CUDA c10_cuda)
  _januskit_torch_lib(JANUSKIT_LIB_TORCH_CUDA torch_cuda)
  target_link_libraries(januskit_torch INTERFACE
    "-Wl,--no-as-needed" "${JANUSKIT_LIB_TORCH_CUDA}" "${JANUSKIT_LIB_C10_CUDA}" "-Wl,--as-needed"
    CUDA::cudart)
  target_include_directories(januskit_torch SYSTEM INTERFACE ${CUDAToolkit_INCLUDE_DIRS})
endfunction()

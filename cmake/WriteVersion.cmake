# Run at build time (cmake -P): writes the januskit version string from `git describe` into OUT,
# touching the file only when the string changes so that nothing rebuilds needlessly.
# Inputs: SRC (source dir), OUT (file to write), FALLBACK (project version).
execute_process(COMMAND git -C "${SRC}" describe --tags --always --dirty
                OUTPUT_VARIABLE _describe OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE _rc ERROR_QUIET)
if(_rc EQUAL 0 AND _describe)
  # Without tags `git describe --always` gives only a hash: prefix the project version.
  if(_describe MATCHES "^[0-9a-f]+(-dirty)?$")
    set(_describe "${FALLBACK}+g${_describe}")
  endif()
else()
  set(_describe "${FALLBACK}")
endif()
set(_content "\"${_describe}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" _old)
endif()
if(NOT _old STREQUAL _content)
  file(WRITE "${OUT}" "${_content}")
endif()

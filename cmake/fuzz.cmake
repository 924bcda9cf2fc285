# libFuzzer targets (-DMRXCL_FUZZ=ON, clang only), from tests/fuzz/:
#   fuzz_model  mrxcl_model_load_memory: the safetensors header (cJSON, built here from
#               Debian's source, MRXCL_CJSON_SOURCE_DIR, so that its parsing is
#               instrumented too), the configuration, every tensor's checks and conversion
#   fuzz_audio  the mrxcl program's audio reader (host/cli/audio_reader.c) over libsndfile
# Each is built with -fsanitize=fuzzer,address,undefined; ctest -L fuzz runs each from a
# copy of its seed corpus tests/fuzz/<target>/ for MRXCL_FUZZ_SECONDS seconds and fails
# on a crash, a leak, a sanitizer report or a timeout.
option(MRXCL_FUZZ "Build the libFuzzer targets fuzz_* and their ctest (label fuzz); needs clang" OFF)
if(NOT MRXCL_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "-DMRXCL_FUZZ=ON needs clang (libFuzzer): configure a separate build "
          "directory with -DCMAKE_C_COMPILER=clang (Debian: apt-get install clang)")
endif()
set(MRXCL_FUZZ_SECONDS 60 CACHE STRING "Seconds each fuzz target runs in ctest -L fuzz")
set(MRXCL_CJSON_SOURCE_DIR "" CACHE PATH
    "cJSON's source (cJSON.c, cJSON.h): tests/fuzz/cjson_source.sh DEST unpacks Debian's")
if(NOT EXISTS "${MRXCL_CJSON_SOURCE_DIR}/cJSON.c" OR NOT EXISTS "${MRXCL_CJSON_SOURCE_DIR}/cJSON.h")
  message(FATAL_ERROR "-DMRXCL_FUZZ=ON needs cJSON's source, to instrument its parsing: "
          "-DMRXCL_CJSON_SOURCE_DIR=\"$(bash tests/fuzz/cjson_source.sh build-fuzz-src)\" "
          "unpacks Debian's (apt-get source cjson); '${MRXCL_CJSON_SOURCE_DIR}' has no cJSON.c")
endif()
# The library's sources include <cjson/cJSON.h>: that path, for the copy built here.
configure_file(${MRXCL_CJSON_SOURCE_DIR}/cJSON.h ${CMAKE_BINARY_DIR}/fuzz-include/cjson/cJSON.h COPYONLY)

set(_fuzz_dir ${CMAKE_SOURCE_DIR}/tests/fuzz)
set(_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
                -fno-omit-frame-pointer -g)

add_executable(fuzz_model ${_fuzz_dir}/fuzz_model.c
  host/model.c host/safetensors.c host/status.c ${MRXCL_CJSON_SOURCE_DIR}/cJSON.c)
# fuzz-include first: <cjson/cJSON.h> is the instrumented copy's, not the system's.
target_include_directories(fuzz_model BEFORE PRIVATE ${CMAKE_BINARY_DIR}/fuzz-include)
target_include_directories(fuzz_model PRIVATE ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/host)
target_compile_definitions(fuzz_model PRIVATE MRXCL_BUILD _GNU_SOURCE CL_TARGET_OPENCL_VERSION=120)
target_link_libraries(fuzz_model PRIVATE m)

add_executable(fuzz_audio ${_fuzz_dir}/fuzz_audio.c host/cli/audio_reader.c host/cli/common.c)
target_include_directories(fuzz_audio PRIVATE ${CMAKE_SOURCE_DIR}/host/cli)
target_compile_definitions(fuzz_audio PRIVATE _GNU_SOURCE)
# common.c (format_message) calls into the library; the library itself is not fuzzed here.
target_link_libraries(fuzz_audio PRIVATE mrxcl_lib PkgConfig::SNDFILE m)

enable_testing()
foreach(t fuzz_model fuzz_audio)
  target_compile_options(${t} PRIVATE ${_fuzz_flags})
  target_link_options(${t} PRIVATE ${_fuzz_flags})
  add_test(NAME ${t} COMMAND bash ${_fuzz_dir}/run_fuzzer.sh $<TARGET_FILE:${t}>
           ${_fuzz_dir}/${t} ${CMAKE_BINARY_DIR}/fuzz-work/${t} ${MRXCL_FUZZ_SECONDS}
           ${_fuzz_dir}/${t}.dict)
  math(EXPR _fuzz_timeout "${MRXCL_FUZZ_SECONDS} + 300")
  set_tests_properties(${t} PROPERTIES LABELS fuzz TIMEOUT ${_fuzz_timeout})
endforeach()

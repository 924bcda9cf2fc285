# The runtime options of a -DMRXCL_SANITIZE=ON build (ASan + UBSan), set on every test of the
# directory that includes this file (tests/CMakeLists.txt, at its end), so that plain `ctest`
# runs the suite under the sanitizers. .ci/run does so in build-asan.
if(NOT MRXCL_SANITIZE)
  return()
endif()
set(MRXCL_LSAN_SUPPRESSIONS ${CMAKE_SOURCE_DIR}/tests/sanitizers/lsan.supp)
# ASan: new_delete_type_mismatch=0 because libclFFT (a C++ library, not ours) deletes its
# plans through a pointer of another type than it allocated them with
# (FFTRepo::deletePlan, reached from mrxcl_fft_release -> clfftDestroyPlan); ASan reports that
# as new-delete-type-mismatch and exits 1. Every other ASan check stays on; detect_leaks=1 runs
# LeakSanitizer at exit with the suppressions file, whose every line names the third-party
# library and why. UBSan: any report stops the program (the build also has
# -fno-sanitize-recover=undefined) with its stack.
set(MRXCL_SANITIZER_ENV
  "ASAN_OPTIONS=new_delete_type_mismatch=0:detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
  "LSAN_OPTIONS=suppressions=${MRXCL_LSAN_SUPPRESSIONS}:print_suppressions=0"
  "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
get_property(_mrxcl_tests DIRECTORY PROPERTY TESTS)
if(_mrxcl_tests)
  set_property(TEST ${_mrxcl_tests} APPEND PROPERTY ENVIRONMENT ${MRXCL_SANITIZER_ENV})
endif()

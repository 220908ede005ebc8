# Compiler flags for the libFuzzer build (OTA_FUZZ=ON). Included by the top-level CMakeLists.txt
# before src/, so every first-party library is instrumented; configure a separate build directory
# with clang 14 (see tests/fuzz/README.md):
#
#   CC=clang CXX=clang++ cmake -S . -B build/fuzz -DOTA_FUZZ=ON -DOTA_BUILD_TESTS=OFF
#
# OTA_FUZZ_COVERAGE=ON (another directory, build/fuzz-cov) builds the same targets with source-based
# coverage instead of sanitizers, for the line-coverage report of `tests/fuzz/run.sh long`.

if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "OTA_FUZZ needs clang (libFuzzer): configure with CC=clang CXX=clang++")
endif()

option(OTA_FUZZ_COVERAGE "Fuzz targets with -fprofile-instr-generate -fcoverage-mapping, no sanitizers" OFF)

# Standard-library bounds checks too: ASan cannot see a string_view read past its end while it
# stays inside the underlying buffer; _GLIBCXX_ASSERTIONS can.
add_compile_definitions(_GLIBCXX_ASSERTIONS)
add_compile_options(-fno-omit-frame-pointer)

if(OTA_FUZZ_COVERAGE)
  # Only the fuzzer executables link libFuzzer (for its driver: -runs=0 replays a corpus).
  add_compile_options(-fprofile-instr-generate -fcoverage-mapping)
  add_link_options(-fprofile-instr-generate)
  set(OTA_FUZZ_EXE_FLAGS -fsanitize=fuzzer)
else()
  # Libraries: coverage feedback for libFuzzer plus ASan and UBSan; every UBSan finding aborts.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
  set(OTA_FUZZ_EXE_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
endif()

# Interface targets that every first-party target links PRIVATE; third-party code never sees them.

add_library(ota_settings INTERFACE)
target_compile_features(ota_settings INTERFACE cxx_std_20)
target_compile_definitions(ota_settings INTERFACE
  OTA_VERSION="${PROJECT_VERSION}"
  $<$<CONFIG:Debug>:_GLIBCXX_ASSERTIONS>
  $<$<BOOL:${OTA_TEST_HOOKS}>:OTA_TEST_HOOKS=1>)

if(OTA_ENABLE_SANITIZERS)
  target_compile_options(ota_settings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                -fno-sanitize-recover=undefined)
  target_link_options(ota_settings INTERFACE -fsanitize=address,undefined)
endif()

add_library(ota_warnings INTERFACE)
target_compile_options(ota_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wcast-align -Wformat=2 -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:Clang>:-Wthread-safety>
  # GCC 12 reports `"literal" + std::string&&` as overlapping memcpy at -O3 (GCC bug 105329).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>
  $<$<BOOL:${OTA_WERROR}>:-Werror>)

if(OTA_ENABLE_CLANG_TIDY)
  find_program(CLANG_TIDY_EXE NAMES clang-tidy-14 clang-tidy REQUIRED)
  set(CMAKE_CXX_CLANG_TIDY ${CLANG_TIDY_EXE})
endif()

# ota_module(NAME SOURCES... [DEPS ...]) — one static library per module. DEPS is the complete
# list of what the module may use: the link graph is the architecture (see ARCHITECTURE.md).
function(ota_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${M_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${M_DEPS} PRIVATE ota_settings ota_warnings)
endfunction()

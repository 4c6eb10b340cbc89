# HTTP parser tests, included from tests/CMakeLists.txt (which has already found GTest):
# unit tests, a replay of the fuzz seed corpus as an ordinary test, and, with clang, the
# libFuzzer target itself (built but not registered as a test).
include(GoogleTest)

set(_http_tests_dir ${CMAKE_CURRENT_LIST_DIR})

foreach(_test http_parser_test http_body_test)
  add_executable(${_test} ${_http_tests_dir}/unit/${_test}.cpp)
  target_link_libraries(${_test} PRIVATE reactord_http GTest::gtest_main)
  gtest_discover_tests(${_test} DISCOVERY_TIMEOUT 30 PROPERTIES LABELS unit)
endforeach()

add_executable(http_fuzz_replay
  ${_http_tests_dir}/fuzz/replay_main.cpp
  ${_http_tests_dir}/fuzz/http_parser_fuzz.cpp
)
target_link_libraries(http_fuzz_replay PRIVATE reactord_http)
add_test(NAME http_fuzz_corpus_replay
  COMMAND http_fuzz_replay ${_http_tests_dir}/fuzz/corpus/http)
set_tests_properties(http_fuzz_corpus_replay PROPERTIES LABELS unit)

if(CMAKE_CXX_COMPILER_ID MATCHES Clang)
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS -fsanitize=fuzzer)
  set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=fuzzer)
  check_cxx_source_compiles(
    "extern \"C\" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }"
    REACTORD_HAVE_LIBFUZZER)
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  if(REACTORD_HAVE_LIBFUZZER)
    # The parser sources are compiled into the fuzzer directly (not linked from reactord_http) so
    # they get coverage instrumentation and sanitizers.
    get_target_property(_http_src_dir reactord_http SOURCE_DIR)
    get_target_property(_http_srcs reactord_http SOURCES)
    list(FILTER _http_srcs INCLUDE REGEX "\\.cpp$")
    list(TRANSFORM _http_srcs PREPEND ${_http_src_dir}/)
    add_executable(http_parser_fuzzer ${_http_tests_dir}/fuzz/http_parser_fuzz.cpp ${_http_srcs})
    target_include_directories(http_parser_fuzzer PRIVATE
      $<TARGET_PROPERTY:reactord_http,INTERFACE_INCLUDE_DIRECTORIES>)
    set(_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer)
    target_compile_options(http_parser_fuzzer PRIVATE ${_fuzz_flags})
    target_link_options(http_parser_fuzzer PRIVATE ${_fuzz_flags})
  else()
    message(STATUS "reactord: libFuzzer not available, http_parser_fuzzer not built "
      "(apt-get install libclang-rt-14-dev)")
  endif()
endif()

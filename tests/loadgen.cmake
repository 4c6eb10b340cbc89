# reactord-bench unit tests (the pure parts of bench/loadgen: HTTP response framing, payload
# patterns, request bookkeeping, flags). include()d from tests/CMakeLists.txt after GTest.
include(GoogleTest)

# The load generator only exists when the bench is built (REACTORD_BUILD_BENCH).
if(TARGET reactord_loadgen_core)
  foreach(_t bench_http_response_test bench_pattern_test bench_request_ring_test
             bench_options_test)
    add_executable(${_t} ${CMAKE_CURRENT_LIST_DIR}/unit/${_t}.cpp)
    target_link_libraries(${_t} PRIVATE reactord_loadgen_core GTest::gtest_main)
    gtest_discover_tests(${_t} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
  endforeach()
endif()

# Bench-harness unit tests; include()d from tests/CMakeLists.txt after GTest has been found.
include(GoogleTest)

# The harness only exists when the bench is built (REACTORD_BUILD_BENCH).
if(TARGET reactord_bench_harness)
  add_executable(latency_histogram_test ${CMAKE_CURRENT_LIST_DIR}/unit/latency_histogram_test.cpp)
  target_link_libraries(latency_histogram_test PRIVATE reactord_bench_harness GTest::gtest_main)
  gtest_discover_tests(latency_histogram_test DISCOVERY_TIMEOUT 60)
endif()

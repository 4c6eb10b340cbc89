# [lifecycle] integration tests, included from tests/CMakeLists.txt (after deploy.cmake, whose
# test-support library they share for socket passing).
if(TARGET reactord-bench AND TARGET reactord_deploy_test_support)
  reactord_add_test(lifecycle_test integration/lifecycle_test.cpp integration binary slow)
  target_link_libraries(lifecycle_test PRIVATE reactord_deploy_test_support)
  add_dependencies(lifecycle_test reactord-bench)
  target_compile_definitions(lifecycle_test PRIVATE
    REACTORD_BENCH_BIN="$<TARGET_FILE:reactord-bench>")
endif()

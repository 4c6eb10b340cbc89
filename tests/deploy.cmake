# Deploy tests (systemd notify/activation, config file and reload, unit files, .deb);
# include()d from tests/CMakeLists.txt after GTest has been found.
include(GoogleTest)

set(_deploy_tests_dir ${CMAKE_CURRENT_LIST_DIR}/deploy)

add_library(reactord_deploy_test_support STATIC ${_deploy_tests_dir}/deploy_support.cpp)
target_include_directories(reactord_deploy_test_support PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(reactord_deploy_test_support PUBLIC GTest::gtest Threads::Threads)
target_compile_features(reactord_deploy_test_support PUBLIC cxx_std_20)
target_compile_definitions(reactord_deploy_test_support PUBLIC
  REACTORD_BIN="$<TARGET_FILE:reactord>"
  REACTORD_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  REACTORD_BINARY_DIR="${CMAKE_BINARY_DIR}"
  CPACK_COMMAND="${CMAKE_CPACK_COMMAND}")

# deploy_add_test(NAME LABELS...): tests/deploy/NAME.cpp, every TEST a ctest test.
function(deploy_add_test name)
  add_executable(deploy_${name} ${_deploy_tests_dir}/${name}.cpp)
  target_link_libraries(deploy_${name} PRIVATE reactord_deploy_test_support reactord_server
    GTest::gtest_main)
  add_dependencies(deploy_${name} reactord)
  string(REPLACE ";" "\\;" _labels "deploy;${ARGN}")
  gtest_discover_tests(deploy_${name}
    DISCOVERY_TIMEOUT 30
    PROPERTIES TIMEOUT 300 LABELS "${_labels}")
endfunction()

deploy_add_test(option_table_test unit)
deploy_add_test(heartbeat_test unit)
deploy_add_test(config_test integration binary)
deploy_add_test(notify_test integration binary)
deploy_add_test(socket_activation_test integration binary)
deploy_add_test(units_test)
# cpack installs the whole build tree: everything must be built first.
deploy_add_test(package_test)
add_dependencies(deploy_package_test reactord-client)

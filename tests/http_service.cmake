# HTTP service and UDP echo integration tests against the reactord binary (once per backend),
# included from tests/CMakeLists.txt after reactord_add_test() is defined.
set(_hs_dir ${CMAKE_CURRENT_LIST_DIR})

add_library(reactord_http_test_support STATIC ${_hs_dir}/http_support/http_client.cpp)
target_link_libraries(reactord_http_test_support PUBLIC reactord_test_support)

foreach(_hs_test http_endpoints_test http_limits_test http_pipeline_test http_tools_test)
  reactord_add_test(${_hs_test} ${_hs_dir}/http_service/${_hs_test}.cpp integration binary http)
  target_link_libraries(${_hs_test} PRIVATE reactord_http_test_support)
endforeach()

reactord_add_test(udp_echo_test ${_hs_dir}/http_service/udp_echo_test.cpp integration binary udp)

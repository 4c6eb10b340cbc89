# [hardening] abuse suite: every adversarial finding as a test against the real reactord binary,
# once per backend, each printing its "[figure] ..." lines. Included (OPTIONAL) from
# tests/CMakeLists.txt after the HTTP test client library is defined. Run: ctest -L abuse
if(TARGET reactord_http_test_support)
  reactord_add_test(abuse_test ${CMAKE_CURRENT_LIST_DIR}/abuse/crowd_test.cpp
    abuse integration binary)
  target_sources(abuse_test PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/abuse/abuse_support.cpp
    ${CMAKE_CURRENT_LIST_DIR}/abuse/limits_test.cpp)
  target_link_libraries(abuse_test PRIVATE reactord_http_test_support)
  # The crowd tests each keep both cores busy and open ~1,300 sockets: never two at once.
  set(_abuse_props ${CMAKE_CURRENT_BINARY_DIR}/abuse_test_props.cmake)
  file(WRITE ${_abuse_props}
    "foreach(_t IN LISTS abuse_test_TESTS)\n"
    "  if(_t MATCHES \"AbuseCrowd\")\n"
    "    set_tests_properties(\"\${_t}\" PROPERTIES RESOURCE_LOCK abuse_crowd)\n"
    "  endif()\n"
    "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${_abuse_props})
endif()

# REACTORD_SANITIZE: compile and link everything with the named sanitizers; included from the
# top-level CMakeLists.txt before any target. CI builds `address,undefined` (build-asan) and
# `thread` (build-tsan).
string(REPLACE "," ";" _reactord_sanitizers "${REACTORD_SANITIZE}")
if("thread" IN_LIST _reactord_sanitizers)
  # Each runtime owns the shadow memory: the compilers refuse the mix, so say which flag.
  foreach(_s address leak memory hwaddress)
    if(_s IN_LIST _reactord_sanitizers)
      message(FATAL_ERROR "REACTORD_SANITIZE=${REACTORD_SANITIZE}: ThreadSanitizer cannot be "
        "combined with ${_s}; build them in separate build directories")
    endif()
  endforeach()
  # tests/fuzz/CMakeLists.txt builds the libFuzzer target with address,undefined on top of the
  # global flags, which cannot link with -fsanitize=thread: a TSan tree builds no fuzzer (the corpus
  # replay test still runs). A cached result makes check_cxx_source_compiles skip the check.
  set(REACTORD_HAVE_LIBFUZZER OFF CACHE INTERNAL "off: ThreadSanitizer build" FORCE)
else()
  # A tree reconfigured away from thread checks for libFuzzer again.
  get_property(_reactord_fuzz_help CACHE REACTORD_HAVE_LIBFUZZER PROPERTY HELPSTRING)
  if(_reactord_fuzz_help MATCHES "ThreadSanitizer")
    unset(REACTORD_HAVE_LIBFUZZER CACHE)
  endif()
endif()

if(REACTORD_SANITIZE)
  add_compile_options(-fsanitize=${REACTORD_SANITIZE} -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${REACTORD_SANITIZE})
endif()

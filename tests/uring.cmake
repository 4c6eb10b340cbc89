# io_uring-specific tests (ENOBUFS with a tiny ring, fallback when io_uring_setup is refused),
# included from tests/CMakeLists.txt.
add_executable(no_uring_exec support/no_uring_exec.c)
reactord_add_test(uring_test integration/uring_test.cpp integration inprocess binary)
add_dependencies(uring_test no_uring_exec)
target_compile_definitions(uring_test PRIVATE NO_URING_EXEC_BIN="$<TARGET_FILE:no_uring_exec>")

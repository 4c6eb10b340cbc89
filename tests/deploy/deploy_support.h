// Helpers for the deploy tests: blocking loopback and unix clients with socket timeouts, bounded
// waits for EOF, shell commands. Processes (reactord included) start through
// tests/support/process.h.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/net.h"

namespace deploy_test {

using std::chrono::milliseconds;

// Shared with every other test: tests/support.
using rt::listen_loopback;
using rt::listen_unix;
using rt::TempDir;

// A free loopback port: bound once (port 0) and released.
int free_port();

// Blocking TCP/unix connect with send/receive timeouts; -1 on failure.
int connect_loopback(int port);
int connect_unix(const std::string& path);
// Sends `data`, half-closes, reads until EOF (bounded by the socket timeouts).
std::string roundtrip(int fd, std::string_view data);
// Reads until EOF or error; true when EOF came before `timeout`.
bool wait_eof(int fd, milliseconds timeout);

// Runs a shell command, returns its exit status and (merged stdout+stderr) output.
int run_command(const std::string& command, std::string* output);
// True when `tool` is on PATH.
bool have_tool(const std::string& tool);

std::string random_bytes(size_t n, unsigned seed);

}  // namespace deploy_test

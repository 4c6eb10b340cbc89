#include "tests/support/reset_storm.h"

#include <sys/socket.h>

#include <thread>

#include "tests/support/net.h"
#include "tests/support/payload.h"

namespace rt {

std::vector<std::string> run_reset_storm(
    const ResetStorm& storm,
    const std::function<reactor::SocketAddress(const std::string& proto)>& address) {
  const auto proto = [](int i) { return i % 2 ? "upper" : "echo"; };
  std::vector<std::string> errors(static_cast<size_t>(storm.good));
  std::vector<int> ok(static_cast<size_t>(storm.good), 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < storm.good; ++i) {
    threads.emplace_back([&, i] {
      std::string& error = errors[static_cast<size_t>(i)];
      rt::Fd fd = rt::connect_to(address(proto(i)), 10000, &error);
      if (!fd) return;
      rt::StreamPump pump(fd.get(), storm.good_bytes, storm.seed + static_cast<uint64_t>(i),
                          i % 2 ? rt::Transform::kUpper : rt::Transform::kIdentity);
      if (!pump.run(120000) || !pump.finish_with_eof(10000))
        error = pump.error();
      else if (pump.first_mismatch() != -1 || pump.received_checksum() != pump.expected_checksum())
        error = "mismatch at " + std::to_string(pump.first_mismatch());
      else
        ok[static_cast<size_t>(i)] = 1;
    });
  }
  std::vector<std::string> failures;
  const std::string big = rt::random_bytes(512 << 10, storm.seed);
  for (int i = 0; i < storm.resetters; ++i) {
    std::string error;
    rt::Fd fd = rt::connect_to(address(proto(i)), 10000, &error);
    if (!fd) {
      failures.push_back("resetter " + std::to_string(i) + ": " + error);
      break;
    }
    // Push as much as the socket takes right now, read a little of the reply, then RST.
    ::send(fd.get(), big.data(), big.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (i % 3 == 0) rt::recv_exact(fd.get(), 1000, 200);
    rt::set_linger_reset(fd.get());
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < storm.good; ++i) {
    if (!ok[static_cast<size_t>(i)])
      failures.push_back("transfer " + std::to_string(i) + ": " + errors[static_cast<size_t>(i)]);
  }
  return failures;
}

}  // namespace rt

// The load generator's side of one connection slot: lifecycle, requests in flight, parse state.
#pragma once

#include <cstddef>
#include <cstdint>

#include "bench/loadgen/http_response_parser.h"
#include "bench/loadgen/request_ring.h"
#include "reactor/connection.h"
#include "reactor/timer_wheel.h"

namespace reactord::bench {

class Worker;

// A slot keeps its identity across reconnects (churn cycles, server-closed keep-alives), so
// its request queue survives a lost connection. The inherited TimerNode is the connect timeout
// while connecting and the retry delay after a failed connect (the two never overlap).
struct ClientConn : reactor::TimerNode {
  enum class State : uint8_t {
    kIdle,           // no socket, nothing pending
    kConnectQueued,  // waiting for its turn under --connect-rate
    kRetryWait,      // a connect failed; retrying after a short delay
    kConnecting,
    kOpen,
    kClosing,  // we closed (churn, or after the server announced its close)
  };

  Worker* worker = nullptr;
  uint32_t index = 0;
  reactor::Connection* conn = nullptr;
  State state = State::kIdle;
  bool closing_by_us = false;
  bool peer_eof = false;
  bool server_closing = false;  // server said Connection: close; unanswered requests go again
  bool failed_last_connect = false;
  bool resolved_once = false;  // first connect attempt finished (either way)
  uint64_t connect_start_ns = 0;
  uint64_t next_seq = 0;  // payload selector for the next new request
  RequestRing ring;
  // echo/upper: progress through the reply at the front of the ring.
  size_t got = 0;
  bool bad = false;
  HttpResponseParser http;
};

}  // namespace reactord::bench

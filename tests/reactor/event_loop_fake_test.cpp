// The connection state machine of EventLoop, driven over FakeNet: no sockets, no sleeps, a
// clock the script moves. Each test asserts the exact sequence of handler callbacks and the
// exact bytes and close mode the "kernel" saw.
#include <cerrno>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "reactor/connection.h"
#include "reactor/event_loop.h"
#include "reactor/handler.h"
#include "tests/reactor/fake_backend.h"

namespace reactor_test {
namespace {

using reactor::Buffer;
using reactor::Connection;

// Records every callback as a line; behaviour per test through the std::function members.
struct Recorder : reactor::ConnectionHandler {
  std::vector<std::string> events;
  std::function<void(Connection&, const std::string&)> data_fn;  // default: echo
  std::function<void(Connection&)> peer_closed_fn;               // default: base class
  std::function<void(Connection&)> drain_fn;                     // default: nothing

  void on_open(Connection&) override { events.push_back("open"); }
  void on_data(Connection& c, Buffer&& data) override {
    std::string text(data.data(), data.size());
    // Long runs of one byte (the tests' bulk payloads) as "data:a*4096".
    if (text.size() > 64 && text.find_first_not_of(text[0]) == std::string::npos)
      events.push_back("data:" + text.substr(0, 1) + "*" + std::to_string(text.size()));
    else
      events.push_back("data:" + text);
    if (data_fn)
      data_fn(c, text);
    else
      c.send(text);
  }
  void on_peer_closed(Connection& c) override {
    events.push_back("peer_closed");
    if (peer_closed_fn)
      peer_closed_fn(c);
    else
      ConnectionHandler::on_peer_closed(c);
  }
  void on_writable(Connection&) override { events.push_back("writable"); }
  void on_drain(Connection& c) override {
    events.push_back("drain");
    if (drain_fn) drain_fn(c);
  }
  void on_error(Connection&, int err) override { events.push_back("error:" + std::to_string(err)); }
  void on_close(Connection&) override { events.push_back("close"); }
  void on_connect_failed(Connection&, int err) override {
    events.push_back("connect_failed:" + std::to_string(err));
  }
  size_t count(const std::string& e) const {
    size_t n = 0;
    for (const auto& x : events) n += x == e;
    return n;
  }
};

using Events = std::vector<std::string>;

class FakeLoop : public testing::Test {
 protected:
  void make_loop() {
    loop = std::make_unique<reactor::EventLoop>(config, net.hooks());
    loop->add_listener(net.new_listener_fd(), &handler, "fake");
  }
  // The protocol pauses reading in every on_data; *conn is then the connection.
  void pause_in_on_data(Connection** conn) {
    handler.data_fn = [conn](Connection& c, const std::string&) {
      *conn = &c;
      c.pause_reading();
    };
  }
  // A peer whose window is shut connects, then sends "req" and its FIN at once.
  void shut_window_peer_sends_request_and_fin(int* fd) {
    net.step([this, fd] {
      *fd = net.accept();
      net.set_window(*fd, 0);
    });
    net.step([this, fd] {
      net.send(*fd, "req");
      net.fin(*fd);
    });
  }
  // The protocol pauses reading in its first on_data; the peer connects and sends "one".
  void start_paused_peer(Connection** conn, int* fd) {
    make_loop();
    pause_in_on_data(conn);
    net.step([this, fd] { *fd = net.accept(); });
    net.step([this, fd] { net.send(*fd, "one"); });
  }
  reactor::LoopConfig config;
  FakeNet net;
  Recorder handler;
  std::unique_ptr<reactor::EventLoop> loop;
};

TEST_F(FakeLoop, OpenDataPeerFinClose) {
  make_loop();
  int fd = -1;
  net.step([&] { fd = net.accept(); });
  net.step([&] { net.send(fd, "hello"); });
  net.step([&] { net.fin(fd); });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"open", "data:hello", "peer_closed", "close"}));
  const FakeSocket& s = net.sock(fd);
  EXPECT_EQ(s.wire, "hello");
  EXPECT_TRUE(s.closed);
  EXPECT_FALSE(s.shut_wr) << "the peer closed first: our close is the passive one";
  EXPECT_FALSE(s.reset);
  EXPECT_EQ(loop->connection_count(), 0u);
  EXPECT_EQ(loop->stats().accepted.get(), 1u);
}

TEST_F(FakeLoop, BytesInOneTurnArriveInOrderAsBufferSizedPieces) {
  config.buffer_size = 4096;
  make_loop();
  std::string big(4096 * 2 + 100, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  int fd = -1;
  std::string got;
  handler.data_fn = [&](Connection& c, const std::string& d) {
    got += d;
    c.send(d);
  };
  net.step([&] { fd = net.accept(); });
  net.step([&] { net.send(fd, big); });
  net.run(*loop);
  EXPECT_EQ(handler.count("open"), 1u);
  EXPECT_EQ(handler.events.size(), 1u + 3u) << "3 pieces: 4096, 4096, 100";
  EXPECT_EQ(got, big);
  EXPECT_EQ(net.sock(fd).wire, big);
}

TEST_F(FakeLoop, ReadingPausesAboveHighWaterAndResumesBelowLow) {
  config.high_water = 64 * 1024;
  config.low_water = 16 * 1024;
  make_loop();
  const std::string reply(100 * 1024, 'r');
  handler.data_fn = [&](Connection& c, const std::string&) { c.send(reply); };
  int fd = -1;
  net.step([&] {
    fd = net.accept();
    net.set_window(fd, 0);  // the peer reads nothing
  });
  net.step([&] { net.send(fd, "q1"); });
  net.step([&] {
    // 100 KiB queued > 64 KiB: reading stopped once; the next request waits in the kernel.
    EXPECT_FALSE(net.sock(fd).receiving);
    EXPECT_EQ(net.sock(fd).receive_stops, 1);
    EXPECT_TRUE(loop->find(net.sock(fd).id)->reading_paused());
    net.send(fd, "q2");
  });
  net.step([&] {
    EXPECT_EQ(handler.count("data:q2"), 0u) << "a paused connection is not read";
    net.set_window(fd, reply.size() - 20 * 1024);  // leaves 20 KiB: still above low water
  });
  net.step([&] {
    EXPECT_FALSE(net.sock(fd).receiving);
    EXPECT_EQ(handler.count("writable"), 0u);
    net.set_window(fd, 4 * 1024);  // 16 KiB left: at the low-water mark, reading resumes
  });
  net.step([&] {
    EXPECT_EQ(handler.count("writable"), 1u);
    EXPECT_EQ(handler.count("data:q2"), 1u) << "delivered once reading resumed";
    // ... and its 100 KiB reply crossed the high-water mark again: paused a second time.
    EXPECT_EQ(net.sock(fd).receive_stops, 2);
    net.set_window(fd, SIZE_MAX);
  });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"open", "data:q1", "writable", "data:q2", "writable"}));
  EXPECT_EQ(net.sock(fd).wire, reply + reply);
  EXPECT_EQ(net.sock(fd).receive_starts, 3);  // open, and after each pause
  EXPECT_EQ(net.sock(fd).receive_stops, 2);
  EXPECT_EQ(loop->stats().backpressure_pauses.get(), 2u);
}

TEST_F(FakeLoop, HalfCloseLetsTheServerKeepSending) {
  make_loop();
  Connection* conn = nullptr;
  handler.data_fn = [&](Connection& c, const std::string&) { conn = &c; };
  handler.peer_closed_fn = [](Connection&) {};  // keep the connection: more to send
  int fd = -1;
  net.step([&] { fd = net.accept(); });
  net.step([&] {
    net.send(fd, "request");
    net.fin(fd);
  });
  net.step([&] {
    ASSERT_NE(conn, nullptr);
    EXPECT_TRUE(conn->peer_closed());
    EXPECT_TRUE(conn->is_open());
    conn->send("late answer");
    conn->close();
  });
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"open", "data:request", "peer_closed", "close"}));
  EXPECT_EQ(net.sock(fd).wire, "late answer");
  EXPECT_TRUE(net.sock(fd).closed);
  EXPECT_FALSE(net.sock(fd).shut_wr);
}

TEST_F(FakeLoop, ServerClosesFirstSendsFinAndWaitsForThePeers) {
  make_loop();
  handler.data_fn = [](Connection& c, const std::string& d) {
    c.send("bye:" + d);
    c.close();
  };
  int fd = -1;
  net.step([&] { fd = net.accept(); });
  net.step([&] { net.send(fd, "x"); });
  net.step([&] {
    const FakeSocket& s = net.sock(fd);
    EXPECT_EQ(s.wire, "bye:x") << "queued bytes go before the FIN";
    EXPECT_TRUE(s.shut_wr);
    EXPECT_FALSE(s.closed) << "lingers for the peer's FIN";
    EXPECT_TRUE(s.receiving) << "keeps reading so unread bytes never turn into an RST";
    net.send(fd, "ignored");
  });
  net.step([&] {
    EXPECT_EQ(handler.count("data:ignored"), 0u) << "discarded after our FIN";
    net.fin(fd);
  });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"open", "data:x", "close"}));
  EXPECT_TRUE(net.sock(fd).closed);
  EXPECT_FALSE(net.sock(fd).reset);
}

TEST_F(FakeLoop, LingerExpiresWhenThePeerNeverSendsItsFin) {
  config.linger_ms = 2000;
  make_loop();
  handler.data_fn = [](Connection& c, const std::string&) { c.close(); };
  int fd = -1;
  net.step([&] { fd = net.accept(); });
  net.step([&] { net.send(fd, "x"); });
  net.wait(1000);
  net.step([&] { EXPECT_FALSE(net.sock(fd).closed) << "1 s into a 2 s linger"; });
  net.wait(1100);
  net.run(*loop);
  EXPECT_TRUE(net.sock(fd).shut_wr);
  EXPECT_TRUE(net.sock(fd).closed);
  EXPECT_EQ(handler.events, (Events{"open", "data:x", "close"}));
}

TEST_F(FakeLoop, SocketErrorReportsOnceThenCloses) {
  make_loop();
  int fd = -1;
  net.step([&] { fd = net.accept(); });
  net.step([&] { net.fail(fd, ECONNRESET); });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"open", "error:" + std::to_string(ECONNRESET), "close"}));
  EXPECT_TRUE(net.sock(fd).closed);
  EXPECT_EQ(loop->connection_count(), 0u);
}

TEST_F(FakeLoop, IdleTimeoutClosesGracefullyAfterTheTimeoutOnly) {
  config.idle_timeout_ms = 1000;
  make_loop();
  int fd = -1;
  net.step([&] { fd = net.accept(); });
  net.wait(600);
  net.step([&] { net.send(fd, "keepalive"); });  // activity re-arms the idle clock
  net.wait(600);
  net.step([&] { EXPECT_FALSE(net.sock(fd).shut_wr) << "600 ms since the last byte"; });
  net.wait(500);
  net.step([&] {
    EXPECT_TRUE(net.sock(fd).shut_wr) << "1100 ms idle: our FIN";
    net.fin(fd);
  });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(loop->stats().idle_timeouts.get(), 1u);
  EXPECT_EQ(handler.events, (Events{"open", "data:keepalive", "close"}));
  EXPECT_FALSE(net.sock(fd).reset);
}

TEST_F(FakeLoop, IdleTimeoutWithResetSendsRst) {
  config.idle_timeout_ms = 1000;
  config.reset_on_idle_timeout = true;
  make_loop();
  int fd = -1;
  net.step([&] { fd = net.accept(); });
  net.wait(1100);
  net.run(*loop);
  EXPECT_TRUE(net.sock(fd).reset);
  EXPECT_TRUE(net.sock(fd).closed);
  EXPECT_FALSE(net.sock(fd).shut_wr);
  EXPECT_EQ(handler.events, (Events{"open", "close"}));
}

TEST_F(FakeLoop, DrainTellsEachConnectionOnceClosesQuietOnesAndEndsTheLoop) {
  config.drain_quiet_ms = 1000;
  make_loop();
  int a = -1, b = -1;
  net.step([&] {
    a = net.accept();
    b = net.accept();
  });
  net.step([&] {
    EXPECT_EQ(net.accepting_listeners(), 1);
    loop->begin_drain(30000);
    EXPECT_EQ(net.accepting_listeners(), 0) << "listeners stop at once";
    EXPECT_EQ(handler.count("drain"), 2u);
  });
  net.wait(500);
  net.step([&] { net.send(b, "busy"); });  // b is active: it is not quiet yet
  net.wait(600);
  net.step([&] {
    EXPECT_TRUE(net.sock(a).shut_wr) << "a was quiet for the whole 1 s";
    EXPECT_FALSE(net.sock(b).shut_wr) << "b spoke 600 ms ago";
    net.fin(a);
  });
  net.wait(500);
  net.step([&] { net.fin(b); });
  for (int i = 0; i < 5; ++i) net.wait(100);  // the loop ends by itself once both are gone
  net.run(*loop);
  EXPECT_EQ(handler.count("drain"), 2u);
  EXPECT_EQ(handler.count("close"), 2u);
  EXPECT_EQ(net.sock(b).wire, "busy");
  EXPECT_TRUE(net.sock(a).closed);
  EXPECT_TRUE(net.sock(b).closed);
  EXPECT_EQ(loop->connection_count(), 0u);
  EXPECT_TRUE(loop->draining());
}

TEST_F(FakeLoop, DrainDeadlineAbortsAConnectionThatStillHoldsBytes) {
  config.drain_quiet_ms = 1000;
  make_loop();
  int fd = -1;
  handler.data_fn = [](Connection& c, const std::string&) { c.send(std::string(10000, 'z')); };
  net.step([&] {
    fd = net.accept();
    net.set_window(fd, 0);
  });
  net.step([&] { net.send(fd, "go"); });
  net.step([&] { loop->begin_drain(3000); });
  net.wait(2000);
  net.step([&] {
    EXPECT_FALSE(net.sock(fd).closed) << "a slow reader keeps its bytes until the deadline";
  });
  net.wait(1100);
  net.run(*loop);
  EXPECT_TRUE(net.sock(fd).closed);
  EXPECT_EQ(net.sock(fd).wire, "");
  EXPECT_EQ(handler.count("close"), 1u);
  EXPECT_EQ(loop->connection_count(), 0u);
}

TEST_F(FakeLoop, AbortWithResetDropsTheQueue) {
  make_loop();
  handler.data_fn = [](Connection& c, const std::string&) {
    c.send("never sent");
    c.abort(true);
  };
  int fd = -1;
  net.step([&] {
    fd = net.accept();
    net.set_window(fd, 0);
  });
  net.step([&] { net.send(fd, "x"); });
  net.wait(0);
  net.run(*loop);
  EXPECT_TRUE(net.sock(fd).reset);
  EXPECT_TRUE(net.sock(fd).closed);
  EXPECT_EQ(net.sock(fd).wire, "");
  EXPECT_EQ(handler.events, (Events{"open", "data:x", "close"}));
  EXPECT_EQ(loop->stats().write_queue_bytes.get(), 0u);
}

TEST_F(FakeLoop, AClosedConnectionsIdGoesStaleWhenItsSlotIsReused) {
  make_loop();
  int first = -1, second = -1;
  reactor::ConnectionId old_id;
  net.step([&] { first = net.accept(); });
  net.step([&] {
    old_id = net.sock(first).id;
    net.fail(first, EPIPE);
  });
  net.step([&] { second = net.accept(); });  // the slot was freed at the end of last turn
  net.step([&] {
    reactor::ConnectionId new_id = net.sock(second).id;
    EXPECT_EQ(new_id.slot, old_id.slot);
    EXPECT_NE(new_id.gen, old_id.gen);
    EXPECT_EQ(loop->find(old_id), nullptr);
    EXPECT_NE(loop->find(new_id), nullptr);
  });
  net.run(*loop);
  EXPECT_EQ(handler.count("open"), 2u);
  EXPECT_EQ(handler.count("close"), 1u) << "the second is closed by the loop's destructor";
  loop.reset();
  EXPECT_EQ(handler.count("close"), 2u);
}

TEST_F(FakeLoop, PauseReadingHoldsBytesInTheKernelUntilResumed) {
  Connection* conn = nullptr;
  int fd = -1;
  start_paused_peer(&conn, &fd);
  net.step([&] {
    EXPECT_TRUE(conn->reading_paused());
    EXPECT_FALSE(net.sock(fd).receiving);
    net.send(fd, "two");
    net.fin(fd);  // a FIN while paused by the protocol waits behind the unread bytes
  });
  net.step([&] {
    EXPECT_EQ(handler.count("data:two"), 0u);
    EXPECT_EQ(handler.count("peer_closed"), 0u);
    handler.data_fn = [](Connection& c, const std::string& d) { c.send(d); };
    conn->resume_reading();
  });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"open", "data:one", "data:two", "peer_closed", "close"}));
  EXPECT_EQ(net.sock(fd).wire, "two");
}

TEST_F(FakeLoop, PauseReadingOutlastsTheWatermarkResume) {
  config.high_water = 8 * 1024;
  config.low_water = 1024;
  make_loop();
  Connection* conn = nullptr;
  handler.data_fn = [&](Connection& c, const std::string&) {
    conn = &c;
    c.send(std::string(16 * 1024, 'w'));
    c.pause_reading();
  };
  int fd = -1;
  net.step([&] {
    fd = net.accept();
    net.set_window(fd, 0);
  });
  net.step([&] { net.send(fd, "a"); });
  net.step([&] {
    net.send(fd, "b");
    net.set_window(fd, SIZE_MAX);  // queue drains: the loop's pause ends, the protocol's not
  });
  net.step([&] {
    EXPECT_EQ(handler.count("writable"), 1u);
    EXPECT_FALSE(net.sock(fd).receiving);
    EXPECT_EQ(handler.count("data:b"), 0u);
    handler.data_fn = [](Connection&, const std::string&) {};
    conn->resume_reading();
  });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.count("data:b"), 1u);
  EXPECT_EQ(net.sock(fd).wire.size(), 16u * 1024);
}

TEST_F(FakeLoop, ShutdownWriteSendsFinAfterTheQueueAndKeepsReading) {
  make_loop();
  handler.data_fn = [](Connection& c, const std::string& d) {
    if (d == "first") {
      c.send("reply");
      c.shutdown_write();
      c.send("dropped: after shutdown_write");
    }
  };
  int fd = -1;
  net.step([&] {
    fd = net.accept();
    net.set_window(fd, 2);
  });
  net.step([&] { net.send(fd, "first"); });
  net.step([&] {
    EXPECT_EQ(net.sock(fd).wire, "re");
    EXPECT_FALSE(net.sock(fd).shut_wr) << "the FIN waits for the queued bytes";
    net.set_window(fd, SIZE_MAX);
  });
  net.step([&] {
    EXPECT_EQ(net.sock(fd).wire, "reply");
    EXPECT_TRUE(net.sock(fd).shut_wr);
    EXPECT_TRUE(net.sock(fd).receiving);
    net.send(fd, "more");  // the peer may still talk: it is delivered, not discarded
    net.fin(fd);
  });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"open", "data:first", "data:more", "peer_closed", "close"}));
  EXPECT_TRUE(net.sock(fd).closed);
  EXPECT_FALSE(net.sock(fd).reset);
}

TEST_F(FakeLoop, PauseReadingInOnOpenHoldsTheFirstBytes) {
  struct PausesAtOpen : Recorder {
    Connection* conn = nullptr;
    void on_open(Connection& c) override {
      Recorder::on_open(c);
      conn = &c;
      c.pause_reading();  // e.g. a proxy that must connect upstream first
    }
  } h;
  loop = std::make_unique<reactor::EventLoop>(config, net.hooks());
  loop->add_listener(net.new_listener_fd(), &h, "fake");
  int fd = -1;
  net.step([&] {
    fd = net.accept();
    net.send(fd, "early");
  });
  net.step([&] {
    EXPECT_FALSE(net.sock(fd).receiving);
    EXPECT_EQ(h.count("data:early"), 0u) << "the protocol asked not to read yet";
    h.conn->resume_reading();
  });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(h.events, (Events{"open", "data:early"}));
  EXPECT_EQ(net.sock(fd).wire, "early");
  loop.reset();  // before `h`, which the loop's destructor still calls (on_close)
  EXPECT_EQ(h.count("close"), 1u);
}

TEST_F(FakeLoop, OnWritableReachesAHalfClosedConnectionWhoseQueueDrains) {
  config.high_water = 64 * 1024;
  config.low_water = 16 * 1024;
  make_loop();
  const std::string reply(100 * 1024, 'h');
  handler.data_fn = [](Connection&, const std::string&) {};
  handler.peer_closed_fn = [&](Connection& c) { c.send(reply); };  // not paced: peer is done
  int fd = -1;
  shut_window_peer_sends_request_and_fin(&fd);
  net.step([&] {
    EXPECT_EQ(handler.count("writable"), 0u);
    net.set_window(fd, SIZE_MAX);
  });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"open", "data:req", "peer_closed", "writable"}));
  EXPECT_EQ(net.sock(fd).wire, reply);
}

TEST_F(FakeLoop, OnWritableSkipsAConnectionThatIsClosing) {
  config.high_water = 64 * 1024;
  config.low_water = 16 * 1024;
  make_loop();
  const std::string reply(100 * 1024, 'h');
  handler.data_fn = [](Connection&, const std::string&) {};
  handler.peer_closed_fn = [&](Connection& c) {
    c.send(reply);  // not paced (the peer is done): on_writable would be owed ...
    c.close();      // ... but the connection is closing: no callback but on_close
  };
  int fd = -1;
  shut_window_peer_sends_request_and_fin(&fd);
  net.step([&] { net.set_window(fd, SIZE_MAX); });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"open", "data:req", "peer_closed", "close"}));
  EXPECT_EQ(net.sock(fd).wire, reply);
  EXPECT_TRUE(net.sock(fd).closed);
}

// io_uring's multishot receive can complete after pause_reading() (the cancel is still on
// its way): the loop holds those bytes, and the EOF behind them, until resume_reading().
TEST_F(FakeLoop, BytesReceivedAfterPauseWaitInTheLoopUntilResume) {
  Connection* conn = nullptr;
  int fd = -1;
  start_paused_peer(&conn, &fd);
  net.step([&] {
    ASSERT_TRUE(conn->reading_paused());
    net.receive_in_flight(fd, "two");
    net.receive_in_flight(fd, "three");
    net.eof_in_flight(fd);
  });
  net.step([&] {
    EXPECT_EQ(handler.events, (Events{"open", "data:one"})) << "nothing while paused";
    // Held in the loop, packed into one pool buffer, and counted against the budget.
    EXPECT_EQ(loop->memory_used(), config.buffer_size);
    handler.data_fn = [](Connection&, const std::string&) {};
    handler.peer_closed_fn = [](Connection&) {};  // keep it open: inspect it below
    conn->resume_reading();
    EXPECT_EQ(handler.count("data:twothree"), 0u) << "delivered by the loop, not inside resume";
  });
  net.step([&] {
    EXPECT_EQ(loop->memory_used(), 0u);
    EXPECT_EQ(net.sock(fd).receive_starts, 1) << "no new receive after the held EOF";
    EXPECT_TRUE(conn->peer_closed());
    conn->close();
  });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"open", "data:one", "data:twothree", "peer_closed", "close"}));
  EXPECT_FALSE(net.sock(fd).shut_wr) << "the peer closed first: our close is the passive one";
}

TEST_F(FakeLoop, HeldBytesStopAgainWhenTheProtocolPausesDuringTheirDelivery) {
  config.buffer_size = 4096;
  make_loop();
  Connection* conn = nullptr;
  int pauses = 0;
  handler.data_fn = [&](Connection& c, const std::string&) {
    conn = &c;
    if (pauses < 2) ++pauses, c.pause_reading();
  };
  const std::string a(4096, 'a'), b(4096, 'b'), d(4096, 'd');
  int fd = -1;
  net.step([&] { fd = net.accept(); });
  net.step([&] { net.send(fd, "x"); });
  net.step([&] {
    net.receive_in_flight(fd, a);
    net.receive_in_flight(fd, b);
    net.receive_in_flight(fd, d);
    net.fail(fd, ECONNRESET);  // reset behind them: reported after them, in order
  });
  net.step([&] {
    EXPECT_EQ(loop->memory_used(), 3u * 4096);
    conn->resume_reading();
  });
  net.step([&] {
    EXPECT_EQ(handler.events, (Events{"open", "data:x", "data:a*4096"}));
    EXPECT_EQ(loop->memory_used(), 2u * 4096);
    EXPECT_EQ(net.sock(fd).receive_starts, 1);
    conn->resume_reading();
  });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"open", "data:x", "data:a*4096", "data:b*4096", "data:d*4096",
                                    "error:" + std::to_string(ECONNRESET), "close"}));
  EXPECT_EQ(loop->memory_used(), 0u);
}

TEST_F(FakeLoop, CloseWhilePausedDropsTheHeldBytesAndKeepsTheHeldEof) {
  Connection* conn = nullptr;
  int fd = -1;
  start_paused_peer(&conn, &fd);
  net.step([&] {
    net.receive_in_flight(fd, "two");
    net.eof_in_flight(fd);
  });
  net.step([&] {
    EXPECT_EQ(loop->memory_used(), config.buffer_size);
    conn->close();  // input after close() is discarded; the peer's FIN still counts
  });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"open", "data:one", "close"}));
  EXPECT_EQ(loop->memory_used(), 0u);
  EXPECT_TRUE(net.sock(fd).closed);
  EXPECT_FALSE(net.sock(fd).shut_wr) << "the peer's FIN was held: our close is the passive one";
}

reactor::SocketAddress upstream() {
  reactor::SocketAddress a;
  std::string error;
  if (!reactor::SocketAddress::parse("127.0.0.1:9", &a, &error)) ADD_FAILURE() << error;
  return a;  // never dialled: the fake backend only records the connect
}

TEST_F(FakeLoop, ClientConnectOpensOnSuccessThenExchanges) {
  make_loop();
  Connection* conn = nullptr;
  int fd = -1;
  net.step([&] {
    conn = loop->connect(upstream(), &handler);
    ASSERT_NE(conn, nullptr);
    fd = conn->fd();
    EXPECT_EQ(net.sock(fd).connect_pending, 1);
    EXPECT_TRUE(handler.events.empty()) << "nothing until the connect completes";
    conn->send("hello");  // queued while connecting, sent once connected
  });
  net.step([&] {
    EXPECT_FALSE(net.sock(fd).receiving);
    EXPECT_EQ(net.sock(fd).wire, "") << "nothing is written before the connect completes";
    net.complete_connect(fd, 0);
    EXPECT_TRUE(net.sock(fd).receiving) << "reading starts after on_open";
  });
  net.step([&] { net.send(fd, "world"); });
  net.step([&] { net.fin(fd); });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"open", "data:world", "peer_closed", "close"}));
  EXPECT_EQ(net.sock(fd).wire, "helloworld");
  EXPECT_TRUE(net.sock(fd).closed);
  EXPECT_FALSE(net.sock(fd).reset);
  EXPECT_EQ(loop->stats().accepted.get(), 0u) << "a client connection is not an accept";
  EXPECT_EQ(loop->connection_count(), 0u);
}

TEST_F(FakeLoop, ClientConnectFailureReportsThenCloses) {
  make_loop();
  int fd = -1;
  net.step([&] { fd = loop->connect(upstream(), &handler)->fd(); });
  net.step([&] { net.complete_connect(fd, ECONNREFUSED); });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"connect_failed:" + std::to_string(ECONNREFUSED), "close"}));
  EXPECT_EQ(net.sock(fd).receive_starts, 0);
  EXPECT_TRUE(net.sock(fd).closed);
  EXPECT_EQ(loop->connection_count(), 0u);
}

TEST_F(FakeLoop, ClientAbortedWhileConnectingHearsEcanceledOnce) {
  make_loop();
  int fd = -1;
  net.step([&] {
    Connection* c = loop->connect(upstream(), &handler);
    fd = c->fd();
    c->abort();
  });
  net.step([&] { net.complete_connect(fd, 0); });  // the kernel's answer, after the abort
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events, (Events{"connect_failed:" + std::to_string(ECANCELED), "close"}));
  EXPECT_EQ(net.sock(fd).receive_starts, 0);
}

// Above 3/4 of the budget the connection holding the most stops being read; past the budget it
// is closed with RST, not the connection whose send asked for the memory.
TEST_F(FakeLoop, MemoryBudgetPausesThenShedsTheBiggestHolderNotTheAsker) {
  config.buffer_size = 4096;
  config.buffer_memory = 64 * 1024;  // pressure above 48 KiB; a heavy holder has > 16 KiB
  make_loop();
  handler.data_fn = [](Connection& c, const std::string& d) {
    c.send(std::string(d == "a" ? 40 * 1024 : d == "b" ? 12 * 1024 : 20 * 1024, d[0]));
  };
  int a = -1, b = -1;
  net.step([&] {
    a = net.accept();
    b = net.accept();
    net.set_window(a, 0);  // neither peer reads
    net.set_window(b, 0);
  });
  net.step([&] { net.send(a, "a"); });  // 40 KiB queued: under the pressure mark
  net.step([&] {
    EXPECT_FALSE(loop->memory_pressure());
    net.send(b, "b");  // +12 KiB = 52 KiB: pressure
  });
  net.step([&] {
    EXPECT_TRUE(loop->memory_pressure());
    EXPECT_FALSE(net.sock(a).receiving) << "a holds 40 KiB: paused";
    EXPECT_TRUE(net.sock(b).receiving) << "b holds 12 KiB: served as before";
    EXPECT_EQ(loop->stats().memory_pressure_pauses.get(), 1u);
    net.send(b, "c");  // +20 KiB = 72 KiB: past the budget
  });
  net.step([&] {
    EXPECT_TRUE(net.sock(a).closed);
    EXPECT_TRUE(net.sock(a).reset) << "its peer does not read: no graceful FIN";
    EXPECT_FALSE(net.sock(b).closed) << "b asked for the memory but holds less";
    EXPECT_EQ(loop->stats().memory_pressure_pauses.get(), 2u) << "b, at 32 KiB, paused too";
    // ... and resumed at the end of that turn: memory is back at half the budget.
    EXPECT_EQ(loop->memory_used(), 32u * 1024);
    EXPECT_FALSE(loop->memory_pressure());
    EXPECT_TRUE(net.sock(b).receiving);
    net.set_window(b, SIZE_MAX);
  });
  net.wait(0);
  net.run(*loop);
  EXPECT_EQ(handler.events,
            (Events{"open", "open", "data:a", "data:b", "data:c", "close", "writable"}));
  EXPECT_EQ(loop->stats().memory_closes.get(), 1u);
  EXPECT_EQ(loop->stats().memory_pressure_pauses.get(), 2u);
  EXPECT_EQ(net.sock(b).wire, std::string(12 * 1024, 'b') + std::string(20 * 1024, 'c'));
  EXPECT_EQ(loop->memory_used(), 0u);
}

// Bytes a protocol declares (a collected body) are memory even while no pool buffer is out.
TEST_F(FakeLoop, DeclaredBytesAloneStartThePressure) {
  config.buffer_size = 4096;
  config.buffer_memory = 64 * 1024;
  make_loop();
  int fd = -1;
  net.step([&] { fd = net.accept(); });
  net.step([&] { loop->find(net.sock(fd).id)->add_held_bytes(50 * 1024); });  // > 48 KiB
  net.step([&] {
    EXPECT_TRUE(loop->memory_pressure());
    EXPECT_FALSE(net.sock(fd).receiving) << "it holds the most: paused";
    loop->find(net.sock(fd).id)->add_held_bytes(-50 * 1024);
  });
  net.wait(0);
  net.run(*loop);
  EXPECT_FALSE(loop->memory_pressure());
  EXPECT_TRUE(net.sock(fd).receiving);
  EXPECT_EQ(loop->stats().memory_pressure_pauses.get(), 1u);
}

// Input held for a paused protocol is memory like any other: its holder is the one shed.
TEST_F(FakeLoop, HeldInputCountsTowardTheBudget) {
  config.buffer_size = 4096;
  config.buffer_memory = 64 * 1024;
  make_loop();
  handler.data_fn = [](Connection& c, const std::string& d) {
    if (d == "p")
      c.pause_reading();
    else
      c.send(std::string(30 * 1024, d[0]));
  };
  int a = -1, b = -1;
  net.step([&] {
    a = net.accept();
    b = net.accept();
    net.set_window(b, 0);
  });
  net.step([&] { net.send(a, "p"); });
  net.step([&] {
    for (char ch = 'A'; ch < 'A' + 10; ++ch) net.receive_in_flight(a, std::string(4096, ch));
    EXPECT_EQ(loop->memory_used(), 40u * 1024);
    net.send(b, "q");  // +30 KiB = 70 KiB: past the budget; a holds the most
  });
  net.wait(0);
  net.run(*loop);
  // b, paused for memory meanwhile, is resumed (on_writable) once a's close brings memory back.
  EXPECT_EQ(handler.events, (Events{"open", "open", "data:p", "data:q", "close", "writable"}));
  EXPECT_TRUE(net.sock(a).reset);
  EXPECT_FALSE(net.sock(b).closed);
  EXPECT_EQ(loop->memory_used(), 32u * 1024) << "b's 30 KiB in 8 buffers";
}

}  // namespace
}  // namespace reactor_test

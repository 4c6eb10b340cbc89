// Chat example: a line-based pub/sub server. Every line a client sends goes to every client on
// every loop (the sender too), as "ID: text". Usage:
//   chat_server [HOST:PORT] [--threads N] [--backend auto|epoll|io_uring] [--max-queue BYTES]
//   [--max-line BYTES]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../common/serve.h"
#include "reactor/connection.h"
#include "reactor/event_loop.h"
#include "reactor/handler.h"
#include "reactor/loop_group.h"
#include "room.h"

namespace {

// One handler per loop: it knows its loop's index, so it finds its Room without a lookup.
class ChatHandler final : public reactor::ConnectionHandler {
 public:
  ChatHandler(chat::Hub& hub, size_t loop, size_t max_line)
      : hub_(hub), loop_(loop), max_line_(max_line) {}

  void on_open(reactor::Connection& c) override {
    auto* m = new chat::Member;
    m->id = std::to_string(loop_) + "." + std::to_string(++joined_);
    c.set_user(m);
    hub_.room(loop_).join(c);
    c.send("* welcome " + m->id + ", loop " + std::to_string(loop_) + " of " +
           std::to_string(hub_.loops()) + "\n");
  }

  void on_data(reactor::Connection& c, reactor::Buffer&& data) override {
    auto& m = *static_cast<chat::Member*>(c.user());
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      const char* nl = static_cast<const char*>(memchr(p, '\n', left));
      size_t take = nl ? static_cast<size_t>(nl - p) : left;
      if (m.partial.size() + take > max_line_) {  // the one way to hold memory here: refused
        c.send("* line too long\n");
        c.close();
        return;
      }
      m.partial.append(p, take);
      if (!nl) return;
      hub_.publish(loop_, m.id + ": " + m.partial + "\n");
      m.partial.clear();
      p = nl + 1;
      left -= take + 1;
    }
  }

  void on_drain(reactor::Connection& c) override {
    c.send("* server shutting down\n");
    c.close();
  }

  void on_close(reactor::Connection& c) override {
    hub_.room(loop_).leave(c);
    delete static_cast<chat::Member*>(c.user());
    c.set_user(nullptr);
  }

 private:
  chat::Hub& hub_;
  size_t loop_;
  size_t max_line_;
  uint64_t joined_ = 0;
};

struct Args {
  std::string listen = "127.0.0.1:7001";
  reactor::LoopGroup::Options loops;
  uint64_t max_queue = 64 << 10;
  size_t max_line = 4096;
};

bool parse_args(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (examples::parse_loop_flag(argc, argv, &i, &a->loops)) continue;
    if (arg == "--max-queue" && i + 1 < argc)
      a->max_queue = strtoull(argv[++i], nullptr, 10);
    else if (arg == "--max-line" && i + 1 < argc)
      a->max_line = strtoull(argv[++i], nullptr, 10);
    else if (arg[0] != '-')
      a->listen = arg;
    else
      return false;
  }
  return a->max_line > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  reactor::SocketAddress addr;
  std::string error;
  if (!parse_args(argc, argv, &args) ||
      !reactor::SocketAddress::parse(args.listen, &addr, &error)) {
    fprintf(stderr,
            "usage: chat_server [HOST:PORT] [--threads N] [--backend auto|epoll|io_uring]\n"
            "                   [--max-queue BYTES] [--max-line BYTES]\n%s\n",
            error.c_str());
    return 2;
  }
  args.loops.loop.idle_timeout_ms = 0;  // chat members may stay silent for hours
  size_t loops = examples::loop_count(args.loops);
  reactor::LoopGroup group;
  chat::Hub hub(group, loops, args.max_queue);
  std::vector<std::unique_ptr<ChatHandler>> handlers(loops);  // slot i written by loop i only
  auto handler_for = [&](reactor::EventLoop&, int i) {
    handlers[i] = std::make_unique<ChatHandler>(hub, i, args.max_line);
    return handlers[i].get();
  };
  return examples::serve("chat_server", group, args.loops, addr, handler_for, 5000);
}

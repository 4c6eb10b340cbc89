// SocketAddress parse/print: IPv4, [IPv6], unix:, and every kind of bad input.
#include "reactor/socket_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/un.h>

#include <string>

namespace {

using reactor::SocketAddress;

SocketAddress parse_ok(const std::string& text) {
  SocketAddress a;
  std::string err;
  EXPECT_TRUE(SocketAddress::parse(text, &a, &err)) << text << ": " << err;
  EXPECT_TRUE(err.empty()) << text << ": " << err;
  return a;
}

std::string parse_error(const std::string& text) {
  SocketAddress a;
  std::string err;
  EXPECT_FALSE(SocketAddress::parse(text, &a, &err)) << "'" << text << "' was accepted";
  EXPECT_FALSE(err.empty()) << "no reason given for '" << text << "'";
  return err;
}

TEST(SocketAddress, IPv4) {
  SocketAddress a = parse_ok("127.0.0.1:7000");
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.len, sizeof(sockaddr_in));
  EXPECT_EQ(a.port(), 7000);
  EXPECT_FALSE(a.is_unix());
  EXPECT_EQ(a.to_string(), "127.0.0.1:7000");
  const auto* in = reinterpret_cast<const sockaddr_in*>(a.get());
  EXPECT_EQ(ntohl(in->sin_addr.s_addr), 0x7f000001u);
  EXPECT_EQ(parse_ok("10.1.2.3:0").to_string(), "10.1.2.3:0");
  EXPECT_EQ(parse_ok("255.255.255.255:65535").to_string(), "255.255.255.255:65535");
}

TEST(SocketAddress, IPv4Aliases) {
  EXPECT_EQ(parse_ok("localhost:80").to_string(), "127.0.0.1:80");
  EXPECT_EQ(parse_ok("*:8080").to_string(), "0.0.0.0:8080");
  EXPECT_EQ(parse_ok(":8080").to_string(), "0.0.0.0:8080");
  EXPECT_EQ(parse_ok("0.0.0.0:1").to_string(), "0.0.0.0:1");
}

TEST(SocketAddress, IPv6) {
  SocketAddress a = parse_ok("[::1]:7000");
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a.len, sizeof(sockaddr_in6));
  EXPECT_EQ(a.port(), 7000);
  EXPECT_EQ(a.to_string(), "[::1]:7000");
  EXPECT_EQ(parse_ok("[::]:0").to_string(), "[::]:0");
  EXPECT_EQ(parse_ok("[2001:db8::1]:443").to_string(), "[2001:db8::1]:443");
  EXPECT_EQ(parse_ok("[2001:DB8:0:0:0:0:0:1]:443").to_string(), "[2001:db8::1]:443");
  EXPECT_EQ(parse_ok("[::ffff:127.0.0.1]:9").to_string(), "[::ffff:127.0.0.1]:9");
}

TEST(SocketAddress, Unix) {
  SocketAddress a = parse_ok("unix:/tmp/reactord.sock");
  EXPECT_EQ(a.family(), AF_UNIX);
  EXPECT_TRUE(a.is_unix());
  EXPECT_EQ(a.unix_path(), "/tmp/reactord.sock");
  EXPECT_EQ(a.port(), 0);
  EXPECT_EQ(a.to_string(), "unix:/tmp/reactord.sock");
  EXPECT_EQ(parse_ok("unix:relative/s").unix_path(), "relative/s");
  // The longest path that fits sun_path with its NUL.
  std::string longest(sizeof(sockaddr_un::sun_path) - 1, 'p');
  longest[0] = '/';
  SocketAddress l = parse_ok("unix:" + longest);
  EXPECT_EQ(l.unix_path(), longest);
}

TEST(SocketAddress, RoundTripThroughToString) {
  for (const char* text :
       {"127.0.0.1:1", "0.0.0.0:65535", "[::1]:2", "[fe80::1:2]:3", "unix:/run/x.sock"}) {
    SocketAddress a = parse_ok(text);
    EXPECT_EQ(a.to_string(), text);
    SocketAddress b = parse_ok(a.to_string());
    EXPECT_EQ(b.len, a.len);
    EXPECT_EQ(b.to_string(), a.to_string());
  }
}

TEST(SocketAddress, SetPortAndFromSockaddr) {
  SocketAddress a = parse_ok("127.0.0.1:0");
  a.set_port(4242);
  EXPECT_EQ(a.to_string(), "127.0.0.1:4242");
  SocketAddress b = parse_ok("[::1]:0");
  b.set_port(65535);
  EXPECT_EQ(b.to_string(), "[::1]:65535");
  SocketAddress u = parse_ok("unix:/x");
  u.set_port(5);  // no-op for unix
  EXPECT_EQ(u.to_string(), "unix:/x");
  SocketAddress c = SocketAddress::from_sockaddr(b.get(), b.len);
  EXPECT_EQ(c.to_string(), "[::1]:65535");
  EXPECT_EQ(c.len, b.len);
}

TEST(SocketAddress, BadPort) {
  EXPECT_NE(parse_error("127.0.0.1:65536").find("port"), std::string::npos);
  EXPECT_NE(parse_error("127.0.0.1:99999").find("port"), std::string::npos);
  EXPECT_NE(parse_error("127.0.0.1:-1").find("port"), std::string::npos);
  EXPECT_NE(parse_error("127.0.0.1:+80").find("port"), std::string::npos);
  EXPECT_NE(parse_error("127.0.0.1:80x").find("port"), std::string::npos);
  EXPECT_NE(parse_error("127.0.0.1: 80").find("port"), std::string::npos);
  EXPECT_NE(parse_error("127.0.0.1:http").find("port"), std::string::npos);
  EXPECT_NE(parse_error("127.0.0.1:99999999999999999999").find("port"), std::string::npos);
  EXPECT_NE(parse_error("[::1]:70000").find("port"), std::string::npos);
}

TEST(SocketAddress, MissingPort) {
  parse_error("127.0.0.1");
  parse_error("127.0.0.1:");
  parse_error("localhost");
  parse_error("[::1]");
  parse_error("[::1]:");
  parse_error("[::1]7000");
  parse_error("");
}

TEST(SocketAddress, BadHost) {
  parse_error("256.0.0.1:80");
  parse_error("1.2.3:80");
  parse_error("example.com:80");  // numeric only, no DNS
  parse_error(" 127.0.0.1:80");
  parse_error("::1:80");  // IPv6 needs brackets
  parse_error("[::1:80");
  parse_error("[not-an-address]:80");
  parse_error("[127.0.0.1]:80");
  parse_error("[]:80");
}

TEST(SocketAddress, BadUnixPath) {
  parse_error("unix:");
  std::string too_long(sizeof(sockaddr_un::sun_path), 'p');
  std::string err = parse_error("unix:/" + too_long);
  EXPECT_NE(err.find("longer"), std::string::npos) << err;
  err = parse_error("unix:" + too_long);  // exactly sizeof(sun_path): no room for the NUL
  EXPECT_NE(err.find("longer"), std::string::npos) << err;
}

TEST(SocketAddress, FailedParseLeavesNoStaleFamily) {
  SocketAddress a = parse_ok("127.0.0.1:1");
  std::string err;
  EXPECT_FALSE(SocketAddress::parse("bogus", &a, &err));
  EXPECT_EQ(a.len, 0u);
}

}  // namespace

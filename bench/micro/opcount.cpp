// reactord-opcount NAME N: runs N iterations of one micro-operation, deterministically, for
// callgrind. The CI gate runs it for two N and divides the instruction difference by the
// iteration difference: setup and exit costs cancel, leaving instructions per operation.
#include <charconv>
#include <cstdio>
#include <string_view>

#include "bench/micro/micro_ops.h"

using reactord::bench::make_micro_op;
using reactord::bench::micro_op_names;

namespace {

int usage(FILE* out, int code) {
  fprintf(out,
          "usage: reactord-opcount NAME N    run N iterations of micro-operation NAME\n"
          "       reactord-opcount --list     list the names\n");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--list") {
    for (std::string_view name : micro_op_names())
      printf("%.*s\n", static_cast<int>(name.size()), name.data());
    return 0;
  }
  if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h"))
    return usage(stdout, 0);
  if (argc != 3) return usage(stderr, 2);
  std::string_view name = argv[1];
  std::string_view count = argv[2];
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
  if (count.empty() || ec != std::errc() || p != count.data() + count.size()) {
    fprintf(stderr, "reactord-opcount: N: expected a non-negative integer, got '%s'\n", argv[2]);
    return 2;
  }
  auto op = make_micro_op(name);
  if (!op) {
    fprintf(stderr, "reactord-opcount: unknown operation '%s' (see --list)\n", argv[1]);
    return 2;
  }
  for (uint64_t i = 0; i < n; ++i) op->run();
  return 0;
}

// ASCII upper-casing, written so the compiler vectorizes it (no branch per byte).
#include "server/protocols/upper.h"

namespace reactord {

void upper_ascii(char* p, size_t n) {
  auto* u = reinterpret_cast<unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = u[i];
    // 0x20 when c is in 'a'..'z', else 0: clears the lowercase bit only for letters.
    u[i] = static_cast<unsigned char>(c ^ ((static_cast<unsigned char>(c - 'a') < 26u) << 5));
  }
}

}  // namespace reactord

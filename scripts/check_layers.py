#!/usr/bin/env python3
"""The layering of docs/ARCHITECTURE.md, checked against the #include lines.

Layers, lowest first: the reactor library (public headers in reactor/include/reactor, private
ones in reactor/src), the HTTP parser (server/http, no reactor), the protocols and the HTTP
service (server/protocols, server/http_service), the server (server/*.cpp), then bench/,
examples/ and tests/. A lower layer never includes a higher one, and what is installed never
includes what is not. Quoted and angle includes alike: <reactor/src/...> is as private as
"reactor/src/...". Build directories (any holding a CMakeCache.txt) and hidden ones are skipped;
nothing else is.

  scripts/check_layers.py [REPO]    exit 0 when every rule holds, 1 with one line per breach
"""

import os
import re
import sys
from pathlib import Path

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)

# (files under, forbidden include pattern, why)
RULES = [
    ("reactor/", r"^(server|bench|tests|examples)/", "the library knows nothing of its users"),
    ("reactor/include/", r"^reactor/src/", "a public header includes a private one"),
    ("reactor/include/", r"^(liburing\.h|systemd/)", "a public header includes liburing or libsystemd"),
    ("server/http/", r"^(reactor|server|bench)/(?!http/)", "the HTTP parser stands alone"),
    ("server/protocols/", r"^server/(server|main|systemd|heartbeat|config_file)\.h$",
     "a protocol reaches into the server"),
    ("server/http_service/", r"^server/(server|main|systemd|heartbeat|config_file)\.h$",
     "the HTTP service reaches into the server"),
    ("server/", r"^reactor/src/", "the server uses the library's private headers"),
    ("bench/", r"^reactor/src/", "the bench uses the library's private headers"),
    ("examples/", r"^(reactor/src|server|bench|tests)/", "an example uses more than the installed library"),
]


def sources(repo: Path):
    """Every C/C++ file of the tree, outside build and hidden directories."""
    for top, dirs, files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not (Path(top) / d / "CMakeCache.txt").exists())
        for name in sorted(files):
            if Path(name).suffix in (".h", ".cpp", ".c", ".cc"):
                yield Path(top) / name


def breaches_in(rel: str, text: str):
    for under, pattern, why in RULES:
        if not rel.startswith(under):
            continue
        for m in INCLUDE.finditer(text):
            target = m.group(2)
            if re.search(pattern, target):
                close = ">" if m.group(1) == "<" else '"'
                yield f"{rel}: #include {m.group(1)}{target}{close}: {why}"


def main() -> int:
    repo = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    breaches = []
    checked = 0
    for path in sources(repo):
        checked += 1
        rel = path.relative_to(repo).as_posix()
        breaches.extend(breaches_in(rel, path.read_text(errors="replace")))
    for b in breaches:
        print(b)
    print(f"check_layers: {checked} files, {len(breaches)} breach(es)")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""docs/LIBRARY.md stays true to the code: the minimal example it shows is
examples/minimal/minimal.cpp verbatim, and every C++ block in it compiles against the public
headers (-fsyntax-only).

usage: check_library_doc.py CXX PUBLIC_INCLUDE_DIR
"""
import os
import re
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cxx, include = sys.argv[1], sys.argv[2]
doc = open(os.path.join(root, "docs", "LIBRARY.md")).read()
blocks = re.findall(r"```cpp\n(.*?)```", doc, re.S)
minimal = open(os.path.join(root, "examples", "minimal", "minimal.cpp")).read()
failures = 0
if minimal not in blocks:
    print("FAIL: docs/LIBRARY.md does not show examples/minimal/minimal.cpp verbatim")
    failures += 1
for i, block in enumerate(blocks):
    with tempfile.NamedTemporaryFile("w", suffix=".cpp") as f:
        f.write(block)
        f.flush()
        r = subprocess.run([cxx, "-std=c++20", "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
                            "-I", include, f.name], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL: C++ block {i + 1} of docs/LIBRARY.md does not compile:\n{r.stderr}")
        failures += 1
print(f"library doc: {len(blocks) + 1 - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)

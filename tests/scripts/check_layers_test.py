#!/usr/bin/env python3
"""scripts/check_layers.py on a planted tree: angle includes of project headers count like
quoted ones, a source file whose name starts with "build" is checked, and only directories
that are CMake build trees are skipped."""
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_layers.py"


def plant(root: Path, files: dict) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


class CheckLayersTest(unittest.TestCase):
    def run_on(self, files: dict):
        with tempfile.TemporaryDirectory() as tmp:
            plant(Path(tmp), files)
            r = subprocess.run([sys.executable, str(SCRIPT), tmp], capture_output=True, text=True)
        return r.returncode, [l for l in r.stdout.splitlines() if not l.startswith("check_layers:")]

    def test_planted_breaches_are_found_and_only_build_trees_are_skipped(self):
        code, lines = self.run_on({
            "server/angle.cpp": "#include <vector>\n#include <reactor/event_loop.h>\n"
                                "#include <reactor/src/io_backend.h>\n",
            "server/build_info.cpp": '#include "reactor/src/loop_port.h"\n',
            "server/http/parser.h": "#include <reactor/buffer_pool.h>\n",
            "build-release/CMakeCache.txt": "",
            "build-release/server/generated.cpp": '#include "reactor/src/io_backend.h"\n',
        })
        self.assertEqual(code, 1)
        self.assertEqual(sorted(lines), [
            "server/angle.cpp: #include <reactor/src/io_backend.h>: "
            "the server uses the library's private headers",
            "server/build_info.cpp: #include \"reactor/src/loop_port.h\": "
            "the server uses the library's private headers",
            "server/http/parser.h: #include <reactor/buffer_pool.h>: the HTTP parser stands alone",
        ])

    def test_a_clean_tree_passes(self):
        code, lines = self.run_on({"server/main.cpp": "#include <reactor/loop_group.h>\n",
                                   "reactor/src/x.cpp": '#include "reactor/src/loop_port.h"\n'})
        self.assertEqual((code, lines), (0, []))


if __name__ == "__main__":
    unittest.main()

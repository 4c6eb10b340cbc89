#!/usr/bin/env python3
"""bench/compare_plot.py: one chart per workload, bars in proportion, the floor drawn where its
bar ends, ratios to the floor printed, failed cases left out."""
import re
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import compare_plot  # noqa: E402


def case(server, workload, cpu, status="ok"):
    return {"server": server, "workload": workload, "status": status, "server_cpu_us_per_req": cpu}


class ComparePlotTest(unittest.TestCase):
    def test_bars_are_proportional_and_the_floor_is_drawn_at_its_value(self):
        svg = compare_plot.chart("echo64/c100/p1", [case("reactord-epoll", "w", 2.0),
                                                    case("reactord-io_uring", "w", 1.0),
                                                    case("floor", "w", 4.0)], "today")
        widths = [float(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="([\d.]+)"', svg)]
        self.assertEqual(len(widths), 3)
        self.assertAlmostEqual(widths[0] / widths[1], 2.0, places=2)
        self.assertAlmostEqual(widths[2] / widths[1], 4.0, places=2)
        dashed = re.findall(r'<line x1="([\d.]+)"[^>]*stroke-dasharray', svg)
        self.assertEqual(len(dashed), 1)
        self.assertAlmostEqual(float(dashed[0]), compare_plot.LEFT + widths[2], places=0)
        self.assertIn("2.00  (0.50× floor)", svg)
        self.assertIn("1.00  (0.25× floor)", svg)
        self.assertIn(">reactord-io_uring</text>", svg)

    def test_one_file_per_workload_without_failed_cases(self):
        doc = {"date": "today", "cases": [case("floor", "echo64/c100/p1", 4.0),
                                          case("reactord-epoll", "echo64/c100/p1", 3.0),
                                          case("reactord-epoll", "echo1MiB/c10/p1", 300.0),
                                          case("floor", "echo1MiB/c10/p1", None, status="failed")]}
        with tempfile.TemporaryDirectory() as tmp:
            written = sorted(p.name for p in compare_plot.write_charts(doc, Path(tmp)))
            self.assertEqual(written, ["cpu-echo1MiB-c10-p1.svg", "cpu-echo64-c100-p1.svg"])
            bulk = (Path(tmp) / "cpu-echo1MiB-c10-p1.svg").read_text()
            self.assertNotIn("stroke-dasharray", bulk)  # no floor measured: none drawn
            self.assertEqual(bulk.count("<rect x="), 1)


if __name__ == "__main__":
    unittest.main()

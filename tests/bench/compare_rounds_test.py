#!/usr/bin/env python3
"""bench/compare --rounds: each reactord case runs next to its floor, every other round runs
backwards, and a case's ratio to the floor is taken within a round before the median."""
import importlib.machinery
import importlib.util
import sys
import unittest
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
_loader = importlib.machinery.SourceFileLoader("compare", str(BENCH / "compare"))
_spec = importlib.util.spec_from_loader("compare", _loader)
compare = importlib.util.module_from_spec(_spec)
_loader.exec_module(compare)


def result(server, workload, rnd, cpu, rps):
    return {"name": f"{server}/{workload}", "server": server, "workload": workload, "round": rnd,
            "status": "ok", "server_cpu_us_per_req": cpu, "rps": rps, "server_cpu_util": 1.0}


class CompareRoundsTest(unittest.TestCase):
    def test_cases_run_next_to_their_floor_and_every_other_round_backwards(self):
        cases = [c for c in compare.build_matrix(quick=True) if "MiB/c10" in c.name]
        rounds = compare.round_order(cases, 3)
        names = [[c.name for c in r] for r in rounds]
        self.assertEqual(names[0][:3], ["reactord-epoll/echo1MiB/c10/p1", "reactord-io_uring/echo1MiB/c10/p1",
                                        "floor/echo1MiB/c10/p1"])
        self.assertEqual(names[1], names[0][::-1])
        self.assertEqual(names[2], names[0])
        self.assertEqual(sorted(names[0]), sorted(c.name for c in cases))
        self.assertEqual([c.name for c in compare.round_order(cases, 1)[0]], [c.name for c in cases])

    def test_ratio_is_taken_within_a_round_then_the_median(self):
        w = "echo1MiB/c10/p1"
        # The floor doubles in round 2 (a slow machine) and so does reactord: its ratio stays 0.9.
        results = [result("floor", w, 1, 100.0, 1000), result("reactord-epoll", w, 1, 90.0, 1100),
                   result("floor", w, 2, 200.0, 500), result("reactord-epoll", w, 2, 180.0, 550),
                   result("floor", w, 3, 100.0, 1000), result("reactord-epoll", w, 3, 120.0, 900)]
        overheads = compare.floor_overheads(results)
        self.assertEqual([o["round"] for o in overheads], [1, 2, 3])
        medians = {m["case"]: m for m in compare.median_over_rounds(results, overheads)}
        epoll = medians["reactord-epoll/" + w]
        self.assertEqual(epoll["cpu_ratio"], [0.9, 0.9, 1.2])
        self.assertAlmostEqual(epoll["cpu_ratio_median"], 0.9)
        self.assertEqual(epoll["rps_ratio"], [1.1, 1.1, 0.9])
        self.assertAlmostEqual(epoll["rps_ratio_median"], 1.1)
        self.assertAlmostEqual(epoll["cpu_us_per_req_median"], 120.0)
        self.assertEqual(medians["floor/" + w]["cpu_ratio"], [])


if __name__ == "__main__":
    unittest.main()

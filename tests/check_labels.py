#!/usr/bin/env python3
"""Fails when a registered ctest test carries no label (ctest -L selects by label: an unlabelled
test is run by no stage that selects). Usage: check_labels.py CTEST BUILD_DIR"""
import json
import subprocess
import sys


def main():
    ctest, build_dir = sys.argv[1], sys.argv[2]
    listing = subprocess.run([ctest, "--test-dir", build_dir, "--show-only=json-v1"],
                             check=True, capture_output=True, text=True).stdout
    tests = json.loads(listing)["tests"]
    unlabelled, not_built = [], []
    for test in tests:
        # A test executable that was not built yet stands in as NAME_NOT_BUILT: its tests, and
        # the labels set after discovery, are unknown until it is built.
        if test["name"].endswith("_NOT_BUILT"):
            not_built.append(test["name"])
            continue
        props = {p["name"]: p["value"] for p in test.get("properties", [])}
        if not props.get("LABELS"):
            unlabelled.append(test["name"])
    print(f"{len(tests)} tests, {len(unlabelled)} without a label, {len(not_built)} not built")
    for name in not_built:
        print(f"not built, labels unknown: {name}")
    for name in unlabelled:
        print(f"no label: {name}")
    if not tests:
        print("no tests listed: wrong build directory?")
        return 1
    return 1 if unlabelled else 0


if __name__ == "__main__":
    sys.exit(main())

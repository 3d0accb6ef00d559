#!/usr/bin/env bash
# Quick start, tests: set up (with the test-only packages), build, and run the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 600 -j"$(nproc)"

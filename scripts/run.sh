#!/usr/bin/env bash
# Quick start, main job: set up, build, and run the demonstration on the
# embedded default configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec ./build/rros demo "$@"

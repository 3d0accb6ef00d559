#!/usr/bin/env bash
# Quick start, main job: set up, build, and run the simulation on its
# embedded default workload (summary on stdout, report in rros-report.html).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh app
exec ./build/rros simulate "$@"

#!/usr/bin/env bash
# Configures and builds into build/ (Release with debug info): everything, or
# with "app" only the rros program (what the main job needs: no tests).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  app)
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRROS_BUILD_TESTS=OFF >/dev/null
    cmake --build build -j"$(nproc)" --target rros_app
    ;;
  "")
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRROS_BUILD_TESTS=ON >/dev/null
    cmake --build build -j"$(nproc)"
    ;;
  *) echo "usage: scripts/build.sh [app]" >&2; exit 2 ;;
esac

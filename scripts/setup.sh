#!/usr/bin/env bash
# Installs what the build needs on Debian 12 (bookworm), only what is missing;
# with --test also what only the tests run (a Prometheus server, a browser).
# Runs apt-get as root, or through sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libcaf-dev            # C++ Actor Framework 0.17.6 (core, io, openssl)
  libssl-dev openssl    # TLS (CAF's openssl module) and rros certs init
  libcereal-dev rapidjson-dev
  zlib1g-dev            # CRC-32 of the write-ahead log and snapshots
  libgtest-dev librapidcheck-dev
  libcli11-dev
  prometheus-cpp-dev    # metrics objects and the /metrics HTTP exposer
)
# Large, and needed by no build: scripts/run.sh (the main job) skips them.
test_packages=(
  prometheus            # promtool and the server, for the metrics tests
  chromium              # headless, renders the simulate report in a test
)
case "${1:-}" in
  --test) packages+=("${test_packages[@]}") ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${1:+test and }build dependencies are installed"
  exit 0
fi
echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

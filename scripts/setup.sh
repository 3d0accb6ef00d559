#!/usr/bin/env bash
# Installs what the build needs on Debian 12 (bookworm), only what is missing.
# Runs apt-get as root, or through sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libcaf-dev            # C++ Actor Framework 0.17.6 (core, io, openssl)
  libssl-dev openssl    # TLS (CAF's openssl module) and rros certs init
  libcereal-dev rapidjson-dev
  libgtest-dev librapidcheck-dev
  libcli11-dev
  prometheus-cpp-dev    # metrics objects and the /metrics HTTP exposer
  prometheus            # promtool and the server, for the metrics tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all build dependencies are installed"
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

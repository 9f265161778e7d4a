#!/usr/bin/env bash
# Installs the Debian packages Liaison needs (when missing) and builds into build/ (binaries in
# build/bin/). Environment: BUILD_DIR (build), BUILD_TYPE (RelWithDebInfo), CMAKE_ARGS (extra).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config
  libzmq3-dev cppzmq-dev capnproto libcapnp-dev liblmdb-dev lmdb-utils libcurl4-openssl-dev
  libspdlog-dev libgtest-dev libgmock-dev libsodium-dev libtomlplusplus-dev libcli11-dev
  libcpp-httplib-dev libicu-dev libbenchmark-dev nlohmann-json3-dev python3 python3-vobject
  libxml2-utils clang libclang-rt-14-dev
  chromium chromium-driver python3-selenium fonts-dejavu-core fonts-thai-tlwg-ttf
  dpkg-dev systemd file man-db
  etcd-server)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "setup: built into $BUILD_DIR/bin"

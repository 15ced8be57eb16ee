#!/usr/bin/env bash
# Installs the Debian packages that building, testing and benchmarking tasklets need,
# only those that are missing. Idempotent; prints nothing when everything is present.
#   ci/install-deps.sh            build + test (native, i386, cross under QEMU, Windows under Wine)
#   ci/install-deps.sh --bench    also the benchmark peers and the chart tool
set -euo pipefail

packages=(
  cmake ninja-build g++ nasm catch2 libbenchmark-dev valgrind
  qemu-user g++-aarch64-linux-gnu g++-riscv64-linux-gnu g++-i686-linux-gnu g++-s390x-linux-gnu
  g++-arm-linux-gnueabihf
  g++-powerpc64le-linux-gnu
  g++-mips64el-linux-gnuabi64
  g++-mingw-w64-x86-64-posix wine64
  gdb pkg-config make doxygen python3
  clang libclang-rt-14-dev
  liburing-dev libcereal-dev
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(libboost-context1.81-dev libboost-fiber1.81-dev valgrind gnuplot-nox util-linux wrk nginx-light
            golang-go erlang-base)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

echo "ci/install-deps.sh: installing ${missing[*]}"
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# Installs what mrxcl needs to build, run and test on Debian 12 (run as root or with sudo).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    build-essential cmake pkg-config \
    ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo \
    libclfft-dev libclblast-dev libsndfile1-dev libsoxr-dev libcjson-dev \
    python3 python3-numpy python3-torch python3-pip >/dev/null
# safetensors is not packaged for Debian 12; the reference tools need it.
if ! /usr/bin/python3 -c "import safetensors" 2>/dev/null; then
    $SUDO /usr/bin/python3 -m pip install -q --break-system-packages safetensors
fi

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
    libclfft-dev libclblast-dev libsndfile1-dev libsoxr-dev libcjson-dev libebur128-dev \
    python3 python3-numpy python3-scipy python3-torch python3-pip libopenblas0-openmp libebur128-1 >/dev/null
# Debian's python3-torch does its matrix products through libblas.so.3, which without an
# optimised BLAS is the reference (netlib) one: about 7 GFLOP/s here against 160-220 with
# OpenBLAS, which the package above makes the libblas.so.3 alternative. The PyTorch
# reference in the tests, the benchmarks and training all depend on it.
# safetensors is not packaged for Debian 12; the reference tools need it.
if ! /usr/bin/python3 -c "import safetensors" 2>/dev/null; then
    $SUDO /usr/bin/python3 -m pip install -q --break-system-packages safetensors
fi
# tools/gpu/pools.py (ctest gpu_pools_selftest) writes Ogg Opus through soundfile's
# compression_level, which Debian 12's python3-soundfile (0.11) lacks; the PyPI wheel
# bundles libsndfile 1.2 with Opus.
if ! /usr/bin/python3 -c "import soundfile, sys; sys.exit(tuple(map(int, soundfile.__version__.split('.')[:2])) < (0, 12))" 2>/dev/null; then
    $SUDO /usr/bin/python3 -m pip install -q --break-system-packages "soundfile>=0.12"
fi
# dnr_mix.formant_shift (train.py --speech-formant; its check runs in ctest loudness_selftest)
# is Praat's Change gender through praat-parselmouth, which Debian does not package.
if ! /usr/bin/python3 -c "import parselmouth" 2>/dev/null; then
    $SUDO /usr/bin/python3 -m pip install -q --break-system-packages praat-parselmouth==0.4.7
fi

#!/usr/bin/env bash
# Installs what mrxcl needs on Debian 12 (run as root or with sudo), by job:
#   bash .ci/deps.sh build   build and run the engine: compiler, OpenCL, libraries; all Debian
#                            (configure with -DMRXCL_TESTS=OFF: building the tests makes a
#                            random model with Python, which `test` installs)
#   bash .ci/deps.sh test    ... and the engine's tests: Python, numpy, scipy, PyTorch
#                            (OpenBLAS), ffmpeg from Debian, safetensors from pip
#   bash .ci/deps.sh [all]   ... and training's self-tests and tools (ctest -L training):
#                            pip soundfile >= 0.12 and praat-parselmouth; clang for the fuzz
#                            targets (ctest -L fuzz)
set -euo pipefail
level=${1:-all}
case "$level" in
build | test | all) ;;
*) echo "usage: bash .ci/deps.sh [build|test|all]" >&2; exit 2 ;;
esac
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
pkgs=(build-essential cmake pkg-config
      ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo
      libclfft-dev libclblast-dev libkissfft-dev libsndfile1-dev libsoxr-dev libcjson-dev libebur128-dev
      libssl-dev libopenblas-openmp-dev)
# libkissfft-dev: the FFTs of CPU devices (PoCL) go through KissFFT on the host.
# libopenblas-openmp-dev: the GEMMs of CPU devices (PoCL) go through OpenBLAS's cblas_sgemm.
# libopenblas0-openmp makes OpenBLAS the libblas.so.3 that Debian's python3-torch calls for
# its matrix products (without it, the netlib reference BLAS: bench/README.md has the figures).
# libebur128-1 is loaded by tools/audio_io.py (ref_separate.py's --loudness step).
# groff-base renders the man page for ctest manpage; ffmpeg makes and reads the film of
# ctest ffmpeg (tests/test_ffmpeg.sh) and python3-soundfile reads the stems in the tests;
# Slurm, munge and GNU parallel run ctest batch's farm (tests/slurm/slurm_env.sh starts
# its own daemons, on ports of its own, and stops them).
[ "$level" = build ] || pkgs+=(python3 python3-numpy python3-scipy python3-torch python3-pip
                               libopenblas0-openmp libebur128-1 groff-base ffmpeg
                               python3-soundfile slurmctld slurmd slurm-client munge parallel)
# clang and its libFuzzer runtime build the fuzz targets (-DMRXCL_FUZZ=ON; .ci/run's ctest -L fuzz).
[ "$level" != all ] || pkgs+=(clang libclang-rt-14-dev)
# The packages' own services (munge, slurmd, slurmctld) are not started by the install:
# the tests start what they need themselves. policy-rc.d is Debian's switch for that;
# one already there is left as it is.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
[ "$level" = build ] && exit 0

# safetensors is not packaged for Debian 12; the reference tools need it.
pip_install() {
    $SUDO /usr/bin/python3 -m pip install -q --break-system-packages "$@"
}
/usr/bin/python3 -c "import safetensors" 2>/dev/null || pip_install safetensors
[ "$level" = test ] && exit 0

# training/gpu/pools.py (ctest gpu_pools_selftest) writes Ogg Opus through soundfile's
# compression_level, which Debian 12's python3-soundfile (0.11) lacks; the PyPI wheel
# bundles libsndfile 1.2 with Opus.
if ! /usr/bin/python3 -c "import soundfile, sys; sys.exit(tuple(map(int, soundfile.__version__.split('.')[:2])) < (0, 12))" 2>/dev/null; then
    pip_install "soundfile>=0.12"
fi
# dnr_mix.formant_shift (train.py --speech-formant; its check runs in ctest loudness_selftest)
# is Praat's Change gender through praat-parselmouth, which Debian does not package.
/usr/bin/python3 -c "import parselmouth" 2>/dev/null || pip_install praat-parselmouth==0.4.7

#!/usr/bin/env bash
# Run THERE (on the GPU machine, from the repository root) in a `device` call with
# carry [build, .device-carry]: points the loader at the carried libraries and at
# NVIDIA's OpenCL driver, lists the devices, then times mrxcl_bench on the GPU.
#   device run: bash bench/gpu/run.sh [SECONDS] [CHANNELS]
set -uo pipefail
here=$(pwd)
export LD_LIBRARY_PATH=$here/.device-carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ! ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1; then
    # No ICD file names NVIDIA's driver: write one of our own.
    mkdir -p /tmp/icd && echo libnvidia-opencl.so.1 >/tmp/icd/nvidia.icd
    export OCL_ICD_VENDORS=/tmp/icd
fi
model=/tmp/mrx-default-random.safetensors
[ -f $model ] || python3 tools/make_random_model.py $model --seed 1 --sample-rate 44100 --hop 256 \
    --windows 1024,2048,8192 --hidden 512 --layers 3 >/dev/null || exit 1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
./build/mrxcl devices || exit 1
export MRXCL_DEVICE=${MRXCL_DEVICE:-NVIDIA}
for s in ${1:-10 60}; do
    ./build/mrxcl_bench $model --seconds "$s" --channels "${2:-1}" --reps 5 \
        | tee -a "${OUT:-/tmp}/bench-gpu.jsonl"
done
MRXCL_PROFILE=1 ./build/mrxcl_bench $model --seconds 10 --reps 1 2>&1 | tail -3

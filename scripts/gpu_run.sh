#!/bin/bash
# The engine's GPU proof in one command, on a CUDA host with vLLM 0.26.0 importable
# (on the lent device machine: staged per ../shared/gpu/README.md, unpacked into /tmp/site).
#
#   bash scripts/gpu_run.sh [RESULTS_DIR]
#
# Phase 1, side by side (each TP over every GPU, 25 % of each GPU's memory):
#   tests/gpu/test_gpu_engine.py   the embedded engine through EngineHost, MTP 1
#   tests/gpu/test_gpu_remote.py   `vllm serve` + the remote engine over loopback, MTP 1
#   mimo-desktop ask --attach IMG --mtp 0   the CLI end to end (media layer too), MTP off
# Phase 2, alone (timings): bench/gpu_engine.py --mtp 3, app path vs bare AsyncLLM.
# Everything lands in RESULTS_DIR (default $OUT, else /tmp/mimo-gpu-results), packed into
# gpu-results.tar.gz, with the figures summed up at the end of the output.
set -u
cd "$(dirname "$0")/.."
RES=${1:-${OUT:-/tmp/mimo-gpu-results}}
WORK=$(mktemp -d /tmp/mimo-gpu.XXXX)
mkdir -p "$RES"
[ -d /tmp/site ] && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
# spawn: workers start from a process with running threads; the bundle has no flashinfer;
# NVLink multicast stays off on shared hosts.
export VLLM_WORKER_MULTIPROC_METHOD=spawn VLLM_USE_FLASHINFER_SAMPLER=0 PYTHONUNBUFFERED=1
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export MIMO_GPU_RESULTS=$WORK MIMO_GPU_MEM=${MIMO_GPU_MEM:-0.25}
python3 -c "import pytest" 2>/dev/null || python3 -m pip install -q --no-index --no-deps --target /tmp/site /tmp/whl/*.whl

nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv | tee "$WORK/gpus.csv"
python3 -c "import vllm, torch; print('vllm', vllm.__version__, 'torch', torch.__version__, torch.cuda.device_count(), 'GPUs')"
python3 tests/engine/tiny_mimo.py /tmp/tiny-omni --omni > /dev/null
python3 -c "
import numpy as np; from PIL import Image
Image.fromarray(np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)).save('/tmp/fox.png')"

# With 4+ GPUs the engine proof runs TP over all of them while the CLI (GPUs 0,1) and the
# server (GPUs 2,3) run TP=2 beside it; with 2 GPUs all three share both.
NGPU=$(nvidia-smi -L | wc -l)
CUDA_VISIBLE_DEVICES_ALL=$(seq -s, 0 $((NGPU - 1)))
ASK_GPUS=""; SERVE_GPUS=""
if [ "$NGPU" -ge 4 ]; then ASK_GPUS=0,1; SERVE_GPUS=2,3; fi
t0=$(date +%s)
timeout 480 python3 -m pytest tests/gpu/test_gpu_engine.py -v -s -p no:cacheprovider > "$WORK/pytest_engine.log" 2>&1 &
P1=$!
CUDA_VISIBLE_DEVICES=${SERVE_GPUS:-$CUDA_VISIBLE_DEVICES_ALL} \
  timeout 480 python3 -m pytest tests/gpu/test_gpu_remote.py -v -s -p no:cacheprovider > "$WORK/pytest_remote.log" 2>&1 &
P2=$!
CUDA_VISIBLE_DEVICES=${ASK_GPUS:-$CUDA_VISIBLE_DEVICES_ALL} \
  timeout 300 python3 -m mimo_desktop ask "Describe the image." --attach /tmp/fox.png --model /tmp/tiny-omni --load-format dummy \
  --enforce-eager --mtp 0 --max-tokens 256 --ignore-eos --temperature 0 --gpu-memory "$MIMO_GPU_MEM" \
  --max-context 4096 --stats-json "$WORK/ask_mtp0.json" > "$WORK/ask_mtp0.out" 2> "$WORK/ask_mtp0.err" &
P3=$!
wait $P1; R1=$?; wait $P2; R2=$?; wait $P3; R3=$?
echo "phase 1 took $(( $(date +%s) - t0 )) s: pytest engine rc=$R1, pytest remote rc=$R2, ask rc=$R3"

timeout 300 python3 bench/gpu_engine.py --mtp 3 --json "$WORK/bench_mtp3.json" > "$WORK/bench.log" 2>&1
R4=$?
echo "bench rc=$R4"

tar -czf "$RES/gpu-results.tar.gz" -C "$WORK" .
cp "$WORK/results.jsonl" "$RES/" 2>/dev/null
echo "===== pytest (engine) ====="; grep -E "PASSED|FAILED|SKIPPED|ERROR|^E " "$WORK/pytest_engine.log" | head -40
echo "===== pytest (remote) ====="; grep -E "PASSED|FAILED|SKIPPED|ERROR|^E " "$WORK/pytest_remote.log" | head -20
echo "===== results ====="; cat "$WORK/results.jsonl" 2>/dev/null
echo "===== ask --mtp 0 ====="; grep -v "^\(INFO\|WARNING\|DEBUG\|(\)" "$WORK/ask_mtp0.err" | tail -8; cat "$WORK/ask_mtp0.json" 2>/dev/null
echo "===== bench --mtp 3 ====="; grep -v "^\(INFO\|WARNING\|DEBUG\|(\)" "$WORK/bench.log" | tail -12
[ $R1 = 0 ] && [ $R2 = 0 ] && [ $R3 = 0 ] && [ $R4 = 0 ]

#!/bin/bash
# The engine's GPU proof in one command, on a CUDA host with vLLM 0.33.0 importable
# (on the lent device machine: staged per ../shared/gpu/README.md, unpacked into /tmp/site).
#
#   bash scripts/gpu_run.sh [RESULTS_DIR]
#
# Phase 0, the trained checkpoint (tests/trained_mimo.py: MIMO_TRAINED_DIR holding bf16/ and fp8/, else it is
# built here on the CPU first):
#   tests/gpu/test_gpu_trained.py   both layouts through EngineHost against tests/goldens/trained_mimo.json
#   bench/gpu_engine.py --trained DIR/bf16 --compare-mtp 0,1,3   MTP off / 1 / 3 side by side, CUDA graphs on
# MIMO_GPU_ONLY=trained or MIMO_GPU_ONLY=trained-bench runs one of the two alone (the lent machine allows 10
# minutes a command); MIMO_GPU_ONLY=engine skips phase 0.
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
# the staged bundle drops DeepGEMM's JIT headers: block-FP8 matmuls take vLLM's Triton/CUTLASS kernels
export VLLM_USE_DEEP_GEMM=${VLLM_USE_DEEP_GEMM:-0} PYTORCH_SKIP_CUDNN_COMPATIBILITY_CHECK=1
export MIMO_GPU_RESULTS=$WORK MIMO_GPU_MEM=${MIMO_GPU_MEM:-0.25}
python3 -c "import pytest" 2>/dev/null || python3 -m pip install -q --no-index --no-deps --target /tmp/site /tmp/whl/*.whl

nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv | tee "$WORK/gpus.csv"
python3 -c "import vllm, torch; print('vllm', vllm.__version__, 'torch', torch.__version__, torch.cuda.device_count(), 'GPUs')"
python3 tests/tiny_mimo.py /tmp/tiny-omni --omni > /dev/null
python3 -c "
import numpy as np; from PIL import Image
Image.fromarray(np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)).save('/tmp/fox.png')"

TRAINED=${MIMO_TRAINED_DIR:-}
trained_proof() {
  timeout 540 python3 -m pytest tests/gpu/test_gpu_trained.py -v -s -p no:cacheprovider > "$WORK/pytest_trained.log" 2>&1
}
trained_bench() {
  timeout 570 python3 bench/gpu_engine.py --trained "$TRAINED/bf16" --compare-mtp "${MIMO_BENCH_MTP:-0,3,1}" --tokens 160 \
    --rounds "${MIMO_BENCH_ROUNDS:-2}" --gpu-memory "$MIMO_GPU_MEM" --json "$WORK/bench_trained.json" \
    > "$WORK/bench_trained.log" 2>&1
}
summary_trained() {
  grep -E "^(tests/|E   |FAILED|ERROR tests)" "$WORK/pytest_trained.log" 2>/dev/null | cut -c1-400 | head -30
  grep RESULT "$WORK/pytest_trained.log" 2>/dev/null | cut -c1-3000
  tail -3 "$WORK/pytest_trained.log" 2>/dev/null
  grep -hoE "(Model loading took|Loading weights took|Available KV cache memory|Graph capturing finished|torch.compile took|init engine).{0,140}" \
    "$WORK/pytest_trained.log" "$WORK/bench_trained.log" 2>/dev/null | head -24
  grep -v "^\(INFO\|WARNING\|DEBUG\|(\)" "$WORK/bench_trained.log" 2>/dev/null | tail -14
}
ONLY=${MIMO_GPU_ONLY:-all}
if [ "$ONLY" != engine ]; then
  if [ -z "$TRAINED" ]; then TRAINED=$(python3 tests/trained_mimo.py | tail -1); fi
  export MIMO_TRAINED_DIR=$TRAINED
  R0=0
  case "$ONLY" in
    trained) trained_proof; R0=$? ;;
    trained-bench) trained_bench; R0=$? ;;
    *) trained_proof; R0=$?; trained_bench || R0=1 ;;
  esac
  echo "phase 0 (trained checkpoint) rc=$R0"
  if [ "$ONLY" != all ]; then
    cp "$WORK"/results.jsonl "$WORK"/bench_trained.json "$RES/" 2>/dev/null
    tar -czf "$RES/gpu-results.tar.gz" -C "$WORK" .
    summary_trained
    exit $R0
  fi
fi

# vLLM's start-up memory profiling fails when another vLLM on the same GPU changes its memory
# use meanwhile, so starts never overlap on a GPU. Phase 1: the engine proof, TP over every GPU,
# alone. Phase 2: on 4+ GPUs the server (GPUs 2,3) runs beside the bench then the CLI (GPUs 0,1);
# on fewer, one after the other.
NGPU=$(nvidia-smi -L | wc -l)
if [ -n "${MIMO_GPU_K:-}" ]; then  # only the engine proof's tests matching this -k expression
  timeout 400 python3 -m pytest tests/gpu/test_gpu_engine.py -v -s -p no:cacheprovider -k "$MIMO_GPU_K" \
    > "$WORK/pytest_engine.log" 2>&1
  R1=$?
  tar -czf "$RES/gpu-results.tar.gz" -C "$WORK" .
  grep -E "^(tests/|E   |FAILED|ERROR tests)" "$WORK/pytest_engine.log" | cut -c1-300 | head -40
  cat "$WORK/results.jsonl"; tail -2 "$WORK/pytest_engine.log"
  exit $R1
fi
if [ "${MIMO_GPU_AUDIO:-0}" = 1 ]; then
  # Audio needs the FA2 bundle (KEEP_FA2=1 stage.sh). Only the embedded engine proof (the killed
  # worker left out) and the CLI, both with the --audio tiny model.
  python3 tests/tiny_mimo.py /tmp/tiny-omni-audio --audio > /dev/null
  timeout 300 python3 -m pytest tests/gpu/test_gpu_engine.py -v -s -p no:cacheprovider -k "not killed" \
    > "$WORK/pytest_engine.log" 2>&1
  R1=$?
  timeout 150 python3 -m mimo_desktop ask "Describe the image." --attach /tmp/fox.png --model /tmp/tiny-omni-audio \
    --load-format dummy --enforce-eager --mtp 1 --max-tokens 256 --ignore-eos --temperature 0 \
    --gpu-memory "$MIMO_GPU_MEM" --max-context 4096 --stats-json "$WORK/ask_mtp1.json" \
    > "$WORK/ask_mtp1.out" 2> "$WORK/ask_mtp1.err"
  echo "pytest engine (audio) rc=$R1, ask rc=$?"
  tar -czf "$RES/gpu-results.tar.gz" -C "$WORK" .
  grep -E "^(tests/|E   |FAILED|ERROR tests)" "$WORK/pytest_engine.log" | cut -c1-300 | head -40
  cat "$WORK/results.jsonl"; tail -3 "$WORK/ask_mtp1.err"; echo "stdout: $(head -c 200 "$WORK/ask_mtp1.out")"
  exit $R1
fi
t0=$(date +%s)
timeout 270 python3 -m pytest tests/gpu/test_gpu_engine.py -v -s -p no:cacheprovider > "$WORK/pytest_engine.log" 2>&1
R1=$?
echo "phase 1 took $(( $(date +%s) - t0 )) s: pytest engine rc=$R1"

remote_proof() {
  timeout 240 python3 -m pytest tests/gpu/test_gpu_remote.py -v -s -p no:cacheprovider > "$WORK/pytest_remote.log" 2>&1
}
bench_and_ask() {
  timeout 150 python3 bench/gpu_engine.py --mtp 3 --tokens 128 --rounds 2 --json "$WORK/bench_mtp3.json" \
    > "$WORK/bench.log" 2>&1
  echo "bench rc=$?"
  timeout 120 python3 -m mimo_desktop ask "Describe the image." --attach /tmp/fox.png --model /tmp/tiny-omni \
    --load-format dummy --enforce-eager --mtp 0 --max-tokens 256 --ignore-eos --temperature 0 \
    --gpu-memory "$MIMO_GPU_MEM" --max-context 4096 --stats-json "$WORK/ask_mtp0.json" \
    > "$WORK/ask_mtp0.out" 2> "$WORK/ask_mtp0.err"
  echo "ask rc=$?"
}
t0=$(date +%s)
if [ "$NGPU" -ge 4 ]; then
  CUDA_VISIBLE_DEVICES=2,3 remote_proof & P2=$!
  CUDA_VISIBLE_DEVICES=0,1 bench_and_ask
  wait $P2; R2=$?
else
  remote_proof; R2=$?
  bench_and_ask
fi
echo "phase 2 took $(( $(date +%s) - t0 )) s: pytest remote rc=$R2"

tar -czf "$RES/gpu-results.tar.gz" -C "$WORK" .
cp "$WORK/results.jsonl" "$RES/" 2>/dev/null
[ "$ONLY" = all ] && { echo "===== trained checkpoint ====="; summary_trained; }
echo "===== pytest (engine) ====="; grep -E "^(tests/|E   |FAILED|ERROR tests)" "$WORK/pytest_engine.log" | cut -c1-300 | head -40
echo "===== pytest (remote) ====="; grep -E "^(tests/|E   |FAILED|ERROR tests)" "$WORK/pytest_remote.log" | cut -c1-300 | head -20
echo "===== results ====="; cat "$WORK/results.jsonl" 2>/dev/null
echo "===== ask --mtp 0 ====="; grep -v "^\(INFO\|WARNING\|DEBUG\|(\)" "$WORK/ask_mtp0.err" | tail -8; cat "$WORK/ask_mtp0.json" 2>/dev/null
echo "===== bench --mtp 3 ====="; grep -v "^\(INFO\|WARNING\|DEBUG\|(\)" "$WORK/bench.log" | tail -12
[ $R1 = 0 ] && [ $R2 = 0 ] && [ "${R0:-0}" = 0 ]
